//! The state machine against the in-memory store and a toy engine whose "server" is one
//! password in memory.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::*;
use crate::InMemorySecretStore;
use crate::password::PasswordPolicy;
use crate::redact::Secret;
use crate::store::AWSPREVIOUS;

#[derive(Default)]
struct Server {
    password: Mutex<String>,
    /// Simulates a crash right after the server accepted the new password.
    crash_after_change: Mutex<bool>,
}

#[derive(Clone)]
struct ToyEngine(Arc<Server>);

fn password_of(
    ctx: &StepContext<'_>,
    stage: &str,
    value: &Secret,
) -> Result<String, RotationError> {
    let json: Value =
        serde_json::from_str(value.expose()).map_err(|_| ctx.malformed(stage, "not JSON"))?;
    json["password"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ctx.malformed(stage, "no password"))
}

#[async_trait]
impl Engine for ToyEngine {
    fn name(&self) -> &'static str {
        "toy"
    }

    fn build_pending(
        &self,
        ctx: &StepContext<'_>,
        current: &Secret,
    ) -> Result<Secret, RotationError> {
        password_of(ctx, AWSCURRENT, current)?;
        let mut json: Value = serde_json::from_str(current.expose()).unwrap();
        json["password"] = PasswordPolicy::defaults("").generate()?.expose().into();
        Ok(Secret::new(json.to_string()))
    }

    async fn apply(
        &self,
        ctx: &StepContext<'_>,
        v: &Versions<'_>,
    ) -> Result<Applied, RotationError> {
        let pending = password_of(ctx, AWSPENDING, v.pending)?;
        let current = password_of(ctx, AWSCURRENT, &v.current(ctx).await?)?;
        let on_server = self.0.password.lock().unwrap().clone();
        if on_server == pending {
            return Ok(Applied::AlreadyInPlace);
        }
        if on_server != current {
            let previous = ctx.previous().await;
            let previous = previous
                .map(|p| password_of(ctx, AWSPREVIOUS, &p))
                .transpose()?;
            if previous != Some(on_server) {
                return Err(RotationError::NoWorkingCredentials {
                    attempts: "all refused".into(),
                });
            }
        }
        *self.0.password.lock().unwrap() = pending;
        if std::mem::take(&mut *self.0.crash_after_change.lock().unwrap()) {
            return Err(RotationError::Server {
                kind: crate::FailureKind::Timeout,
                detail: "crashed".into(),
            });
        }
        Ok(Applied::Changed)
    }

    async fn verify(&self, ctx: &StepContext<'_>, v: &Versions<'_>) -> Result<(), RotationError> {
        if *self.0.password.lock().unwrap() == password_of(ctx, AWSPENDING, v.pending)? {
            Ok(())
        } else {
            Err(RotationError::Server {
                kind: crate::FailureKind::LoginRefused,
                detail: "refused".into(),
            })
        }
    }
}

const NAME: &str = "app/db";

fn setup() -> (Rotator<InMemorySecretStore, ToyEngine>, Arc<Server>) {
    let server = Arc::new(Server::default());
    *server.password.lock().unwrap() = "old-pw".into();
    let store = InMemorySecretStore::new();
    store.create(
        NAME,
        &json!({"password": "old-pw", "extra": {"keep": [1, 2]}}).to_string(),
    );
    (Rotator::new(store, ToyEngine(server.clone())), server)
}

fn event(step: Step, token: &str) -> RotationEvent {
    RotationEvent {
        step,
        secret_id: NAME.into(),
        token: token.into(),
        rotation_token: None,
    }
}

fn stored(rotator: &Rotator<InMemorySecretStore, ToyEngine>, stage: &str) -> Value {
    serde_json::from_str(rotator.store().value_at(NAME, stage).unwrap().expose()).unwrap()
}

