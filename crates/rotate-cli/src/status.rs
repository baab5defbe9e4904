//! `rotate status`: the rotation settings, every labelled version, and a diagnosis of the
//! states that make rotations fail, each with the command that fixes it.

use rotation_core::{AWSCURRENT, AWSPENDING, sanitize};
use serde_json::{Value, json};

use crate::aws::SecretState;
use crate::cli::SecretOnly;
use crate::exit::{Exit, Stop};
use crate::session::{Commands, Session, shell_word};

/// A state that breaks or will break rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// A stable name for scripts.
    pub code: &'static str,
    pub message: String,
    /// The command that fixes it.
    pub fix: String,
}

/// What `status` learns besides the description.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Whether the version holding AWSPENDING has a value, when it is not AWSCURRENT's.
    pub pending_has_value: Option<bool>,
    /// Whether the rotation function exists, when one is named: `Err` when Lambda could not
    /// be asked.
    pub function_exists: Option<Result<bool, String>>,
}

/// What is wrong with `state`.
pub fn diagnose(state: &SecretState, facts: &Facts, commands: &Commands) -> Vec<Problem> {
    let id = shell_word(&state.arn);
    let mut problems = Vec::new();
    let current = state.holder(AWSCURRENT);
    let repair = commands.rotate_command(&format!("repair --secret-id {id} --apply"));
    if current.is_none() {
        problems.push(Problem {
            code: "no-current",
            message: "no version is labelled AWSCURRENT: applications and rotations have nothing to read".into(),
            fix: commands.aws_command(&format!(
                "secretsmanager update-secret-version-stage --secret-id {id} --version-stage AWSCURRENT --move-to-version-id VERSION_ID"
            )),
        });
    }
    if let Some(pending) = state.holder(AWSPENDING) {
        let version = sanitize(&pending.id);
        if pending.has(AWSCURRENT) {
            problems.push(Problem {
                code: "pending-on-current",
                message: format!(
                    "AWSPENDING and AWSCURRENT are both on version {version}: a finished rotation left AWSPENDING behind, so clients reading AWSPENDING get the current value"
                ),
                fix: repair.clone(),
            });
        } else if facts.pending_has_value == Some(false) {
            problems.push(Problem {
                code: "empty-pending",
                message: format!(
                    "AWSPENDING is on version {version}, which has no value: a rotation started and createSecret never stored one (the function failed or was not invoked); every RotateSecret now fails with \"A previous rotation isn't complete\""
                ),
                fix: repair.clone(),
            });
        } else {
            problems.push(Problem {
                code: "stuck-pending",
                message: format!(
                    "AWSPENDING is on version {version}, which is not AWSCURRENT: a rotation stopped part way; every RotateSecret now fails with \"A previous rotation isn't complete\""
                ),
                fix: repair,
            });
        }
    }
    let rules = rotation_rules(state);
    let enable = |function: &str| {
        commands.aws_command(&format!(
            "secretsmanager rotate-secret --secret-id {id} --rotation-lambda-arn {function} --rotation-rules {rules}"
        ))
    };
    let missing = matches!(facts.function_exists, Some(Ok(false)));
    let function = state
        .function
        .as_deref()
        .filter(|_| !missing)
        .map(shell_word);
    let no_function = match (&state.function, missing) {
        (Some(arn), true) => format!("the rotation function {} does not exist", sanitize(arn)),
        _ => "no rotation function is set".into(),
    };
    match (state.rotation_enabled, &function) {
        (false, function) => problems.push(Problem {
            code: "rotation-disabled",
            message: match missing {
                false => "rotation is not enabled: the credentials never change".into(),
                true => format!("rotation is not enabled, and {no_function}"),
            },
            fix: enable(function.as_deref().unwrap_or("FUNCTION_ARN")),
        }),
        (true, None) => problems.push(Problem {
            code: "no-function",
            message: format!("rotation is enabled but {no_function}: every rotation fails"),
            fix: enable("FUNCTION_ARN"),
        }),
        (true, Some(_)) => {}
    }
    problems
}

/// The secret's own rotation rules for `--rotation-rules`, so that turning rotation back on
/// keeps its schedule and window (30 days when it has none).
fn rotation_rules(state: &SecretState) -> String {
    match (&state.schedule, &state.window) {
        (None, None) => format!("AutomaticallyAfterDays={}", state.every_days.unwrap_or(30)),
        (schedule, window) => {
            let mut rules = serde_json::Map::new();
            match schedule {
                Some(expression) => rules.insert("ScheduleExpression".into(), json!(expression)),
                None => rules.insert(
                    "AutomaticallyAfterDays".into(),
                    json!(state.every_days.unwrap_or(30)),
                ),
            };
            if let Some(window) = window {
                rules.insert("Duration".into(), json!(window));
            }
            shell_word(&Value::Object(rules).to_string())
        }
    }
}

