//! Secrets Manager drives the rotation: RotateSecret on moto names the function, and the four
//! steps reach the real release binary through the Lambda Runtime API, as on AWS. Afterwards
//! the database or the keys are checked, and the function's log is searched for secrets.

use integration_tests::{
    PyJwt, RunningFunction, SecretsManager, install_crypto_provider, moto, neo4j, postgres,
    sign_as_app, unique,
};
use rotate_jwt::{ALG, JWKS, KID, SIGNING_KEY};
use rotation_core::{AWSCURRENT, AWSPENDING, AWSPREVIOUS, Step};
use serde_json::{Value, json};

async fn connect() -> SecretsManager {
    install_crypto_provider();
    SecretsManager::connect().await
}

fn password(value: &Value) -> String {
    value["password"].as_str().unwrap().to_owned()
}

/// A PostgreSQL role with a first password, and a secret for it: (ARN, user, password).
async fn postgres_secret(sm: &SecretsManager, prefix: &str) -> (String, String, String) {
    let user = unique(prefix);
    let old = format!("old-{}", unique("pw"));
    postgres().create_role(&user, &old).await;
    let arn = sm
        .create(&unique("pg"), &postgres().secret(&user, &old).to_string())
        .await;
    (arn, user, old)
}

/// A Neo4j user with a first password, and a secret for it: (ARN, user, password).
async fn neo4j_secret(sm: &SecretsManager, prefix: &str) -> (String, String, String) {
    let user = unique(prefix);
    let old = format!("old-{}", unique("pw"));
    neo4j().create_user(&user, &old).await;
    let arn = sm
        .create(&unique("neo4j"), &neo4j().secret(&user, &old).to_string())
        .await;
    (arn, user, old)
}

/// The function answered every step and logged each, without the given secrets.
fn assert_log(function: &RunningFunction, secrets: &[&str]) {
    let log = function.log();
    for step in Step::ALL {
        assert!(
            log.contains(step.as_str()),
            "no {} in the log:\n{log}",
            step.as_str()
        );
    }
    for secret in secrets {
        assert!(
            !log.contains(secret),
            "a secret value reached the function's log"
        );
    }
}

#[tokio::test]
async fn rotate_secret_drives_the_postgres_function() {
    let sm = connect().await;
    let pg = postgres();
    let (arn, user, old) = postgres_secret(&sm, "svc_app").await;
    let function = RunningFunction::start("rotate-postgres", &[("PGSSLMODE", "disable")]);

    sm.rotate_with(&arn, &function.arn).await.unwrap();
    let new = password(&sm.value(&arn, AWSCURRENT).await.unwrap());
    assert_ne!(new, old);
    assert!(pg.can_login(&user, &new).await, "the new password logs in");
    assert!(
        !pg.can_login(&user, &old).await,
        "the old password is refused"
    );
    assert_eq!(password(&sm.value(&arn, AWSPREVIOUS).await.unwrap()), old);

    // The next scheduled rotation, by the same running function.
    sm.rotate_with(&arn, &function.arn).await.unwrap();
    let newer = password(&sm.value(&arn, AWSCURRENT).await.unwrap());
    assert!(pg.can_login(&user, &newer).await);
    assert_log(&function, &[&old, &new, &newer]);

    // One metric line per step, each a success of the postgres engine.
    let metrics = function.metric_lines();
    assert_eq!(metrics.len(), 8, "{metrics:?}");
    for (line, step) in metrics.iter().zip(Step::ALL.iter().chain(Step::ALL.iter())) {
        assert_eq!(line["step"], step.as_str());
        assert_eq!(line["engine"], "postgres");
        assert_eq!(
            (line["StepSucceeded"].as_u64(), line["StepFailed"].as_u64()),
            (Some(1), Some(0))
        );
        assert!(line.get("errorType").is_none());
    }
}

#[tokio::test]
async fn rotate_secret_drives_the_neo4j_function() {
    let sm = connect().await;
    let (arn, user, old) = neo4j_secret(&sm, "svc_graph").await;
    let function = RunningFunction::start("rotate-neo4j", &[]);

    sm.rotate_with(&arn, &function.arn).await.unwrap();
    let new = password(&sm.value(&arn, AWSCURRENT).await.unwrap());
    assert!(
        neo4j().can_login(&user, &new).await,
        "the new password logs in"
    );
    assert!(
        !neo4j().can_login(&user, &old).await,
        "the old password is refused"
    );
    assert_log(&function, &[&old, &new]);
}

