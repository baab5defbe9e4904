//! End-to-end rotations of PostgreSQL secrets: the real `rotate-postgres` engine, a real
//! PostgreSQL cluster with SCRAM authentication, and moto as Secrets Manager reached through
//! the AWS SDK.

use std::time::{Duration, Instant};

use integration_tests::{LogCapture, SecretsManager, install_crypto_provider, postgres, unique};
use rotate_postgres::{PostgresEngine, Settings};
use rotation_core::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, AwsSecretStore, Outcome, PasswordPolicy, RotationError,
    RotationEvent, Rotator, Step,
};
use serde_json::{Value, json};

struct Fixture {
    sm: SecretsManager,
    rotator: Rotator<AwsSecretStore, PostgresEngine>,
    arn: String,
    user: String,
    password: String,
}

impl Fixture {
    /// A role with `password`, and a secret holding `secret`.
    async fn with(user: &str, password: &str, secret: Value, settings: Settings) -> Self {
        install_crypto_provider();
        postgres().create_role(user, password).await;
        let sm = SecretsManager::connect().await;
        let arn = sm.create(&unique("db"), &secret.to_string()).await;
        let rotator = Rotator::new(sm.store(), PostgresEngine::new(settings));
        Self {
            sm,
            rotator,
            arn,
            user: user.into(),
            password: password.into(),
        }
    }

    async fn new() -> Self {
        let user = unique("app");
        let password = format!("initial-{}", unique("pw"));
        Self::with(
            &user,
            &password,
            postgres().secret(&user, &password),
            Settings::default(),
        )
        .await
    }

    async fn step(&self, step: Step, token: &str) -> Result<Outcome, RotationError> {
        let event = RotationEvent {
            step,
            secret_id: self.arn.clone(),
            token: token.into(),
            rotation_token: None,
        };
        self.rotator.run(&event).await
    }

    /// One whole rotation as the service runs it, AWSPENDING cleared at the end. Returns the
    /// new password.
    async fn rotate(&self) -> String {
        let token = self.sm.start_rotation(&self.arn).await;
        for step in Step::ALL {
            self.step(step, &token)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", step.as_str()));
        }
        self.sm.complete_rotation(&self.arn, &token).await;
        self.password_at(AWSCURRENT).await
    }

