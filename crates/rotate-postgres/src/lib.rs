//! Secrets Manager rotation for PostgreSQL credentials: single user, or alternating users
//! that act as one role.
//!
//! A drop-in replacement for AWS's `SecretsManagerRDSPostgreSQLRotationSingleUser` and
//! `…MultiUser` templates: it reads the same secret JSON (plus the `user` / `database` key
//! names), and fixes what those templates do silently: TLS fallback, swallowed login errors,
//! plaintext passwords in `ALTER ROLE` statements, admin credentials sent wherever a user
//! secret points. Which credential goes where is decided by [`rotation_core::LoginEngine`];
//! this crate holds PostgreSQL's wire protocol, TLS and statements.

mod auth_guard;
mod cert_names;
mod connect;
mod endpoint;
mod server;
mod settings;
mod sql;
mod tls;

pub use endpoint::PgEndpoint;
pub use server::{MAX_ROLE_NAME_BYTES, Postgres, PostgresEngine, engine};
pub use settings::Settings;
pub use tls::{TlsPolicy, TrustSettings};
