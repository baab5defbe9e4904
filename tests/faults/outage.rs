//! The database or Secrets Manager goes away part way through a rotation: dropped or hung
//! connections, 500s and throttling. Each step fails within its bound with its own error,
//! nothing is lost, and the retry heals the rotation once the fault is gone.

use std::time::Duration;

use integration_tests::{Fault, FaultProxy, Phase, moto, postgres, reliability};
use rotation_core::Step;

use crate::subject::{Kind, Subject};

/// The function timeout in these scenarios: short, so that a hang is over quickly, and long
/// enough for a real step.
const TIMEOUT_SECONDS: u64 = 4;
/// Lambda's timeout error: a step that reports it did not answer within its own bound.
const LAMBDA_TIMEOUT: &str = "Sandbox.Timedout";

/// Runs `step` of the rotation with `token` and expects it to fail with its own error, one
/// of `types`, answered within the function's timeout (as the Runtime API timed it); returns
/// the error.
async fn fails_in_time(
    subject: &Subject,
    function: &integration_tests::RunningFunction,
    (step, token): (Step, &str),
    types: &[&str],
    at: &str,
) -> String {
    moto().timings(&function.arn);
    let err = function
        .invoke(step, &subject.arn, token)
        .await
        .expect_err(at);
    assert!(!err.contains(LAMBDA_TIMEOUT), "{at}: {err}");
    assert!(
        types
            .iter()
            .any(|t| err.contains(&format!("{}: {t}: ", step.as_str()))),
        "{at}: expected one of {types:?}: {err}"
    );
    let answered = moto().timings(&function.arn).invocations;
    let took = answered
        .last()
        .map(|i| i.answered - i.delivered)
        .expect("the step was timed");
    assert!(
        took < TIMEOUT_SECONDS as f64,
        "{at}: {} answered after {took:.1} s",
        step.as_str()
    );
    err
}

/// The steps before `step`, run to success with `token`.
async fn run_until(
    subject: &Subject,
    function: &integration_tests::RunningFunction,
    step: Step,
    token: &str,
) {
    for earlier in Step::ALL.into_iter().take_while(|s| *s != step) {
        function
            .invoke(earlier, &subject.arn, token)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", earlier.as_str()));
    }
}

const DATABASE_FAULT: &str = "Database dropped or hung";

async fn database_faults(kind: Kind) {
    let cases = [
        (
            Fault::Drop,
            Step::SetSecret,
            "connections dropped before setSecret",
        ),
        (
            Fault::Drop,
            Step::TestSecret,
            "connections dropped before testSecret",
        ),
        (
            Fault::Stall,
            Step::SetSecret,
            "server hangs during setSecret",
        ),
        (
            Fault::Stall,
            Step::TestSecret,
            "server hangs during testSecret",
        ),
    ];
    for (fault, step, at) in cases {
        let proxy = FaultProxy::start(([127, 0, 0, 1], kind.database_port()).into());
        let mut subject = Subject::reached_at(kind, Some(proxy.port)).await;
        let before = subject.current_version().await;
        let function = subject
            .start_function_with_timeout(&[("CONNECT_TIMEOUT_SECONDS", "2")], TIMEOUT_SECONDS);
        let token = subject.sm.start_rotation(&subject.arn).await;
        run_until(&subject, &function, step, &token).await;

        proxy.set(fault);
        let err = fails_in_time(
            &subject,
            &function,
            (step, &token),
            &["ServerUnreachable", "Timeout"],
            at,
        )
        .await;
        assert!(
            err.contains(&format!("127.0.0.1:{}", proxy.port)),
            "{at}: the error does not name the server: {err}"
        );
        subject.assert_invariant(Phase::Interrupted).await;

        proxy.set(Fault::None);
        subject.retry(&function).await;
        subject.assert_invariant(Phase::Settled).await;
        subject.assert_rotated_from(&before).await;
        reliability::record(DATABASE_FAULT, at, kind.label());
    }
}

#[tokio::test]
async fn postgres_single_user_survives_its_database_going_away() {
    database_faults(Kind::PgSingle).await;
}

#[tokio::test]
async fn postgres_alternating_users_survive_their_database_going_away() {
    database_faults(Kind::PgAlternating).await;
}

#[tokio::test]
async fn neo4j_single_user_survives_its_database_going_away() {
    database_faults(Kind::Neo4jSingle).await;
}

#[tokio::test]
async fn neo4j_alternating_users_survive_their_database_going_away() {
    database_faults(Kind::Neo4jAlternating).await;
}

const SECRETS_MANAGER_FAULT: &str = "Secrets Manager unreachable, hung, failing or throttling";

