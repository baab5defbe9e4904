//! Two rotations of the same secret at once, in two function processes: with the same token
//! (the service and a retry overlapping) and with a stale one (a late retry of the rotation
//! before, whose version is AWSCURRENT until this one finishes). One proceeds, the other
//! fails cleanly or finds nothing to do, and the invariant holds; on Neo4j, no user is
//! locked out.

use integration_tests::{Phase, RunningFunction, reliability};
use rotation_core::Step;

use crate::subject::{Kind, Subject};

const FAULT: &str = "Two rotations of one secret at once";

/// The errors a step may fail with cleanly: the function's own, never a crash or a timeout.
fn assert_clean(err: &str, at: &str) {
    let lockout = "too many times in a row";
    for unclean in ["Runtime.ExitError", "Sandbox.Timedout", "panicked", lockout] {
        assert!(!err.contains(unclean), "{at}: {err}");
    }
}

async fn same_token(kind: Kind) {
    let at = "same token, two processes, step by step";
    let mut subject = Subject::new(kind).await;
    let (a, b) = (subject.start_function(&[]), subject.start_function(&[]));
    let before = subject.current_version().await;
    let token = subject.sm.start_rotation(&subject.arn).await;
    for step in Step::ALL {
        let (first, second) = tokio::join!(
            a.invoke(step, &subject.arn, &token),
            b.invoke(step, &subject.arn, &token)
        );
        for result in [&first, &second] {
            if let Err(err) = result {
                assert_clean(err, at);
            }
        }
        assert!(
            first.is_ok() || second.is_ok(),
            "{at}: both processes failed {}: {first:?} {second:?}",
            step.as_str()
        );
        subject.assert_invariant(Phase::Interrupted).await;
    }
    // Secrets Manager retries when its invocation failed; the retry finds the work done.
    subject.retry(&a).await;
    assert_not_locked_out(&subject).await;
    subject.assert_invariant(Phase::Settled).await;
    subject.assert_rotated_from(&before).await;
    reliability::record(FAULT, at, kind.label());
}

async fn stale_token(kind: Kind) {
    let at = "a stale token while one rotation runs";
    let mut subject = Subject::new(kind).await;
    let (a, b): (RunningFunction, RunningFunction) =
        (subject.start_function(&[]), subject.start_function(&[]));
    let stale = subject.current_version().await;
    let token = subject.sm.start_rotation(&subject.arn).await;
    for step in Step::ALL {
        let (first, second) = tokio::join!(
            a.invoke(step, &subject.arn, &token),
            b.invoke(step, &subject.arn, &stale)
        );
        first.unwrap_or_else(|e| panic!("{at}: the rotation in progress failed: {e}"));
        // AWSCURRENT until finishSecret moves it: nothing to do; then AWSPREVIOUS: refused.
        if let Err(err) = second {
            assert_clean(&err, at);
            assert!(
                err.contains(&stale),
                "{at}: the error names the version: {err}"
            );
        }
    }
    subject.sm.complete_rotation(&subject.arn, &token).await;
    assert_not_locked_out(&subject).await;
    subject.assert_invariant(Phase::Settled).await;
    subject.assert_rotated_from(&stale).await;
    reliability::record(FAULT, at, kind.label());
}

/// On Neo4j, the new password logs in at once: the rotations made no refused logins that
/// locked the user (the invariant check would wait a lockout out).
async fn assert_not_locked_out(subject: &Subject) {
    if matches!(subject.kind, Kind::Neo4jSingle | Kind::Neo4jAlternating) {
        let current = subject
            .sm
            .value(&subject.arn, rotation_core::AWSCURRENT)
            .await
            .unwrap();
        let (user, password) = (
            current["username"].as_str().unwrap(),
            current["password"].as_str().unwrap(),
        );
        if let Err(reason) = integration_tests::neo4j().login(user, password).await {
            panic!(
                "{}: the new password does not log in: {reason}",
                subject.kind.label()
            );
        }
    }
}

#[tokio::test]
async fn two_processes_with_the_same_token() {
    for kind in Kind::ALL {
        same_token(kind).await;
    }
}

#[tokio::test]
async fn a_stale_token_changes_nothing_while_a_rotation_runs() {
    for kind in Kind::ALL {
        stale_token(kind).await;
    }
}
