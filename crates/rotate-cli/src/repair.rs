//! `rotate repair`: makes AWSCURRENT hold credentials the server accepts and clears a stuck
//! AWSPENDING. It first asks the server which stored version works (each judged against
//! AWSCURRENT as setSecret judges a pending value), and only then plans: a rotation whose new
//! password already works is finished with the function's own steps, never promoted on a bare
//! login; otherwise the labels move to the version that works. No password the server accepts
//! is left without a label.

use rotation_core::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, Inspect, Probe, RotationEvent, Rotator, SecretStore, Step,
    StepContext, sanitize,
};
use serde_json::{Value, json};

use crate::aws::{SecretState, Version};
use crate::cli::Repair;
use crate::engines::Chosen;
use crate::exit::{Exit, Stop};
use crate::session::{Session, shell_word};

const NO_CURRENT: &str = "no version is labelled AWSCURRENT; label the version whose credentials work AWSCURRENT by hand";

/// One change, in the order it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// Runs setSecret (which finds its work done, or completes it), testSecret and
    /// finishSecret for the AWSPENDING version `version`.
    Finish { version: String },
    /// AWSCURRENT moves to version `to` (AWSPREVIOUS follows it to `from`).
    Current { to: String, from: String },
    /// AWSPENDING leaves version `from`.
    DropPending { from: String },
}

impl Move {
    fn describe(&self) -> String {
        match self {
            Self::Finish { version } => format!(
                "finish the rotation of version {}: setSecret, testSecret and finishSecret, as the function runs them",
                sanitize(version)
            ),
            Self::Current { to, from } => format!(
                "move AWSCURRENT from version {} to version {} (AWSPREVIOUS follows to {})",
                sanitize(from),
                sanitize(to),
                sanitize(from)
            ),
            Self::DropPending { from } => {
                format!("remove AWSPENDING from version {}", sanitize(from))
            }
        }
    }

    /// The same change with the AWS CLI, where one command makes it.
    fn aws(&self, session: &Session, arn: &str) -> Option<String> {
        let id = shell_word(arn);
        let rest = match self {
            Self::Finish { .. } => return None,
            Self::Current { to, from } => format!(
                "secretsmanager update-secret-version-stage --secret-id {id} --version-stage AWSCURRENT --move-to-version-id {} --remove-from-version-id {}",
                shell_word(to),
                shell_word(from)
            ),
            Self::DropPending { from } => format!(
                "secretsmanager update-secret-version-stage --secret-id {id} --version-stage AWSPENDING --remove-from-version-id {}",
                shell_word(from)
            ),
        };
        Some(session.commands.aws_command(&rest))
    }

    fn document(&self, session: &Session, arn: &str) -> Value {
        let (action, version, to, from) = match self {
            Self::Finish { version } => ("finish", Some(version), None, None),
            Self::Current { to, from } => ("move-current", None, Some(to), Some(from)),
            Self::DropPending { from } => ("remove-pending", None, None, Some(from)),
        };
        json!({
            "action": action,
            "version": version,
            "to": to,
            "from": from,
            "description": self.describe(),
            "command": self.aws(session, arn),
        })
    }
}

pub struct Plan {
    pub reason: String,
    pub moves: Vec<Move>,
}

pub async fn repair(session: &Session, args: &Repair) -> Result<Exit, Stop> {
    let state = session.api.state(&args.target.secret_id).await?;
    if state.holder(AWSCURRENT).is_none() {
        return Err(Stop::refused(NO_CURRENT));
    }
    let store = &session.api.store;
    let chosen = Chosen::for_secret(session, &args.target, &state).await?;
    let (current, settings) = (&chosen.current, &chosen.settings);
    let engine = chosen.engine(&session.config)?;
    let plan = plan(session, &state, engine.as_ref(), current).await?;
    let applied = args.apply && !plan.moves.is_empty();
    if applied {
        ensure_still_stale(session, &state, engine.as_ref(), current, &plan).await?;
        let rotator = Rotator::new(store.clone(), engine);
        for m in &plan.moves {
            apply(session, &rotator, &state.arn, m).await?;
        }
    }
    report(session, &state, &plan, applied, &settings.source);
    Ok(Exit::Ok)
}

