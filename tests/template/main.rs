//! What `template.yaml` must declare for each function, and the ready events in `events/`.
//! cfn-lint and checkov check the template's validity and security (`make lint`); these tests
//! fail when a function, schedule, permission or least-privilege rule goes missing.

use std::process::Command;

use integration_tests::{python, workspace_root};
use rotation_core::{METRICS_DIMENSION_SETS, METRICS_NAMESPACE, RotationEvent, Step, StepMetric};
use serde_json::{Value, json};

/// The template as JSON, parsed by cfn-lint's YAML loader (which knows `!Ref` and friends).
fn template() -> Value {
    let root = workspace_root();
    let out = Command::new(python())
        .arg(root.join("tests/template/to_json.py"))
        .arg(root.join("template.yaml"))
        .output()
        .expect("run the venv's Python (make test creates it)");
    assert!(
        out.status.success(),
        "template.yaml does not parse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (logical prefix, binary, secrets parameter, schedule days parameter, default days)
const FUNCTIONS: [(&str, &str, &str, &str, u64); 3] = [
    (
        "Postgres",
        "rotate-postgres",
        "PostgresSecretArns",
        "DatabaseRotationDays",
        90,
    ),
    (
        "Neo4j",
        "rotate-neo4j",
        "Neo4jSecretArns",
        "DatabaseRotationDays",
        90,
    ),
    ("Jwt", "rotate-jwt", "JwtSecretArns", "JwtRotationDays", 30),
];

const ROTATION_ACTIONS: [&str; 4] = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
];

/// Policy statements with the condition each is granted under (`None`: always).
fn statements(role: &Value) -> Vec<(Option<String>, Value)> {
    let policies = role["Properties"]["Policies"].as_array().unwrap();
    let mut out = Vec::new();
    for policy in policies {
        for statement in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
            match statement.get("Fn::If") {
                Some(branches) => {
                    assert_eq!(branches[2], json!({"Ref": "AWS::NoValue"}));
                    out.push((
                        Some(branches[0].as_str().unwrap().to_owned()),
                        branches[1].clone(),
                    ));
                }
                None => out.push((None, statement.clone())),
            }
        }
    }
    out
}

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(list) => list
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect(),
        other => panic!("Action {other}"),
    }
}

#[test]
fn every_function_is_a_custom_runtime_built_by_cargo_lambda_for_the_chosen_architecture() {
    let t = template();
    let transforms = t["Transform"].as_array().unwrap();
    assert!(transforms.contains(&json!("AWS::Serverless-2016-10-31")));
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"], json!([{"Ref": "Architecture"}]));
    let architecture = &t["Parameters"]["Architecture"];
    assert_eq!(architecture["Default"], "arm64");
    assert_eq!(architecture["AllowedValues"], json!(["arm64", "x86_64"]));
    assert_eq!(globals["Handler"], "bootstrap");
    assert!(globals["Timeout"].as_u64().unwrap() >= 30);
    for (prefix, binary, secrets, ..) in FUNCTIONS {
        let function = &t["Resources"][format!("{prefix}Function")];
        assert_eq!(function["Type"], "AWS::Serverless::Function", "{prefix}");
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
        assert_eq!(function["Metadata"]["BuildProperties"]["Binary"], binary);
        assert_eq!(function["Condition"], format!("Has{prefix}"));
        assert_eq!(
            t["Conditions"][format!("Has{prefix}")]["Fn::Not"][0]["Fn::Equals"][0]["Fn::Join"][1],
            json!({"Ref": secrets}),
            "{prefix} exists exactly when secrets are given"
        );
        assert!(
            workspace_root().join("crates").join(binary).is_dir(),
            "{binary} is a crate of this workspace"
        );
    }
}

