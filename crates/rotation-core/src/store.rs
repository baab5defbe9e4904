//! The narrow view of Secrets Manager that rotation needs.
//!
//! Two implementations: [`crate::AwsSecretStore`] over the AWS SDK, and
//! [`crate::InMemorySecretStore`] for unit tests, which reproduces the service's behaviour
//! (value-less AWSPENDING stub, label moves, AWSPREVIOUS) rather than simplifying it.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::redact::Secret;
use crate::schedule::RotationRules;

pub const AWSCURRENT: &str = "AWSCURRENT";
pub const AWSPENDING: &str = "AWSPENDING";
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";

/// What `DescribeSecret` tells us.
#[derive(Debug, Clone, Default)]
pub struct SecretMetadata {
    pub rotation_enabled: bool,
    /// Version id → staging labels, as in `VersionIdsToStages`.
    pub versions: BTreeMap<String, Vec<String>>,
    /// Tag key → value. RDS marks the master secrets it manages with the DB instance or
    /// cluster they belong to.
    pub tags: BTreeMap<String, String>,
    /// The schedule, when rotation was ever turned on.
    pub rotation_rules: RotationRules,
}

impl SecretMetadata {
    pub fn stages_of(&self, version: &str) -> Option<&[String]> {
        self.versions.get(version).map(Vec::as_slice)
    }

    pub fn version_with_stage(&self, stage: &str) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage))
            .map(|(id, _)| id.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the version holds a SecretBinary; only SecretString values can be rotated")]
    Binary,
    #[error("Secrets Manager {operation} failed: {message}")]
    Api {
        operation: &'static str,
        message: String,
    },
    /// The call was not answered, or not sent, within what the deadline left.
    #[error("Secrets Manager {operation} {message}")]
    Timeout {
        operation: &'static str,
        message: String,
    },
}

impl StoreError {
    /// The rotation error for this failure while reading or writing `stage` of `secret_id`.
    pub fn for_stage(self, secret_id: &str, stage: &str) -> crate::error::RotationError {
        use crate::error::RotationError;
        match self {
            Self::Binary => RotationError::MalformedSecret {
                secret: crate::redact::sanitize(secret_id),
                stage: stage.to_owned(),
                reason: self.to_string(),
            },
            Self::Api { operation, message } => {
                RotationError::SecretsManager { operation, message }
            }
            Self::Timeout { .. } => RotationError::Server {
                kind: crate::error::FailureKind::Timeout,
                detail: format!(
                    "{self} (for {stage} of secret {})",
                    crate::redact::sanitize(secret_id)
                ),
            },
        }
    }
}

#[async_trait]
pub trait SecretStore: Send + Sync {
    async fn describe(&self, secret_id: &str) -> Result<SecretMetadata, StoreError>;

    /// The `SecretString` of the version holding `stage` (and, when given, with id
    /// `version_id`); `None` when no such version has a value, which is how the
    /// value-less AWSPENDING stub looks before createSecret.
    async fn get_value(
        &self,
        secret_id: &str,
        stage: &str,
        version_id: Option<&str>,
    ) -> Result<Option<Secret>, StoreError>;

    /// Stores `value` as version `version_id` labelled AWSPENDING.
    async fn put_pending(
        &self,
        secret_id: &str,
        version_id: &str,
        value: &Secret,
        rotation_token: Option<&Secret>,
    ) -> Result<(), StoreError>;

    /// Moves AWSCURRENT to `to_version`, taking it from `from_version`.
    async fn move_current(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: &str,
    ) -> Result<(), StoreError>;
}
