//! The rotation state machine shared by every rotation function.
//!
//! Secrets Manager calls a rotation function four times per rotation (createSecret, setSecret,
//! testSecret, finishSecret), possibly more than once each and in fresh processes. This crate
//! owns everything those calls have in common: parsing the event, AWS's pre-checks, the generic
//! createSecret and finishSecret, the Secrets Manager seam, password generation and errors.
//! An [`Engine`] supplies only what is specific to one kind of credential.

mod aws_store;
mod config;
mod engine;
mod error;
mod event;
mod lambda;
mod login_secret;
mod memory_store;
mod password;
mod redact;
mod rotator;
mod store;
mod strategy;

pub use aws_store::AwsSecretStore;
pub use config::{DEFAULT_CONNECT_TIMEOUT, StrategyConfig, connect_timeout, whole_number};
pub use engine::{Applied, Engine, StepContext, Versions};
pub use error::{FailureKind, RotationError};
pub use event::{RotationEvent, Step};
pub use lambda::{init_tracing, quiet_statement_logs, serve, serve_error};
pub use login_secret::{LoginSecret, USERNAME_KEYS};
pub use memory_store::InMemorySecretStore;
pub use password::{DEFAULT_LENGTH, PasswordPolicy};
pub use redact::{REDACTED, Secret, sanitize, scrub};
pub use rotator::{Outcome, Rotator};
pub use store::{AWSCURRENT, AWSPENDING, AWSPREVIOUS, SecretMetadata, SecretStore, StoreError};
pub use strategy::{
    CLONE_SUFFIX, MASTERARN_KEY, Strategy, StrategySetting, alternate_username, base_username,
    fetch_admin_secret, usable_previous,
};
