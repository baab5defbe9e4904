//! The rotation state machine: AWS's pre-checks, step dispatch, and the generic
//! createSecret and finishSecret.

use serde_json::{Value, json};
use tracing::{Instrument, error, info, info_span};

use crate::bounded_store::BoundedStore;
use crate::deadline::Deadline;
use crate::engine::{Applied, Engine, Finished, StepContext, Versions};
use crate::error::{FailureKind, RotationError};
use crate::event::{RotationEvent, Step};
use crate::redact::Secret;
use crate::redact::sanitize;
use crate::store::{AWSCURRENT, AWSPENDING, SecretMetadata, SecretStore};

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

    /// Runs one step for an operator rotating by hand, outside Lambda. Secrets Manager is not
    /// asked to start the rotation, so rotation need not be enabled, and createSecret may name
    /// a version that does not exist yet: it creates it, labelled AWSPENDING, as the service's
    /// value-less stub would have been. Every other check is the function's.
    pub async fn run_by_hand(&self, event: &RotationEvent) -> Result<Outcome, RotationError> {
        self.run_as(event, Deadline::NONE, Caller::Operator).await
    }

    /// Runs one step. Each call inside it is bounded by what `deadline` leaves, and the step
    /// as a whole too: whatever hangs, the step answers with its own error before Lambda
    /// would kill it.
    pub async fn run_until(
        &self,
        event: &RotationEvent,
        deadline: Deadline,
    ) -> Result<Outcome, RotationError> {
        self.run_as(event, deadline, Caller::SecretsManager).await
    }

    async fn run_as(
        &self,
        event: &RotationEvent,
        deadline: Deadline,
        caller: Caller,
    ) -> Result<Outcome, RotationError> {
        let span = info_span!(
            "rotation",
            engine = self.engine.name(),
            step = event.step.as_str(),
            secret = %sanitize(&event.secret_id),
            version = %sanitize(&event.token),
        );
        async {
            let step = self.run_step(event, deadline, caller);
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

    /// Every read a step needs is sent at once with DescribeSecret, so a step costs one
    /// round trip to Secrets Manager before it acts (finishSecret's label move needs the
    /// description first, createSecret's write needs the values). Nothing is acted on until
    /// AWS's pre-checks pass, and their errors come first.
    async fn run_step(
        &self,
        event: &RotationEvent,
        deadline: Deadline,
        caller: Caller,
    ) -> Result<Outcome, RotationError> {
        let store = BoundedStore::new(&self.store, deadline);
        let ctx = StepContext {
            secret_id: &event.secret_id,
            store: &store,
            deadline,
        };
        let reads_current = match event.step {
            Step::CreateSecret => true,
            Step::FinishSecret => false,
            step => self.engine.reads_current(step),
        };
        let reads_pending = event.step != Step::FinishSecret;
        let (metadata, current, pending) = tokio::join!(
            ctx.store.describe(&event.secret_id),
            when(reads_current, ctx.fetch(AWSCURRENT, None)),
            when(reads_pending, ctx.fetch(AWSPENDING, Some(&event.token))),
        );
        let metadata = metadata.map_err(|e| e.for_stage(&event.secret_id, "metadata"))?;
        let finished = Finished {
            version: &event.token,
            rules: &metadata.rotation_rules,
        };
        if Self::precheck(&metadata, event, caller)? == Precheck::AlreadyCurrent {
            info!("version is already AWSCURRENT; nothing to do");
            if event.step == Step::FinishSecret {
                // A retry after the label moved and what follows it failed.
                self.engine.after_finish(&ctx, &finished).await?;
            }
            return Ok(Outcome::AlreadyCurrent);
        }
        let required = |stage: &str, value: Option<Result<Option<Secret>, RotationError>>| {
            value.unwrap_or(Ok(None))?.ok_or_else(|| ctx.missing(stage))
        };
        // AWSCURRENT when the engine asked for it in this step, which must then have a value.
        let declared = |value: Option<_>| value.map(|v| required(AWSCURRENT, Some(v))).transpose();
        match event.step {
            Step::CreateSecret => {
                // Checked first: a retry must not make (and log) a value it then throws away.
                if pending.transpose()?.flatten().is_some() {
                    info!("AWSPENDING value already stored; nothing to do");
                    return Ok(Outcome::PendingExists);
                }
                self.create(&ctx, event, &required(AWSCURRENT, current)?)
                    .await
            }
            // Errors in the order the values are used: setSecret starts from the current
            // value, testSecret from the pending one.
            Step::SetSecret => {
                let current = declared(current)?;
                let pending = required(AWSPENDING, pending)?;
                let versions = Versions {
                    pending: &pending,
                    current: current.as_ref(),
                };
                Ok(match self.engine.apply(&ctx, &versions).await? {
                    Applied::Changed => Outcome::Applied,
                    Applied::AlreadyInPlace => Outcome::AlreadyApplied,
                    Applied::NothingToChange => Outcome::NothingToApply,
                })
            }
            Step::TestSecret => {
                let pending = required(AWSPENDING, pending)?;
                let current = declared(current)?;
                let versions = Versions {
                    pending: &pending,
                    current: current.as_ref(),
                };
                self.engine.verify(&ctx, &versions).await?;
                Ok(Outcome::Tested)
            }
            Step::FinishSecret => {
                let holder = metadata
                    .version_with_stage(AWSCURRENT)
                    .ok_or_else(|| ctx.missing(AWSCURRENT))?;
                ctx.store
                    .move_current(&event.secret_id, &event.token, holder)
                    .await
                    .map_err(|e| e.for_stage(&event.secret_id, AWSCURRENT))?;
                info!(previous_version = %sanitize(holder), "moved AWSCURRENT to the new version");
                self.engine.after_finish(&ctx, &finished).await?;
                Ok(Outcome::Finished)
            }
        }
    }

    /// AWS's pre-checks on the version the event names.
    fn precheck(
        metadata: &SecretMetadata,
        event: &RotationEvent,
        caller: Caller,
    ) -> Result<Precheck, RotationError> {
        let secret = || sanitize(&event.secret_id);
        let version = || sanitize(&event.token);
        if !metadata.rotation_enabled && caller == Caller::SecretsManager {
            return Err(RotationError::RotationNotEnabled { secret: secret() });
        }
        let stages = metadata.stages_of(&event.token);
        if stages.is_none() && caller == Caller::Operator && event.step == Step::CreateSecret {
            // Storing AWSPENDING would take the label from a rotation under way, whose
            // password may already be on the server.
            let current = metadata.version_with_stage(AWSCURRENT);
            return match metadata.version_with_stage(AWSPENDING) {
                Some(pending) if Some(pending) != current => {
                    Err(RotationError::RotationInProgress {
                        secret: secret(),
                        version: sanitize(pending),
                    })
                }
                _ => Ok(Precheck::Pending),
            };
        }
        let Some(stages) = stages else {
            return Err(RotationError::VersionNotStaged {
                secret: secret(),
                version: version(),
            });
        };
        if stages.iter().any(|s| s == AWSCURRENT) {
            return Ok(Precheck::AlreadyCurrent);
        }
        if !stages.iter().any(|s| s == AWSPENDING) {
            return Err(RotationError::VersionNotPending {
                secret: secret(),
                version: version(),
            });
        }
        Ok(Precheck::Pending)
    }

    async fn create(
        &self,
        ctx: &StepContext<'_>,
        event: &RotationEvent,
        current: &Secret,
    ) -> Result<Outcome, RotationError> {
        let pending = self.engine.build_pending(ctx, current)?;
        ctx.store
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
}

/// Who started the rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// Secrets Manager, after RotateSecret made the AWSPENDING stub.
    SecretsManager,
    /// An operator's tool, with no stub and perhaps no rotation schedule.
    Operator,
}

#[derive(Debug, PartialEq, Eq)]
enum Precheck {
    /// The version is AWSPENDING and not AWSCURRENT: the step has work to do.
    Pending,
    /// The rotation already finished.
    AlreadyCurrent,
}

/// `read`'s result when `wanted`; the read is never sent otherwise.
async fn when<T>(wanted: bool, read: impl Future<Output = T>) -> Option<T> {
    match wanted {
        true => Some(read.await),
        false => None,
    }
}

#[cfg(test)]
#[path = "rotator_tests.rs"]
mod tests;
