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
        assert_eq!(
            schedule["DependsOn"],
            format!("{prefix}InvokePermission&{{SecretArn}}")
        );
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

/// One permission per secret, each naming it: Secrets Manager of this account may invoke a
/// function for its listed secrets only.
#[test]
fn only_secrets_manager_of_this_account_may_invoke_a_function() {
    let t = template();
    for (prefix, ..) in FUNCTIONS {
        let each = t["Resources"][format!("Fn::ForEach::{prefix}Secrets")]
            .as_array()
            .unwrap();
        let permission = &each[2][format!("{prefix}InvokePermission&{{SecretArn}}")];
        assert_eq!(permission["Type"], "AWS::Lambda::Permission", "{prefix}");
        let p = &permission["Properties"];
        assert_eq!(
            p["FunctionName"],
            json!({"Fn::GetAtt": [format!("{prefix}Function"), "Arn"]})
        );
        assert_eq!(p["Action"], "lambda:InvokeFunction");
        assert_eq!(p["Principal"], "secretsmanager.amazonaws.com");
        assert_eq!(p["SourceAccount"], json!({"Ref": "AWS::AccountId"}));
        assert_eq!(p["SourceArn"], json!({"Ref": "SecretArn"}));
        let others = t["Resources"]
            .as_object()
            .unwrap()
            .values()
            .filter(|r| r["Type"] == "AWS::Lambda::Permission")
            .count();
        assert_eq!(others, 0, "no permission outside the loops");
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
            // KMS grants: keys_serve_their_own_secrets_only.
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
    // Both or neither: JWKS_KEY alone (its parameter has a default) is a setting the
    // function refuses, and every JWT step would fail.
    for (variable, parameter) in [("JWKS_BUCKET", "JwksBucket"), ("JWKS_KEY", "JwksKey")] {
        assert_eq!(
            env[variable],
            json!({"Fn::If": ["HasJwksBucket", {"Ref": parameter}, {"Ref": "AWS::NoValue"}]})
        );
    }
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

/// What CloudFormation would refuse before creating anything, for `given` parameter values:
/// (parameters refused by their own constraints, rules whose assertions fail).
fn refused(given: Value) -> (Vec<String>, Vec<String>) {
    let root = workspace_root();
    let out = Command::new(python())
        .arg(root.join("tests/template/guards.py"))
        .arg(root.join("template.yaml"))
        .arg(given.to_string())
        .output()
        .expect("run the venv's Python (make test creates it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names = |key: &str| -> Vec<String> {
        verdict[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect()
    };
    (names("parameters"), names("rules"))
}

const SECRET: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/app-AbC123";
const OTHER_SECRET: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/b-XyZ789";
const ADMIN_SECRET: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/admin-Q1w2E3";

#[test]
fn the_defaults_and_a_full_deployment_pass_every_guard() {
    let none = (Vec::<String>::new(), Vec::<String>::new());
    assert_eq!(refused(json!({})), none);
    let full = json!({
        "PostgresSecretArns": format!("{SECRET},{OTHER_SECRET}"),
        "PostgresAdminSecretArn": ADMIN_SECRET,
        "Neo4jSecretArns": OTHER_SECRET,
        "Neo4jAdminSecretArn": ADMIN_SECRET,
        "JwtSecretArns": SECRET,
        "SubnetIds": "subnet-1,subnet-2",
        "SecurityGroupIds": "sg-1",
        "RotationWindow": "24h",
        "JwtRsaKeyBits": "8192",
    });
    assert_eq!(refused(full), none);
}

/// The role names the admin secret by ARN; one without its suffix never matches, and the
/// first alternating rotation would get AccessDenied.
#[test]
fn an_admin_secret_arn_without_its_suffix_is_refused() {
    for parameter in ["PostgresAdminSecretArn", "Neo4jAdminSecretArn"] {
        let unsuffixed = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/admin";
        let (parameters, _) = refused(json!({ parameter: unsuffixed }));
        assert_eq!(parameters, [parameter]);
    }
}

/// A trailing or doubled comma would make a rotation schedule for the secret "".
#[test]
fn an_empty_entry_in_a_secret_list_is_refused() {
    for (_, _, list, ..) in FUNCTIONS {
        for value in [
            format!("{SECRET},"),
            format!(",{SECRET}"),
            format!("{SECRET},,{OTHER_SECRET}"),
        ] {
            let (_, rules) = refused(json!({ list: value }));
            assert_eq!(rules, [format!("{list}HaveNoEmptyEntry")], "{value}");
        }
    }
}

/// Lambda refuses subnets without a security group, but only when it creates the function.
#[test]
fn subnets_without_security_groups_are_refused() {
    let (_, rules) = refused(json!({"JwtSecretArns": SECRET, "SubnetIds": "subnet-1"}));
    assert_eq!(rules, ["VpcNeedsSecurityGroups"]);
}

/// Secrets Manager takes a window of 1 to 24 hours.
#[test]
fn a_rotation_window_secrets_manager_rejects_is_refused() {
    for window in ["0h", "25h", "99h", "3", "03h"] {
        let (parameters, _) = refused(json!({ "RotationWindow": window }));
        assert_eq!(parameters, ["RotationWindow"], "{window}");
    }
    for window in ["", "1h", "9h", "10h", "24h"] {
        assert!(
            refused(json!({ "RotationWindow": window })).0.is_empty(),
            "{window}"
        );
    }
}

/// The template offers exactly the RSA sizes the function makes.
#[test]
fn the_rsa_key_sizes_are_the_functions() {
    let t = template();
    let offered: Vec<String> = t["Parameters"]["JwtRsaKeyBits"]["AllowedValues"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str().filter(|v| !v.is_empty()).map(str::to_owned))
        .collect();
    let made: Vec<String> = rotate_jwt::RSA_BITS.iter().map(|b| b.to_string()).collect();
    assert_eq!(offered, made);
}

/// The secrets' key serves each role through Secrets Manager only, for its own secrets (and
/// its admin secret); an admin secret's own key may only decrypt that secret; the functions'
/// environment has a key of its own.
#[test]
fn keys_serve_their_own_secrets_only() {
    let t = template();
    assert_eq!(
        t["Globals"]["Function"]["KmsKeyArn"],
        json!({"Fn::If": ["HasEnvironmentKmsKey", {"Ref": "EnvironmentKmsKeyArn"}, {"Ref": "AWS::NoValue"}]})
    );
    for (prefix, _, secrets, ..) in FUNCTIONS {
        let granted = statements(&t["Resources"][format!("{prefix}Role")]);
        let kms: Vec<_> = granted
            .iter()
            .filter(|(_, s)| actions(s).iter().any(|a| a.starts_with("kms:")))
            .collect();
        for (condition, statement) in &kms {
            let only = &statement["Condition"]["StringEquals"];
            assert_eq!(
                only["kms:ViaService"],
                json!({"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}),
                "{prefix}: through Secrets Manager only"
            );
            let context = &only["kms:EncryptionContext:SecretARN"];
            match condition.as_deref() {
                Some("HasKmsKey") => {
                    assert_eq!(statement["Resource"], json!({"Ref": "KmsKeyArn"}));
                    let text = context.to_string();
                    assert!(
                        text.contains(&format!("\"Ref\":\"{secrets}\"")),
                        "{prefix}: {text}"
                    );
                }
                Some(own) if own == format!("{prefix}AdminHasOwnKey") => {
                    assert_eq!(statement["Resource"], json!({"Ref": "AdminKmsKeyArn"}));
                    assert_eq!(actions(statement), ["kms:Decrypt"]);
                    assert_eq!(*context, json!({"Ref": format!("{prefix}AdminSecretArn")}));
                }
                other => panic!("{prefix}: a KMS grant under {other:?}"),
            }
        }
        assert_eq!(kms.len(), if prefix == "Jwt" { 1 } else { 2 }, "{prefix}");
    }
}

/// A stack update rotates database secrets at once (it proves the network path), never JWT
/// keys unless asked: two updates within a token's lifetime would break the overlap rule.
#[test]
fn only_database_schedules_rotate_on_update_by_default() {
    let t = template();
    for (prefix, _, _, days, _) in FUNCTIONS {
        let each = t["Resources"][format!("Fn::ForEach::{prefix}Secrets")]
            .as_array()
            .unwrap();
        let schedule = &each[2][format!("{prefix}RotationSchedule&{{SecretArn}}")];
        let parameter = days.replace("RotationDays", "RotateImmediatelyOnUpdate");
        assert_eq!(
            schedule["Properties"]["RotateImmediatelyOnUpdate"],
            json!({"Ref": parameter})
        );
        let default = if prefix == "Jwt" { "false" } else { "true" };
        assert_eq!(t["Parameters"][&parameter]["Default"], default, "{prefix}");
    }
}

/// The rotation audit trail outlives a removed secret or a deleted stack; a VPC function gets
/// what Lambda's own VPC policy grants; the JWT function has a core for RSA keys.
#[test]
fn logs_stay_vpc_actions_match_lambdas_and_rsa_keys_have_a_core() {
    let t = template();
    for (prefix, ..) in FUNCTIONS {
        let group = &t["Resources"][format!("{prefix}LogGroup")];
        assert_eq!(group["DeletionPolicy"], "Retain", "{prefix}");
        assert_eq!(group["UpdateReplacePolicy"], "Retain", "{prefix}");
    }
    for prefix in ["Postgres", "Neo4j"] {
        let vpc: Vec<String> = statements(&t["Resources"][format!("{prefix}Role")])
            .iter()
            .filter(|(condition, _)| condition.as_deref() == Some("HasVpc"))
            .flat_map(|(_, s)| actions(s))
            .collect();
        // AWSLambdaVPCAccessExecutionRole's EC2 actions.
        let mut expected = [
            "ec2:AssignPrivateIpAddresses",
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:UnassignPrivateIpAddresses",
        ];
        expected.sort();
        let mut vpc = vpc;
        vpc.sort();
        assert_eq!(vpc, expected, "{prefix}");
    }
    let jwt = &t["Resources"]["JwtFunction"]["Properties"];
    assert!(jwt["MemorySize"].as_u64().unwrap() >= 1769, "one full vCPU");
    assert!(jwt["Timeout"].as_u64().unwrap() >= 120);
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
