//! What a rotation function must provide for its own kind of credential.
//!
//! The core owns Secrets Manager (labels, tokens, pre-checks, idempotency of createSecret and
//! finishSecret); an engine never sees a staging label. It only builds a pending value,
//! applies it to its server, and proves it works.

use async_trait::async_trait;

use crate::deadline::Deadline;
use crate::error::RotationError;
use crate::event::Step;
use crate::redact::Secret;
use crate::store::SecretStore;

/// Secrets Manager's limit on a SecretString: nothing larger was written by the service, and
/// nothing larger is parsed.
pub const MAX_SECRET_BYTES: usize = 65_536;

/// Facts about the invocation an engine may need: which secret (for error messages), the
/// store, for engines that read a second secret such as an administrator's, and when the
/// invocation must have answered.
pub struct StepContext<'a> {
    pub secret_id: &'a str,
    pub store: &'a dyn SecretStore,
    pub deadline: Deadline,
}

impl<'a> StepContext<'a> {
    /// A context with no deadline, as outside Lambda.
    pub fn new(secret_id: &'a str, store: &'a dyn SecretStore) -> Self {
        Self {
            secret_id,
            store,
            deadline: Deadline::NONE,
        }
    }

    /// The value under `stage` (of version `version`, when given); `None` when that version
    /// has no value, as AWSPENDING has before createSecret. A value larger than Secrets
    /// Manager itself stores is refused before anything parses it.
    pub async fn fetch(
        &self,
        stage: &str,
        version: Option<&str>,
    ) -> Result<Option<Secret>, RotationError> {
        let value = self
            .store
            .get_value(self.secret_id, stage, version)
            .await
            .map_err(|e| e.for_stage(self.secret_id, stage))?;
        match value {
            Some(v) if v.expose().len() > MAX_SECRET_BYTES => Err(self.malformed(
                stage,
                format!(
                    "it is {} bytes, more than the {MAX_SECRET_BYTES} bytes Secrets Manager stores in a secret value",
                    v.expose().len()
                ),
            )),
            value => Ok(value),
        }
    }

    /// Like [`Self::fetch`], but the value must exist.
    pub async fn required(
        &self,
        stage: &str,
        version: Option<&str>,
    ) -> Result<Secret, RotationError> {
        self.fetch(stage, version)
            .await?
            .ok_or_else(|| self.missing(stage))
    }

    /// The AWSCURRENT value.
    pub async fn current(&self) -> Result<Secret, RotationError> {
        self.required(crate::store::AWSCURRENT, None).await
    }

    /// The AWSPREVIOUS value, read only by a step that finds it needs one. A missing or
    /// unreadable AWSPREVIOUS only means one fewer credential to try, so it is `None` then.
    pub async fn previous(&self) -> Option<Secret> {
        self.fetch(crate::store::AWSPREVIOUS, None)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "ignoring AWSPREVIOUS");
                None
            })
    }

    /// The error for a stage with no value.
    pub fn missing(&self, stage: &str) -> RotationError {
        RotationError::MissingValue {
            secret: crate::redact::sanitize(self.secret_id),
            stage: stage.to_owned(),
        }
    }

    /// The error for a stored value the engine cannot use.
    pub fn malformed(&self, stage: &str, reason: impl Into<String>) -> RotationError {
        RotationError::MalformedSecret {
            secret: crate::redact::sanitize(self.secret_id),
            stage: stage.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The values setSecret and testSecret work from: the event's pending version, and AWSCURRENT
/// when the engine reads it in that step ([`Engine::reads_current`]). AWSPREVIOUS is not
/// among them: it matters only when a failed rotation already moved the server to a password
/// AWSCURRENT no longer holds, so an engine reads it ([`StepContext::previous`]) only once the
/// others are refused.
pub struct Versions<'a> {
    pub pending: &'a Secret,
    pub current: Option<&'a Secret>,
}

impl Versions<'_> {
    /// The AWSCURRENT value: the one read together with the step's other reads when the
    /// engine asked for it ([`Engine::reads_current`]), else read now.
    pub async fn current(&self, ctx: &StepContext<'_>) -> Result<Secret, RotationError> {
        match self.current {
            Some(current) => Ok(current.clone()),
            None => ctx.current().await,
        }
    }
}

/// What setSecret found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The server now accepts the pending credentials because this call changed it.
    Changed,
    /// The server already accepted them (a retry after a crash or timeout); nothing was changed.
    AlreadyInPlace,
    /// The credential lives only in the secret (a signing key): there is no server to change.
    NothingToChange,
}

#[async_trait]
pub trait Engine: Send + Sync {
    /// Short name for logs and messages ("postgres").
    fn name(&self) -> &'static str;

    /// Builds the pending value from the current one, keeping every field it does not own.
    /// Must validate `current` completely: a value that this engine could not later apply is
    /// rejected here, before anything is stored.
    fn build_pending(
        &self,
        ctx: &StepContext<'_>,
        current: &Secret,
    ) -> Result<Secret, RotationError>;

    /// Whether `step` works from the AWSCURRENT value as well as the pending one (createSecret
    /// always does); it is then read together with the pending value rather than after it.
    fn reads_current(&self, step: Step) -> bool {
        step == Step::SetSecret
    }

    /// Makes the server accept the pending credentials. Called again after any failure,
    /// including one half way through, so it must first check whether the work is done.
    async fn apply(
        &self,
        ctx: &StepContext<'_>,
        versions: &Versions<'_>,
    ) -> Result<Applied, RotationError>;

    /// Proves the pending credentials work. Must change nothing.
    async fn verify(
        &self,
        ctx: &StepContext<'_>,
        versions: &Versions<'_>,
    ) -> Result<(), RotationError>;

    /// Runs once finishSecret has AWSCURRENT on the new version, and again whenever a retried
    /// finishSecret finds it there: for what lives outside the secret and must follow
    /// AWSCURRENT (a published key set). An error fails the step, and the retry runs it
    /// again, so it must be safe to repeat.
    async fn after_finish(
        &self,
        _ctx: &StepContext<'_>,
        _finished: &Finished<'_>,
    ) -> Result<(), RotationError> {
        Ok(())
    }
}

/// What finishSecret settled: the version now AWSCURRENT, and the secret's schedule.
#[derive(Debug, Clone, Copy)]
pub struct Finished<'a> {
    pub version: &'a str,
    pub rules: &'a crate::schedule::RotationRules,
}
