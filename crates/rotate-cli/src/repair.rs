//! `rotate repair`: clears a stuck rotation. It first asks the server which stored version's
//! credentials work, and only then plans label moves that leave AWSCURRENT on that version and
//! no stale AWSPENDING, so no password the server accepts is left without a label.

use rotation_core::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, Probe, SecretStore, StepContext, sanitize,
};
use serde_json::json;

use crate::aws::SecretState;
use crate::cli::Repair;
use crate::exit::{Exit, Stop};
use crate::session::{Session, shell_word};

/// One label change, in the order it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// AWSCURRENT moves to version `to` (AWSPREVIOUS follows it to `from`).
    Current { to: String, from: String },
    /// AWSPENDING leaves version `from`.
    DropPending { from: String },
}

impl Move {
    fn describe(&self) -> String {
        match self {
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

    fn aws(&self, session: &Session, arn: &str) -> String {
        let id = shell_word(arn);
        session.commands.aws_command(&match self {
            Self::Current { to, from } => format!(
                "secretsmanager update-secret-version-stage --secret-id {id} --version-stage AWSCURRENT --move-to-version-id {} --remove-from-version-id {}",
                shell_word(to), shell_word(from)
            ),
            Self::DropPending { from } => format!(
                "secretsmanager update-secret-version-stage --secret-id {id} --version-stage AWSPENDING --remove-from-version-id {}",
                shell_word(from)
            ),
        })
    }
}

pub struct Plan {
    pub reason: String,
    pub moves: Vec<Move>,
}

pub async fn repair(session: &Session, args: &Repair) -> Result<Exit, Stop> {
    let state = session.api.state(&args.target.secret_id).await?;
    let plan = plan(session, &state, args).await?;
    let out = &session.out;
    let mut applied = false;
    if args.apply && !plan.moves.is_empty() {
        for m in &plan.moves {
            match m {
                Move::Current { to, from } => {
                    session.api.store.move_current(&state.arn, to, from).await?
                }
                Move::DropPending { from } => {
                    session
                        .api
                        .remove_stage(&state.arn, AWSPENDING, from)
                        .await?
                }
            }
        }
        applied = true;
    }
    if out.json {
        out.document(&json!({
            "secret": state.arn,
            "reason": plan.reason,
            "applied": applied,
            "moves": plan.moves.iter().map(|m| json!({
                "action": m.describe(),
                "command": m.aws(session, &state.arn),
            })).collect::<Vec<_>>(),
        }));
        return Ok(Exit::Ok);
    }
    println!("{} {}", out.bold("repair"), sanitize(&state.name));
    println!("  {}", plan.reason);
    if plan.moves.is_empty() {
        println!("{} nothing to repair", out.mark(true));
        return Ok(Exit::Ok);
    }
    for m in &plan.moves {
        let mark = if applied { out.mark(true) } else { "-".into() };
        println!("  {mark} {}", m.describe());
        println!("      {}", out.dim(&m.aws(session, &state.arn)));
    }
    match applied {
        true => println!(
            "{} repaired; `{}` shows the result",
            out.mark(true),
            session
                .commands
                .rotate_command(&format!("status --secret-id {}", shell_word(&state.arn)))
        ),
        false => println!(
            "dry run: nothing changed. Apply with `{}`",
            session.commands.rotate_command(&format!(
                "repair --secret-id {} --apply",
                shell_word(&state.arn)
            ))
        ),
    }
    Ok(Exit::Ok)
}

async fn plan(session: &Session, state: &SecretState, args: &Repair) -> Result<Plan, Stop> {
    let Some(pending) = state.holder(AWSPENDING) else {
        return Ok(Plan {
            reason: "no version is labelled AWSPENDING: no rotation is stuck".into(),
            moves: Vec::new(),
        });
    };
    let current = state.holder(AWSCURRENT).ok_or_else(|| {
        Stop::refused("no version is labelled AWSCURRENT, so there is nothing to compare with; label the version whose credentials work AWSCURRENT by hand")
    })?;
    let drop_pending = Move::DropPending {
        from: pending.id.clone(),
    };
    if pending.id == current.id {
        return Ok(Plan {
            reason: format!(
                "AWSPENDING was left on the current version {}",
                sanitize(&current.id)
            ),
            moves: vec![drop_pending],
        });
    }

    let store = &session.api.store;
    let ctx = StepContext::new(&state.arn, store);
    let current_value = ctx.current().await?;
    let kind = crate::engines::engine_kind(args.target.engine, &current_value)?;
    let engine = crate::engines::build(kind, &session.config)?;
    // The order setSecret tries them in: a server that locks users out after failed logins
    // sees as few as a rotation would.
    let mut candidates = vec![(AWSCURRENT, current.id.clone())];
    candidates.push((AWSPENDING, pending.id.clone()));
    if let Some(previous) = state.holder(AWSPREVIOUS)
        && previous.id != current.id
        && previous.id != pending.id
    {
        candidates.push((AWSPREVIOUS, previous.id.clone()));
    }
    let mut refused = Vec::new();
    for (stage, version) in candidates {
        let Some(value) = store.get_value(&state.arn, stage, Some(&version)).await? else {
            refused.push(format!("{stage}: no value"));
            continue;
        };
        let probe = engine.probe(&ctx, stage, &value).await.map_err(|e| {
            Stop::refused(format!(
                "cannot tell which stored credentials work, so nothing was changed: {stage}: {e} ({})",
                e.error_type()
            ))
        })?;
        let works = match probe {
            Probe::Accepted(works) => works,
            Probe::Refused(why) => {
                refused.push(format!("{stage}: {why}"));
                continue;
            }
            Probe::Unproven(why) => {
                return Err(Stop::refused(format!(
                    "cannot tell which stored credentials work, so nothing was changed: {stage}: {why}"
                )));
            }
        };
        let mut moves = Vec::new();
        if version != current.id {
            moves.push(Move::Current {
                to: version.clone(),
                from: current.id.clone(),
            });
        }
        moves.push(drop_pending);
        let reason = match stage {
            AWSCURRENT => format!(
                "AWSCURRENT works ({works}); the pending version {} is stale",
                sanitize(&pending.id)
            ),
            AWSPENDING => format!(
                "AWSPENDING works ({works}) and AWSCURRENT does not: the new password was set and the rotation never finished"
            ),
            _ => format!(
                "only AWSPREVIOUS works ({works}): a failed rotation left the server on the previous password"
            ),
        };
        return Ok(Plan { reason, moves });
    }
    Err(Stop::refused(format!(
        "no stored version works, so nothing was changed ({}); set the server's password to the AWSCURRENT value by hand, then run repair again",
        refused.join("; ")
    )))
}
