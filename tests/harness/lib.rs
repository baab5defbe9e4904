//! Real servers for the end-to-end tests: throwaway PostgreSQL clusters with SCRAM
//! authentication, a Neo4j server, and moto as the Secrets Manager, Lambda and RDS APIs, all
//! on 127.0.0.1.
//!
//! Each server is started once per test binary and stopped by a watchdog process when the
//! binary exits (its standard input closes), however the binary ends.

mod capture;
mod cli;
mod emf;
mod function;
mod invariant;
mod moto;
mod neo4j;
mod postgres;
mod process;
mod pyjwt;
pub mod reliability;
mod rotation;
mod secrets;
mod signer;
mod tcp_fault;

pub use capture::LogCapture;
pub use cli::{CliRun, rotate};
pub use emf::{assert_emf, metric_lines};
pub use function::{CrashPoint, RunningFunction};
pub use invariant::{Logins, Phase, assert_no_credential_lost, assert_signed_tokens_verify};
pub use moto::{FunctionTimings, Invocation, Moto, ProxiedCall, RegisteredFunction, moto};
pub use neo4j::{Neo4jServer, neo4j};
pub use postgres::{PgCluster, attacker_postgres, postgres, self_signed_postgres, tls_postgres};
pub use pyjwt::{PyJwt, Verdict};
pub use rotation::Rotation;
pub use secrets::{SecretsManager, version_with_stage};
pub use signer::{sign_as_app, unix_now};
pub use tcp_fault::{Fault, FaultProxy};

/// A name no other test in this run uses.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// The workspace root, where `.venv` and `tests/` live.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The venv's Python, where moto and PyJWT are installed (`ROTATION_TEST_PYTHON` overrides).
pub fn python() -> std::path::PathBuf {
    std::env::var_os("ROTATION_TEST_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"))
}

/// rustls needs one process-wide crypto provider when two are linked in.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
