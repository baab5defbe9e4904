//! The CloudWatch Embedded Metric Format lines a function writes, checked against the EMF
//! specification: CloudWatch drops a line that breaks it without a word, so a malformed line
//! would be an alarm that never fires.

use serde_json::Value;

/// The units the specification allows.
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// The only members a step's line may have: its directive, the dimensions, the metrics and
/// the error type. Anything else could carry what no metric should (an id, a value).
const MEMBERS: [&str; 8] = [
    "_aws",
    "function",
    "engine",
    "step",
    "StepSucceeded",
    "StepFailed",
    "StepDurationMs",
    "errorType",
];

/// The EMF lines among `log`'s lines (JSON objects with an `_aws` member), each checked with
/// [`assert_emf`].
pub fn metric_lines(log: &str) -> Vec<Value> {
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("_aws").is_some())
        .collect();
    lines.iter().for_each(assert_emf);
    lines
}

/// Panics unless `line` is what the EMF specification requires: a millisecond `Timestamp`,
/// directives with a non-empty namespace, dimension sets of at most 30 names and at most 100
/// metrics of allowed units, a string member for every dimension and a number (or array of
/// numbers) for every metric. It must also hold nothing beyond [`MEMBERS`].
pub fn assert_emf(line: &Value) {
    let aws = &line["_aws"];
    let timestamp = aws["Timestamp"]
        .as_u64()
        .unwrap_or_else(|| panic!("no integer Timestamp: {line}"));
    assert!(
        timestamp > 1_500_000_000_000,
        "Timestamp is not in milliseconds: {line}"
    );
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .unwrap_or_else(|| panic!("no CloudWatchMetrics array: {line}"));
    assert!(!directives.is_empty(), "no metric directive: {line}");
    for directive in directives {
        let namespace = directive["Namespace"].as_str().unwrap_or_default();
        assert!(
            !namespace.trim().is_empty() && namespace.len() <= 1024,
            "bad Namespace: {line}"
        );
        let sets = directive["Dimensions"]
            .as_array()
            .unwrap_or_else(|| panic!("no Dimensions array: {line}"));
        for set in sets {
            let names = set
                .as_array()
                .unwrap_or_else(|| panic!("a dimension set is not an array: {line}"));
            assert!(names.len() <= 30, "more than 30 dimensions: {line}");
            for name in names {
                let value = name.as_str().map(|n| &line[n]);
                assert!(
                    value
                        .and_then(Value::as_str)
                        .is_some_and(|v| v.len() <= 1024),
                    "dimension {name} has no string value: {line}"
                );
            }
        }
        let metrics = directive["Metrics"]
            .as_array()
            .unwrap_or_else(|| panic!("no Metrics array: {line}"));
        assert!(metrics.len() <= 100, "more than 100 metrics: {line}");
        for metric in metrics {
            let name = metric["Name"]
                .as_str()
                .unwrap_or_else(|| panic!("a metric has no Name: {line}"));
            if let Some(unit) = metric.get("Unit") {
                assert!(
                    unit.as_str().is_some_and(|u| UNITS.contains(&u)),
                    "metric {name} has unit {unit}: {line}"
                );
            }
            let value = &line[name];
            assert!(
                value.is_number()
                    || value
                        .as_array()
                        .is_some_and(|v| v.len() <= 100 && v.iter().all(Value::is_number)),
                "metric {name} has no numeric value: {line}"
            );
        }
    }
    for member in line.as_object().unwrap().keys() {
        assert!(
            MEMBERS.contains(&member.as_str()),
            "unexpected member {member:?}: {line}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line() -> Value {
        json!({
            "_aws": {"Timestamp": 1_764_000_000_000u64, "CloudWatchMetrics": [{
                "Namespace": "SecretsRotation",
                "Dimensions": [["function", "step"], ["function"]],
                "Metrics": [{"Name": "StepFailed", "Unit": "Count"}],
            }]},
            "function": "f",
            "step": "setSecret",
            "StepFailed": 1,
        })
    }

    #[test]
    fn a_line_by_the_specification_passes() {
        assert_emf(&line());
    }

    #[test]
    #[should_panic(expected = "dimension")]
    fn a_dimension_without_a_value_is_refused() {
        let mut l = line();
        l.as_object_mut().unwrap().remove("step");
        assert_emf(&l);
    }

    #[test]
    #[should_panic(expected = "no numeric value")]
    fn a_metric_without_a_number_is_refused() {
        let mut l = line();
        l["StepFailed"] = json!("1");
        assert_emf(&l);
    }

    #[test]
    #[should_panic(expected = "unit")]
    fn an_unknown_unit_is_refused() {
        let mut l = line();
        l["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Counts");
        assert_emf(&l);
    }

    #[test]
    #[should_panic(expected = "unexpected member")]
    fn a_member_beyond_the_known_ones_is_refused() {
        let mut l = line();
        l["SecretId"] = json!("arn:aws:secretsmanager:...");
        assert_emf(&l);
    }

    #[test]
    #[should_panic(expected = "milliseconds")]
    fn a_timestamp_in_seconds_is_refused() {
        let mut l = line();
        l["_aws"]["Timestamp"] = json!(1_764_000_000u64);
        assert_emf(&l);
    }
}