#[tokio::test]
async fn rotate_secret_drives_the_jwt_function() {
    let sm = connect().await;
    let arn = sm.create(&unique("jwt"), r#"{"alg": "RS256"}"#).await;
    let function = RunningFunction::start("rotate-jwt", &[("JWT_RSA_KEY_BITS", "3072")]);

    sm.rotate_with(&arn, &function.arn).await.unwrap();
    let first = sm.value(&arn, AWSCURRENT).await.unwrap();
    assert_eq!(first[ALG], "RS256");
    let before = sign_as_app(&first, &json!({"sub": "before", "exp": 4_000_000_000u64}));

    sm.rotate_with(&arn, &function.arn).await.unwrap();
    let second = sm.value(&arn, AWSCURRENT).await.unwrap();
    assert_ne!(second[KID], first[KID]);
    let verdict = PyJwt::verify(&second[JWKS], &[&before]).remove(0);
    assert_eq!(verdict.claims()["sub"], "before");
    let private_line = first[SIGNING_KEY].as_str().unwrap().lines().nth(2).unwrap();
    assert_log(&function, &[private_line]);
}

#[tokio::test]
async fn a_failing_step_reports_its_error_type_through_the_service() {
    let sm = connect().await;
    let arn = sm
        .create(
            &unique("wrong"),
            &json!({"engine": "mysql", "host": "127.0.0.1", "username": "u", "password": "p-secret-1"})
                .to_string(),
        )
        .await;
    let function = RunningFunction::start("rotate-postgres", &[]);
    let before = sm.snapshot(&arn).await;
    let err = sm.rotate_with(&arn, &function.arn).await.unwrap_err();
    assert!(
        err.contains("rotation function failed at createSecret: WrongEngine"),
        "{err}"
    );
    let after = sm.snapshot(&arn).await;
    assert_eq!(
        after.values().filter(|(_, value)| value.is_some()).count(),
        before.len(),
        "no value was stored"
    );
    assert!(!function.log().contains("p-secret-1"));
    let metrics = function.metric_lines();
    assert_eq!(metrics.len(), 1, "{metrics:?}");
    assert_eq!(metrics[0]["step"], "createSecret");
    assert_eq!(metrics[0]["StepFailed"], 1);
    assert_eq!(metrics[0]["errorType"], "WrongEngine");
}

/// A function whose own settings are wrong answers every step with the setting's name, and
/// each answer counts as a failed step, so an alarm on failed steps sees it.
#[tokio::test]
async fn a_misconfigured_function_counts_failed_steps() {
    let sm = connect().await;
    let (arn, _, _) = postgres_secret(&sm, "svc_misconfigured").await;
    let function = RunningFunction::start("rotate-postgres", &[("PGSSLMODE", "bogus")]);
    let err = sm.rotate_with(&arn, &function.arn).await.unwrap_err();
    assert!(err.contains("ConfigurationError"), "{err}");
    let metrics = function.metric_lines();
    assert_eq!(metrics.len(), 1, "{metrics:?}");
    assert_eq!(metrics[0]["engine"], "postgres");
    assert_eq!(metrics[0]["step"], "createSecret");
    assert_eq!(metrics[0]["StepFailed"], 1);
    assert_eq!(metrics[0]["errorType"], "ConfigurationError");
}

/// Each kind of failure an operator meets is one failed step with its own errorType: the
/// harness checks the metric line of every step it invokes, and the lines carry no secret.
#[tokio::test]
async fn every_failure_kind_is_counted_with_its_error_type() {
    let sm = connect().await;
    let pg = postgres();
    let function = RunningFunction::start("rotate-postgres", &[("PGSSLMODE", "disable")]);
    let user = unique("svc_kinds");
    let pw = format!("kinds-{}", unique("pw"));
    pg.create_role(&user, &pw).await;
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut unreachable = pg.secret(&user, &pw);
    unreachable["port"] = closed_port.into();
    let mut no_username = pg.secret(&user, &pw);
    no_username.as_object_mut().unwrap().remove("username");
    let mut other_engine = pg.secret(&user, &pw);
    other_engine["engine"] = "mysql".into();
    let cases = [
        (
            "truncated JSON",
            format!(r#"{{"engine": "postgres", "password": "{pw}""#),
            Step::CreateSecret,
            "MalformedSecret",
        ),
        (
            "no username",
            no_username.to_string(),
            Step::CreateSecret,
            "MalformedSecret",
        ),
        (
            "another engine",
            other_engine.to_string(),
            Step::CreateSecret,
            "WrongEngine",
        ),
        (
            "closed port",
            unreachable.to_string(),
            Step::SetSecret,
            "ServerUnreachable",
        ),
        (
            "password refused",
            pg.secret(&user, "not-the-password-1").to_string(),
            Step::SetSecret,
            "NoWorkingCredentials",
        ),
    ];
    for (what, value, step, error_type) in cases {
        let arn = sm.create(&unique("kinds"), &value).await;
        let token = sm.start_rotation(&arn).await;
        for earlier in Step::ALL.into_iter().take_while(|s| *s != step) {
            function
                .invoke(earlier, &arn, &token)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
        }
        let err = function.invoke(step, &arn, &token).await.expect_err(what);
        assert!(
            err.contains(&format!("at {}: {error_type}: ", step.as_str())),
            "{what}: {err}"
        );
    }

    // A secret Secrets Manager does not rotate, and a token no version holds.
    let arn = sm
        .create(&unique("kinds"), &pg.secret(&user, &pw).to_string())
        .await;
    let err = function
        .invoke(Step::CreateSecret, &arn, "no-such-version-1")
        .await
        .unwrap_err();
    assert!(err.contains(": RotationNotEnabled: "), "{err}");
    sm.start_rotation(&arn).await;
    let err = function
        .invoke(Step::SetSecret, &arn, "no-such-version-1")
        .await
        .unwrap_err();
    assert!(err.contains(": VersionNotStaged: "), "{err}");

    // Events Secrets Manager never sends: a step the function does not know is counted
    // under the step "unknown", not under the event's own text.
    for (event, step) in [
        (
            json!({"Step": "createSecret", "SecretId": arn}),
            "createSecret",
        ),
        (
            json!({"Step": "rollBack", "SecretId": arn, "ClientRequestToken": "t-1"}),
            "unknown",
        ),
    ] {
        let counted = function.metric_lines().len();
        let err = function.invoke_event(&event).await.unwrap_err();
        assert!(err.contains(": InvalidEvent: "), "{err}");
        let lines = function.metric_lines();
        assert_eq!(lines.len(), counted + 1, "{lines:?}");
        let line = lines.last().unwrap();
        assert_eq!(
            (&line["step"], &line["StepFailed"], &line["errorType"]),
            (&json!(step), &json!(1), &json!("InvalidEvent"))
        );
    }
    assert!(
        !function.log().contains(&pw),
        "the password reached the log"
    );
}

// ---- no secret at any log level ----

const TRACE: (&str, &str) = ("AWS_LAMBDA_LOG_LEVEL", "TRACE");

/// The function logged at the level asked for, and none of `secrets`, no RotationToken (the
/// moto harness gives each event one starting "rotation-token-") and no password verifier.
fn assert_trace_log_clean(function: &RunningFunction, secrets: &[&str]) {
    let log = function.log();
    assert!(
        log.contains("DEBUG"),
        "the function did not log below INFO; the check proves nothing:\n{log}"
    );
    assert!(
        log.contains("step done") && log.contains("step failed"),
        "the log misses the steps:\n{log}"
    );
    assert!(
        !log.contains("rotation-token-"),
        "a RotationToken reached the log"
    );
    assert!(
        !log.contains("SCRAM-SHA-256$"),
        "a password verifier reached the log"
    );
    for (i, secret) in secrets.iter().enumerate() {
        assert!(!log.contains(secret), "secret #{i} reached the log");
    }
}

#[tokio::test]
async fn at_trace_level_the_postgres_function_logs_no_secret() {
    let sm = connect().await;
    let pg = postgres();
    let (arn, user, old) = postgres_secret(&sm, "svc_trace").await;
    let function = RunningFunction::start("rotate-postgres", &[TRACE, ("PGSSLMODE", "disable")]);
    sm.rotate_with(&arn, &function.arn).await.unwrap();
    let new = password(&sm.value(&arn, AWSCURRENT).await.unwrap());
    // Then every credential refused: the failure path logs its reasons.
    let outside = format!("outside-{}", unique("pw"));
    pg.set_password(&user, &outside).await;
    let err = sm.rotate_with(&arn, &function.arn).await.unwrap_err();
    assert!(err.contains("NoWorkingCredentials"), "{err}");
    let pending = password(&sm.value(&arn, AWSPENDING).await.unwrap());
    assert_trace_log_clean(&function, &[&old, &new, &outside, &pending]);
}

#[tokio::test]
async fn at_trace_level_the_neo4j_function_logs_no_secret() {
    let sm = connect().await;
    let (arn, user, old) = neo4j_secret(&sm, "svc_trace").await;
    let function = RunningFunction::start("rotate-neo4j", &[TRACE]);
    sm.rotate_with(&arn, &function.arn).await.unwrap();
    let new = password(&sm.value(&arn, AWSCURRENT).await.unwrap());
    let outside = format!("outside-{}", unique("pw"));
    neo4j().set_password(&user, &outside).await;
    let err = sm.rotate_with(&arn, &function.arn).await.unwrap_err();
    assert!(err.contains("NoWorkingCredentials"), "{err}");
    let pending = password(&sm.value(&arn, AWSPENDING).await.unwrap());
    assert_trace_log_clean(&function, &[&old, &new, &outside, &pending]);
}

#[tokio::test]
async fn at_trace_level_the_jwt_function_logs_no_key() {
    let sm = connect().await;
    let function = RunningFunction::start("rotate-jwt", &[TRACE]);
    // An HMAC key (a secret itself), then an RSA key pair.
    let hmac = sm.create(&unique("jwt"), r#"{"alg": "HS256"}"#).await;
    sm.rotate_with(&hmac, &function.arn).await.unwrap();
    let first_hmac = sm.value(&hmac, AWSCURRENT).await.unwrap();
    sm.rotate_with(&hmac, &function.arn).await.unwrap();
    let second_hmac = sm.value(&hmac, AWSCURRENT).await.unwrap();
    let rsa = sm.create(&unique("jwt"), r#"{"alg": "RS256"}"#).await;
    sm.rotate_with(&rsa, &function.arn).await.unwrap();
    let rsa_value = sm.value(&rsa, AWSCURRENT).await.unwrap();
    // A private key pasted as the whole value is refused, and not echoed.
    let pasted = rsa_value[SIGNING_KEY].as_str().unwrap().to_owned();
    let pem = sm.create(&unique("jwt"), &pasted).await;
    let err = sm.rotate_with(&pem, &function.arn).await.unwrap_err();
    assert!(err.contains("MalformedSecret"), "{err}");

    let key_lines = |pem: &str| -> Vec<String> {
        pem.lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 20)
            .map(str::to_owned)
            .collect()
    };
    let mut secrets: Vec<String> = key_lines(&pasted);
    for value in [&first_hmac, &second_hmac] {
        secrets.push(value[SIGNING_KEY].as_str().unwrap().to_owned());
        let keys = value[JWKS]["keys"].as_array().unwrap();
        secrets.extend(
            keys.iter()
                .filter_map(|k| k["k"].as_str())
                .map(str::to_owned),
        );
    }
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_trace_log_clean(&function, &secrets);
}

// ---- bounded by the function's own deadline ----

/// A database that accepts connections and never answers, behind a function whose timeout is
/// shorter than CONNECT_TIMEOUT_SECONDS: the step must still answer with its own error, not be
/// killed by Lambda.
#[tokio::test]
async fn a_hung_server_fails_the_step_before_the_function_times_out() {
    let sm = connect().await;
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut pg_secret = postgres().secret("svc_hung", "hung-pw-1");
    pg_secret["port"] = port.into();
    let mut neo4j_secret = neo4j().secret("svc_hung", "hung-pw-1");
    neo4j_secret["uri"] = format!("bolt://127.0.0.1:{port}").into();
    for (name, secret) in [
        ("rotate-postgres", pg_secret),
        ("rotate-neo4j", neo4j_secret),
    ] {
        let function = RunningFunction::start_with_timeout(
            name,
            &[("CONNECT_TIMEOUT_SECONDS", "30"), ("PGSSLMODE", "disable")],
            4,
        );
        let arn = sm.create(&unique("hung"), &secret.to_string()).await;
        let err = sm.rotate_with(&arn, &function.arn).await.unwrap_err();
        assert!(
            err.contains("rotation function failed at setSecret: Timeout:"),
            "{name}: {err}"
        );
        assert!(
            err.contains("before the function's deadline"),
            "{name}: {err}"
        );
        assert!(!err.contains("hung-pw-1"));
    }
    drop(silent);
}

// ---- the public set, published where verifiers fetch it ----

/// finishSecret writes the new public set to S3 once AWSCURRENT holds it, as JSON with a
/// cache lifetime from the schedule. A failed write fails the step by name, and Secrets
/// Manager's retry writes it. A set of HMAC keys is never written.
#[tokio::test]
async fn finish_secret_publishes_the_public_set_to_s3() {
    let sm = connect().await;
    let s3 = moto().s3().await;
    let bucket = unique("jwks").replace('_', "-");
    let endpoint = moto().endpoint.clone();
    let function = RunningFunction::start(
        "rotate-jwt",
        &[("JWKS_BUCKET", &bucket), ("AWS_ENDPOINT_URL_S3", &endpoint)],
    );
    let name = unique("jwt/published");
    let arn = sm.create(&name, r#"{"alg": "ES256"}"#).await;
    let key = format!("{name}/jwks.json");
    let published = || async {
        let object = s3
            .get_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .ok()?;
        let headers = (
            object.content_type().map(str::to_owned),
            object.cache_control().map(str::to_owned),
        );
        let body = object.body.collect().await.unwrap().into_bytes();
        Some((headers, serde_json::from_slice::<Value>(&body).unwrap()))
    };

    // The bucket does not exist yet: AWSCURRENT moves, then the step fails naming the object.
    let token = sm.start_rotation(&arn).await;
    for step in [Step::CreateSecret, Step::SetSecret, Step::TestSecret] {
        function.invoke(step, &arn, &token).await.unwrap();
    }
    let err = function
        .invoke(Step::FinishSecret, &arn, &token)
        .await
        .unwrap_err();
    assert!(
        err.contains(&format!(
            "finishSecret: PublishFailed: publishing s3://{bucket}/{key} failed: NoSuchBucket"
        )),
        "{err}"
    );
    assert!(published().await.is_none());

    // Secrets Manager's retry finds the rotation done and publishes.
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    function.retry(&arn, &token).await.unwrap();
    sm.complete_rotation(&arn, &token).await;
    let current = sm.value(&arn, AWSCURRENT).await.unwrap();
    let (headers, set) = published().await.expect("the set is published");
    assert_eq!(set, current[JWKS]);
    // A 30-day schedule: half of it, capped at a day.
    assert_eq!(
        headers,
        (
            Some("application/json".to_owned()),
            Some("public, max-age=86400".to_owned())
        )
    );
    for key in set["keys"].as_array().unwrap() {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                key.get(private).is_none(),
                "a published key has {private:?}"
            );
        }
    }

    // The next rotation replaces it with the set that holds the new signing key.
    sm.rotate_with(&arn, &function.arn).await.unwrap();
    let next = sm.value(&arn, AWSCURRENT).await.unwrap();
    let (_, set) = published().await.unwrap();
    assert_eq!(set, next[JWKS]);
    assert_eq!(set["keys"][0]["kid"], next[KID]);

    // An HMAC set is a set of secrets: never written.
    let hmac_name = unique("jwt/hmac");
    let hmac = sm.create(&hmac_name, r#"{"alg": "HS256"}"#).await;
    sm.rotate_with(&hmac, &function.arn).await.unwrap();
    let hmac_object = s3
        .get_object()
        .bucket(&bucket)
        .key(format!("{hmac_name}/jwks.json"))
        .send()
        .await;
    assert!(hmac_object.is_err(), "an HMAC set was published");
    assert!(function.log().contains("it is not published"));
}

// ---- the hand path of events/README.md ----

/// `make event` (what `make invoke` sends) with the secret and the AWSPENDING version filled
/// in, sent step by step to the release binary: a whole rotation, no tracked file edited.
/// Without them it names what is missing instead of sending an event AWS would refuse.
#[tokio::test]
async fn the_documented_hand_path_rotates_a_secret() {
    let sm = connect().await;
    let (arn, user, old) = postgres_secret(&sm, "svc_by_hand").await;
    let function = RunningFunction::start("rotate-postgres", &[("PGSSLMODE", "disable")]);
    let make_event = |step: Step, fill: &[(&str, &str)]| {
        let mut make = std::process::Command::new("make");
        make.current_dir(integration_tests::workspace_root())
            .args(["-s", "--no-print-directory", "event", "FN=postgres"])
            .arg(format!("STEP={}", step.as_str()));
        for (name, value) in fill {
            make.arg(format!("{name}={value}"));
        }
        make.output().expect("run make")
    };
    let ready = std::fs::read_to_string(
        integration_tests::workspace_root().join("events/postgres/setSecret.json"),
    )
    .unwrap();

    let refused = make_event(Step::SetSecret, &[]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("needs SECRET=<the secret's ARN or name> and TOKEN=")
            && said.contains("describe-secret"),
        "{said}"
    );

    // RotateSecret started a rotation; the version labelled AWSPENDING is the token.
    let token = sm.start_rotation(&arn).await;
    let stages = sm.stages(&arn).await;
    assert_eq!(
        integration_tests::version_with_stage(&stages, AWSPENDING).as_deref(),
        Some(token.as_str())
    );
    for step in Step::ALL {
        let made = make_event(step, &[("SECRET", &arn), ("TOKEN", &token)]);
        assert!(made.status.success(), "{made:?}");
        let path = String::from_utf8(made.stdout).unwrap();
        let event: Value =
            serde_json::from_str(&std::fs::read_to_string(path.trim()).unwrap()).unwrap();
        assert_eq!(event["Step"], step.as_str());
        function
            .invoke_event(&event)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", step.as_str()));
    }
    let new = password(&sm.value(&arn, AWSCURRENT).await.unwrap());
    assert_ne!(new, old);
    assert!(postgres().can_login(&user, &new).await);
    assert!(!postgres().can_login(&user, &old).await);
    assert_eq!(
        std::fs::read_to_string(
            integration_tests::workspace_root().join("events/postgres/setSecret.json")
        )
        .unwrap(),
        ready,
        "the ready event is untouched"
    );
}

/// Turning rotation on without rotating makes Secrets Manager run testSecret alone, on a
/// temporary AWSPENDING copy of AWSCURRENT: the JWT function passes it for a key set and for
/// a placeholder, so a schedule made without an immediate rotation does not fail.
#[tokio::test]
async fn the_jwt_function_passes_secrets_managers_configuration_test() {
    let sm = connect().await;
    let function = RunningFunction::start("rotate-jwt", &[]);
    // A key set, made by a rotation and stored as a new secret: moto copies a secret's
    // first value, not AWSCURRENT's, into the temporary version.
    let made = sm.create(&unique("jwt"), r#"{"alg": "ES256"}"#).await;
    sm.rotate_with(&made, &function.arn).await.unwrap();
    let value = sm.value(&made, AWSCURRENT).await.unwrap().to_string();
    let keys = sm.create(&unique("jwt"), &value).await;
    let placeholder = sm.create(&unique("jwt"), r#"{"alg": "EdDSA"}"#).await;
    for arn in [&keys, &placeholder] {
        let counted = function.metric_lines().len();
        sm.schedule_without_rotating(arn, &function.arn)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let lines = function.metric_lines();
        let tested: Vec<_> = lines[counted..]
            .iter()
            .map(|l| (l["step"].clone(), l["StepFailed"].clone()))
            .collect();
        assert_eq!(tested, [(json!("testSecret"), json!(0))], "{arn}");
    }
    assert!(function.log().contains("copy of AWSCURRENT"));
}
