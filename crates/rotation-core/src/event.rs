//! The rotation event Secrets Manager sends, parsed by hand.
//!
//! We parse from raw JSON rather than through `aws_lambda_events` because its struct drops the
//! optional `RotationToken`, which must be passed back on `PutSecretValue` for cross-account and
//! assumed-role rotations, and because our own parser can say exactly which field is wrong.

use serde_json::Value;

use crate::error::RotationError;
use crate::redact::{Secret, sanitize};

/// The four steps, in the order Secrets Manager calls them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    CreateSecret,
    SetSecret,
    TestSecret,
    FinishSecret,
}

impl Step {
    pub const ALL: [Step; 4] = [
        Step::CreateSecret,
        Step::SetSecret,
        Step::TestSecret,
        Step::FinishSecret,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateSecret => "createSecret",
            Self::SetSecret => "setSecret",
            Self::TestSecret => "testSecret",
            Self::FinishSecret => "finishSecret",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

#[derive(Debug, Clone)]
pub struct RotationEvent {
    pub step: Step,
    pub secret_id: String,
    /// The `ClientRequestToken`: the id of the version being rotated in.
    pub token: String,
    /// Opaque and sensitive; only ever handed back to `PutSecretValue`.
    pub rotation_token: Option<Secret>,
}

impl RotationEvent {
    pub fn from_json(event: &Value) -> Result<Self, RotationError> {
        let object = event
            .as_object()
            .ok_or_else(|| RotationError::InvalidEvent("the event is not a JSON object".into()))?;
        let step_name = required_string(object, "Step")?;
        let step = Step::parse(step_name).ok_or_else(|| {
            RotationError::InvalidEvent(format!(
                "unknown Step \"{}\"; expected createSecret, setSecret, testSecret or finishSecret",
                sanitize(step_name)
            ))
        })?;
        let rotation_token = match object.get("RotationToken") {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) => Some(Secret::new(t.clone())),
            Some(_) => {
                return Err(RotationError::InvalidEvent(
                    "RotationToken must be a string".into(),
                ));
            }
        };
        Ok(Self {
            step,
            secret_id: required_string(object, "SecretId")?.to_owned(),
            token: required_string(object, "ClientRequestToken")?.to_owned(),
            rotation_token,
        })
    }
}

fn required_string<'a>(
    object: &'a serde_json::Map<String, Value>,
    field: &str,
) -> Result<&'a str, RotationError> {
    match object.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) => Err(RotationError::InvalidEvent(format!("{field} is empty"))),
        Some(_) => Err(RotationError::InvalidEvent(format!(
            "{field} must be a string"
        ))),
        None => Err(RotationError::InvalidEvent(format!(
            "the event has no {field}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_every_step_and_keeps_the_rotation_token() {
        for step in Step::ALL {
            let ev = RotationEvent::from_json(&json!({
                "Step": step.as_str(), "SecretId": "arn:x", "ClientRequestToken": "t1",
                "RotationToken": "opaque"
            }))
            .unwrap();
            assert_eq!(ev.step, step);
            assert_eq!(ev.rotation_token.as_ref().unwrap().expose(), "opaque");
            assert!(!format!("{ev:?}").contains("opaque"));
        }
    }

    #[test]
    fn names_the_bad_field() {
        let cases = [
            (json!([]), "not a JSON object"),
            (
                json!({"SecretId": "a", "ClientRequestToken": "t"}),
                "no Step",
            ),
            (
                json!({"Step": "create_secret", "SecretId": "a", "ClientRequestToken": "t"}),
                "unknown Step \"create_secret\"",
            ),
            (
                json!({"Step": "setSecret", "ClientRequestToken": "t"}),
                "no SecretId",
            ),
            (
                json!({"Step": "setSecret", "SecretId": "a", "ClientRequestToken": ""}),
                "ClientRequestToken is empty",
            ),
            (
                json!({"Step": "setSecret", "SecretId": 3, "ClientRequestToken": "t"}),
                "SecretId must be a string",
            ),
            (
                json!({"Step": "setSecret", "SecretId": "a", "ClientRequestToken": "t", "RotationToken": 1}),
                "RotationToken must be a string",
            ),
        ];
        for (event, expected) in cases {
            let err = RotationEvent::from_json(&event).unwrap_err();
            assert_eq!(err.error_type(), "InvalidEvent");
            assert!(
                err.to_string().contains(expected),
                "{err} should contain {expected}"
            );
        }
    }

    #[test]
    fn an_unknown_step_cannot_inject_log_lines() {
        let err = RotationEvent::from_json(&json!({
            "Step": "x\nINFO forged", "SecretId": "a", "ClientRequestToken": "t"
        }))
        .unwrap_err();
        assert!(!err.to_string().contains('\n'));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::*;

    fn field() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,80}".prop_map(Value::from),
            prop_oneof![
                Just("createSecret"),
                Just("setSecret"),
                Just("testSecret"),
                Just("finishSecret"),
            ]
            .prop_map(Value::from),
        ]
    }

    proptest! {
        /// Any JSON object is either a well-formed event or refused as InvalidEvent, and the
        /// refusal is one line that never carries the RotationToken.
        #[test]
        fn any_object_parses_or_is_refused_in_one_clean_line(
            fields in proptest::collection::vec(
                (prop_oneof![Just("Step"), Just("SecretId"), Just("ClientRequestToken"), Just("RotationToken"), Just("Other")], field()),
                0..6,
            ),
            token in "[a-z]{12}",
        ) {
            let mut object: Map<String, Value> = fields
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            let secret_token = format!("rotation-token-{token}");
            if object.contains_key("RotationToken") {
                object.insert("RotationToken".into(), Value::from(secret_token.clone()));
            }
            match RotationEvent::from_json(&Value::Object(object.clone())) {
                Ok(event) => {
                    prop_assert_eq!(Some(event.step.as_str()), object["Step"].as_str());
                    prop_assert_eq!(Some(event.secret_id.as_str()), object["SecretId"].as_str());
                }
                Err(e) => {
                    prop_assert_eq!(e.error_type(), "InvalidEvent");
                    let text = e.to_string();
                    prop_assert!(!text.contains(&secret_token));
                    prop_assert!(!text.chars().any(char::is_control), "{}", text);
                }
            }
        }
    }
}
