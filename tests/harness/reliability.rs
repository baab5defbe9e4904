//! The record the fault and hostile-input suites keep of what they survived, from which the
//! README's "Reliability" table is made (`tests/reliability.rs`, `make reliability`).
//!
//! A scenario is recorded only once its invariant check has passed, so a run that loses a
//! credential fails instead of writing a row.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Survived {
    /// The kind of fault, the row of the table: "Function process killed (SIGKILL)".
    pub fault: String,
    /// Where it struck: "after setSecret".
    pub point: String,
    /// The function and strategy: "PostgreSQL, alternating users".
    pub subject: String,
    /// Credentials no labelled version holds afterwards (the invariant makes it 0).
    pub lost: u32,
    /// For an application logging in throughout: its login attempts and how many failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_logins: Option<AppLogins>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct AppLogins {
    pub attempts: u64,
    pub failed: u64,
    /// Rotations that failed (cleanly) and were healed by Secrets Manager's retry.
    pub retried_rotations: u64,
}

/// Where the rows of this run go; `make test` starts it empty.
pub fn rows_file() -> PathBuf {
    std::env::var_os("ROTATION_RELIABILITY_ROWS")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target/reliability/rows.jsonl"))
}

/// Records that `subject` survived `fault` at `point` with every credential held.
pub fn record(fault: &str, point: &str, subject: &str) {
    write(Survived {
        fault: fault.to_owned(),
        point: point.to_owned(),
        subject: subject.to_owned(),
        lost: 0,
        app_logins: None,
    });
}

/// Records that an application logging in throughout `point` made `logins`, and that every
/// credential stayed held.
pub fn record_app_logins(fault: &str, point: &str, subject: &str, logins: AppLogins) {
    write(Survived {
        fault: fault.to_owned(),
        point: point.to_owned(),
        subject: subject.to_owned(),
        lost: 0,
        app_logins: Some(logins),
    });
}

fn write(row: Survived) {
    let path = rows_file();
    std::fs::create_dir_all(path.parent().unwrap()).expect("create the reliability directory");
    let mut line = serde_json::to_string(&row).unwrap();
    line.push('\n');
    // One append per row: concurrent tests never interleave within a line.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .unwrap_or_else(|e| panic!("record a row in {}: {e}", path.display()));
}