#[tokio::test]
async fn a_full_rotation_with_every_step_run_twice() {
    let (rotator, server) = setup();
    let token = rotator.store().start_rotation(NAME);
    let expected = [
        (Outcome::Created, Outcome::PendingExists),
        (Outcome::Applied, Outcome::AlreadyApplied),
        (Outcome::Tested, Outcome::Tested),
        (Outcome::Finished, Outcome::AlreadyCurrent),
    ];
    for (step, (first, second)) in Step::ALL.into_iter().zip(expected) {
        assert_eq!(
            rotator.run(&event(step, &token)).await.unwrap(),
            first,
            "{step:?}"
        );
        assert_eq!(
            rotator.run(&event(step, &token)).await.unwrap(),
            second,
            "{step:?} again"
        );
    }
    let current = stored(&rotator, AWSCURRENT);
    assert_eq!(
        current["password"],
        server.password.lock().unwrap().as_str()
    );
    assert_ne!(current["password"], "old-pw");
    assert_eq!(current["extra"], json!({"keep": [1, 2]}));
    assert_eq!(stored(&rotator, AWSPREVIOUS)["password"], "old-pw");
}

#[tokio::test]
async fn a_second_rotation_after_the_service_clears_awspending() {
    let (rotator, server) = setup();
    for _ in 0..2 {
        let token = rotator.store().start_rotation(NAME);
        for step in Step::ALL {
            rotator.run(&event(step, &token)).await.unwrap();
        }
        rotator.store().complete_rotation(NAME);
    }
    assert_eq!(
        stored(&rotator, AWSCURRENT)["password"],
        server.password.lock().unwrap().as_str()
    );
    assert_ne!(stored(&rotator, AWSPREVIOUS)["password"], "old-pw");
}

#[tokio::test]
async fn a_crash_after_the_server_changed_is_healed_by_the_retry() {
    let (rotator, server) = setup();
    let token = rotator.store().start_rotation(NAME);
    rotator
        .run(&event(Step::CreateSecret, &token))
        .await
        .unwrap();
    *server.crash_after_change.lock().unwrap() = true;
    assert!(rotator.run(&event(Step::SetSecret, &token)).await.is_err());
    assert_eq!(
        rotator.run(&event(Step::SetSecret, &token)).await.unwrap(),
        Outcome::AlreadyApplied
    );
    rotator.run(&event(Step::TestSecret, &token)).await.unwrap();
    rotator
        .run(&event(Step::FinishSecret, &token))
        .await
        .unwrap();
    assert_eq!(
        stored(&rotator, AWSCURRENT)["password"],
        server.password.lock().unwrap().as_str()
    );
}

#[tokio::test]
async fn a_rotation_that_failed_after_set_is_recovered_through_awsprevious() {
    // Someone put a new AWSCURRENT value by hand without changing the server: only
    // AWSPREVIOUS still logs in, and setSecret must use it.
    let (rotator, server) = setup();
    rotator
        .store()
        .put_current(NAME, &json!({"password": "rolled-back"}).to_string());
    let token = rotator.store().start_rotation(NAME);
    rotator
        .run(&event(Step::CreateSecret, &token))
        .await
        .unwrap();
    assert_eq!(
        rotator.run(&event(Step::SetSecret, &token)).await.unwrap(),
        Outcome::Applied
    );
    assert_eq!(
        *server.password.lock().unwrap(),
        stored(&rotator, AWSPENDING)["password"].as_str().unwrap()
    );
}

fn version_at(rotator: &Rotator<InMemorySecretStore, ToyEngine>, stage: &str) -> String {
    let snapshot = rotator.store().snapshot(NAME);
    snapshot
        .into_iter()
        .find(|(_, _, stages)| stages.iter().any(|s| s == stage))
        .unwrap()
        .0
}

async fn assert_rejected(
    rotator: &Rotator<InMemorySecretStore, ToyEngine>,
    ev: RotationEvent,
    error_type: &str,
    message: &str,
) {
    let before = rotator.store().snapshot(NAME);
    let err = rotator.run(&ev).await.unwrap_err();
    assert_eq!(err.error_type(), error_type, "{err}");
    assert!(
        err.to_string().contains(message),
        "{err} should mention {message}"
    );
    assert_eq!(
        rotator.store().snapshot(NAME),
        before,
        "a failed step changed the secret"
    );
}

