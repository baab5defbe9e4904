//! Configuration from the function's environment.

use std::time::Duration;

use rotation_core::{
    DEFAULT_CONNECT_TIMEOUT, PasswordPolicy, RotationError, StrategyConfig, connect_timeout,
};

/// Characters a generated Neo4j password never holds by default: `/` splits `NEO4J_AUTH`,
/// `:` and `@` break URIs, quotes and backslash break shell and config quoting.
pub const DEFAULT_EXCLUDED_CHARACTERS: &str = ":/@\"'\\";
/// Neo4j's `dbms.security.auth_minimum_password_length` default.
pub const MIN_PASSWORD_LENGTH: usize = 8;

#[derive(Debug, Clone)]
pub struct Settings {
    pub password_policy: PasswordPolicy,
    /// Bound on each call to the server: connecting, logging in, one statement.
    pub connect_timeout: Duration,
    pub strategy: StrategyConfig,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            password_policy: PasswordPolicy::defaults(DEFAULT_EXCLUDED_CHARACTERS),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            strategy: StrategyConfig::default(),
        }
    }
}

impl Settings {
    /// Reads the password-policy variables (`PASSWORD_LENGTH` at least 8),
    /// `CONNECT_TIMEOUT_SECONDS`, `ROTATION_STRATEGY` and `ADMIN_SECRET_ARN`.
    pub fn from_env() -> Result<Self, RotationError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, RotationError> {
        let password_policy =
            PasswordPolicy::from_lookup(DEFAULT_EXCLUDED_CHARACTERS, MIN_PASSWORD_LENGTH, &lookup)?;
        let connect_timeout = connect_timeout(&lookup)?;
        let strategy = StrategyConfig::from_lookup(&lookup)?;
        Ok(Self {
            password_policy,
            connect_timeout,
            strategy,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shorter_than_neo4j_accepts() {
        let err =
            Settings::from_lookup(|k| (k == "PASSWORD_LENGTH").then(|| "7".into())).unwrap_err();
        assert!(err.to_string().contains("between 8 and"), "{err}");
        let s = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(s.password_policy.length, 32);
        assert_eq!(s.connect_timeout, Duration::from_secs(5));
    }
}
