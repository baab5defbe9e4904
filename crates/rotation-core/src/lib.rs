//! The rotation state machine shared by every rotation function.
//!
//! Secrets Manager calls a rotation function four times per rotation (createSecret, setSecret,
//! testSecret, finishSecret), possibly more than once each and in fresh processes. This crate
//! owns everything those calls have in common: parsing the event, AWS's pre-checks, the generic
//! createSecret and finishSecret, the Secrets Manager seam, password generation and errors,
//! and for credentials that log in to a server, every rule about logging in ([`LoginEngine`]).
//! An [`Engine`] supplies only what is specific to one kind of credential; a [`Server`], only
//! one server's wire protocol and statements.

mod admin;
mod aws_store;
mod bounded_store;
mod deadline;
mod engine;
mod error;
mod event;
mod inspect;
mod lambda;
mod logging;
mod login_engine;
mod login_inspect;
mod login_secret;
mod memory_store;
mod metrics;
mod password;
mod rds;
#[cfg(test)]
mod recording_store;
mod redact;
mod rotator;
mod schedule;
mod server;
mod settings;
mod store;
mod strategy;

pub use aws_store::{AwsSecretStore, aws_sdk_config, aws_sdk_config_from, service_message};
pub use bounded_store::AWS_CALL_BOUND;
pub use deadline::{Bound, Deadline, Exhausted, Limit};
pub use engine::{Applied, Engine, Finished, MAX_SECRET_BYTES, StepContext, Versions};
pub use error::{FailureKind, RotationError};
pub use event::{RotationEvent, Step};
pub use inspect::{Finding, Inspect, Probe};
pub use lambda::{serve, serve_error};
pub use logging::{init_tracing, quiet_statement_logs};
pub use login_engine::{LoginEngine, UserSecret};
pub use login_secret::{LoginSecret, USERNAME_KEYS, json_error};
pub use memory_store::InMemorySecretStore;
pub use metrics::{
    DIMENSION_SETS as METRICS_DIMENSION_SETS, NAMESPACE as METRICS_NAMESPACE, StepMetric,
};
pub use password::{DEFAULT_LENGTH, PasswordPolicy};
#[cfg(feature = "rds")]
pub use rds::AwsRds;
pub use rds::{
    DatabaseDirectory, RDS_CLUSTER_TAG, RDS_INSTANCE_TAG, RdsAddress, RdsEndpoints, RdsResource,
};
pub use redact::{REDACTED, Secret, sanitize, scrub, server_message};
pub use rotator::{Outcome, Rotator};
pub use schedule::RotationRules;
pub use server::{
    AdminRights, Credentials, Endpoint, EndpointError, Identity, LoginFailure, LoginRole,
    PasswordCheck, Server, UserChange,
};
pub use settings::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_EXCLUDED_CHARACTERS, LoginSettings, StrategyConfig,
    connect_timeout, parse_flag, whole_number,
};
pub use store::{AWSCURRENT, AWSPENDING, AWSPREVIOUS, SecretMetadata, SecretStore, StoreError};
pub use strategy::{
    CLONE_SUFFIX, MASTERARN_KEY, Strategy, StrategySetting, alternate_username, base_username,
    usable_previous,
};
