//! Configuration from the function's environment. Every variable is optional: by default a
//! rotation keeps the current key's algorithm and size.

use rotation_core::{RotationError, parse_flag, whole_number};

use crate::algorithm::{Algorithm, RSA_BITS};
use crate::publish::{DEFAULT_JWKS_KEY, JwksTarget};

/// How many keys before the new one stay in the verification set by default: one, the key
/// the new one replaces, so tokens issued just before a rotation still verify after it.
pub const DEFAULT_PREVIOUS_KEYS: usize = 1;
const MAX_PREVIOUS_KEYS: u64 = 10;
/// Longest HMAC key a new key may be; a bound, not a recommendation.
const MAX_HMAC_BYTES: u64 = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `JWT_ALGORITHM`: the algorithm of new keys, overriding the current key's.
    pub algorithm: Option<Algorithm>,
    /// `JWT_RSA_KEY_BITS`: 2048, 3072, 4096 or 8192.
    pub rsa_bits: Option<usize>,
    /// `JWT_HMAC_KEY_BYTES`: at least the hash size of the algorithm.
    pub hmac_bytes: Option<usize>,
    /// `JWT_PREVIOUS_KEYS`: earlier keys kept in the verification set (0 to 10).
    pub previous_keys: usize,
    /// `JWT_PUBLISH_NEXT_KEY`: keep the next key in the secret and its set; unset, for
    /// asymmetric keys only (see [`Settings::publishes_next`]).
    pub publish_next: Option<bool>,
    /// `JWKS_BUCKET` and `JWKS_KEY`: where finishSecret writes the public set, if anywhere.
    pub jwks: Option<JwksTarget>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            algorithm: None,
            rsa_bits: None,
            hmac_bytes: None,
            previous_keys: DEFAULT_PREVIOUS_KEYS,
            publish_next: None,
            jwks: None,
        }
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, RotationError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, RotationError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let algorithm = set("JWT_ALGORITHM")
            .map(|name| {
                Algorithm::parse(name.trim())
                    .map_err(|e| RotationError::Config(format!("JWT_ALGORITHM: {e}")))
            })
            .transpose()?;
        let rsa_bits = whole_number(set, "JWT_RSA_KEY_BITS", 2048..=8192)?
            .map(|bits| bits as usize)
            .map(|bits| {
                if RSA_BITS.contains(&bits) {
                    Ok(bits)
                } else {
                    Err(RotationError::Config(format!(
                        "JWT_RSA_KEY_BITS must be one of {RSA_BITS:?}, got {bits}"
                    )))
                }
            })
            .transpose()?;
        let hmac_bytes = whole_number(set, "JWT_HMAC_KEY_BYTES", 32..=MAX_HMAC_BYTES)?;
        let previous_keys = whole_number(set, "JWT_PREVIOUS_KEYS", 0..=MAX_PREVIOUS_KEYS)?
            .map_or(DEFAULT_PREVIOUS_KEYS, |n| n as usize);
        let publish_next = set("JWT_PUBLISH_NEXT_KEY")
            .map(|raw| parse_flag("JWT_PUBLISH_NEXT_KEY", &raw))
            .transpose()?;
        Ok(Self {
            algorithm,
            rsa_bits,
            hmac_bytes: hmac_bytes.map(|n| n as usize),
            previous_keys,
            publish_next,
            jwks: jwks_target(set("JWKS_BUCKET"), set("JWKS_KEY"))?,
        })
    }

    /// Whether a rotation to a signing key of `alg` also makes the key after it. By default
    /// for public keys, whose set verifiers fetch and cache; not for HMAC keys, whose set is
    /// a set of secrets read from the secret itself, never published.
    pub fn publishes_next(&self, alg: Algorithm) -> bool {
        self.publish_next.unwrap_or(!alg.is_symmetric())
    }
}

