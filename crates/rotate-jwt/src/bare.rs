//! Bare HMAC keys: a secret whose whole value is the key string (`jwt/secret_key` holding
//! `3f9c…`), as teams moving a `JWT_SECRET` out of a `.env` file keep it.
//!
//! The apps reading such a secret use the string as it is, so the replacement keeps its form:
//! the same alphabet and at least the same length. Strings of no recognised form are refused. A string too short for 256 bits in its
//! alphabet is lengthened, since HS256 needs a 256-bit key (RFC 7518 §3.2).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rotation_core::Secret;
use zeroize::Zeroizing;

/// The fewest bits of randomness a new bare key carries.
const MIN_BITS: f64 = 256.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    HexLower,
    HexUpper,
    Alphanumeric,
    /// `A–Z a–z 0–9 - _`
    Base64Url,
    /// Standard base64 with `=` padding: new keys are random bytes encoded the same way.
    Base64,
}

impl Alphabet {
    fn chars(self) -> &'static [u8] {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        match self {
            Self::HexLower => b"0123456789abcdef",
            Self::HexUpper => b"0123456789ABCDEF",
            Self::Alphanumeric => ALNUM,
            Self::Base64Url => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
            Self::Base64 => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HexLower => "lower-case hex",
            Self::HexUpper => "upper-case hex",
            Self::Alphanumeric => "letters and digits",
            Self::Base64Url => "base64url",
            Self::Base64 => "padded base64",
        }
    }
}

/// What a bare key looks like, never what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Form {
    pub alphabet: Alphabet,
    /// Characters, or for [`Alphabet::Base64`] decoded bytes.
    pub length: usize,
}

impl Form {
    /// The form of `value`, ignoring surrounding whitespace: hex, letters and digits,
    /// base64url or base64. Anything else is refused rather than replaced: a PEM key, a URL or
    /// a `key=value` line stored as a bare string is not an HMAC key, and a random string in
    /// its place would break whatever reads it.
    pub fn of(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let all = |set: &[u8]| value.bytes().all(|b| set.contains(&b));
        let alphabet = if all(Alphabet::HexLower.chars()) {
            Alphabet::HexLower
        } else if all(Alphabet::HexUpper.chars()) {
            Alphabet::HexUpper
        } else if all(Alphabet::Alphanumeric.chars()) {
            Alphabet::Alphanumeric
        } else if all(Alphabet::Base64Url.chars()) {
            Alphabet::Base64Url
        } else if let Some(bytes) = padded_base64_len(value) {
            return Ok(Self {
                alphabet: Alphabet::Base64,
                length: bytes,
            });
        } else {
            let what = if value.contains("-----BEGIN") {
                "a PEM block"
            } else if value.chars().any(char::is_whitespace) {
                "whitespace"
            } else {
                "characters outside hex, base64 and base64url"
            };
            return Err(format!(
                "it is neither a JSON object nor a bare HMAC key string: it holds {what}. \
                 A bare key must be hex, letters and digits, base64url or base64; \
                 other keys belong in the JSON form (see the README)"
            ));
        };
        Ok(Self {
            alphabet,
            length: value.chars().count(),
        })
    }

    /// The form a replacement takes: the same alphabet, at least 256 bits.
    pub fn strengthened(self) -> Self {
        let bits_per_unit = match self.alphabet {
            Alphabet::Base64 => 8.0,
            other => (other.chars().len() as f64).log2(),
        };
        let min = (MIN_BITS / bits_per_unit).ceil() as usize;
        Self {
            length: self.length.max(min),
            ..self
        }
    }

    /// Whether `value` has this form and is at least as long: what a replacement must be.
    pub fn admits(self, value: &str) -> bool {
        let value = value.trim();
        match self.alphabet {
            Alphabet::Base64 => padded_base64_len(value).is_some_and(|len| len >= self.length),
            other => {
                value.len() >= self.length && value.bytes().all(|b| other.chars().contains(&b))
            }
        }
    }

