//! `rotate check`: everything the first rotation depends on, checked before it runs.

use rotation_core::{Finding, StepContext, sanitize};
use serde_json::json;

use crate::cli::Target;
use crate::engines::Chosen;
use crate::exit::{Exit, Stop};
use crate::session::Session;

pub async fn check(session: &Session, target: &Target) -> Result<Exit, Stop> {
    let api = &session.api;
    let id = &target.secret_id;
    let state = api.state(id).await?;
    let ctx = StepContext::new(&state.arn, &api.store);
    let Chosen {
        current,
        kind,
        settings,
    } = Chosen::for_secret(session, target, &state).await?;
    let findings = match crate::engines::build(kind, &session.config, &settings) {
        Ok(engine) => engine.preflight(&ctx, &current).await,
        Err(e) => vec![Finding::error("the function's settings", &e)],
    };
    let failed = findings.iter().filter(|f| !f.ok()).count();
    let out = &session.out;
    if out.json {
        out.document(&json!({
            "secret": id,
            "engine": kind.as_str(),
            "settings_from": settings.source,
            "ok": failed == 0,
            "checks": findings.iter().map(|f| json!({
                "check": f.check,
                "ok": f.ok(),
                "detail": match &f.outcome { Ok(d) | Err(d) => d },
            })).collect::<Vec<_>>(),
        }));
    } else {
        println!("{} {} ({})", out.bold("check"), sanitize(id), kind.as_str());
        println!("  {}", out.dim(&format!("settings: {}", settings.source)));
        for f in &findings {
            let (ok, detail) = match &f.outcome {
                Ok(d) => (true, d),
                Err(d) => (false, d),
            };
            println!("  {} {}: {detail}", out.mark(ok), f.check);
        }
        match failed {
            0 => println!("all {} checks passed", findings.len()),
            n => println!("{n} of {} checks failed", findings.len()),
        }
    }
    Ok(if failed == 0 { Exit::Ok } else { Exit::Problem })
}
