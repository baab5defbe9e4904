//! Configuration from the function's environment.

use std::time::Duration;

use rotation_core::{
    DEFAULT_CONNECT_TIMEOUT, PasswordPolicy, RotationError, StrategyConfig, connect_timeout,
    sanitize,
};

use crate::tls::{TlsPolicy, TrustSettings};

/// Characters a generated PostgreSQL password never holds by default: `:` breaks `.pgpass`,
/// `/` and `@` break connection URLs, quotes and backslash break shell and config quoting.
pub const DEFAULT_EXCLUDED_CHARACTERS: &str = ":/@\"'\\";

#[derive(Debug, Clone)]
pub struct Settings {
    pub password_policy: PasswordPolicy,
    /// Bound on each login attempt, TCP connect through authentication.
    pub connect_timeout: Duration,
    /// For secrets that say nothing about TLS: libpq's `PGSSLMODE`, else verify-full with a
    /// logged fallback to plaintext.
    pub default_tls: TlsPolicy,
    /// Extra trusted roots: libpq's `PGSSLROOTCERT`.
    pub trust: TrustSettings,
    /// `ROTATION_STRATEGY` and `ADMIN_SECRET_ARN`.
    pub strategy: StrategyConfig,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            password_policy: PasswordPolicy::defaults(DEFAULT_EXCLUDED_CHARACTERS),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            default_tls: TlsPolicy::VerifyFullOrPlain,
            trust: TrustSettings::default(),
            strategy: StrategyConfig::default(),
        }
    }
}

impl Settings {
    /// Reads the password-policy variables, `CONNECT_TIMEOUT_SECONDS`, `PGSSLMODE`,
    /// `PGSSLROOTCERT`, `ROTATION_STRATEGY` and `ADMIN_SECRET_ARN`.
    pub fn from_env() -> Result<Self, RotationError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, RotationError> {
        let password_policy = PasswordPolicy::from_lookup(DEFAULT_EXCLUDED_CHARACTERS, 1, &lookup)?;
        let connect_timeout = connect_timeout(&lookup)?;
        let default_tls = match lookup("PGSSLMODE").filter(|v| !v.trim().is_empty()) {
            None => TlsPolicy::VerifyFullOrPlain,
            Some(raw) => TlsPolicy::from_sslmode(&raw).ok_or_else(|| {
                RotationError::Config(format!(
                    "PGSSLMODE must be disable, allow, prefer, require, verify-ca or verify-full, got {:?}",
                    sanitize(&raw)
                ))
            })?,
        };
        let trust = TrustSettings {
            ca_file: lookup("PGSSLROOTCERT")
                .filter(|v| !v.trim().is_empty())
                .map(Into::into),
        };
        let strategy = StrategyConfig::from_lookup(&lookup)?;
        Ok(Self {
            password_policy,
            connect_timeout,
            default_tls,
            trust,
            strategy,
        })
    }

    /// The policy for a secret: what it asks for, else the default. libpq reads `require` as
    /// `verify-ca` when a root certificate file is configured, and so do we.
    pub fn tls_for(&self, asked: Option<TlsPolicy>) -> TlsPolicy {
        match asked.unwrap_or(self.default_tls) {
            TlsPolicy::Require if self.trust.ca_file.is_some() => TlsPolicy::VerifyCa,
            policy => policy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, RotationError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        Settings::from_lookup(|k| map.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn defaults() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.connect_timeout, Duration::from_secs(5));
        assert_eq!(s.tls_for(None), TlsPolicy::VerifyFullOrPlain);
        assert_eq!(s.tls_for(Some(TlsPolicy::Require)), TlsPolicy::Require);
        assert_eq!(
            s.password_policy.exclude_characters,
            DEFAULT_EXCLUDED_CHARACTERS
        );
        assert_eq!(s.strategy, StrategyConfig::default());
    }

    #[test]
    fn pgsslmode_sets_the_default_and_pgsslrootcert_upgrades_require() {
        let s = settings(&[
            ("PGSSLMODE", "verify-full"),
            ("PGSSLROOTCERT", "/opt/rds-ca.pem"),
        ])
        .unwrap();
        assert_eq!(s.tls_for(None), TlsPolicy::VerifyFull);
        assert_eq!(s.tls_for(Some(TlsPolicy::Disable)), TlsPolicy::Disable);
        assert_eq!(s.tls_for(Some(TlsPolicy::Require)), TlsPolicy::VerifyCa);
        assert_eq!(
            s.trust.ca_file.as_deref(),
            Some(std::path::Path::new("/opt/rds-ca.pem"))
        );
    }

    #[test]
    fn bad_values_are_named() {
        for (vars, message) in [
            (&[("PGSSLMODE", "strict")][..], "PGSSLMODE must be"),
            (
                &[("CONNECT_TIMEOUT_SECONDS", "0")][..],
                "CONNECT_TIMEOUT_SECONDS must be",
            ),
            (
                &[("CONNECT_TIMEOUT_SECONDS", "soon")][..],
                "CONNECT_TIMEOUT_SECONDS must be",
            ),
            (
                &[("ROTATION_STRATEGY", "both")][..],
                "ROTATION_STRATEGY must be",
            ),
        ] {
            let err = settings(vars).unwrap_err();
            assert!(err.to_string().contains(message), "{err}");
        }
    }
}
