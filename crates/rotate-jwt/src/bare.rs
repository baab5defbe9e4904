//! Bare HMAC keys: a secret whose whole value is the key string (`jwt/secret_key` holding
//! `3f9c…`), as teams moving a `JWT_SECRET` out of a `.env` file keep it.
//!
//! The apps reading such a secret use the string as it is or decode it first, and nothing here
//! can tell which, so the replacement keeps its form (the same alphabet, at least the same
//! length) and is also what a strict decoder of that form accepts: hex of whole bytes, base64
//! with no character left over and no stray bits after the last byte. Strings of no recognised
//! form are refused. A string too short for 256 bits in its alphabet is lengthened, since HS256
//! needs a 256-bit key (RFC 7518 §3.2).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rotation_core::Secret;
use zeroize::Zeroizing;

/// The fewest bits of randomness a new bare key carries.
const MIN_BITS: f64 = 256.0;

/// Base64's alphabet without `+` and `/`, in base64 order, so a character's index is the six
/// bits it stands for when the key is decoded.
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    /// Told apart from hex, which holds every digit string: a key of digits alone may be read
    /// as a number, and hex letters in its replacement would break that.
    Digits,
    HexLower,
    HexUpper,
    /// Kept to letters and digits for apps that use the string as it is, and spelled as
    /// unpadded base64 of random bytes for apps that decode it.
    Alphanumeric,
    /// `A–Z a–z 0–9 - _`: new keys are random bytes encoded without padding.
    Base64Url,
    /// Standard base64 with `=` padding: new keys are random bytes encoded the same way.
    Base64,
}

impl Alphabet {
    /// Every alphabet, for the tests that must cover each.
    #[cfg(test)]
    pub(crate) const ALL: [Self; 6] = [
        Self::Digits,
        Self::HexLower,
        Self::HexUpper,
        Self::Alphanumeric,
        Self::Base64Url,
        Self::Base64,
    ];