    async fn password_at(&self, stage: &str) -> String {
        self.sm.value(&self.arn, stage).await.unwrap()["password"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn can_login(&self, password: &str) -> bool {
        postgres().can_login(&self.user, password).await
    }

    /// Runs `step`, expects `error_type` with `message` in it, and proves nothing changed: the
    /// secret's versions and labels, and which password the role accepts.
    async fn assert_rejected(
        &self,
        step: Step,
        token: &str,
        error_type: &str,
        message: &str,
    ) -> RotationError {
        let before = self.sm.snapshot(&self.arn).await;
        let err = self.step(step, token).await.unwrap_err();
        assert_eq!(err.error_type(), error_type, "{err}");
        assert!(
            err.to_string().contains(message),
            "{err:?} should mention {message:?}"
        );
        assert_eq!(
            self.sm.snapshot(&self.arn).await,
            before,
            "the failed step changed the secret"
        );
        assert!(
            self.can_login(&self.password).await,
            "the failed step changed the role's password"
        );
        err
    }
}

#[tokio::test]
async fn a_full_rotation_changes_the_password_and_keeps_everything_else() {
    let f = Fixture::new().await;
    let mut secret = postgres().secret(&f.user, &f.password);
    secret["team"] = json!({"owner": "data", "tags": ["a", "b"]});
    f.sm.put_current(&f.arn, &secret.to_string()).await;

    let token = f.sm.start_rotation(&f.arn).await;
    let expected = [
        (Step::CreateSecret, Outcome::Created, Outcome::PendingExists),
        (Step::SetSecret, Outcome::Applied, Outcome::AlreadyApplied),
        (Step::TestSecret, Outcome::Tested, Outcome::Tested),
        (
            Step::FinishSecret,
            Outcome::Finished,
            Outcome::AlreadyCurrent,
        ),
    ];
    for (step, first, again) in expected {
        assert_eq!(f.step(step, &token).await.unwrap(), first, "{step:?}");
        assert_eq!(
            f.step(step, &token).await.unwrap(),
            again,
            "{step:?} run twice"
        );
    }
    let current = f.sm.value(&f.arn, AWSCURRENT).await.unwrap();
    let new_password = current["password"].as_str().unwrap();
    assert_ne!(new_password, f.password);
    assert_eq!(new_password.len(), 32);
    assert!(
        f.can_login(new_password).await,
        "the new password is refused"
    );
    assert!(
        !f.can_login(&f.password).await,
        "the old password still logs in"
    );
    assert_eq!(f.password_at(AWSPREVIOUS).await, f.password);
    let mut expected_secret = secret.clone();
    expected_secret["password"] = new_password.into();
    assert_eq!(
        current, expected_secret,
        "keys other than the password changed"
    );
    let mut labels = f.sm.stages(&f.arn).await[&token].clone();
    labels.sort();
    assert_eq!(labels, [AWSCURRENT, AWSPENDING]);
}

#[tokio::test]
async fn a_second_rotation_works_and_moves_awsprevious_along() {
    let f = Fixture::new().await;
    let first = f.rotate().await;
    let second = f.rotate().await;
    assert_ne!(first, second);
    assert!(f.can_login(&second).await);
    assert!(!f.can_login(&first).await);
    assert!(!f.can_login(&f.password).await);
    assert_eq!(f.password_at(AWSPREVIOUS).await, first);
}

#[tokio::test]
async fn a_crash_after_alter_role_is_healed_by_the_retry() {
    let f = Fixture::new().await;
    let token = f.sm.start_rotation(&f.arn).await;
    f.step(Step::CreateSecret, &token).await.unwrap();
    let pending = f.password_at(AWSPENDING).await;
    // The state a crash leaves when ALTER ROLE committed but setSecret never returned.
    let (statement, _) = scram_alter(&f.user, &pending);
    postgres()
        .superuser()
        .await
        .batch_execute(&statement)
        .await
        .unwrap();
    assert!(!f.can_login(&f.password).await);

    assert_eq!(
        f.step(Step::SetSecret, &token).await.unwrap(),
        Outcome::AlreadyApplied
    );
    f.step(Step::TestSecret, &token).await.unwrap();
    f.step(Step::FinishSecret, &token).await.unwrap();
    assert_eq!(f.password_at(AWSCURRENT).await, pending);
    assert!(f.can_login(&pending).await);
}

fn scram_alter(user: &str, password: &str) -> (String, String) {
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    (
        format!(
            "ALTER ROLE {} PASSWORD {}",
            postgres_protocol::escape::escape_identifier(user),
            postgres_protocol::escape::escape_literal(&verifier)
        ),
        verifier,
    )
}

#[tokio::test]
async fn a_rotation_left_half_done_is_finished_with_awsprevious() {
    // An earlier rotation set the database to its pending password and then AWSCURRENT was
    // moved there by hand; the role now matches only AWSPREVIOUS of a later secret value.
    let f = Fixture::new().await;
    let mut stale = postgres().secret(&f.user, "not-the-real-one");
    stale["note"] = "put by hand".into();
    f.sm.put_current(&f.arn, &stale.to_string()).await;
    let token = f.sm.start_rotation(&f.arn).await;
    f.step(Step::CreateSecret, &token).await.unwrap();
    assert_eq!(
        f.step(Step::SetSecret, &token).await.unwrap(),
        Outcome::Applied
    );
    assert!(f.can_login(&f.password_at(AWSPENDING).await).await);
}

#[tokio::test]
async fn awkward_user_names_and_passwords_rotate() {
    let cases = [
        (
            "o'brien \"the\" \\admin",
            "it's a \"pass\\word\" with spaces",
        ),
        ("usér_ñame ÄÖÜ", "pässwörd-ünïcødé-密码"),
        ("trailing space ", "back\\\\slash''quote"),
    ];
    // Generated passwords may hold every punctuation character, quotes and backslash included.
    let settings = Settings {
        password_policy: PasswordPolicy {
            length: 64,
            ..PasswordPolicy::defaults("")
        },
        ..Settings::default()
    };
    for (base, password) in cases {
        let user = format!("{base}{}", unique(""));
        let f = Fixture::with(
            &user,
            password,
            postgres().secret(&user, password),
            settings.clone(),
        )
        .await;
        let first = f.rotate().await;
        let second = f.rotate().await;
        assert!(f.can_login(&second).await, "{user:?}: new password refused");
        assert!(
            !f.can_login(&first).await && !f.can_login(password).await,
            "{user:?}: an old password still works"
        );
    }
}

#[tokio::test]
async fn the_user_and_database_key_names_are_kept() {
    let user = unique("team");
    let password = "team-initial-pw";
    let secret = json!({
        "host": "127.0.0.1", "port": postgres().port.to_string(), "user": user,
        "password": password, "database": "postgres", "ssl": "false"
    });
    let f = Fixture::with(&user, password, secret.clone(), Settings::default()).await;
    let new_password = f.rotate().await;
    assert!(f.can_login(&new_password).await);
    let mut expected = secret;
    expected["password"] = new_password.into();
    assert_eq!(f.sm.value(&f.arn, AWSCURRENT).await.unwrap(), expected);
}

#[tokio::test]
async fn the_plaintext_password_never_reaches_the_server() {
    let f = Fixture::new().await;
    let new_password = f.rotate().await;
    let log = postgres().server_log();
    assert!(
        log.contains(&format!("ALTER ROLE \"{}\"", f.user)),
        "statement logging is off; the check proves nothing"
    );
    assert!(
        !log.contains(&new_password),
        "the new password is in the server's statement log"
    );
}

#[tokio::test]
async fn a_lambda_event_with_a_rotation_token_rotates() {
    let f = Fixture::new().await;
    let token = f.sm.start_rotation(&f.arn).await;
    for step in Step::ALL {
        let answer = f
            .rotator
            .handle(&json!({
                "Step": step.as_str(), "SecretId": f.arn, "ClientRequestToken": token,
                "RotationToken": "opaque-rotation-token"
            }))
            .await
            .unwrap();
        assert_eq!(answer["step"], step.as_str());
    }
    assert!(f.can_login(&f.password_at(AWSCURRENT).await).await);
}

// ---- bad input: a clear error, and nothing changed ----

#[tokio::test]
async fn malformed_events_are_refused_before_any_call() {
    let f = Fixture::new().await;
    let token = f.sm.start_rotation(&f.arn).await;
    let before = f.sm.snapshot(&f.arn).await;
    let cases = [
        (
            json!({"SecretId": f.arn, "ClientRequestToken": token}),
            "the event has no Step",
        ),
        (
            json!({"Step": "rotateSecret", "SecretId": f.arn, "ClientRequestToken": token}),
            "unknown Step \"rotateSecret\"",
        ),
        (
            json!({"Step": "createSecret", "SecretId": f.arn}),
            "the event has no ClientRequestToken",
        ),
        (json!("createSecret"), "not a JSON object"),
    ];
    for (event, message) in cases {
        let err = f.rotator.handle(&event).await.unwrap_err();
        assert_eq!(err.error_type(), "InvalidEvent");
        assert!(err.to_string().contains(message), "{err}");
    }
    assert_eq!(f.sm.snapshot(&f.arn).await, before);
}

#[tokio::test]
async fn a_token_that_is_not_staged_is_refused() {
    let f = Fixture::new().await;
    f.sm.start_rotation(&f.arn).await;
    f.assert_rejected(
        Step::CreateSecret,
        "00000000-0000-0000-0000-000000000000",
        "VersionNotStaged",
        "has no stage for rotation",
    )
    .await;
}

#[tokio::test]
async fn a_secret_with_rotation_disabled_is_refused() {
    let f = Fixture::new().await;
    let token = f.sm.start_rotation(&f.arn).await;
    f.sm.cancel_rotation(&f.arn).await;
    f.assert_rejected(
        Step::CreateSecret,
        &token,
        "RotationNotEnabled",
        "is not enabled for rotation",
    )
    .await;
}

#[tokio::test]
async fn a_value_that_is_not_json_is_refused() {
    let f = Fixture::new().await;
    f.sm.put_current(&f.arn, "postgres://user:pw@host/db").await;
    let token = f.sm.start_rotation(&f.arn).await;
    let err = f
        .assert_rejected(
            Step::CreateSecret,
            &token,
            "MalformedSecret",
            "is not valid JSON",
        )
        .await;
    assert!(!err.to_string().contains("pw@host"));
}

#[tokio::test]
async fn a_binary_secret_is_refused() {
    install_crypto_provider();
    let sm = SecretsManager::connect().await;
    let arn = sm.create_binary(&unique("bin"), b"\x00\x01binary").await;
    let token = sm.start_rotation(&arn).await;
    let rotator = Rotator::new(sm.store(), PostgresEngine::new(Settings::default()));
    let before = sm.snapshot(&arn).await;
    let event = RotationEvent {
        step: Step::CreateSecret,
        secret_id: arn.clone(),
        token,
        rotation_token: None,
    };
    let err = rotator.run(&event).await.unwrap_err();
    assert_eq!(err.error_type(), "MalformedSecret");
    assert!(err.to_string().contains("SecretBinary"), "{err}");
    assert_eq!(sm.snapshot(&arn).await, before);
}

#[tokio::test]
async fn a_missing_key_is_named() {
    for (key, message) in [
        ("host", "no \"host\" key"),
        ("username", "no \"username\" or \"user\" key"),
        ("password", "no \"password\" key"),
    ] {
        let f = Fixture::new().await;
        let mut secret = postgres().secret(&f.user, &f.password);
        secret.as_object_mut().unwrap().remove(key);
        f.sm.put_current(&f.arn, &secret.to_string()).await;
        let token = f.sm.start_rotation(&f.arn).await;
        f.assert_rejected(Step::CreateSecret, &token, "MalformedSecret", message)
            .await;
    }
}

#[tokio::test]
async fn another_engine_is_refused() {
    let f = Fixture::new().await;
    let mut secret = postgres().secret(&f.user, &f.password);
    secret["engine"] = "mysql".into();
    f.sm.put_current(&f.arn, &secret.to_string()).await;
    let token = f.sm.start_rotation(&f.arn).await;
    f.assert_rejected(
        Step::CreateSecret,
        &token,
        "WrongEngine",
        "is for engine \"mysql\"",
    )
    .await;
}

/// A pending value that someone else wrote, pointing at another role or server.
#[tokio::test]
async fn a_pending_value_for_another_user_or_host_is_refused() {
    for (field, value) in [
        ("username", json!("postgres")),
        ("host", json!("localhost")),
    ] {
        let f = Fixture::new().await;
        let token = f.sm.start_rotation(&f.arn).await;
        let mut pending = postgres().secret(&f.user, "attacker-chosen-pw");
        pending[field] = value;
        f.sm.client
            .put_secret_value()
            .secret_id(&f.arn)
            .client_request_token(&token)
            .secret_string(pending.to_string())
            .version_stages(AWSPENDING)
            .send()
            .await
            .unwrap();
        f.assert_rejected(
            Step::SetSecret,
            &token,
            "PendingMismatch",
            &format!("pending {field} differs"),
        )
        .await;
        assert!(
            postgres()
                .can_login("postgres", "attacker-chosen-pw")
                .await
                .eq(&false)
        );
    }
}

#[tokio::test]
async fn an_unreachable_database_fails_fast_with_the_reason() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let f = Fixture::new().await;
    let mut secret = postgres().secret(&f.user, &f.password);
    secret["port"] = closed_port.into();
    f.sm.put_current(&f.arn, &secret.to_string()).await;
    let token = f.sm.start_rotation(&f.arn).await;
    f.step(Step::CreateSecret, &token).await.unwrap();
    let err = f
        .assert_rejected(
            Step::SetSecret,
            &token,
            "ServerUnreachable",
            &format!("127.0.0.1:{closed_port}"),
        )
        .await;
    assert!(!err.to_string().contains(&f.password));
    f.assert_rejected(Step::TestSecret, &token, "ServerUnreachable", "login to")
        .await;
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_bound() {
    // Accepts TCP connections (the kernel does, from the backlog) and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let user = unique("app");
    let mut secret = postgres().secret(&user, "pw-initial");
    secret["port"] = silent_port.into();
    let settings = Settings {
        connect_timeout: Duration::from_secs(1),
        ..Settings::default()
    };
    let f = Fixture::with(&user, "pw-initial", secret, settings).await;
    let token = f.sm.start_rotation(&f.arn).await;
    f.step(Step::CreateSecret, &token).await.unwrap();
    let started = Instant::now();
    f.assert_rejected(
        Step::SetSecret,
        &token,
        "Timeout",
        "got no answer within 1 s",
    )
    .await;
    // Generous: the point is that the step ends on its own bound, not the Lambda's.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    drop(silent);
}

#[tokio::test]
async fn when_every_credential_is_refused_the_error_says_so_for_each() {
    let f = Fixture::new().await;
    let token = f.sm.start_rotation(&f.arn).await;
    f.step(Step::CreateSecret, &token).await.unwrap();
    let pending = f.password_at(AWSPENDING).await;
    // Someone changed the password outside Secrets Manager.
    let outside = "changed-outside-secrets-manager";
    let (statement, _) = scram_alter(&f.user, outside);
    postgres()
        .superuser()
        .await
        .batch_execute(&statement)
        .await
        .unwrap();
    let before = f.sm.snapshot(&f.arn).await;
    let err = f.step(Step::SetSecret, &token).await.unwrap_err();
    assert_eq!(err.error_type(), "NoWorkingCredentials");
    let text = err.to_string();
    assert!(
        text.contains("AWSPENDING: unencrypted login to") && text.contains("AWSCURRENT: "),
        "{text}"
    );
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(!text.contains(&pending) && !text.contains(&f.password) && !text.contains(outside));
    assert_eq!(f.sm.snapshot(&f.arn).await, before);
    assert!(
        postgres().can_login(&f.user, outside).await,
        "the role's password changed"
    );
}

// ---- TLS ----

#[tokio::test]
async fn ssl_true_against_a_server_without_tls_fails_and_changes_nothing() {
    let f = Fixture::new().await;
    let mut secret = postgres().secret(&f.user, &f.password);
    secret["ssl"] = true.into();
    f.sm.put_current(&f.arn, &secret.to_string()).await;
    let token = f.sm.start_rotation(&f.arn).await;
    f.step(Step::CreateSecret, &token).await.unwrap();
    f.assert_rejected(
        Step::SetSecret,
        &token,
        "TlsFailure",
        "server does not support TLS",
    )
    .await;
    f.assert_rejected(Step::TestSecret, &token, "TlsFailure", "TLS login to")
        .await;
}

#[tokio::test]
async fn a_secret_silent_on_tls_falls_back_to_plaintext_with_a_warning() {
    let (logs, _guard) = LogCapture::start();
    let f = Fixture::new().await;
    let mut secret = postgres().secret(&f.user, &f.password);
    secret.as_object_mut().unwrap().remove("ssl");
    f.sm.put_current(&f.arn, &secret.to_string()).await;
    let new_password = f.rotate().await;
    assert!(f.can_login(&new_password).await);
    let text = logs.text();
    assert!(
        text.contains("WARN") && text.contains("falling back to an unencrypted connection"),
        "{text}"
    );
}

// ---- no secret in any log ----

#[tokio::test]
async fn no_password_reaches_the_logs_at_trace_level() {
    let (logs, _guard) = LogCapture::start();
    let mut passwords = Vec::new();

    // A successful rotation, twice, so current, pending and previous all exist.
    let f = Fixture::new().await;
    passwords.push(f.password.clone());
    passwords.push(f.rotate().await);
    passwords.push(f.rotate().await);

    // Every credential refused.
    let token = f.sm.start_rotation(&f.arn).await;
    f.step(Step::CreateSecret, &token).await.unwrap();
    passwords.push(f.password_at(AWSPENDING).await);
    let outside = "outside-pw-for-the-log-test";
    passwords.push(outside.into());
    let (statement, _) = scram_alter(&f.user, outside);
    postgres()
        .superuser()
        .await
        .batch_execute(&statement)
        .await
        .unwrap();
    assert!(f.step(Step::SetSecret, &token).await.is_err());
    assert!(f.step(Step::TestSecret, &token).await.is_err());

    // A malformed value with a password in it, and an event carrying a RotationToken.
    let g = Fixture::new().await;
    passwords.push(g.password.clone());
    let broken = format!(
        "{{\"host\": \"127.0.0.1\", \"password\": \"{}\"",
        g.password
    );
    g.sm.put_current(&g.arn, &broken).await;
    let token = g.sm.start_rotation(&g.arn).await;
    let event = json!({"Step": "createSecret", "SecretId": g.arn, "ClientRequestToken": token, "RotationToken": "rotation-token-value"});
    assert!(g.rotator.handle(&event).await.is_err());
    passwords.push("rotation-token-value".into());

    let text = logs.text();
    assert!(
        text.contains("TRACE") || text.contains("DEBUG"),
        "the capture saw no detailed logs; it proves nothing"
    );
    assert!(
        text.contains("step failed") && text.contains("step done"),
        "the capture missed our own logs"
    );
    for (i, secret) in passwords.iter().enumerate() {
        assert!(
            !text.contains(secret.as_str()),
            "secret #{i} reached the logs"
        );
    }
    // Every ALTER ROLE above, ours and the set-up's, carried a verifier; none may be logged.
    assert!(
        !text.contains("SCRAM-SHA-256$"),
        "a password verifier reached the logs"
    );
}