/// A rotation that is running right now looks like a stuck one whose new password the server
/// refuses, until its setSecret runs. Just before AWSPENDING is dropped, the labels are read
/// again and the pending credentials tried again: if either changed, a rotation is under way
/// and dropping its label could leave the password it sets with none.
async fn ensure_still_stale(
    session: &Session,
    planned_on: &SecretState,
    engine: &dyn Inspect,
    current: &rotation_core::Secret,
    plan: &Plan,
) -> Result<(), Stop> {
    let dropped = plan.moves.iter().find_map(|m| match m {
        Move::DropPending { from } => Some(from),
        _ => None,
    });
    let finishing = plan.moves.iter().any(|m| matches!(m, Move::Finish { .. }));
    let (Some(dropped), false) = (dropped, finishing) else {
        return Ok(());
    };
    let busy = |what: &str| {
        Stop::refused(format!(
            "{what} while repair ran: a rotation is under way, so nothing was changed; run repair again once it ends"
        ))
    };
    let now = session.api.state(&planned_on.arn).await?;
    let labels = |s: &SecretState| {
        [AWSCURRENT, AWSPENDING].map(|stage| s.holder(stage).map(|v| v.id.clone()))
    };
    if labels(&now) != labels(planned_on) {
        return Err(busy("the labels changed"));
    }
    if now.holder(AWSCURRENT).is_some_and(|c| &c.id == dropped) {
        return Ok(());
    }
    let ctx = StepContext::new(&planned_on.arn, &session.api.store);
    if let Some(value) = ctx.fetch(AWSPENDING, Some(dropped)).await?
        && let Ok(Probe::Accepted(_)) = engine.probe(&ctx, AWSPENDING, &value, current).await
    {
        return Err(busy("AWSPENDING's credentials started to work"));
    }
    Ok(())
}

async fn apply(
    session: &Session,
    rotator: &Rotator<rotation_core::AwsSecretStore, Box<dyn Inspect>>,
    arn: &str,
    m: &Move,
) -> Result<(), Stop> {
    match m {
        Move::Finish { version } => {
            for step in [Step::SetSecret, Step::TestSecret, Step::FinishSecret] {
                let event = RotationEvent {
                    step,
                    secret_id: arn.to_owned(),
                    token: version.clone(),
                    rotation_token: None,
                };
                rotator.run_by_hand(&event).await.map_err(|e| {
                    Stop::failed(format!(
                        "finishing the rotation of version {} stopped at {}: {e} ({}); the labels are as they were before that step",
                        sanitize(version),
                        step.as_str(),
                        e.error_type()
                    ))
                })?;
            }
        }
        Move::Current { to, from } => session.api.store.move_current(arn, to, from).await?,
        Move::DropPending { from } => session.api.remove_stage(arn, AWSPENDING, from).await?,
    }
    Ok(())
}

fn report(session: &Session, state: &SecretState, plan: &Plan, applied: bool, settings: &str) {
    let out = &session.out;
    if out.json {
        out.document(&json!({
            "secret": state.arn,
            "reason": plan.reason,
            "settings_from": settings,
            "applied": applied,
            "moves": plan.moves.iter().map(|m| m.document(session, &state.arn)).collect::<Vec<_>>(),
        }));
        return;
    }
    println!("{} {}", out.bold("repair"), sanitize(&state.name));
    println!("  {}", out.dim(&format!("settings: {settings}")));
    println!("  {}", plan.reason);
    if plan.moves.is_empty() {
        println!("{} nothing to repair", out.mark(true));
        return;
    }
    for m in &plan.moves {
        let mark = if applied { out.mark(true) } else { "-".into() };
        println!("  {mark} {}", m.describe());
        if let Some(command) = m.aws(session, &state.arn) {
            println!("      {}", out.dim(&command));
        }
    }
    let arn = shell_word(&state.arn);
    match applied {
        true => println!(
            "{} repaired; `{}` shows the result",
            out.mark(true),
            session
                .commands
                .rotate_command(&format!("status --secret-id {arn}"))
        ),
        false => println!(
            "dry run: nothing changed. Apply with `{}`",
            session
                .commands
                .rotate_command(&format!("repair --secret-id {arn} --apply"))
        ),
    }
}

/// What one stored version's credentials did.
enum Tried {
    Works(String),
    Refused(String),
}