#[test]
fn every_secret_gets_a_rotation_schedule_with_the_documented_defaults() {
    let t = template();
    for (prefix, _, secrets, days, default_days) in FUNCTIONS {
        assert_eq!(
            t["Parameters"][days]["Default"].as_u64(),
            Some(default_days)
        );
        let each = t["Resources"][format!("Fn::ForEach::{prefix}Secrets")]
            .as_array()
            .unwrap_or_else(|| panic!("no Fn::ForEach::{prefix}Secrets"));
        assert_eq!(each[1], json!({"Ref": secrets}));
        let schedule = &each[2][format!("{prefix}RotationSchedule&{{SecretArn}}")];
        assert_eq!(schedule["Type"], "AWS::SecretsManager::RotationSchedule");
        assert_eq!(schedule["DependsOn"], format!("{prefix}InvokePermission"));
        let p = &schedule["Properties"];
        assert_eq!(p["SecretId"], json!({"Ref": "SecretArn"}));
        assert_eq!(
            p["RotationLambdaARN"],
            json!({"Fn::GetAtt": [format!("{prefix}Function"), "Arn"]})
        );
        let rules = &p["RotationRules"];
        assert_eq!(
            rules["AutomaticallyAfterDays"]["Fn::If"][2],
            json!({"Ref": days})
        );
        assert!(rules["ScheduleExpression"]["Fn::If"][1]["Ref"].is_string());
        assert_eq!(
            rules["Duration"]["Fn::If"][1],
            json!({"Ref": "RotationWindow"})
        );
    }
}

#[test]
fn only_secrets_manager_of_this_account_may_invoke_a_function() {
    let t = template();
    for (prefix, _, secrets, ..) in FUNCTIONS {
        let permission = &t["Resources"][format!("{prefix}InvokePermission")];
        assert_eq!(permission["Type"], "AWS::Lambda::Permission", "{prefix}");
        let p = &permission["Properties"];
        assert_eq!(p["Action"], "lambda:InvokeFunction");
        assert_eq!(p["Principal"], "secretsmanager.amazonaws.com");
        assert_eq!(p["SourceAccount"], json!({"Ref": "AWS::AccountId"}));
        assert_eq!(
            p["SourceArn"]["Fn::If"][1],
            json!({"Fn::Select": [0, {"Ref": secrets}]}),
            "a single secret is named as the source"
        );
    }
}

#[test]
fn roles_grant_the_rotation_actions_on_the_named_secrets_only() {
    let t = template();
    for (prefix, _, secrets, ..) in FUNCTIONS {
        let role = &t["Resources"][format!("{prefix}Role")];
        assert_eq!(
            t["Resources"][format!("{prefix}Function")]["Properties"]["Role"],
            json!({"Fn::GetAtt": [format!("{prefix}Role"), "Arn"]})
        );
        let granted = statements(role);
        for (condition, statement) in &granted {
            assert_eq!(statement["Effect"], "Allow");
            let acts = actions(statement);
            assert!(
                acts.iter().all(|a| !a.contains('*')),
                "{prefix}: wildcard action {acts:?}"
            );
            let resource = &statement["Resource"];
            let secret_actions: Vec<_> = acts
                .iter()
                .filter(|a| a.starts_with("secretsmanager:"))
                .collect();
            if !secret_actions.is_empty() {
                let admin = json!({"Ref": format!("{prefix}AdminSecretArn")});
                if *resource == admin {
                    assert_eq!(
                        condition.as_deref(),
                        Some(format!("Has{prefix}Admin").as_str())
                    );
                    // PostgreSQL also reads the tags of an RDS-managed master secret.
                    let read_only: &[&str] = if prefix == "Postgres" {
                        &[
                            "secretsmanager:DescribeSecret",
                            "secretsmanager:GetSecretValue",
                        ]
                    } else {
                        &["secretsmanager:GetSecretValue"]
                    };
                    assert_eq!(acts, read_only, "admin secret: read only");
                } else {
                    assert_eq!(*resource, json!({"Ref": secrets}), "{prefix}");
                    assert_eq!(acts, ROTATION_ACTIONS, "{prefix}");
                    assert_eq!(*condition, None);
                }
            }
            if acts.iter().any(|a| a.starts_with("ec2:")) {
                assert_eq!(
                    condition.as_deref(),
                    Some("HasVpc"),
                    "{prefix}: ec2 only with a VPC"
                );
            }
            if acts.iter().any(|a| a.starts_with("rds:")) {
                assert_eq!(prefix, "Postgres", "only PostgreSQL looks RDS up");
                assert_eq!(
                    condition.as_deref(),
                    Some("HasPostgresAdmin"),
                    "RDS lookups only for an admin secret"
                );
                assert_eq!(acts, ["rds:DescribeDBInstances", "rds:DescribeDBClusters"]);
            }
            if acts.iter().any(|a| a.starts_with("kms:")) {
                assert_eq!(
                    condition.as_deref(),
                    Some("HasKmsKey"),
                    "{prefix}: kms only with a key"
                );
                assert_eq!(*resource, json!({"Ref": "KmsKeyArn"}));
            }
            if *resource == json!("*") {
                assert_eq!(
                    condition.as_deref(),
                    Some("HasVpc"),
                    "{prefix}: \"*\" only for the VPC"
                );
            }
        }
        let all: Vec<String> = granted.iter().flat_map(|(_, s)| actions(s)).collect();
        for action in ROTATION_ACTIONS {
            assert!(all.iter().any(|a| a == action), "{prefix} lacks {action}");
        }
        assert!(!all.iter().any(|a| a == "secretsmanager:GetRandomPassword"));
        if prefix == "Postgres" {
            for action in ["rds:DescribeDBInstances", "rds:DescribeDBClusters"] {
                assert!(
                    all.iter().any(|a| a == action),
                    "RDS-managed admin secrets need {action}"
                );
            }
        }
    }
    let jwt: Vec<String> = statements(&t["Resources"]["JwtRole"])
        .iter()
        .flat_map(|(_, s)| actions(s))
        .collect();
    assert!(
        jwt.iter().all(|a| !a.starts_with("ec2:")),
        "the JWT function needs no VPC"
    );
}

