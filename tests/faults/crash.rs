//! The function's process killed (SIGKILL, by the Runtime API) before and after each step,
//! then the retry Secrets Manager runs: the whole rotation again with the same token.

use integration_tests::{CrashPoint, Phase, reliability};
use rotation_core::Step;

use crate::subject::{Kind, Subject};

const FAULT: &str = "Function process killed (SIGKILL)";

async fn killed_at_every_point(kind: Kind) {
    for step in Step::ALL {
        for point in [CrashPoint::Before, CrashPoint::After] {
            let at = format!("{} {}", point.as_str(), step.as_str());
            let mut subject = Subject::new(kind).await;
            let mut function = subject.start_function(&[]);
            let before = subject.current_version().await;
            function.crash_at(step, point);
            let err = subject
                .sm
                .rotate_with(&subject.arn, &function.arn)
                .await
                .expect_err(&at);
            assert!(
                err.contains("Runtime.ExitError") && err.contains(step.as_str()),
                "{at}: {err}"
            );
            subject.assert_invariant(Phase::Interrupted).await;

            // Lambda starts a new process for the next invocation.
            function.restart();
            subject.retry(&function).await;
            subject.assert_invariant(Phase::Settled).await;
            subject.assert_rotated_from(&before).await;
            // And the next scheduled rotation runs as if nothing had happened.
            let before = subject.current_version().await;
            subject
                .sm
                .rotate_with(&subject.arn, &function.arn)
                .await
                .unwrap_or_else(|e| panic!("{at}: the next rotation failed: {e}"));
            subject.assert_invariant(Phase::Settled).await;
            subject.assert_rotated_from(&before).await;
            reliability::record(FAULT, &at, kind.label());
        }
    }
}

#[tokio::test]
async fn postgres_single_user_survives_a_kill_at_every_point() {
    killed_at_every_point(Kind::PgSingle).await;
}

#[tokio::test]
async fn postgres_alternating_users_survive_a_kill_at_every_point() {
    killed_at_every_point(Kind::PgAlternating).await;
}

#[tokio::test]
async fn neo4j_single_user_survives_a_kill_at_every_point() {
    killed_at_every_point(Kind::Neo4jSingle).await;
}

#[tokio::test]
async fn neo4j_alternating_users_survive_a_kill_at_every_point() {
    killed_at_every_point(Kind::Neo4jAlternating).await;
}

#[tokio::test]
async fn jwt_keys_survive_a_kill_at_every_point() {
    killed_at_every_point(Kind::Jwt).await;
}
