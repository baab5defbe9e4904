//! Choosing between the single-user and alternating-users strategies, and what the
//! alternating strategy needs from Secrets Manager.
//!
//! The choice is explicit: a secret gets alternating users only when it names an admin
//! secret (`masterarn`, as in AWS's multi-user templates) or the function is configured for
//! them with both `ROTATION_STRATEGY=alternating-users` and an admin secret. A secret that
//! names no admin secret is never rotated with alternating users by accident.

use crate::engine::StepContext;
use crate::error::RotationError;
use crate::redact::{Secret, sanitize};
use crate::store::AWSCURRENT;

/// The secret key that names the admin secret, as in AWS's templates.
pub const MASTERARN_KEY: &str = "masterarn";
/// Suffix of the second user, as in AWS's templates.
pub const CLONE_SUFFIX: &str = "_clone";

/// `ROTATION_STRATEGY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StrategySetting {
    /// Alternating users when the secret has `masterarn`, else single user.
    #[default]
    Auto,
    /// Always single user, even when the secret has `masterarn`.
    SingleUser,
    /// Always alternating users; the admin secret comes from `masterarn`, else
    /// `ADMIN_SECRET_ARN`.
    AlternatingUsers,
}

impl StrategySetting {
    pub fn parse(raw: Option<&str>) -> Result<Self, RotationError> {
        match raw.map(|r| r.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("auto") => Ok(Self::Auto),
            Some("single-user") => Ok(Self::SingleUser),
            Some("alternating-users") => Ok(Self::AlternatingUsers),
            Some(_) => Err(RotationError::Config(format!(
                "ROTATION_STRATEGY must be auto, single-user or alternating-users, got {:?}",
                sanitize(raw.unwrap_or_default())
            ))),
        }
    }

    /// The strategy for one secret, given its `masterarn` and the configured admin secret.
    ///
    /// Which admin secret is used is the deployer's choice, never the user secret's: whoever
    /// writes the user secret could otherwise name any secret the function can read (another
    /// team's) as its admin. `masterarn` only asks for alternating users, and must name the
    /// secret in `ADMIN_SECRET_ARN`; the admin secret read is always that one.
    pub fn choose(
        self,
        secret_id: &str,
        masterarn: Option<&str>,
        configured_admin: Option<&str>,
    ) -> Result<Strategy, RotationError> {
        let alternating = |admin: &str| Strategy::AlternatingUsers {
            admin_secret: admin.to_owned(),
        };
        match (self, masterarn, configured_admin) {
            (Self::SingleUser, _, _) | (Self::Auto, None, _) => Ok(Strategy::SingleUser),
            (Self::Auto | Self::AlternatingUsers, Some(named), Some(admin)) => {
                if same_secret(named, admin) {
                    Ok(alternating(admin))
                } else {
                    Err(RotationError::AdminSecret {
                        secret: sanitize(named),
                        reason: format!(
                            "secret {} names it as its \"{MASTERARN_KEY}\", but this function's admin secret (ADMIN_SECRET_ARN) is another one; a user secret may not choose its admin",
                            sanitize(secret_id)
                        ),
                    })
                }
            }
            (Self::Auto | Self::AlternatingUsers, Some(named), None) => {
                Err(RotationError::AdminSecret {
                    secret: sanitize(named),
                    reason: format!(
                        "secret {} names it as its \"{MASTERARN_KEY}\", but this function has no ADMIN_SECRET_ARN; set it to this admin secret's ARN to allow alternating users with it (a user secret may not choose its admin)",
                        sanitize(secret_id)
                    ),
                })
            }
            (Self::AlternatingUsers, None, Some(admin)) => Ok(alternating(admin)),
            (Self::AlternatingUsers, None, None) => Err(RotationError::Config(format!(
                "ROTATION_STRATEGY is alternating-users, but ADMIN_SECRET_ARN is not set (secret {})",
                sanitize(secret_id)
            ))),
        }
    }
}

/// Whether two references name the same secret: equal, or the same ARN with and without the
/// six characters Secrets Manager appends, or an ARN and the name it ends in.
fn same_secret(a: &str, b: &str) -> bool {
    fn name(reference: &str) -> &str {
        let Some((_, name)) = reference.split_once(":secret:") else {
            return reference;
        };
        match name.rsplit_once('-') {
            Some((base, suffix))
                if suffix.len() == 6 && suffix.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                base
            }
            _ => name,
        }
    }
    fn arn_prefix(reference: &str) -> Option<&str> {
        reference.split_once(":secret:").map(|(prefix, _)| prefix)
    }
    if a == b {
        return true;
    }
    let same_account = match (arn_prefix(a), arn_prefix(b)) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    };
    same_account && name(a) == name(b)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// The user changes its own password.
    SingleUser,
    /// Two users take turns; the admin secret's credentials change the one not in use.
    AlternatingUsers { admin_secret: String },
}

