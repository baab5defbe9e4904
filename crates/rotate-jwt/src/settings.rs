//! Configuration from the function's environment. Every variable is optional: by default a
//! rotation keeps the current key's algorithm and size.

use rotation_core::{RotationError, whole_number};

use crate::algorithm::{Algorithm, RSA_BITS};

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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            algorithm: None,
            rsa_bits: None,
            hmac_bytes: None,
            previous_keys: DEFAULT_PREVIOUS_KEYS,
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
        Ok(Self {
            algorithm,
            rsa_bits,
            hmac_bytes: hmac_bytes.map(|n| n as usize),
            previous_keys,
        })
    }
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
        ])
        .unwrap();
        assert_eq!(s.algorithm, Some(Algorithm::Rs256));
        assert_eq!(
            (s.rsa_bits, s.hmac_bytes, s.previous_keys),
            (Some(3072), Some(64), 0)
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
        ] {
            let err = from(&[(name, value)]).unwrap_err();
            assert_eq!(err.error_type(), "ConfigurationError");
            assert!(err.to_string().contains(message), "{err}");
        }
    }
}
