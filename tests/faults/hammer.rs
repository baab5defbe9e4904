//! An application logging in throughout its secret's rotations, as a connection pool does:
//! it reads AWSCURRENT, logs in, and does it again, as fast as it can. Its failed logins are
//! counted per strategy; with alternating users there must be none.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use integration_tests::reliability::{self, AppLogins};
use integration_tests::{Phase, SecretsManager};
use rotation_core::AWSCURRENT;

use crate::subject::{Kind, Subject};

const FAULT: &str = "Application logging in throughout";
const ROTATIONS: usize = 5;
/// Connections the application opens at once, as a small pool does.
const POOL: usize = 4;
/// How long Secrets Manager waits before it retries a failed rotation here: past Neo4j's
/// default lockout (dbms.security.auth_lock_time, 5 s), which an application's refused
/// logins during a single-user rotation can trigger.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(6);

/// Logs in with whatever AWSCURRENT holds, over and over, until `stop`; waits while `paused`.
async fn application(
    kind: Kind,
    sm: SecretsManager,
    arn: String,
    [stop, paused]: [Arc<AtomicBool>; 2],
    [attempts, failed, in_flight]: [Arc<AtomicU64>; 3],
) {
    while !stop.load(Ordering::SeqCst) {
        if paused.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        }
        // moto moves a label in two steps, so a read can fall between them: read again.
        let Some(value) = sm.value(&arn, AWSCURRENT).await else {
            continue;
        };
        in_flight.fetch_add(1, Ordering::SeqCst);
        let (user, password) = (
            value["username"].as_str().unwrap(),
            value["password"].as_str().unwrap(),
        );
        let ok = kind.can_login(user, password).await;
        attempts.fetch_add(1, Ordering::SeqCst);
        if !ok {
            failed.fetch_add(1, Ordering::SeqCst);
        }
        in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Rotates `kind`'s secret ROTATIONS times under the application's logins; with
/// `no_window`, asserts that none of them failed and no rotation needed a retry.
async fn hammered(kind: Kind, no_window: bool) {
    let mut subject = Subject::new(kind).await;
    let function = subject.start_function(&[]);
    let stop = Arc::new(AtomicBool::new(false));
    let paused = Arc::new(AtomicBool::new(false));
    let counters = [(); 3].map(|()| Arc::new(AtomicU64::new(0)));
    let [attempts, failed, in_flight] = counters.clone();
    let pool: Vec<_> = (0..POOL)
        .map(|_| {
            tokio::spawn(application(
                kind,
                subject.sm.clone(),
                subject.arn.clone(),
                [stop.clone(), paused.clone()],
                counters.clone(),
            ))
        })
        .collect();
    let mut retried = 0;
    for _ in 0..ROTATIONS {
        let before = subject.current_version().await;
        if let Err(err) = subject.sm.rotate_with(&subject.arn, &function.arn).await {
            // A rotation may fail, cleanly: Secrets Manager retries it later.
            assert!(
                !err.contains("Sandbox.Timedout") && !err.contains("Runtime.ExitError"),
                "{}: {err}",
                kind.label()
            );
            eprintln!("{}: a rotation failed and is retried: {err}", kind.label());
            // On Neo4j the failure is the lockout the application's own refused logins
            // caused, and it lasts as long as they go on: the application backs off (as a
            // pool does after errors) until the retry has run.
            paused.store(true, Ordering::SeqCst);
            while in_flight.load(Ordering::SeqCst) > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            tokio::time::sleep(RETRY_AFTER).await;
            subject.assert_invariant(Phase::Interrupted).await;
            subject.retry(&function).await;
            paused.store(false, Ordering::SeqCst);
            retried += 1;
        }
        subject.assert_invariant(Phase::Settled).await;
        subject.assert_rotated_from(&before).await;
    }
    stop.store(true, Ordering::SeqCst);
    for app in pool {
        app.await.unwrap();
    }
    let logins = AppLogins {
        attempts: attempts.load(Ordering::SeqCst),
        failed: failed.load(Ordering::SeqCst),
        retried_rotations: retried,
    };
    eprintln!(
        "{}: the application made {} logins during {ROTATIONS} rotations, {} failed; {} rotations retried",
        kind.label(),
        logins.attempts,
        logins.failed,
        logins.retried_rotations
    );
    assert!(
        logins.attempts >= ROTATIONS as u64,
        "the application hardly logged in: {logins:?}"
    );
    if no_window {
        assert_eq!(logins.failed, 0, "{}: {logins:?}", kind.label());
        assert_eq!(logins.retried_rotations, 0, "{}: {logins:?}", kind.label());
    }
    reliability::record_app_logins(
        FAULT,
        &format!("{ROTATIONS} rotations"),
        kind.label(),
        logins,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alternating_users_never_fail_an_application_login() {
    for kind in [Kind::PgAlternating, Kind::Neo4jAlternating] {
        hammered(kind, true).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_user_rotation_counts_the_application_logins_it_fails() {
    for kind in [Kind::PgSingle, Kind::Neo4jSingle] {
        hammered(kind, false).await;
    }
}