impl Strategy {
    /// The user name a pending version carries: the current user's own, or its alternate.
    pub fn pending_username(
        &self,
        ctx: &StepContext<'_>,
        current: &str,
        max_bytes: usize,
    ) -> Result<String, RotationError> {
        match self {
            Self::SingleUser => Ok(current.to_owned()),
            Self::AlternatingUsers { .. } => alternate_username(current, max_bytes)
                .map_err(|reason| ctx.malformed(AWSCURRENT, reason)),
        }
    }
}

/// AWSPREVIOUS parsed by the engine, or `None` with a warning: a previous value that cannot be
/// used only means one fewer password to try.
pub fn usable_previous<T>(
    previous: Option<&Secret>,
    parse: impl FnOnce(&Secret) -> Result<T, RotationError>,
) -> Option<T> {
    match parse(previous?) {
        Ok(parsed) => Some(parsed),
        Err(e) => {
            tracing::warn!(error = %e, "AWSPREVIOUS cannot be used");
            None
        }
    }
}

/// The other user's name: `name` ↔ `name_clone`, refused past the server's limit.
pub fn alternate_username(name: &str, max_bytes: usize) -> Result<String, String> {
    let other = match name.strip_suffix(CLONE_SUFFIX) {
        Some(base) if !base.is_empty() => base.to_owned(),
        _ => format!("{name}{CLONE_SUFFIX}"),
    };
    if other.len() > max_bytes {
        return Err(format!(
            "the alternate user name \"{}\" would be {} bytes, over the server's limit of {max_bytes}",
            sanitize(&other),
            other.len()
        ));
    }
    Ok(other)
}

/// The user whose identity both alternating users share: the name without `_clone`.
pub fn base_username(name: &str) -> &str {
    match name.strip_suffix(CLONE_SUFFIX) {
        Some(base) if !base.is_empty() => base,
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_admin_secret_enables_alternating_users() {
        use StrategySetting::*;
        let alt = |a: &str| Strategy::AlternatingUsers {
            admin_secret: a.into(),
        };
        assert_eq!(
            Auto.choose("s", None, Some("env-admin")).unwrap(),
            Strategy::SingleUser
        );
        assert_eq!(Auto.choose("s", Some("m"), Some("m")).unwrap(), alt("m"));
        assert_eq!(
            SingleUser.choose("s", Some("m"), Some("e")).unwrap(),
            Strategy::SingleUser
        );
        assert_eq!(
            AlternatingUsers.choose("s", None, Some("e")).unwrap(),
            alt("e")
        );
        // The admin secret read is always the configured one.
        let arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db/admin-AbC123";
        for named in [
            arn,
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db/admin",
            "db/admin",
        ] {
            assert_eq!(
                Auto.choose("s", Some(named), Some(arn)).unwrap(),
                alt(arn),
                "{named}"
            );
        }
        // A user secret naming another secret, or any secret when none is configured.
        for (named, configured) in [
            ("team-b/app", Some(arn)),
            (
                "arn:aws:secretsmanager:eu-west-1:444455556666:secret:db/admin-AbC123",
                Some(arn),
            ),
            ("db/admin-x", Some("db/admin")),
            ("db/admin", None),
        ] {
            for setting in [Auto, AlternatingUsers] {
                let err = setting.choose("s", Some(named), configured).unwrap_err();
                assert_eq!(err.error_type(), "AdminSecretUnusable", "{named}");
                assert!(err.to_string().contains("ADMIN_SECRET_ARN"), "{err}");
            }
        }
        let err = AlternatingUsers.choose("s", None, None).unwrap_err();
        assert_eq!(err.error_type(), "ConfigurationError");
        assert!(err.to_string().contains("ADMIN_SECRET_ARN"));
    }

    #[test]
    fn parses_the_setting() {
        assert_eq!(StrategySetting::parse(None).unwrap(), StrategySetting::Auto);
        assert_eq!(
            StrategySetting::parse(Some("Alternating-Users")).unwrap(),
            StrategySetting::AlternatingUsers
        );
        assert!(
            StrategySetting::parse(Some("multi"))
                .unwrap_err()
                .to_string()
                .contains("ROTATION_STRATEGY")
        );
    }

    #[test]
    fn alternates_names_within_the_limit() {
        assert_eq!(alternate_username("app", 63).unwrap(), "app_clone");
        assert_eq!(alternate_username("app_clone", 63).unwrap(), "app");
        assert_eq!(alternate_username("_clone", 63).unwrap(), "_clone_clone");
        assert_eq!(base_username("app_clone"), "app");
        assert_eq!(base_username("app"), "app");
        let long = "x".repeat(58);
        assert!(
            alternate_username(&long, 63)
                .unwrap_err()
                .contains("64 bytes")
        );
        assert_eq!(alternate_username(&"x".repeat(57), 63).unwrap().len(), 63);
    }
}