    /// A new random key of this form, from the OS CSPRNG.
    pub fn generate(self) -> Result<Secret, String> {
        if self.alphabet == Alphabet::Base64 {
            let bytes = random_bytes(self.length)?;
            return Ok(Secret::new(STANDARD.encode(bytes.as_slice())));
        }
        let chars = self.alphabet.chars();
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - 256 % chars.len();
        let mut out = Zeroizing::new(String::with_capacity(self.length));
        while out.len() < self.length {
            for b in random_bytes(self.length * 2)?.iter() {
                if usize::from(*b) < limit && out.len() < self.length {
                    out.push(char::from(chars[usize::from(*b) % chars.len()]));
                }
            }
        }
        Ok(Secret::new(out.as_str()))
    }
}

fn padded_base64_len(value: &str) -> Option<usize> {
    if !value.len().is_multiple_of(4) {
        return None;
    }
    STANDARD
        .decode(value)
        .ok()
        .map(|bytes| Zeroizing::new(bytes).len())
}

fn random_bytes(len: usize) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut bytes = Zeroizing::new(vec![0u8; len]);
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| "the OS random source failed".to_owned())?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(alphabet: Alphabet, length: usize) -> Form {
        Form { alphabet, length }
    }

    #[test]
    fn recognises_the_usual_spellings_of_a_key() {
        let hex = "3f9c".repeat(16);
        assert_eq!(Form::of(&hex), Ok(form(Alphabet::HexLower, 64)));
        assert_eq!(
            Form::of(&hex.to_uppercase()),
            Ok(form(Alphabet::HexUpper, 64))
        );
        assert_eq!(Form::of("abcXYZ123\n"), Ok(form(Alphabet::Alphanumeric, 9)));
        assert_eq!(Form::of("ab-_Z"), Ok(form(Alphabet::Base64Url, 5)));
        assert_eq!(Form::of("q+/vAA=="), Ok(form(Alphabet::Base64, 4)));
        assert_eq!(Form::of("q+/v"), Ok(form(Alphabet::Base64, 3)));
    }

    #[test]
    fn strings_that_are_not_keys_are_refused() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA\n-----END PRIVATE KEY-----";
        for (value, what) in [
            (pem, "a PEM block"),
            ("my secret", "whitespace"),
            ("postgres://app:pw@db/app", "characters outside"),
            ("s3cr3t!", "characters outside"),
        ] {
            let err = Form::of(value).unwrap_err();
            assert!(err.contains(what), "{err}");
            assert!(!err.contains("MC4CAQ") && !err.contains("app:pw"), "{err}");
        }
    }

    #[test]
    fn replacements_keep_the_form_and_carry_at_least_256_bits() {
        assert_eq!(form(Alphabet::HexLower, 40).strengthened().length, 64);
        assert_eq!(form(Alphabet::HexLower, 128).strengthened().length, 128);
        assert_eq!(form(Alphabet::Alphanumeric, 8).strengthened().length, 43);
        assert_eq!(form(Alphabet::Base64Url, 8).strengthened().length, 43);
        assert_eq!(form(Alphabet::Base64, 16).strengthened().length, 32);
        for alphabet in [
            Alphabet::HexLower,
            Alphabet::HexUpper,
            Alphabet::Alphanumeric,
            Alphabet::Base64Url,
            Alphabet::Base64,
        ] {
            let wanted = form(alphabet, 8).strengthened();
            let key = wanted.generate().unwrap();
            assert!(wanted.admits(key.expose()), "{alphabet:?}");
            assert!(!wanted.admits(&key.expose()[..4]), "{alphabet:?}");
            assert_ne!(key, wanted.generate().unwrap());
        }
    }

    #[test]
    fn every_character_of_the_alphabet_turns_up() {
        let key = form(Alphabet::HexLower, 2000).generate().unwrap();
        for c in Alphabet::HexLower.chars() {
            assert!(key.expose().as_bytes().contains(c), "{}", char::from(*c));
        }
    }
}