/// Where the set is published: a bucket S3 accepts, and a key that names an object.
fn jwks_target(
    bucket: Option<String>,
    key: Option<String>,
) -> Result<Option<JwksTarget>, RotationError> {
    let config = |message: String| Err(RotationError::Config(message));
    let Some(bucket) = bucket.map(|b| b.trim().to_owned()) else {
        return match key {
            Some(_) => config("JWKS_KEY is set but JWKS_BUCKET is not".into()),
            None => Ok(None),
        };
    };
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !valid_bucket {
        return config(format!(
            "JWKS_BUCKET must be an S3 bucket name (3 to 63 lower-case letters, digits, dots \
             and hyphens), got {:?}",
            rotation_core::sanitize(&bucket)
        ));
    }
    let key = key.map_or_else(|| DEFAULT_JWKS_KEY.to_owned(), |k| k.trim().to_owned());
    if key.starts_with('/') || key.ends_with('/') || key.len() > 1024 {
        return config(format!(
            "JWKS_KEY must name an object (no leading or trailing '/', at most 1024 bytes), \
             got {:?}",
            rotation_core::sanitize(&key)
        ));
    }
    Ok(Some(JwksTarget { bucket, key }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, RotationError> {
        Settings::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_keep_one_earlier_key_and_the_current_algorithm() {
        assert_eq!(from(&[]).unwrap(), Settings::default());
        assert_eq!(
            from(&[("JWT_ALGORITHM", " ")]).unwrap(),
            Settings::default()
        );
        let s = from(&[
            ("JWT_ALGORITHM", "RS256"),
            ("JWT_RSA_KEY_BITS", "3072"),
            ("JWT_HMAC_KEY_BYTES", "64"),
            ("JWT_PREVIOUS_KEYS", "0"),
            ("JWT_PUBLISH_NEXT_KEY", "no"),
        ])
        .unwrap();
        assert_eq!(s.algorithm, Some(Algorithm::Rs256));
        assert_eq!(
            (s.rsa_bits, s.hmac_bytes, s.previous_keys, s.publish_next),
            (Some(3072), Some(64), 0, Some(false))
        );
    }

    #[test]
    fn the_next_key_is_published_for_public_keys_unless_told_otherwise() {
        let default = Settings::default();
        assert!(default.publishes_next(Algorithm::Es256));
        assert!(default.publishes_next(Algorithm::Rs256));
        assert!(!default.publishes_next(Algorithm::Hs256));
        let on = from(&[("JWT_PUBLISH_NEXT_KEY", "true")]).unwrap();
        assert!(on.publishes_next(Algorithm::Hs512));
        let off = from(&[("JWT_PUBLISH_NEXT_KEY", "false")]).unwrap();
        assert!(!off.publishes_next(Algorithm::EdDsa));
        let auto = from(&[("JWT_PUBLISH_NEXT_KEY", "")]).unwrap();
        assert_eq!(auto.publish_next, None);
    }

    #[test]
    fn the_jwks_goes_to_the_bucket_under_a_key_named_for_the_secret_by_default() {
        assert_eq!(from(&[]).unwrap().jwks, None);
        let target = from(&[("JWKS_BUCKET", "keys.example")])
            .unwrap()
            .jwks
            .unwrap();
        assert_eq!(target.key, "{name}/jwks.json");
        let target = from(&[
            ("JWKS_BUCKET", "keys"),
            ("JWKS_KEY", ".well-known/jwks.json"),
        ])
        .unwrap()
        .jwks
        .unwrap();
        assert_eq!(
            (target.bucket.as_str(), target.key.as_str()),
            ("keys", ".well-known/jwks.json")
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value, message) in [
            (
                "JWT_ALGORITHM",
                "none",
                "JWT_ALGORITHM: unknown alg \"none\"",
            ),
            (
                "JWT_RSA_KEY_BITS",
                "2500",
                "JWT_RSA_KEY_BITS must be one of",
            ),
            (
                "JWT_RSA_KEY_BITS",
                "1024",
                "JWT_RSA_KEY_BITS must be a whole number",
            ),
            (
                "JWT_HMAC_KEY_BYTES",
                "16",
                "JWT_HMAC_KEY_BYTES must be a whole number from 32",
            ),
            (
                "JWT_PREVIOUS_KEYS",
                "11",
                "JWT_PREVIOUS_KEYS must be a whole number from 0 to 10",
            ),
            (
                "JWT_PUBLISH_NEXT_KEY",
                "maybe",
                "JWT_PUBLISH_NEXT_KEY must be true or false",
            ),
            (
                "JWKS_BUCKET",
                "Keys_Bucket",
                "JWKS_BUCKET must be an S3 bucket name",
            ),
            (
                "JWKS_KEY",
                "jwks.json",
                "JWKS_KEY is set but JWKS_BUCKET is not",
            ),
        ] {
            let err = from(&[(name, value)]).unwrap_err();
            assert_eq!(err.error_type(), "ConfigurationError");
            assert!(err.to_string().contains(message), "{err}");
        }
    }
}