#[tokio::test]
async fn pre_checks_reject_and_change_nothing() {
    let (rotator, _) = setup();
    let token = rotator.store().start_rotation(NAME);
    assert_rejected(
        &rotator,
        event(Step::CreateSecret, "nope"),
        "VersionNotStaged",
        "has no stage for rotation",
    )
    .await;

    let current_version = version_at(&rotator, AWSCURRENT);
    let token2 = rotator.store().start_rotation(NAME);
    assert_ne!(token, token2);
    // The first stub lost its label; the first real version is AWSCURRENT.
    assert_rejected(
        &rotator,
        event(Step::SetSecret, &token),
        "VersionNotStaged",
        "has no stage",
    )
    .await;
    assert_eq!(
        rotator
            .run(&event(Step::SetSecret, &current_version))
            .await
            .unwrap(),
        Outcome::AlreadyCurrent
    );

    rotator.store().set_rotation_enabled(NAME, false);
    assert_rejected(
        &rotator,
        event(Step::CreateSecret, &token2),
        "RotationNotEnabled",
        "not enabled for rotation",
    )
    .await;
}

#[tokio::test]
async fn a_version_that_is_not_pending_is_refused() {
    let (rotator, _) = setup();
    let first = version_at(&rotator, AWSCURRENT);
    rotator
        .store()
        .put_current(NAME, &json!({"password": "x"}).to_string());
    // `first` now carries only AWSPREVIOUS.
    assert_rejected(
        &rotator,
        event(Step::CreateSecret, &first),
        "VersionNotPending",
        "is not set as AWSPENDING",
    )
    .await;
}

#[tokio::test]
async fn set_test_and_finish_before_create_fail_cleanly() {
    let (rotator, _) = setup();
    let token = rotator.store().start_rotation(NAME);
    for step in [Step::SetSecret, Step::TestSecret] {
        assert_rejected(
            &rotator,
            event(step, &token),
            "MissingSecretValue",
            "has no AWSPENDING value",
        )
        .await;
    }
}

#[tokio::test]
async fn a_malformed_current_value_stores_nothing() {
    let (rotator, _) = setup();
    rotator.store().put_current(NAME, "not json at all");
    let token = rotator.store().start_rotation(NAME);
    assert_rejected(
        &rotator,
        event(Step::CreateSecret, &token),
        "MalformedSecret",
        "AWSCURRENT value of secret app/db is malformed",
    )
    .await;
}

#[tokio::test]
async fn a_binary_secret_is_refused_by_name() {
    let store = InMemorySecretStore::new();
    store.create_binary(NAME);
    let token = store.start_rotation(NAME);
    let rotator = Rotator::new(store, ToyEngine(Arc::default()));
    let err = rotator
        .run(&event(Step::CreateSecret, &token))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "MalformedSecret");
    assert!(err.to_string().contains("SecretBinary"), "{err}");
}

#[tokio::test]
async fn no_working_credential_is_an_error_and_keeps_the_labels() {
    let (rotator, server) = setup();
    let token = rotator.store().start_rotation(NAME);
    rotator
        .run(&event(Step::CreateSecret, &token))
        .await
        .unwrap();
    *server.password.lock().unwrap() = "changed-behind-our-back".into();
    assert_rejected(
        &rotator,
        event(Step::SetSecret, &token),
        "NoWorkingCredentials",
        "unable to log in",
    )
    .await;
    assert_rejected(
        &rotator,
        event(Step::TestSecret, &token),
        "LoginRefused",
        "refused",
    )
    .await;
}

