//! Secrets Manager rotation for Neo4j credentials: single user (the user changes its own
//! password) or alternating users (an admin secret's user changes the user not in use).

mod admin;
mod connect;
mod cypher;
mod engine;
mod secret;
mod settings;

pub use engine::Neo4jEngine;
pub use settings::{DEFAULT_EXCLUDED_CHARACTERS, MIN_PASSWORD_LENGTH, Settings};
