//! Every statement is bounded, on the server and in the client: a step never waits longer
//! than its bound, whatever the server is doing.

use std::time::{Duration, Instant};

use crate::fixture::{Fixture, login_settings};

use integration_tests::{postgres, unique};
use postgres_protocol::escape::escape_identifier;
use rotation_core::{AWSPENDING, LoginSettings, Outcome, Step};

#[tokio::test]
async fn an_alter_role_blocked_by_another_session_times_out_and_changes_nothing() {
    let user = unique("locked");
    let password = format!("initial-{}", unique("pw"));
    let settings = login_settings(LoginSettings {
        connect_timeout: Duration::from_secs(2),
        ..LoginSettings::default()
    });
    let f = Fixture::with(
        &user,
        &password,
        postgres().secret(&user, &password),
        settings,
    )
    .await;
    let token = f.begin().await;
    let pending = f.password_at(AWSPENDING).await;

    // A DBA's open transaction holds the role's row lock.
    let dba = postgres().superuser().await;
    dba.batch_execute(&format!(
        "BEGIN; ALTER ROLE {} CONNECTION LIMIT 50",
        escape_identifier(&user)
    ))
    .await
    .unwrap();
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(30), f.step(Step::SetSecret, &token))
        .await
        .expect("setSecret waited on the lock beyond every bound");
    let err = outcome.unwrap_err();
    assert_eq!(err.error_type(), "Timeout", "{err}");
    assert!(err.to_string().contains("lock timeout"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );

    // Once the lock is released, nothing has changed: the blocked statement was cancelled,
    // not left to commit later.
    dba.batch_execute("ROLLBACK").await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(f.can_login(&password).await);
    assert!(!f.can_login(&pending).await);
    assert_eq!(
        f.step(Step::SetSecret, &token).await.unwrap(),
        Outcome::Applied
    );
    assert!(f.can_login(&pending).await);
}