    fn chars(self) -> &'static [u8] {
        match self {
            Self::Digits => b"0123456789",
            Self::HexLower => b"0123456789abcdef",
            Self::HexUpper => b"0123456789ABCDEF",
            Self::Alphanumeric => ALNUM,
            Self::Base64Url => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
            Self::Base64 => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Digits => "digits",
            Self::HexLower => "lower-case hex",
            Self::HexUpper => "upper-case hex",
            Self::Alphanumeric => "letters and digits",
            Self::Base64Url => "base64url",
            Self::Base64 => "padded base64",
        }
    }

    /// Whether strict decoders take a key of `len` units: hex decodes whole bytes, and one
    /// character past a group of four holds too few bits for a byte of unpadded base64.
    fn decodable(self, len: usize) -> bool {
        match self {
            Self::HexLower | Self::HexUpper => len.is_multiple_of(2),
            Self::Alphanumeric | Self::Base64Url => len % 4 != 1,
            Self::Digits | Self::Base64 => true,
        }
    }

    /// The randomness in a new key of `len` units, counted as [`Form::generate`] draws it, so
    /// that a constrained character is not credited with bits it does not carry.
    fn bits(self, len: usize) -> f64 {
        match self {
            Self::Digits => len as f64 * 10f64.log2(),
            Self::HexLower | Self::HexUpper => len as f64 * 4.0,
            Self::Alphanumeric => {
                len.saturating_sub(1) as f64 * (ALNUM.len() as f64).log2()
                    + (last_alnum_choices(len).len() as f64).log2()
            }
            Self::Base64Url => (base64url_bytes(len) * 8) as f64,
            Self::Base64 => len as f64 * 8.0,
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
    /// The form of `value`, ignoring surrounding whitespace: digits, hex, letters and digits,
    /// base64url or base64. Anything else is refused rather than replaced: a PEM key, a URL or
    /// a `key=value` line stored as a bare string is not an HMAC key, and a random string in
    /// its place would break whatever reads it.
    pub fn of(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let all = |set: &[u8]| value.bytes().all(|b| set.contains(&b));
        let alphabet = if all(Alphabet::Digits.chars()) {
            Alphabet::Digits
        } else if all(Alphabet::HexLower.chars()) {
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

    /// The form a replacement takes: the same alphabet, at least 256 bits, and the shortest
    /// such length that strict decoders of the alphabet accept.
    pub fn strengthened(self) -> Self {
        let mut length = self.length;
        while !(self.alphabet.decodable(length) && self.alphabet.bits(length) >= MIN_BITS) {
            length += 1;
        }
        Self { length, ..self }
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

    /// A new random key of this form, from the OS CSPRNG. It is made to the strengthened form
    /// whatever form it is asked for, so no caller can get a weak or undecodable key by
    /// skipping [`Form::strengthened`].
    pub fn generate(self) -> Result<Secret, String> {
        let Self { alphabet, length } = self.strengthened();
        match alphabet {
            Alphabet::Base64 => {
                let bytes = random_bytes(length)?;
                return Ok(Secret::new(STANDARD.encode(bytes.as_slice())));
            }
            Alphabet::Base64Url => {
                let bytes = random_bytes(base64url_bytes(length))?;
                return Ok(Secret::new(URL_SAFE_NO_PAD.encode(bytes.as_slice())));
            }
            _ => {}
        }
        let mut out = Zeroizing::new(String::with_capacity(length));
        if alphabet == Alphabet::Alphanumeric {
            // Every character but the last is uniform over the 62, as in the base64 of random
            // bytes less `+ / - _`; the last also leaves zero the bits a decoder drops, since
            // strict decoders refuse a key that does not.
            push_random(&mut out, ALNUM, length - 1)?;
            push_random(&mut out, &last_alnum_choices(length), 1)?;
        } else {
            push_random(&mut out, alphabet.chars(), length)?;
        }
        Ok(Secret::new(out.as_str()))
    }
}

/// The bytes behind an unpadded base64 key of `len` characters: six bits a character, the
/// odd bits of the last one dropped.
fn base64url_bytes(len: usize) -> usize {
    len * 3 / 4
}

/// The letters and digits that may end an unpadded base64 key of `len` characters: those
/// whose bits past the last whole byte are zero, as in a key encoded from bytes.
fn last_alnum_choices(len: usize) -> Vec<u8> {
    let dropped_bits = match len % 4 {
        2 => 4,
        3 => 2,
        _ => 0,
    };
    ALNUM
        .iter()
        .enumerate()
        .filter(|(value, _)| value % (1 << dropped_bits) == 0)
        .map(|(_, c)| *c)
        .collect()
}

/// Rejection sampling keeps every character of `set` equally likely. `out` must have room
/// for `count` more characters, so that no copy of the key is left behind by a reallocation.
fn push_random(out: &mut Zeroizing<String>, set: &[u8], count: usize) -> Result<(), String> {
    let limit = 256 - 256 % set.len();
    let end = out.len() + count;
    while out.len() < end {
        for b in random_bytes(count * 2)?.iter() {
            if usize::from(*b) < limit && out.len() < end {
                out.push(char::from(set[usize::from(*b) % set.len()]));
            }
        }
    }
    Ok(())
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
    use base64::engine::general_purpose::STANDARD_NO_PAD;
    use std::collections::BTreeSet;

    /// Every remainder mod 4 on both sides of the 256-bit minimum, and one short key.
    const LENGTHS: [usize; 9] = [8, 41, 42, 43, 44, 45, 46, 47, 101];

    fn form(alphabet: Alphabet, length: usize) -> Form {
        Form { alphabet, length }
    }

    #[test]
    fn recognises_the_usual_spellings_of_a_key() {
        let hex = "3f9c".repeat(16);
        assert_eq!(Form::of(&hex), Ok(form(Alphabet::HexLower, 64)));
        assert_eq!(Form::of("8374650192"), Ok(form(Alphabet::Digits, 10)));
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
        assert_eq!(form(Alphabet::Digits, 8).strengthened().length, 78);
        assert_eq!(form(Alphabet::HexUpper, 65).strengthened().length, 66);
        // 43 would carry only 42 × log2(62) + 4 ≈ 254 bits: the last character is one of 16.
        assert_eq!(form(Alphabet::Alphanumeric, 8).strengthened().length, 44);
        assert_eq!(form(Alphabet::Alphanumeric, 45).strengthened().length, 46);
        assert_eq!(form(Alphabet::Base64Url, 8).strengthened().length, 43);
        assert_eq!(form(Alphabet::Base64Url, 45).strengthened().length, 46);
        assert_eq!(form(Alphabet::Base64, 16).strengthened().length, 32);
        for alphabet in Alphabet::ALL {
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

    /// Counted apart from the code under test: a last character whose unused low bits must be
    /// zero (RFC 4648 §3.5) is one of fewer letters and digits, so it carries fewer bits.
    fn alphanumeric_bits(len: usize) -> f64 {
        let unused_bits = match len % 4 {
            2 => 4,
            3 => 2,
            _ => 0,
        };
        let last_choices = (0..62).filter(|v| v % (1 << unused_bits) == 0).count();
        (len - 1) as f64 * 62f64.log2() + (last_choices as f64).log2()
    }

    #[test]
    fn base64url_keys_are_random_bytes_that_decode_strictly() {
        for length in LENGTHS {
            let wanted = form(Alphabet::Base64Url, length).strengthened();
            for _ in 0..32 {
                let key = wanted.generate().unwrap();
                let key = key.expose();
                let bytes = URL_SAFE_NO_PAD.decode(key).unwrap_or_else(|e| {
                    panic!("from {length}: a {}-character key: {e}", key.len())
                });
                assert!(key.len() >= length, "from {length}: {}", key.len());
                assert!(bytes.len() * 8 >= 256, "from {length}: {}", bytes.len());
                assert!(wanted.admits(key), "from {length}");
            }
        }
    }

    #[test]
    fn letters_and_digits_keys_decode_strictly_as_base64() {
        for length in LENGTHS {
            let wanted = form(Alphabet::Alphanumeric, length).strengthened();
            for _ in 0..32 {
                let key = wanted.generate().unwrap();
                let key = key.expose();
                assert!(key.bytes().all(|b| b.is_ascii_alphanumeric()));
                for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
                    if let Err(e) = engine.decode(key) {
                        panic!("from {length}: a {}-character key: {e}", key.len());
                    }
                }
                assert!(key.len() >= length, "from {length}: {}", key.len());
                let bits = alphanumeric_bits(key.len());
                assert!(
                    bits >= 256.0,
                    "from {length}: {} characters, {bits} bits",
                    key.len()
                );
                assert!(wanted.admits(key), "from {length}");
            }
        }
    }

    #[test]
    fn only_the_last_letters_and_digits_character_is_constrained() {
        for (length, allowed) in [(46, "AQgw"), (47, "AEIMQUYcgkosw048"), (48, "")] {
            let (mut rest, mut last) = (BTreeSet::new(), BTreeSet::new());
            // Enough draws that a choice of 62 goes unseen with odds below 10^-12.
            for _ in 0..2000 {
                let key = form(Alphabet::Alphanumeric, length).generate().unwrap();
                let (head, tail) = key.expose().as_bytes().split_at(length - 1);
                rest.extend(head.iter().copied());
                last.extend(tail.iter().copied());
            }
            assert_eq!(rest.len(), 62, "{length}");
            let allowed: BTreeSet<u8> = if allowed.is_empty() {
                Alphabet::Alphanumeric.chars().iter().copied().collect()
            } else {
                allowed.bytes().collect()
            };
            assert_eq!(last, allowed, "{length}");
        }
    }

    #[test]
    fn hex_keys_are_whole_bytes() {
        for (alphabet, length) in [
            (Alphabet::HexLower, 8),
            (Alphabet::HexLower, 65),
            (Alphabet::HexUpper, 65),
            (Alphabet::HexUpper, 127),
        ] {
            let wanted = form(alphabet, length).strengthened();
            let key = wanted.generate().unwrap();
            let key = key.expose();
            assert!(
                key.len().is_multiple_of(2) && key.len() >= length.max(64),
                "{alphabet:?} from {length}: {} characters",
                key.len()
            );
            assert!(key.bytes().all(|b| alphabet.chars().contains(&b)));
            assert!(wanted.admits(key), "{alphabet:?} from {length}");
        }
    }

    #[test]
    fn padded_base64_keys_decode_strictly() {
        for bytes in [3, 16, 32, 33, 34, 64] {
            let wanted = form(Alphabet::Base64, bytes).strengthened();
            let key = wanted.generate().unwrap();
            let decoded = STANDARD.decode(key.expose()).unwrap();
            assert_eq!(decoded.len(), bytes.max(32));
            assert!(wanted.admits(key.expose()));
        }
    }

    #[test]
    fn digit_strings_stay_digits() {
        let found = Form::of(&"0123456789".repeat(4)).unwrap();
        assert_eq!(found, form(Alphabet::Digits, 40));
        let wanted = found.strengthened();
        assert_eq!(wanted.length, 78, "⌈256 / log2(10)⌉");
        let key = wanted.generate().unwrap();
        let key = key.expose();
        assert!(
            key.bytes().all(|b| b.is_ascii_digit()),
            "a {} replacement holds other characters than digits",
            found.alphabet.as_str()
        );
        assert!(key.len() as f64 * 10f64.log2() >= 256.0, "{}", key.len());
        assert!(wanted.admits(key));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Begins the key material in generated strings; errors are looked through for it.
    const MARK: &str = "keyQ7xZ";

    /// Whether every character of `narrow` is one of `wide`: a key read in `narrow` is
    /// replaced by one that whatever reads `wide` still reads.
    fn within(narrow: Alphabet, wide: Alphabet) -> bool {
        narrow.chars().iter().all(|c| wide.chars().contains(c))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Every key the engine makes is read back as a bare key, in its own alphabet or a
        /// narrower one (a base64url key may happen to hold no `-` or `_`), and passes the
        /// check testSecret makes of a replacement; so does the key made from it next time.
        #[test]
        fn every_key_made_is_read_back_as_a_bare_key(
            alphabet in proptest::sample::select(&Alphabet::ALL[..]),
            length in 0usize..=120,
            padding in "[ \t\r\n]{0,2}",
        ) {
            let asked = Form { alphabet, length };
            let key = asked.generate().unwrap();
            let stored = format!("{padding}{}{padding}", key.expose());
            let found = Form::of(&stored);
            let Ok(found) = found else {
                return Err(TestCaseError::fail(format!("a {alphabet:?} key was refused")));
            };
            let kept = within(found.alphabet, alphabet);
            prop_assert!(kept, "{:?} read as {:?}", alphabet, found.alphabet);
            prop_assert!(asked.strengthened().admits(&stored));
            prop_assert!(found.admits(&stored));
            let next = found.strengthened().generate().unwrap();
            let again = Form::of(next.expose()).map(|f| f.alphabet);
            prop_assert!(again.as_ref().is_ok_and(|a| within(*a, alphabet)), "{:?}", again);
        }

        /// Any string is read as a form that admits it, or refused without being quoted.
        #[test]
        fn any_string_is_read_as_a_form_that_admits_it_or_refused_unquoted(
            value in prop_oneof![
                "(?s).{0,60}",
                "[A-Za-z0-9+/=_ -]{0,60}",
                ("(?s).{0,20}", "(?s).{0,20}").prop_map(|(a, b)| format!("{a}{MARK}{b}")),
            ],
        ) {
            match Form::of(&value) {
                Ok(form) => {
                    prop_assert!(form.admits(&value), "{:?}", form);
                    let wanted = form.strengthened();
                    prop_assert!(wanted.length >= form.length);
                    prop_assert!(wanted.admits(wanted.generate().unwrap().expose()));
                }
                Err(reason) => prop_assert!(!reason.contains(MARK)),
            }
        }
    }
}
