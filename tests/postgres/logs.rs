//! No secret value in any log line, at any level.

use crate::fixture::Fixture;

use integration_tests::{LogCapture, postgres};
use rotation_core::{AWSPENDING, Step};
use serde_json::json;

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
    let token = f.begin().await;
    passwords.push(f.password_at(AWSPENDING).await);
    let outside = "outside-pw-for-the-log-test";
    passwords.push(outside.into());
    postgres().set_password(&f.user, outside).await;
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
