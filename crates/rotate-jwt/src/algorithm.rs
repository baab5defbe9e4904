//! The JWS algorithms this function makes keys for, and RFC 7518's minimum key sizes.

use std::fmt;

/// RFC 7518 §3.3: RSA keys for RS256 are at least 2048 bits.
pub const MIN_RSA_BITS: usize = 2048;
/// The RSA sizes a new key may have (what aws-lc-rs generates). An 8192-bit key takes seconds
/// of CPU to make, tens of them at a small Lambda's share of a core, so only
/// `JWT_RSA_KEY_BITS=8192` asks for one.
pub const RSA_BITS: [usize; 4] = [2048, 3072, 4096, 8192];
/// The largest size a rotation keeps from the current key on its own.
pub const MAX_KEPT_RSA_BITS: usize = 4096;
/// The algorithm of a first key when neither the secret nor the configuration names one:
/// asymmetric, so verifiers need nothing secret, and small and fast to sign with.
pub const DEFAULT_ALGORITHM: Algorithm = Algorithm::Es256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Hs256,
    Hs384,
    Hs512,
    Es256,
    EdDsa,
    Rs256,
}

impl Algorithm {
    pub const ALL: [Self; 6] = [
        Self::Hs256,
        Self::Hs384,
        Self::Hs512,
        Self::Es256,
        Self::EdDsa,
        Self::Rs256,
    ];

    /// The JWS `alg` name (RFC 7518, RFC 8037 for EdDSA).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
        }
    }

    /// Parses an `alg` name. Names are case-sensitive in JOSE, so `hs256` is refused rather
    /// than guessed at.
    pub fn parse(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str() == name)
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|a| a.as_str()).collect();
                format!(
                    "unknown alg {:?} (this function makes keys for {})",
                    rotation_core::sanitize(name),
                    known.join(", ")
                )
            })
    }

    /// HMAC algorithms share one secret between signer and verifier.
    pub fn is_symmetric(self) -> bool {
        matches!(self, Self::Hs256 | Self::Hs384 | Self::Hs512)
    }

    /// RFC 7518 §3.2: an HMAC key is at least as long as the hash output.
    pub fn min_hmac_bytes(self) -> Option<usize> {
        match self {
            Self::Hs256 => Some(32),
            Self::Hs384 => Some(48),
            Self::Hs512 => Some(64),
            _ => None,
        }
    }

    /// The JWK `kty` of this algorithm's keys.
    pub fn key_type(self) -> &'static str {
        match self {
            Self::Hs256 | Self::Hs384 | Self::Hs512 => "oct",
            Self::Es256 => "EC",
            Self::EdDsa => "OKP",
            Self::Rs256 => "RSA",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::parse(alg.as_str()), Ok(alg));
        }
        let err = Algorithm::parse("hs256").unwrap_err();
        assert!(err.contains("unknown alg \"hs256\""), "{err}");
        assert!(Algorithm::parse("none").is_err());
        assert!(Algorithm::parse("RS512").is_err());
    }

    #[test]
    fn hmac_minimums_follow_rfc_7518() {
        assert_eq!(Algorithm::Hs256.min_hmac_bytes(), Some(32));
        assert_eq!(Algorithm::Hs384.min_hmac_bytes(), Some(48));
        assert_eq!(Algorithm::Hs512.min_hmac_bytes(), Some(64));
        assert_eq!(Algorithm::Rs256.min_hmac_bytes(), None);
        assert!(Algorithm::Hs384.is_symmetric() && !Algorithm::EdDsa.is_symmetric());
    }
}
