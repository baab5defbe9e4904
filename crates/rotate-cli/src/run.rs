//! `rotate run`: a whole rotation from the operator's shell, with the functions' own state
//! machine and engines, leaving the secret as a Lambda rotation would.

use std::time::Instant;

use rotation_core::{AWSCURRENT, AWSPENDING, RotationEvent, Rotator, Step, sanitize};
use serde_json::json;

use crate::cli::Target;
use crate::engines::Chosen;
use crate::exit::{Exit, Stop};
use crate::session::{Session, shell_word};

pub async fn run(session: &Session, target: &Target) -> Result<Exit, Stop> {
    let api = &session.api;
    let state = api.state(&target.secret_id).await?;
    let arn = shell_word(&state.arn);
    if let Some(pending) = state.holder(AWSPENDING)
        && !pending.has(AWSCURRENT)
    {
        return Err(Stop::refused(format!(
            "another rotation is in progress: AWSPENDING is on version {}. If it is stuck, `{}` shows why and `{}` clears it",
            sanitize(&pending.id),
            session
                .commands
                .rotate_command(&format!("status --secret-id {arn}")),
            session
                .commands
                .rotate_command(&format!("repair --secret-id {arn}")),
        )));
    }
    let chosen = Chosen::for_secret(session, target, &state).await?;
    let (kind, settings) = (chosen.kind, &chosen.settings);
    let rotator = Rotator::new(api.store.clone(), chosen.engine(&session.config)?);
    // The version id Secrets Manager would have made for RotateSecret.
    let token = uuid::Uuid::new_v4().to_string();
    let out = &session.out;
    if !out.json {
        println!(
            "{} {} ({}): new version {token}",
            out.bold("run"),
            sanitize(&state.name),
            kind.as_str()
        );
        println!("  {}", out.dim(&format!("settings: {}", settings.source)));
    }
    let mut steps = Vec::new();
    for step in Step::ALL {
        let event = RotationEvent {
            step,
            secret_id: state.arn.clone(),
            token: token.clone(),
            rotation_token: None,
        };
        let started = Instant::now();
        let result = rotator.run_by_hand(&event).await;
        let seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(outcome) => {
                steps.push(
                    json!({"step": step.as_str(), "outcome": outcome.as_str(), "seconds": seconds}),
                );
                if !out.json {
                    println!(
                        "  {} {:<13} {:<16} {seconds:.2} s",
                        out.mark(true),
                        step.as_str(),
                        outcome.as_str()
                    );
                }
            }
            Err(e) => {
                let error = format!("{e} ({})", e.error_type());
                steps.push(json!({"step": step.as_str(), "error": error, "seconds": seconds}));
                let hint = match step {
                    Step::CreateSecret => format!(
                        "the rotation stopped at createSecret; `{}` shows whether anything was stored",
                        session
                            .commands
                            .rotate_command(&format!("status --secret-id {arn}"))
                    ),
                    _ => format!(
                        "the rotation stopped at {}; AWSPENDING stays on version {token}, as after a failed Lambda rotation. Fix the cause, then `{}` finishes or clears it",
                        step.as_str(),
                        session
                            .commands
                            .rotate_command(&format!("repair --secret-id {arn}"))
                    ),
                };
                if out.json {
                    out.document(&json!({"secret": state.arn, "version": token, "ok": false, "steps": steps, "hint": hint}));
                } else {
                    println!("  {} {:<13} {error}", out.mark(false), step.as_str());
                    println!("{hint}");
                }
                return Ok(Exit::Failed);
            }
        }
    }
    // What the service does once finishSecret succeeds.
    api.remove_stage(&state.arn, AWSPENDING, &token).await?;
    if out.json {
        out.document(&json!({"secret": state.arn, "version": token, "ok": true, "steps": steps}));
    } else {
        println!("{} AWSCURRENT is now version {token}", out.mark(true));
    }
    Ok(Exit::Ok)
}