async fn plan(
    session: &Session,
    state: &SecretState,
    engine: &dyn Inspect,
    current_value: &rotation_core::Secret,
) -> Result<Plan, Stop> {
    let current = state
        .holder(AWSCURRENT)
        .ok_or_else(|| Stop::refused(NO_CURRENT))?;
    let pending = state.holder(AWSPENDING);
    let ctx = StepContext::new(&state.arn, &session.api.store);
    // The order setSecret tries them in, so a server that locks users out after failed
    // logins sees no more failures than a rotation would make.
    let tried_current = try_version(&ctx, engine, AWSCURRENT, current, current_value).await?;
    let mut refused = Vec::new();
    if let Tried::Refused(why) = &tried_current {
        refused.push(format!("AWSCURRENT: {why}"));
    }
    if let Some(pending) = pending.filter(|p| p.id != current.id) {
        match try_version(&ctx, engine, AWSPENDING, pending, current_value).await? {
            Tried::Works(works) => {
                return Ok(Plan {
                    reason: format!(
                        "AWSPENDING works ({works}): the rotation stopped after setSecret; it is finished with the function's own steps"
                    ),
                    moves: vec![
                        Move::Finish {
                            version: pending.id.clone(),
                        },
                        Move::DropPending {
                            from: pending.id.clone(),
                        },
                    ],
                });
            }
            Tried::Refused(why) => refused.push(format!("AWSPENDING: {why}")),
        }
    }
    let drop_pending = pending.map(|p| Move::DropPending { from: p.id.clone() });
    if let Tried::Works(works) = tried_current {
        return Ok(Plan {
            reason: match pending {
                None => format!("AWSCURRENT works ({works}) and no rotation is under way"),
                Some(p) if p.id == current.id => format!(
                    "AWSCURRENT works ({works}); AWSPENDING was left on the current version {}",
                    sanitize(&current.id)
                ),
                Some(p) => format!(
                    "AWSCURRENT works ({works}); the pending version {} is stale",
                    sanitize(&p.id)
                ),
            },
            moves: drop_pending.into_iter().collect(),
        });
    }
    if let Some(previous) = state
        .holder(AWSPREVIOUS)
        .filter(|v| v.id != current.id && pending.is_none_or(|p| p.id != v.id))
    {
        match try_version(&ctx, engine, AWSPREVIOUS, previous, current_value).await? {
            Tried::Works(works) => {
                let mut moves = vec![Move::Current {
                    to: previous.id.clone(),
                    from: current.id.clone(),
                }];
                moves.extend(drop_pending);
                return Ok(Plan {
                    reason: format!(
                        "only AWSPREVIOUS works ({works}): the server is on the previous password"
                    ),
                    moves,
                });
            }
            Tried::Refused(why) => refused.push(format!("AWSPREVIOUS: {why}")),
        }
    }
    Err(Stop::refused(format!(
        "no stored version works, so nothing was changed ({}). If the reasons are not wrong passwords (no pg_hba.conf entry for this machine, an unknown user), fix that and run repair again; otherwise set the server's password to the AWSCURRENT value by hand",
        refused.join("; ")
    )))
}

/// Probes the credentials of `version` (labelled `stage`); an error when the server cannot
/// tell.
async fn try_version(
    ctx: &StepContext<'_>,
    engine: &dyn Inspect,
    stage: &str,
    version: &Version,
    current: &rotation_core::Secret,
) -> Result<Tried, Stop> {
    let value = ctx
        .store
        .get_value(ctx.secret_id, stage, Some(&version.id))
        .await?;
    let Some(value) = value else {
        return Ok(Tried::Refused("no value".into()));
    };
    let cannot_tell = |why: String| {
        Stop::refused(format!(
            "cannot tell which stored credentials work, so nothing was changed: {stage}: {why}"
        ))
    };
    match engine.probe(ctx, stage, &value, current).await {
        Ok(Probe::Accepted(works)) => Ok(Tried::Works(works)),
        Ok(Probe::Refused(why)) => Ok(Tried::Refused(why)),
        Ok(Probe::Unproven(why)) => Err(cannot_tell(why)),
        Err(e) => Err(cannot_tell(format!("{e} ({})", e.error_type()))),
    }
}
