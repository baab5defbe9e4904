//! What the operator's tool asks of an engine outside a rotation: would a rotation of this
//! secret work, and which stored credentials work now. Nothing here changes a secret or a
//! server, and nothing here is a second implementation of a step: the engines answer with the
//! same parsing, logins and checks their steps use.

use async_trait::async_trait;

use crate::engine::{Engine, StepContext, Versions};
use crate::error::RotationError;
use crate::redact::Secret;

/// One thing a preflight checked, and what it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was checked ("log in as \"app\" with AWSCURRENT").
    pub check: String,
    /// What was found when it passed, why it failed otherwise; never a secret value.
    pub outcome: Result<String, String>,
}

impl Finding {
    pub fn passed(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            outcome: Ok(detail.into()),
        }
    }

    pub fn failed(check: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            outcome: Err(reason.into()),
        }
    }

    /// The finding for a check that failed with `error`.
    pub fn error(check: impl Into<String>, error: &RotationError) -> Self {
        Self::failed(check, format!("{error} ({})", error.error_type()))
    }

    pub fn ok(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// Whether stored credentials work now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The server accepted them (for a signing key: the value is a usable key).
    Accepted(String),
    /// The server answered and refused them (for a signing key: the value is unusable).
    Refused(String),
    /// The server let them in without checking the password, so whether they work cannot be
    /// told.
    Unproven(String),
}

/// What an operator's tool needs from an engine besides the four steps.
#[async_trait]
pub trait Inspect: Engine {
    /// Everything a rotation of `current` (the AWSCURRENT value) depends on, checked without
    /// changing anything: the value parses as the function would parse it, the server is
    /// reached with the function's transport rules, the credentials log in, and any admin
    /// secret logs in with the rights a rotation needs. Stops at the first failure that makes
    /// later checks meaningless.
    async fn preflight(&self, ctx: &StepContext<'_>, current: &Secret) -> Vec<Finding>;

    /// Whether the credentials `value`, stored under `stage`, work now, judged against
    /// `current` (the AWSCURRENT value) as setSecret judges a pending value: a version that
    /// names another server, transport or user is not tried. An error when the server could
    /// not be asked (it cannot be reached, say).
    async fn probe(
        &self,
        ctx: &StepContext<'_>,
        stage: &str,
        value: &Secret,
        current: &Secret,
    ) -> Result<Probe, RotationError>;
}

/// Lets a tool choose its engine at run time.
#[async_trait]
impl<E: Engine + ?Sized> Engine for Box<E> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn build_pending(
        &self,
        ctx: &StepContext<'_>,
        current: &Secret,
    ) -> Result<Secret, RotationError> {
        (**self).build_pending(ctx, current)
    }

    fn reads_current(&self, step: crate::event::Step) -> bool {
        (**self).reads_current(step)
    }

    async fn apply(
        &self,
        ctx: &StepContext<'_>,
        versions: &Versions<'_>,
    ) -> Result<crate::engine::Applied, RotationError> {
        (**self).apply(ctx, versions).await
    }

    async fn verify(
        &self,
        ctx: &StepContext<'_>,
        versions: &Versions<'_>,
    ) -> Result<(), RotationError> {
        (**self).verify(ctx, versions).await
    }

    async fn after_finish(
        &self,
        ctx: &StepContext<'_>,
        finished: &crate::engine::Finished<'_>,
    ) -> Result<(), RotationError> {
        (**self).after_finish(ctx, finished).await
    }
}
