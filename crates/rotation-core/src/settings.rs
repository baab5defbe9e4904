//! Settings every engine reads the same way from the function's environment.

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::error::RotationError;
use crate::password::PasswordPolicy;
use crate::redact::sanitize;
use crate::strategy::{Strategy, StrategySetting};

/// Characters a generated password never holds by default: `:` breaks `.pgpass` files, `/`
/// splits `NEO4J_AUTH`, `/` and `@` break connection URLs, quotes and backslash break shell and
/// config quoting.
pub const DEFAULT_EXCLUDED_CHARACTERS: &str = ":/@\"'\\";

/// AWS's templates use 5 s; long enough for a cross-AZ TLS handshake, short enough to leave
/// room for retries inside the default 30 s Lambda timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_CONNECT_TIMEOUT_SECONDS: u64 = 120;

/// `CONNECT_TIMEOUT_SECONDS`: the bound on each attempt to reach and log in to a server.
pub fn connect_timeout(lookup: impl Fn(&str) -> Option<String>) -> Result<Duration, RotationError> {
    Ok(whole_number(
        lookup,
        "CONNECT_TIMEOUT_SECONDS",
        1..=MAX_CONNECT_TIMEOUT_SECONDS,
    )?
    .map_or(DEFAULT_CONNECT_TIMEOUT, Duration::from_secs))
}

/// The variable `name` as a whole number in `range`, or `None` when it is not set.
pub fn whole_number(
    lookup: impl Fn(&str) -> Option<String>,
    name: &str,
    range: RangeInclusive<u64>,
) -> Result<Option<u64>, RotationError> {
    let Some(raw) = lookup(name) else {
        return Ok(None);
    };
    match raw.trim().parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(RotationError::Config(format!(
            "{name} must be a whole number from {} to {}, got {:?}",
            range.start(),
            range.end(),
            sanitize(&raw)
        ))),
    }
}

/// The boolean variable `name`: `true`/`false`, `1`/`0`, `yes`/`no`, `y`/`n`, any case; empty
/// is false.
pub fn parse_flag(name: &str, raw: &str) -> Result<bool, RotationError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "y" | "yes" => Ok(true),
        "false" | "0" | "n" | "no" | "" => Ok(false),
        _ => Err(RotationError::Config(format!(
            "{name} must be true or false, got {:?}",
            sanitize(raw)
        ))),
    }
}

/// What every engine that rotates a login reads: the password policy, the bound on each call to
/// the server, and the strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginSettings {
    pub password_policy: PasswordPolicy,
    /// Bound on each call to a server: connecting and logging in, or one statement.
    pub connect_timeout: Duration,
    /// `ROTATION_STRATEGY` and `ADMIN_SECRET_ARN`.
    pub strategy: StrategyConfig,
}

impl Default for LoginSettings {
    fn default() -> Self {
        Self {
            password_policy: PasswordPolicy::defaults(DEFAULT_EXCLUDED_CHARACTERS),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            strategy: StrategyConfig::default(),
        }
    }
}

impl LoginSettings {
    /// Reads the password-policy variables (`PASSWORD_LENGTH` at least `min_password_length`),
    /// `CONNECT_TIMEOUT_SECONDS`, `ROTATION_STRATEGY` and `ADMIN_SECRET_ARN`.
    pub fn from_lookup(
        min_password_length: usize,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, RotationError> {
        Ok(Self {
            password_policy: PasswordPolicy::from_lookup(
                DEFAULT_EXCLUDED_CHARACTERS,
                min_password_length,
                &lookup,
            )?,
            connect_timeout: connect_timeout(&lookup)?,
            strategy: StrategyConfig::from_lookup(&lookup)?,
        })
    }
}

/// `ROTATION_STRATEGY` and `ADMIN_SECRET_ARN`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrategyConfig {
    pub setting: StrategySetting,
    /// The admin secret for `alternating-users` when a secret has no `masterarn` of its own.
    pub admin_secret: Option<String>,
}

impl StrategyConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, RotationError> {
        Ok(Self {
            setting: StrategySetting::parse(lookup("ROTATION_STRATEGY").as_deref())?,
            admin_secret: lookup("ADMIN_SECRET_ARN").filter(|v| !v.trim().is_empty()),
        })
    }

    /// The strategy for a secret with this `masterarn`.
    pub fn choose(
        &self,
        secret_id: &str,
        masterarn: Option<&str>,
    ) -> Result<Strategy, RotationError> {
        self.setting
            .choose(secret_id, masterarn, self.admin_secret.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_timeout_and_names_a_bad_one() {
        assert_eq!(connect_timeout(|_| None).unwrap(), DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(
            connect_timeout(|_| Some("9".into())).unwrap(),
            Duration::from_secs(9)
        );
        for bad in ["0", "soon", "121"] {
            let err = connect_timeout(|_| Some(bad.into())).unwrap_err();
            assert!(
                err.to_string().contains("CONNECT_TIMEOUT_SECONDS must be"),
                "{err}"
            );
        }
    }

    #[test]
    fn login_settings_read_every_variable_and_keep_the_engine_minimum() {
        let s = LoginSettings::from_lookup(8, |k| match k {
            "PASSWORD_LENGTH" => Some("12".into()),
            "CONNECT_TIMEOUT_SECONDS" => Some("7".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.password_policy.length, 12);
        assert_eq!(s.connect_timeout, Duration::from_secs(7));
        assert_eq!(s.strategy, StrategyConfig::default());
        let err = LoginSettings::from_lookup(8, |k| (k == "PASSWORD_LENGTH").then(|| "7".into()))
            .unwrap_err();
        assert!(err.to_string().contains("between 8 and"), "{err}");
        assert_eq!(
            LoginSettings::default().password_policy.exclude_characters,
            DEFAULT_EXCLUDED_CHARACTERS
        );
    }

    #[test]
    fn reads_the_strategy_variables() {
        let c = StrategyConfig::from_lookup(|k| match k {
            "ROTATION_STRATEGY" => Some("alternating-users".into()),
            "ADMIN_SECRET_ARN" => Some("arn:admin".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.setting, StrategySetting::AlternatingUsers);
        assert_eq!(
            c.choose("s", None).unwrap(),
            Strategy::AlternatingUsers {
                admin_secret: "arn:admin".into()
            }
        );
        assert!(
            StrategyConfig::from_lookup(|k| (k == "ROTATION_STRATEGY").then(|| "both".into()))
                .is_err()
        );
    }
}
