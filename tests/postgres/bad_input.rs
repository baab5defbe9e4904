//! Bad input: a clear error, and nothing changed.

use crate::fixture::{Fixture, login_settings};
use std::time::{Duration, Instant};

use integration_tests::{SecretsManager, install_crypto_provider, postgres, unique};
use rotate_postgres::Settings;
use rotation_core::{AWSPENDING, LoginSettings, RotationEvent, Rotator, Step};
use serde_json::{Value, json};

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

/// Makes a stored value from a working secret and a deeply nested JSON text.
type MakeValue = fn(Value, String) -> String;

/// Oversized and deeply nested values (moto stores what AWS would refuse) are refused with a
/// clear error, and nothing changes.
#[tokio::test]
async fn oversized_and_deeply_nested_values_are_refused() {
    let deep = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    let cases: [(MakeValue, &str); 4] = [
        (
            |mut secret, _| {
                secret["padding"] = json!("x".repeat(1 << 20));
                secret.to_string()
            },
            "bytes, more than the 65536 bytes Secrets Manager stores",
        ),
        (
            |mut secret, _| {
                for i in 0..10_000 {
                    secret[format!("key{i}")] = json!(i);
                }
                secret.to_string()
            },
            "bytes, more than the 65536 bytes Secrets Manager stores",
        ),
        (|_, deep| deep, "it nests JSON more than 128 levels deep"),
        (
            |_, deep| deep.repeat(10),
            "bytes, more than the 65536 bytes Secrets Manager stores",
        ),
    ];
    for (make, message) in cases {
        let f = Fixture::new().await;
        let value = make(postgres().secret(&f.user, &f.password), deep(4_000));
        f.sm.put_current(&f.arn, &value).await;
        let token = f.sm.start_rotation(&f.arn).await;
        f.assert_rejected(Step::CreateSecret, &token, "MalformedSecret", message)
            .await;
        assert!(f.can_login(&f.password).await);
        integration_tests::reliability::record(
            "Hostile input: oversized or deeply nested secret",
            "1 MB value; 10,000 keys; 4,000 levels of nesting",
            "PostgreSQL, single user",
        );
    }
}

#[tokio::test]
async fn a_binary_secret_is_refused() {
    install_crypto_provider();
    let sm = SecretsManager::connect().await;
    let arn = sm.create_binary(&unique("bin"), b"\x00\x01binary").await;
    let token = sm.start_rotation(&arn).await;
    let rotator = Rotator::new(sm.store(), rotate_postgres::engine(Settings::default()));
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

/// A pending value that someone else wrote, pointing at another role or server, or asking
/// for other TLS settings (the current password would go with them).
#[tokio::test]
async fn a_pending_value_for_another_user_or_host_or_transport_is_refused() {
    for (key, value, field) in [
        ("username", json!("postgres"), "username"),
        ("host", json!("localhost"), "host"),
        ("ssl", json!(true), "ssl/sslmode"),
        ("sslmode", json!("prefer"), "ssl/sslmode"),
    ] {
        let f = Fixture::new().await;
        let token = f.sm.start_rotation(&f.arn).await;
        let mut pending = postgres().secret(&f.user, "attacker-chosen-pw");
        pending[key] = value;
        f.sm.put_pending(&f.arn, &token, &pending.to_string()).await;
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
    let token = f.begin().await;
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
    let settings = login_settings(LoginSettings {
        connect_timeout: Duration::from_secs(1),
        ..LoginSettings::default()
    });
    let f = Fixture::with(&user, "pw-initial", secret, settings).await;
    let token = f.begin().await;
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
    let token = f.begin().await;
    let pending = f.password_at(AWSPENDING).await;
    // Someone changed the password outside Secrets Manager.
    let outside = "changed-outside-secrets-manager";
    postgres().set_password(&f.user, outside).await;
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