pub async fn status(session: &Session, target: &SecretOnly) -> Result<Exit, Stop> {
    let state = session.api.state(&target.secret_id).await?;
    let mut facts = Facts::default();
    if let Some(p) = state.holder(AWSPENDING)
        && !p.has(AWSCURRENT)
    {
        // Unknown when the value cannot be read (no GetSecretValue): the version is then
        // reported as stuck, which it is either way.
        facts.pending_has_value = session
            .api
            .has_value(&state.arn, AWSPENDING, &p.id)
            .await
            .ok();
    }
    if let Some(function) = &state.function {
        facts.function_exists = Some(session.api.function_exists(function).await);
    }
    let problems = diagnose(&state, &facts, &session.commands);
    let out = &session.out;
    if out.json {
        out.document(&document(&state, &facts, &problems));
    } else {
        print_text(session, &state, &facts, &problems);
    }
    Ok(if problems.is_empty() {
        Exit::Ok
    } else {
        Exit::Problem
    })
}

fn schedule(state: &SecretState) -> Option<String> {
    let base = match (&state.schedule, state.every_days) {
        (Some(expression), _) => expression.clone(),
        (None, Some(days)) => format!("every {days} days"),
        (None, None) => return None,
    };
    Some(match &state.window {
        Some(window) => format!("{base}, window {window}"),
        None => base,
    })
}

fn document(state: &SecretState, facts: &Facts, problems: &[Problem]) -> Value {
    json!({
        "secret": {"arn": state.arn, "name": state.name},
        "rotation": {
            "enabled": state.rotation_enabled,
            "function": state.function,
            "function_exists": facts.function_exists.as_ref().and_then(|e| e.as_ref().ok()),
            "function_check_error": facts.function_exists.as_ref().and_then(|e| e.as_ref().err()),
            "automatically_after_days": state.every_days,
            "schedule_expression": state.schedule,
            "window": state.window,
            "last_rotated": state.last_rotated,
            "next_rotation": state.next_rotation,
        },
        "versions": state.versions.iter().map(|v| {
            let mut version = json!({"id": v.id, "stages": v.stages, "created": v.created});
            if v.has(AWSPENDING) && !v.has(AWSCURRENT) {
                version["has_value"] = json!(facts.pending_has_value);
            }
            version
        }).collect::<Vec<_>>(),
        "healthy": problems.is_empty(),
        "problems": problems.iter().map(|p| json!({
            "code": p.code, "message": p.message, "fix": p.fix,
        })).collect::<Vec<_>>(),
    })
}

