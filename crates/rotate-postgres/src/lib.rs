//! Secrets Manager rotation for PostgreSQL credentials: single user, or alternating users
//! that act as one role.
//!
//! A drop-in replacement for AWS's `SecretsManagerRDSPostgreSQLRotationSingleUser` template:
//! it reads the same secret JSON (plus the `user` / `database` key names), and fixes what
//! that template does silently: TLS fallback, swallowed login errors, plaintext passwords in
//! `ALTER ROLE` statements.

mod admin;
mod alternating;
mod connect;
mod engine;
mod secret;
mod settings;
mod single_user;
mod sql;
mod tls;

pub use engine::PostgresEngine;
pub use settings::{DEFAULT_EXCLUDED_CHARACTERS, Settings};
pub use tls::{TlsPolicy, TrustSettings};
