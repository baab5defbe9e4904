//! One CloudWatch Embedded Metric Format line per step, so that rotations can be alarmed on:
//! Secrets Manager itself publishes no rotation metric. Lambda's log agent turns the line into
//! metrics, with no API call and no permission beyond writing logs.
//!
//! The line carries only names the function chose (function, engine, step, error type) and
//! numbers: never the event's ids or any value of a secret.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::event::Step;

pub const NAMESPACE: &str = "SecretsRotation";
/// The step dimension of an event that named no step the function knows.
pub const UNKNOWN_STEP: &str = "unknown";
/// The dimension sets each metric is published under: per step, for dashboards, and per
/// function alone, which is what one alarm on every failed step of a function needs (a
/// CloudWatch alarm matches a metric's dimensions exactly).
pub const DIMENSION_SETS: [&[&str]; 2] = [&["function", "engine", "step"], &["function"]];

/// How one invocation ended, as its metric line reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepMetric {
    pub function: String,
    pub engine: &'static str,
    /// A [`Step`]'s name, or [`UNKNOWN_STEP`].
    pub step: &'static str,
    pub duration: Duration,
    /// The error type of a failed step (`RotationError::error_type`), `None` on success.
    pub error_type: Option<&'static str>,
}

impl StepMetric {
    /// The step an event names, when it is one the function knows: the event's own text never
    /// becomes a dimension.
    pub fn step_of(payload: &Value) -> &'static str {
        payload
            .get("Step")
            .and_then(Value::as_str)
            .and_then(|name| Step::ALL.into_iter().find(|s| s.as_str() == name))
            .map_or(UNKNOWN_STEP, Step::as_str)
    }

    /// The EMF object, stamped `timestamp_ms` (milliseconds since the epoch).
    pub fn to_emf(&self, timestamp_ms: u64) -> Value {
        let failed = self.error_type.is_some();
        let mut line = json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": DIMENSION_SETS,
                    "Metrics": [
                        {"Name": "StepSucceeded", "Unit": "Count"},
                        {"Name": "StepFailed", "Unit": "Count"},
                        {"Name": "StepDurationMs", "Unit": "Milliseconds"},
                    ],
                }],
            },
            "function": self.function,
            "engine": self.engine,
            "step": self.step,
            "StepSucceeded": u8::from(!failed),
            "StepFailed": u8::from(failed),
            "StepDurationMs": self.duration.as_secs_f64() * 1000.0,
        });
        if let Some(error_type) = self.error_type {
            line["errorType"] = error_type.into();
        }
        line
    }

    /// Writes the line to standard output in one write, apart from any log line.
    pub fn emit(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut line = self.to_emf(now.as_millis() as u64).to_string();
        line.push('\n');
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(error_type: Option<&'static str>) -> StepMetric {
        StepMetric {
            function: "rotate-postgres".into(),
            engine: "postgres",
            step: "setSecret",
            duration: Duration::from_millis(42),
            error_type,
        }
    }

    /// The members the EMF specification requires: every metric named in the directive and
    /// every dimension named have a top-level value.
    fn assert_valid_emf(line: &Value) {
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert!(line["_aws"]["Timestamp"].is_u64());
        assert_eq!(directive["Namespace"], NAMESPACE);
        for set in directive["Dimensions"].as_array().unwrap() {
            for dimension in set.as_array().unwrap() {
                assert!(line[dimension.as_str().unwrap()].is_string(), "{dimension}");
            }
        }
        for metric in directive["Metrics"].as_array().unwrap() {
            assert!(
                line[metric["Name"].as_str().unwrap()].is_number(),
                "{metric}"
            );
        }
    }

    #[test]
    fn a_success_counts_one_succeeded_step() {
        let line = metric(None).to_emf(1_700_000_000_000);
        assert_valid_emf(&line);
        assert_eq!(line["StepSucceeded"], 1);
        assert_eq!(line["StepFailed"], 0);
        assert_eq!(line["StepDurationMs"], 42.0);
        assert!(line.get("errorType").is_none());
    }

    #[test]
    fn a_failure_counts_one_failed_step_and_names_its_type() {
        let line = metric(Some("LoginRefused")).to_emf(1_700_000_000_000);
        assert_valid_emf(&line);
        assert_eq!(line["StepSucceeded"], 0);
        assert_eq!(line["StepFailed"], 1);
        assert_eq!(line["errorType"], "LoginRefused");
    }

    #[test]
    fn only_known_step_names_become_a_dimension() {
        assert_eq!(
            StepMetric::step_of(&json!({"Step": "testSecret"})),
            "testSecret"
        );
        assert_eq!(
            StepMetric::step_of(&json!({"Step": "p@ssw0rd"})),
            UNKNOWN_STEP
        );
        assert_eq!(StepMetric::step_of(&json!("not an object")), UNKNOWN_STEP);
    }
}
