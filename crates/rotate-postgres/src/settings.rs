//! Configuration from the function's environment.

use std::time::Duration;

use rotation_core::{PasswordPolicy, RotationError, sanitize};

/// Characters a generated PostgreSQL password never holds by default: `:` breaks `.pgpass`,
/// `/` and `@` break connection URLs, quotes and backslash break shell and config quoting.
pub const DEFAULT_EXCLUDED_CHARACTERS: &str = ":/@\"'\\";
/// AWS's templates use 5 s; long enough for a cross-AZ TLS handshake, short enough to leave
/// room for retries inside the default 30 s Lambda timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_CONNECT_TIMEOUT_SECONDS: u64 = 120;

#[derive(Debug, Clone)]
pub struct Settings {
    pub password_policy: PasswordPolicy,
    /// Bound on each login attempt, TCP connect through authentication.
    pub connect_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            password_policy: PasswordPolicy::defaults(DEFAULT_EXCLUDED_CHARACTERS),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

impl Settings {
    /// Reads the password-policy variables and `CONNECT_TIMEOUT_SECONDS`.
    pub fn from_env() -> Result<Self, RotationError> {
        let password_policy = PasswordPolicy::from_env(DEFAULT_EXCLUDED_CHARACTERS, 1)?;
        let connect_timeout = match std::env::var("CONNECT_TIMEOUT_SECONDS") {
            Err(_) => DEFAULT_CONNECT_TIMEOUT,
            Ok(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|s| (1..=MAX_CONNECT_TIMEOUT_SECONDS).contains(s))
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    RotationError::Config(format!(
                        "CONNECT_TIMEOUT_SECONDS must be a whole number from 1 to {MAX_CONNECT_TIMEOUT_SECONDS}, got {:?}",
                        sanitize(&raw)
                    ))
                })?,
        };
        Ok(Self {
            password_policy,
            connect_timeout,
        })
    }
}
