//! Secrets Manager rotation for Neo4j credentials: single user (the user changes its own
//! password) or alternating users (an admin secret's user changes the user not in use, and
//! keeps its roles equal to the original's). Which credential goes where is decided by
//! [`rotation_core::LoginEngine`]; this crate holds Bolt logins and Cypher statements.

mod connect;
mod cypher;
mod endpoint;
mod roles;
mod server;

pub use endpoint::{BoltUri, Neo4jEndpoint, Transport};
pub use rotation_core::LoginSettings as Settings;
pub use server::{MIN_PASSWORD_LENGTH, Neo4j, Neo4jEngine, engine, settings_from_env};
