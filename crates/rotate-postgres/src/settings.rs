//! Configuration from the function's environment.

use rotation_core::{LoginSettings, RotationError, sanitize};

use crate::tls::{TlsPolicy, TrustSettings};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Password policy, `CONNECT_TIMEOUT_SECONDS`, strategy: read as every engine reads them.
    pub login: LoginSettings,
    /// For secrets that say nothing about TLS: libpq's `PGSSLMODE`, else verified TLS with a
    /// logged fallback to unverified TLS, and to plaintext only when the server offers no TLS.
    pub default_tls: TlsPolicy,
    /// Extra trusted roots: libpq's `PGSSLROOTCERT`.
    pub trust: TrustSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            login: LoginSettings::default(),
            default_tls: TlsPolicy::Opportunistic,
            trust: TrustSettings::default(),
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
        let login = LoginSettings::from_lookup(1, &lookup)?;
        let trust = TrustSettings {
            ca_file: lookup("PGSSLROOTCERT")
                .filter(|v| !v.trim().is_empty())
                .map(Into::into),
        };
        let default_tls = match lookup("PGSSLMODE").filter(|v| !v.trim().is_empty()) {
            None if trust.is_system() => TlsPolicy::VerifyFull,
            None => TlsPolicy::Opportunistic,
            Some(raw) => TlsPolicy::from_sslmode(&raw).ok_or_else(|| {
                RotationError::Config(format!(
                    "PGSSLMODE must be disable, allow, prefer, require, verify-ca or verify-full, got {:?}",
                    sanitize(&raw)
                ))
            })?,
        };
        let settings = Self {
            login,
            default_tls,
            trust,
        };
        settings.tls_for(None)?;
        Ok(settings)
    }

    /// The policy for a connection: what the secret asks for, else `fallback`. As in libpq,
    /// `require` checks the chain when a root certificate file is configured, and
    /// `PGSSLROOTCERT=system` allows nothing weaker than `verify-full`.
    pub fn tls_for(&self, asked: Option<TlsPolicy>) -> Result<TlsPolicy, RotationError> {
        self.resolve(asked, self.default_tls)
    }

    /// The policy for an admin login: what the admin secret asks for, else verified TLS.
    /// Neither the user secret nor `PGSSLMODE` can weaken it.
    pub fn admin_tls_for(&self, asked: Option<TlsPolicy>) -> Result<TlsPolicy, RotationError> {
        self.resolve(asked, TlsPolicy::VerifyFull)
    }

    fn resolve(
        &self,
        asked: Option<TlsPolicy>,
        fallback: TlsPolicy,
    ) -> Result<TlsPolicy, RotationError> {
        let policy = asked.unwrap_or(fallback);
        if self.trust.is_system() && policy != TlsPolicy::VerifyFull {
            return Err(RotationError::Config(format!(
                "weak sslmode \"{}\" may not be used with PGSSLROOTCERT=system (use verify-full), as in libpq",
                policy.as_sslmode()
            )));
        }
        Ok(match policy {
            TlsPolicy::Require if self.trust.ca_file.is_some() => TlsPolicy::VerifyCa,
            policy => policy,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, RotationError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        Settings::from_lookup(|k| map.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn defaults() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.login.connect_timeout, Duration::from_secs(5));
        assert_eq!(s.tls_for(None).unwrap(), TlsPolicy::Opportunistic);
        assert_eq!(
            s.tls_for(Some(TlsPolicy::Require)).unwrap(),
            TlsPolicy::Require
        );
        assert_eq!(s.admin_tls_for(None).unwrap(), TlsPolicy::VerifyFull);
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn pgsslmode_sets_the_default_and_pgsslrootcert_upgrades_require() {
        let s = settings(&[
            ("PGSSLMODE", "verify-full"),
            ("PGSSLROOTCERT", "/opt/rds-ca.pem"),
        ])
        .unwrap();
        assert_eq!(s.tls_for(None).unwrap(), TlsPolicy::VerifyFull);
        assert_eq!(
            s.tls_for(Some(TlsPolicy::Disable)).unwrap(),
            TlsPolicy::Disable
        );
        assert_eq!(
            s.tls_for(Some(TlsPolicy::Require)).unwrap(),
            TlsPolicy::VerifyCa
        );
        assert_eq!(
            s.trust.ca_file.as_deref(),
            Some(std::path::Path::new("/opt/rds-ca.pem"))
        );
    }

    #[test]
    fn pgsslrootcert_system_means_verify_full_and_nothing_weaker() {
        let s = settings(&[("PGSSLROOTCERT", "system")]).unwrap();
        assert_eq!(s.tls_for(None).unwrap(), TlsPolicy::VerifyFull);
        for weak in [
            TlsPolicy::Require,
            TlsPolicy::VerifyCa,
            TlsPolicy::Prefer,
            TlsPolicy::Disable,
        ] {
            let err = s.tls_for(Some(weak)).unwrap_err();
            assert_eq!(err.error_type(), "ConfigurationError");
            assert!(
                err.to_string().contains(&format!(
                    "weak sslmode \"{}\" may not be used with PGSSLROOTCERT=system",
                    weak.as_sslmode()
                )),
                "{err}"
            );
        }
        let err = settings(&[("PGSSLROOTCERT", "system"), ("PGSSLMODE", "require")]).unwrap_err();
        assert!(err.to_string().contains("PGSSLROOTCERT=system"), "{err}");
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
                &[("ROTATION_STRATEGY", "both")][..],
                "ROTATION_STRATEGY must be",
            ),
        ] {
            let err = settings(vars).unwrap_err();
            assert!(err.to_string().contains(message), "{err}");
        }
    }
}
