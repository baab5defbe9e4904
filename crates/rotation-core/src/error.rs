//! The one error type every step returns, and how it reaches Lambda.
//!
//! Each variant names the problem well enough for an operator to act on it from the Lambda
//! error alone. Messages carry identifiers (secret ARN, version id, user name, host) but never
//! a secret value; messages from servers are scrubbed by the engine before they get here.

use lambda_runtime::Diagnostic;

/// Which part of a database or key-service conversation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The server answered and refused the credentials.
    LoginRefused,
    /// No connection could be opened (DNS, refused port, network).
    Unreachable,
    /// The TLS handshake or certificate verification failed, or TLS was required and absent.
    Tls,
    /// The server did not answer within the configured bound.
    Timeout,
    /// Connected and logged in, but a statement failed.
    Statement,
    /// The function's own settings make the attempt impossible (an unreadable CA bundle).
    Configuration,
    /// An admin login was asked for the password in a form that reveals it (cleartext or MD5),
    /// and refused to send it.
    WeakAuthentication,
}

impl FailureKind {
    pub fn error_type(self) -> &'static str {
        match self {
            Self::LoginRefused => "LoginRefused",
            Self::Unreachable => "ServerUnreachable",
            Self::Tls => "TlsFailure",
            Self::Timeout => "Timeout",
            Self::Statement => "StatementFailed",
            Self::Configuration => "ConfigurationError",
            Self::WeakAuthentication => "WeakAuthentication",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("malformed rotation event: {0}")]
    InvalidEvent(String),

    #[error("secret {secret} is not enabled for rotation")]
    RotationNotEnabled { secret: String },

    #[error("secret version {version} has no stage for rotation of secret {secret}")]
    VersionNotStaged { secret: String, version: String },

    #[error("secret version {version} is not set as AWSPENDING for rotation of secret {secret}")]
    VersionNotPending { secret: String, version: String },

    #[error(
        "another rotation of secret {secret} is in progress: AWSPENDING is on version {version}"
    )]
    RotationInProgress { secret: String, version: String },

    #[error("secret {secret} has no {stage} value")]
    MissingValue { secret: String, stage: String },

    #[error("the {stage} value of secret {secret} is malformed: {reason}")]
    MalformedSecret {
        secret: String,
        stage: String,
        reason: String,
    },

    #[error("secret {secret} is for engine {found:?}, but this function rotates {expected}")]
    WrongEngine {
        secret: String,
        found: String,
        expected: String,
    },

    #[error(
        "the pending {field} differs from the current {field} for secret {secret}; refusing to rotate"
    )]
    PendingMismatch { secret: String, field: &'static str },

    #[error("admin secret {secret} cannot be used: {reason}")]
    AdminSecret { secret: String, reason: String },

    #[error(
        "secret {secret} names the server {user_server}, which is not the admin secret's server {admin_server}; refusing to log in there with admin credentials"
    )]
    AdminHostMismatch {
        secret: String,
        /// Where the admin side says the admin logs in (and what else reaches the same data).
        admin_server: String,
        user_server: String,
    },

    /// The admin secret's user was asked to change a user that is not an application's.
    #[error(
        "refusing to change user \"{user}\" with the admin secret's credentials: {reason}; alternating users are for application users"
    )]
    PrivilegedUser { user: String, reason: String },

    #[error("{detail}")]
    Server { kind: FailureKind, detail: String },

    #[error("unable to log in with the pending, current or previous secret: {attempts}")]
    NoWorkingCredentials { attempts: String },

    #[error("Secrets Manager {operation} failed: {message}")]
    SecretsManager {
        operation: &'static str,
        message: String,
    },

    #[error("invalid configuration: {0}")]
    Config(String),

    /// testSecret found that the pending value would not work for its users.
    #[error("the pending value failed its test: {0}")]
    TestFailed(String),

    /// The crypto library refused to make or use a key (not the key's fault).
    #[error("{0}")]
    Crypto(String),

    /// What follows AWSCURRENT outside the secret could not be written (a published key set).
    #[error("publishing {what} failed: {message}")]
    Publish { what: String, message: String },
}

impl RotationError {
    /// The Lambda `errorType`: a stable name per problem, so alarms can match on it.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidEvent(_) => "InvalidEvent",
            Self::RotationNotEnabled { .. } => "RotationNotEnabled",
            Self::VersionNotStaged { .. } => "VersionNotStaged",
            Self::VersionNotPending { .. } => "VersionNotPending",
            Self::RotationInProgress { .. } => "RotationInProgress",
            Self::MissingValue { .. } => "MissingSecretValue",
            Self::MalformedSecret { .. } => "MalformedSecret",
            Self::WrongEngine { .. } => "WrongEngine",
            Self::PendingMismatch { .. } => "PendingMismatch",
            Self::AdminSecret { .. } => "AdminSecretUnusable",
            Self::AdminHostMismatch { .. } => "AdminHostMismatch",
            Self::PrivilegedUser { .. } => "PrivilegedUser",
            Self::Server { kind, .. } => kind.error_type(),
            Self::NoWorkingCredentials { .. } => "NoWorkingCredentials",
            Self::SecretsManager { .. } => "SecretsManagerError",
            Self::Config(_) => "ConfigurationError",
            Self::TestFailed(_) => "TestFailed",
            Self::Crypto(_) => "CryptoFailure",
            Self::Publish { .. } => "PublishFailed",
        }
    }
}

impl From<RotationError> for Diagnostic {
    fn from(error: RotationError) -> Self {
        Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diagnostic_carries_the_named_type_and_the_message() {
        let diagnostic = Diagnostic::from(RotationError::Config("PASSWORD_LENGTH must be…".into()));
        assert_eq!(diagnostic.error_type, "ConfigurationError");
        assert_eq!(
            diagnostic.error_message,
            "invalid configuration: PASSWORD_LENGTH must be…"
        );

        let diagnostic = Diagnostic::from(RotationError::Server {
            kind: FailureKind::LoginRefused,
            detail: "login to h:5432 as \"u\" failed".into(),
        });
        assert_eq!(diagnostic.error_type, "LoginRefused");
        assert_eq!(diagnostic.error_message, "login to h:5432 as \"u\" failed");
    }
}