#[tokio::test]
async fn handle_answers_with_the_step_and_outcome() {
    let (rotator, _) = setup();
    let token = rotator.store().start_rotation(NAME);
    let answer = rotator
        .handle(&json!({"Step": "createSecret", "SecretId": NAME, "ClientRequestToken": token}))
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({"step": "createSecret", "outcome": "created"})
    );
    let err = rotator
        .handle(&json!({"Step": "rotate", "SecretId": NAME, "ClientRequestToken": token}))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "InvalidEvent");
}

#[tokio::test]
async fn an_operator_rotates_by_hand_without_a_schedule_or_a_stub() {
    let (rotator, server) = setup();
    let token = "operator-made-version";
    rotator.store().set_rotation_enabled(NAME, false);
    // What Secrets Manager would refuse to drive: rotation is off, the version does not exist.
    let refused = rotator.run(&event(Step::CreateSecret, token)).await;
    assert!(
        matches!(refused, Err(RotationError::RotationNotEnabled { .. })),
        "{refused:?}"
    );
    let expected = [
        Outcome::Created,
        Outcome::Applied,
        Outcome::Tested,
        Outcome::Finished,
    ];
    for (step, outcome) in Step::ALL.into_iter().zip(expected) {
        assert_eq!(
            rotator.run_by_hand(&event(step, token)).await.unwrap(),
            outcome,
            "{step:?}"
        );
    }
    assert_eq!(
        stored(&rotator, AWSCURRENT)["password"],
        server.password.lock().unwrap().as_str()
    );
    assert_eq!(stored(&rotator, AWSPREVIOUS)["password"], "old-pw");
}

#[tokio::test]
async fn by_hand_only_createsecret_may_name_a_version_that_does_not_exist() {
    let (rotator, server) = setup();
    for step in [Step::SetSecret, Step::TestSecret, Step::FinishSecret] {
        let e = rotator
            .run_by_hand(&event(step, "no-such-version"))
            .await
            .unwrap_err();
        assert!(
            matches!(e, RotationError::VersionNotStaged { .. }),
            "{step:?}: {e:?}"
        );
    }
    assert_eq!(*server.password.lock().unwrap(), "old-pw");
    assert_eq!(rotator.store().snapshot(NAME).len(), 1);
}

#[tokio::test]
async fn by_hand_never_takes_awspending_from_a_rotation_under_way() {
    let (rotator, server) = setup();
    let theirs = rotator.store().start_rotation(NAME);
    rotator
        .run(&event(Step::CreateSecret, &theirs))
        .await
        .unwrap();
    rotator.run(&event(Step::SetSecret, &theirs)).await.unwrap();
    let before = rotator.store().snapshot(NAME);
    let e = rotator
        .run_by_hand(&event(Step::CreateSecret, "operator-made-version"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, RotationError::RotationInProgress { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains(&theirs), "{e}");
    assert_eq!(rotator.store().snapshot(NAME), before);
    // The rotation under way still finishes with the password it set.
    for step in [Step::TestSecret, Step::FinishSecret] {
        rotator.run(&event(step, &theirs)).await.unwrap();
    }
    assert_eq!(
        stored(&rotator, AWSCURRENT)["password"],
        server.password.lock().unwrap().as_str()
    );
}

#[tokio::test]
async fn a_value_larger_than_secrets_manager_stores_is_refused_unparsed() {
    let (rotator, _) = setup();
    let huge = json!({
        "password": "old-pw",
        "padding": "x".repeat(crate::MAX_SECRET_BYTES),
    });
    rotator.store().put_current(NAME, &huge.to_string());
    let token = rotator.store().start_rotation(NAME);
    let before = rotator.store().snapshot(NAME);
    let e = rotator
        .run(&event(Step::CreateSecret, &token))
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), "MalformedSecret");
    assert!(
        e.to_string().contains(&format!(
            "is {} bytes, more than the 65536 bytes Secrets Manager stores",
            huge.to_string().len()
        )),
        "{e}"
    );
    assert_eq!(rotator.store().snapshot(NAME), before);
}