/// How Secrets Manager fails in one scenario, as the proxy in front of moto is told.
enum SecretsManagerFault {
    /// Every call fails this way ("stall", "reset", "500", "throttle").
    Every(&'static str),
    /// Calls to this operation are carried out, and their answer is lost.
    AnswerLost(&'static str),
}

/// From `step` on, Secrets Manager fails as `fault` says; the step fails in time naming
/// Secrets Manager (and the call, when one is chosen), and once the fault is gone the retry
/// heals the rotation.
async fn secrets_manager_scenario(kind: Kind, step: Step, fault: SecretsManagerFault, at: &str) {
    let proxy = moto().latency_proxy(0);
    let mut subject = Subject::new(kind).await;
    let before = subject.current_version().await;
    let function = subject.start_function_with_timeout(
        &[("AWS_ENDPOINT_URL_SECRETS_MANAGER", &proxy)],
        TIMEOUT_SECONDS,
    );
    let token = subject.sm.start_rotation(&subject.arn).await;
    run_until(&subject, &function, step, &token).await;

    let named = match fault {
        SecretsManagerFault::Every(kind) => {
            moto().proxy_fault(&proxy, Some(kind));
            "Secrets Manager "
        }
        SecretsManagerFault::AnswerLost(operation) => {
            moto().proxy_fault_on(&proxy, "reset", operation, true);
            operation
        }
    };
    let err = fails_in_time(
        &subject,
        &function,
        (step, &token),
        &["SecretsManagerError", "Timeout"],
        at,
    )
    .await;
    assert!(
        err.contains(named),
        "{at}: the error does not name {named:?}: {err}"
    );
    subject.assert_invariant(Phase::Interrupted).await;

    moto().proxy_fault(&proxy, None);
    subject.retry(&function).await;
    subject.assert_invariant(Phase::Settled).await;
    subject.assert_rotated_from(&before).await;
    reliability::record(SECRETS_MANAGER_FAULT, at, kind.label());
}

async fn secrets_manager_faults(kind: Kind) {
    let faults = [
        ("stall", "hangs"),
        ("reset", "resets connections"),
        ("500", "answers 500"),
        ("throttle", "throttles"),
    ];
    for (fault, what) in faults {
        for step in [Step::SetSecret, Step::FinishSecret] {
            let at = format!("{what} at {}", step.as_str());
            secrets_manager_scenario(kind, step, SecretsManagerFault::Every(fault), &at).await;
        }
    }
}

/// A write Secrets Manager carried out whose answer never came back: the step fails, and the
/// retry finds the write done.
async fn answers_lost(kind: Kind) {
    let cases = [
        (Step::CreateSecret, "PutSecretValue"),
        (Step::FinishSecret, "UpdateSecretVersionStage"),
    ];
    for (step, operation) in cases {
        let at = format!("{operation} done, answer lost, at {}", step.as_str());
        secrets_manager_scenario(kind, step, SecretsManagerFault::AnswerLost(operation), &at).await;
    }
}

#[tokio::test]
async fn writes_whose_answer_was_lost_are_found_done_by_the_retry() {
    for kind in Kind::ALL {
        answers_lost(kind).await;
    }
}

/// Killed in the middle of setSecret, while its ALTER ROLE waits on a lock another session
/// holds: whether the server then applies it or not, a labelled version holds the password.
#[tokio::test]
async fn postgres_killed_while_alter_role_waits_on_a_lock() {
    let at = "killed while ALTER ROLE waits on a lock";
    let mut subject = Subject::new(Kind::PgSingle).await;
    let before = subject.current_version().await;
    let mut function = subject.start_function_with_timeout(&[], 20);
    let token = subject.sm.start_rotation(&subject.arn).await;
    run_until(&subject, &function, Step::SetSecret, &token).await;

    let user = subject
        .sm
        .value(&subject.arn, rotation_core::AWSCURRENT)
        .await
        .unwrap()["username"]
        .as_str()
        .unwrap()
        .to_owned();
    let dba = postgres().superuser().await;
    dba.batch_execute(&format!(
        "BEGIN; ALTER ROLE {} CONNECTION LIMIT 50",
        postgres_protocol::escape::escape_identifier(&user)
    ))
    .await
    .unwrap();
    let (result, ()) = tokio::join!(
        function.invoke(Step::SetSecret, &subject.arn, &token),
        async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            function.kill_now();
        }
    );
    let err = result.expect_err(at);
    assert!(err.contains("Runtime.ExitError"), "{at}: {err}");
    dba.batch_execute("ROLLBACK").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    subject.assert_invariant(Phase::Interrupted).await;

    function.restart();
    subject.retry(&function).await;
    subject.assert_invariant(Phase::Settled).await;
    subject.assert_rotated_from(&before).await;
    reliability::record(DATABASE_FAULT, at, Kind::PgSingle.label());
}

#[tokio::test]
async fn postgres_survives_secrets_manager_failing() {
    secrets_manager_faults(Kind::PgSingle).await;
}

#[tokio::test]
async fn postgres_alternating_users_survive_secrets_manager_failing() {
    secrets_manager_faults(Kind::PgAlternating).await;
}

#[tokio::test]
async fn neo4j_survives_secrets_manager_failing() {
    secrets_manager_faults(Kind::Neo4jSingle).await;
}

#[tokio::test]
async fn jwt_survives_secrets_manager_failing() {
    secrets_manager_faults(Kind::Jwt).await;
}