fn print_text(session: &Session, state: &SecretState, facts: &Facts, problems: &[Problem]) {
    let out = &session.out;
    let none = || "-".to_owned();
    println!("{} {}", out.bold("secret"), sanitize(&state.name));
    println!("  arn            {}", sanitize(&state.arn));
    println!(
        "  rotation       {}",
        if state.rotation_enabled {
            "enabled"
        } else {
            "disabled"
        }
    );
    let checked = match &facts.function_exists {
        Some(Ok(true)) | None => String::new(),
        Some(Ok(false)) => " (does not exist)".into(),
        Some(Err(why)) => format!(" (not checked: {why})"),
    };
    println!(
        "  function       {}{checked}",
        state.function.as_deref().map(sanitize).unwrap_or_else(none)
    );
    println!("  schedule       {}", schedule(state).unwrap_or_else(none));
    println!(
        "  last rotated   {}",
        state.last_rotated.clone().unwrap_or_else(none)
    );
    println!(
        "  next rotation  {}",
        state.next_rotation.clone().unwrap_or_else(none)
    );
    println!("{}", out.bold("versions"));
    for v in &state.versions {
        let mut labels = v.stages.join(", ");
        if v.has(AWSPENDING) && !v.has(AWSCURRENT) && facts.pending_has_value == Some(false) {
            labels.push_str(" (no value)");
        }
        println!(
            "  {}  {:<36}  {}",
            sanitize(&v.id),
            sanitize(&labels),
            out.dim(&format!("created {}", v.created.as_deref().unwrap_or("-")))
        );
    }
    if problems.is_empty() {
        println!("{} healthy", out.mark(true));
    }
    for p in problems {
        println!("{} {}: {}", out.mark(false), p.code, p.message);
        println!("    fix: {}", p.fix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::Version;
    use crate::cli::Global;

    fn state(versions: &[(&str, &[&str])], enabled: bool, function: Option<&str>) -> SecretState {
        SecretState {
            arn: "arn:aws:secretsmanager:us-east-1:1:secret:app-AbC".into(),
            name: "app".into(),
            rotation_enabled: enabled,
            function: function.map(str::to_owned),
            every_days: Some(30),
            versions: versions
                .iter()
                .map(|(id, stages)| Version {
                    id: id.to_string(),
                    stages: stages.iter().map(|s| s.to_string()).collect(),
                    created: None,
                })
                .collect(),
            ..SecretState::default()
        }
    }

    fn codes(state: &SecretState, has_value: Option<bool>) -> Vec<&'static str> {
        let commands = Commands {
            global: Global {
                region: Some("eu-west-1".into()),
                profile: None,
                endpoint_url: None,
                json: false,
            },
        };
        let facts = Facts {
            pending_has_value: has_value,
            function_exists: None,
        };
        diagnose(state, &facts, &commands)
            .iter()
            .map(|p| p.code)
            .collect()
    }

    #[test]
    fn names_each_bad_state() {
        let f = Some("arn:aws:lambda:us-east-1:1:function:rotate");
        assert!(codes(&state(&[("a", &["AWSCURRENT"])], true, f), None).is_empty());
        assert_eq!(
            codes(
                &state(&[("b", &["AWSPENDING"]), ("a", &["AWSCURRENT"])], true, f),
                Some(true)
            ),
            ["stuck-pending"]
        );
        assert_eq!(
            codes(
                &state(&[("b", &["AWSPENDING"]), ("a", &["AWSCURRENT"])], true, f),
                Some(false)
            ),
            ["empty-pending"]
        );
        assert_eq!(
            codes(
                &state(&[("a", &["AWSCURRENT", "AWSPENDING"])], true, f),
                None
            ),
            ["pending-on-current"]
        );
        assert_eq!(
            codes(&state(&[("a", &["AWSCURRENT"])], false, f), None),
            ["rotation-disabled"]
        );
        assert_eq!(
            codes(&state(&[("a", &["AWSCURRENT"])], true, None), None),
            ["no-function"]
        );
        assert_eq!(
            codes(&state(&[("a", &["AWSPREVIOUS"])], true, f), None),
            ["no-current"]
        );
    }

    #[test]
    fn fixes_carry_the_options_given() {
        let commands = Commands {
            global: Global {
                region: Some("eu-west-1".into()),
                profile: Some("ops team".into()),
                endpoint_url: None,
                json: true,
            },
        };
        let problems = diagnose(
            &state(
                &[("a", &["AWSCURRENT"])],
                false,
                Some("arn:aws:lambda:us-east-1:1:function:rotate"),
            ),
            &Facts::default(),
            &commands,
        );
        assert_eq!(
            problems[0].fix,
            "aws --region eu-west-1 --profile 'ops team' secretsmanager rotate-secret --secret-id arn:aws:secretsmanager:us-east-1:1:secret:app-AbC --rotation-lambda-arn arn:aws:lambda:us-east-1:1:function:rotate --rotation-rules AutomaticallyAfterDays=30"
        );
    }

    #[test]
    fn a_function_that_no_longer_exists_is_no_function() {
        let commands = Commands {
            global: Global {
                region: None,
                profile: None,
                endpoint_url: None,
                json: false,
            },
        };
        let facts = Facts {
            pending_has_value: None,
            function_exists: Some(Ok(false)),
        };
        let gone = Some("arn:aws:lambda:us-east-1:1:function:gone");
        let problems = diagnose(
            &state(&[("a", &["AWSCURRENT"])], true, gone),
            &facts,
            &commands,
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, "no-function");
        assert!(problems[0].message.contains("function:gone does not exist"));
        assert!(
            problems[0]
                .fix
                .contains("--rotation-lambda-arn FUNCTION_ARN")
        );
        // Lambda not answering says nothing about the function.
        let facts = Facts {
            pending_has_value: None,
            function_exists: Some(Err("AccessDeniedException".into())),
        };
        assert!(
            diagnose(
                &state(&[("a", &["AWSCURRENT"])], true, gone),
                &facts,
                &commands
            )
            .is_empty()
        );
    }

    #[test]
    fn turning_rotation_back_on_keeps_the_schedule_and_window() {
        let mut s = state(&[("a", &["AWSCURRENT"])], false, None);
        assert_eq!(rotation_rules(&s), "AutomaticallyAfterDays=30");
        s.schedule = Some("cron(0 4 ? * SUN *)".into());
        s.window = Some("3h".into());
        assert_eq!(
            rotation_rules(&s),
            r#"'{"Duration":"3h","ScheduleExpression":"cron(0 4 ? * SUN *)"}'"#
        );
    }
}