/// The JWT role may write the published sets and nothing else in S3: only with a bucket, only
/// PutObject, only on the keys `JwksKey` names; the database functions touch no S3 at all.
#[test]
fn only_the_jwt_role_may_write_the_published_sets() {
    let t = template();
    let granted = statements(&t["Resources"]["JwtRole"]);
    let s3: Vec<_> = granted
        .iter()
        .filter(|(_, statement)| actions(statement).iter().any(|a| a.starts_with("s3:")))
        .collect();
    assert_eq!(s3.len(), 1, "{s3:?}");
    let (condition, statement) = s3[0];
    assert_eq!(condition.as_deref(), Some("HasJwksBucket"));
    assert_eq!(actions(statement), ["s3:PutObject"]);
    assert_eq!(
        statement["Resource"]["Fn::Sub"],
        json!([
            "arn:${AWS::Partition}:s3:::${JwksBucket}/${Objects}",
            {"Objects": {"Fn::Join": ["*", {"Fn::Split": ["{name}", {"Ref": "JwksKey"}]}]}}
        ])
    );
    let env = &t["Resources"]["JwtFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(env["JWKS_BUCKET"], json!({"Ref": "JwksBucket"}));
    assert_eq!(env["JWKS_KEY"], json!({"Ref": "JwksKey"}));
    assert_eq!(
        t["Parameters"]["JwksKey"]["Default"],
        rotate_jwt::publish::DEFAULT_JWKS_KEY
    );
    for prefix in ["Postgres", "Neo4j"] {
        let all: Vec<String> = statements(&t["Resources"][format!("{prefix}Role")])
            .iter()
            .flat_map(|(_, s)| actions(s))
            .collect();
        assert!(
            all.iter().all(|a| !a.starts_with("s3:")),
            "{prefix}: {all:?}"
        );
    }
}

/// The alarm watches the very metric the function's EMF lines publish: same namespace, a
/// metric the line names, and exactly one of its dimension sets (CloudWatch matches an
/// alarm's dimensions exactly, so any other set would be a metric nobody writes).
#[test]
fn every_function_has_an_alarm_on_its_failed_steps() {
    let t = template();
    let line = StepMetric {
        function: "f".into(),
        engine: "e",
        step: "createSecret",
        duration: std::time::Duration::ZERO,
        error_type: Some("Timeout"),
    }
    .to_emf(0);
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    let topic = &t["Parameters"]["AlarmTopicArn"];
    assert_eq!(topic["Default"], "", "the topic is optional");
    for (prefix, ..) in FUNCTIONS {
        let alarm = &t["Resources"][format!("{prefix}StepFailedAlarm")];
        assert_eq!(alarm["Type"], "AWS::CloudWatch::Alarm", "{prefix}");
        assert_eq!(alarm["Condition"], format!("Has{prefix}"));
        let p = &alarm["Properties"];
        assert_eq!(p["Namespace"], METRICS_NAMESPACE);
        assert_eq!(directive["Namespace"], METRICS_NAMESPACE);
        assert_eq!(p["MetricName"], "StepFailed");
        assert!(
            directive["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["Name"] == p["MetricName"]),
            "the metric line names no {}",
            p["MetricName"]
        );
        let dimensions = p["Dimensions"].as_array().unwrap();
        let names: Vec<&str> = dimensions
            .iter()
            .map(|d| d["Name"].as_str().unwrap())
            .collect();
        assert!(
            METRICS_DIMENSION_SETS.contains(&names.as_slice()),
            "{prefix}: {names:?} is not a dimension set the function publishes"
        );
        assert_eq!(
            dimensions[0]["Value"],
            json!({"Ref": format!("{prefix}Function")}),
            "the function dimension is the function's name"
        );
        // One failed step in a period is enough; no data is no failure.
        assert_eq!(p["Statistic"], "Sum");
        assert_eq!(p["Threshold"], 1);
        assert_eq!(p["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
        assert_eq!(p["TreatMissingData"], "notBreaching");
        assert_eq!(
            p["AlarmActions"],
            json!({"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]})
        );
    }
}

/// What the functions cannot count themselves (not invoked, timed out, died) reaches the
/// topic from Secrets Manager's own CloudTrail events, for the function's secrets only.
#[test]
fn every_function_has_a_rule_on_the_services_rotation_failures() {
    let t = template();
    for (prefix, _, secrets, ..) in FUNCTIONS {
        let rule = &t["Resources"][format!("{prefix}RotationFailedRule")];
        assert_eq!(rule["Type"], "AWS::Events::Rule", "{prefix}");
        let condition = format!("{prefix}Notifies");
        assert_eq!(rule["Condition"], condition);
        assert_eq!(
            t["Conditions"][&condition],
            json!({"Fn::And": [{"Condition": format!("Has{prefix}")}, {"Condition": "HasAlarmTopic"}]})
        );
        let pattern = &rule["Properties"]["EventPattern"];
        assert_eq!(pattern["source"], json!(["aws.secretsmanager"]));
        assert_eq!(
            pattern["detail-type"],
            json!(["AWS Service Event via CloudTrail"])
        );
        let names = pattern["detail"]["eventName"].as_array().unwrap();
        assert!(names.contains(&json!("RotationFailed")), "{names:?}");
        assert_eq!(
            pattern["detail"]["additionalEventData"]["SecretId"],
            json!({"Ref": secrets}),
            "only this function's secrets"
        );
        let targets = rule["Properties"]["Targets"].as_array().unwrap();
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0]["Arn"], json!({"Ref": "AlarmTopicArn"}));
    }
}

#[test]
fn every_function_and_step_has_a_ready_event() {
    for (_, binary, ..) in FUNCTIONS {
        let engine = binary.trim_start_matches("rotate-");
        for step in Step::ALL {
            let path = workspace_root().join(format!("events/{engine}/{}.json", step.as_str()));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let event = RotationEvent::from_json(&serde_json::from_str(&text).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(event.step, step, "{}", path.display());
            assert!(event.secret_id.starts_with("arn:aws:secretsmanager:"));
        }
    }
}
