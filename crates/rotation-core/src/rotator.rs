//! The rotation state machine: AWS's pre-checks, step dispatch, and the generic
//! createSecret and finishSecret.

use serde_json::{Value, json};
use tracing::{Instrument, error, info, info_span, warn};

use crate::deadline::Deadline;
use crate::engine::{Applied, Engine, StepContext, Versions};
use crate::error::{FailureKind, RotationError};
use crate::event::{RotationEvent, Step};
use crate::redact::sanitize;
use crate::store::{AWSCURRENT, AWSPENDING, AWSPREVIOUS, SecretStore};

/// What a step did; returned to the caller so a hand invocation shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The version is already AWSCURRENT: the rotation finished earlier.
    AlreadyCurrent,
    /// createSecret stored a new AWSPENDING value.
    Created,
    /// createSecret found the AWSPENDING value already stored.
    PendingExists,
    /// setSecret changed the server.
    Applied,
    /// setSecret found the server already accepting the pending value.
    AlreadyApplied,
    /// setSecret had nothing outside the secret to change.
    NothingToApply,
    /// testSecret proved the pending value works.
    Tested,
    /// finishSecret moved AWSCURRENT to the new version.
    Finished,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AlreadyCurrent => "already-current",
            Self::Created => "created",
            Self::PendingExists => "pending-exists",
            Self::Applied => "applied",
            Self::AlreadyApplied => "already-applied",
            Self::NothingToApply => "nothing-to-apply",
            Self::Tested => "tested",
            Self::Finished => "finished",
        }
    }
}

pub struct Rotator<S, E> {
    store: S,
    engine: E,
}

impl<S: SecretStore, E: Engine> Rotator<S, E> {
    pub fn new(store: S, engine: E) -> Self {
        Self { store, engine }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn engine(&self) -> &E {
        &self.engine
    }

    /// Entry point for a raw payload, with no deadline. The answer names the step and its
    /// outcome.
    pub async fn handle(&self, payload: &Value) -> Result<Value, RotationError> {
        self.handle_until(payload, Deadline::NONE).await
    }

    /// Entry point for a Lambda invocation that must answer before `deadline`.
    pub async fn handle_until(
        &self,
        payload: &Value,
        deadline: Deadline,
    ) -> Result<Value, RotationError> {
        let event = RotationEvent::from_json(payload).inspect_err(|e| {
            error!(error_type = e.error_type(), error = %e, "rejected the event");
        })?;
        let outcome = self.run_until(&event, deadline).await?;
        Ok(json!({ "step": event.step.as_str(), "outcome": outcome.as_str() }))
    }

    pub async fn run(&self, event: &RotationEvent) -> Result<Outcome, RotationError> {
        self.run_until(event, Deadline::NONE).await
    }

    /// Runs one step. Each call inside it is bounded by what `deadline` leaves, and the step
    /// as a whole too: whatever hangs, the step answers with its own error before Lambda
    /// would kill it.
    pub async fn run_until(
        &self,
        event: &RotationEvent,
        deadline: Deadline,
    ) -> Result<Outcome, RotationError> {
        let span = info_span!(
            "rotation",
            engine = self.engine.name(),
            step = event.step.as_str(),
            secret = %sanitize(&event.secret_id),
            version = %sanitize(&event.token),
        );
        async {
            let step = self.run_step(event, deadline);
            let result = match deadline.step_budget() {
                None => step.await,
                Some(budget) => tokio::time::timeout(budget, step)
                    .await
                    .unwrap_or_else(|_| {
                        Err(RotationError::Server {
                            kind: FailureKind::Timeout,
                            detail: format!(
                                "{} did not finish before the function's deadline; every step it had started is safe to run again",
                                event.step.as_str()
                            ),
                        })
                    }),
            };
            match &result {
                Ok(outcome) => info!(outcome = outcome.as_str(), "step done"),
                Err(e) => error!(error_type = e.error_type(), error = %e, "step failed"),
            }
            result
        }
        .instrument(span)
        .await
    }

    async fn run_step(
        &self,
        event: &RotationEvent,
        deadline: Deadline,
    ) -> Result<Outcome, RotationError> {
        let secret = sanitize(&event.secret_id);
        let version = sanitize(&event.token);
        let metadata = self
            .store
            .describe(&event.secret_id)
            .await
            .map_err(|e| e.for_stage(&event.secret_id, "metadata"))?;
        if !metadata.rotation_enabled {
            return Err(RotationError::RotationNotEnabled { secret });
        }
        let Some(stages) = metadata.stages_of(&event.token) else {
            return Err(RotationError::VersionNotStaged { secret, version });
        };
        if stages.iter().any(|s| s == AWSCURRENT) {
            info!("version is already AWSCURRENT; nothing to do");
            return Ok(Outcome::AlreadyCurrent);
        }
        if !stages.iter().any(|s| s == AWSPENDING) {
            return Err(RotationError::VersionNotPending { secret, version });
        }
        let ctx = StepContext {
            secret_id: &event.secret_id,
            store: &self.store,
            deadline,
        };
        match event.step {
            Step::CreateSecret => self.create(&ctx, event).await,
            Step::SetSecret => self.set(&ctx, &event.token).await,
            Step::TestSecret => {
                let pending = ctx.required(AWSPENDING, Some(&event.token)).await?;
                self.engine.verify(&ctx, &pending).await?;
                Ok(Outcome::Tested)
            }
            Step::FinishSecret => {
                let holder = metadata.version_with_stage(AWSCURRENT).ok_or_else(|| {
                    RotationError::MissingValue {
                        secret: sanitize(&event.secret_id),
                        stage: AWSCURRENT.into(),
                    }
                })?;
                self.store
                    .move_current(&event.secret_id, &event.token, holder)
                    .await
                    .map_err(|e| e.for_stage(&event.secret_id, AWSCURRENT))?;
                info!(previous_version = %sanitize(holder), "moved AWSCURRENT to the new version");
                Ok(Outcome::Finished)
            }
        }
    }

    async fn create(
        &self,
        ctx: &StepContext<'_>,
        event: &RotationEvent,
    ) -> Result<Outcome, RotationError> {
        // Checked first: a retry must not make (and log) a value it then throws away.
        if ctx.fetch(AWSPENDING, Some(&event.token)).await?.is_some() {
            info!("AWSPENDING value already stored; nothing to do");
            return Ok(Outcome::PendingExists);
        }
        let current = ctx.current().await?;
        let pending = self.engine.build_pending(ctx, &current)?;
        self.store
            .put_pending(
                ctx.secret_id,
                &event.token,
                &pending,
                event.rotation_token.as_ref(),
            )
            .await
            .map_err(|e| e.for_stage(ctx.secret_id, AWSPENDING))?;
        info!("stored a new AWSPENDING value");
        Ok(Outcome::Created)
    }

    async fn set(&self, ctx: &StepContext<'_>, token: &str) -> Result<Outcome, RotationError> {
        let current = ctx.current().await?;
        let pending = ctx.required(AWSPENDING, Some(token)).await?;
        // A missing or unreadable AWSPREVIOUS only means one fewer credential to try.
        let previous = match ctx.fetch(AWSPREVIOUS, None).await {
            Ok(previous) => previous,
            Err(e) => {
                warn!(error = %e, "ignoring AWSPREVIOUS");
                None
            }
        };
        let versions = Versions {
            current: &current,
            pending: &pending,
            previous: previous.as_ref(),
        };
        Ok(match self.engine.apply(ctx, &versions).await? {
            Applied::Changed => Outcome::Applied,
            Applied::AlreadyInPlace => Outcome::AlreadyApplied,
            Applied::NothingToChange => Outcome::NothingToApply,
        })
    }
}

#[cfg(test)]
#[path = "rotator_tests.rs"]
mod tests;
