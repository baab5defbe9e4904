//! Signing keys: made from the OS CSPRNG by aws-lc-rs, stored as PKCS#8 PEM (asymmetric) or
//! base64url (HMAC), and published as JWKs.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SystemRandom, fill};
use aws_lc_rs::rsa::KeySize as RsaKeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use rotation_core::Secret;
use zeroize::Zeroizing;

use crate::algorithm::{Algorithm, MIN_RSA_BITS, RSA_BITS};
use crate::base64url;
use crate::jwk::{Jwk, Material, check_hmac_length, check_rsa_bits, hmac_algorithm, modulus_bits};
use crate::pem;

/// How big a new key is; only RSA and HMAC keys have a choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySize {
    /// The algorithm's minimum: 2048-bit RSA, an HMAC key as long as the hash.
    Minimum,
    RsaBits(usize),
    HmacBytes(usize),
}

enum Pair {
    Hmac(Zeroizing<Vec<u8>>),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

pub struct SigningKey {
    alg: Algorithm,
    pair: Pair,
}

/// Written by hand so the key can never be printed.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn generate(alg: Algorithm, size: KeySize) -> Result<Self, String> {
        let failed = |_| format!("the crypto library could not generate a {alg} key");
        let pair = match alg {
            Algorithm::Hs256 | Algorithm::Hs384 | Algorithm::Hs512 => {
                let min = alg.min_hmac_bytes().unwrap_or(32);
                let len = match size {
                    KeySize::HmacBytes(len) => len,
                    _ => min,
                };
                check_hmac_length(alg, len)?;
                let mut key = Zeroizing::new(vec![0u8; len]);
                fill(&mut key).map_err(failed)?;
                Pair::Hmac(key)
            }
            Algorithm::Es256 => Pair::Ecdsa(
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?,
            ),
            Algorithm::EdDsa => Pair::Ed25519(Ed25519KeyPair::generate().map_err(failed)?),
            Algorithm::Rs256 => {
                let bits = match size {
                    KeySize::RsaBits(bits) => bits,
                    _ => RSA_BITS[0],
                };
                let size = match bits {
                    2048 => RsaKeySize::Rsa2048,
                    3072 => RsaKeySize::Rsa3072,
                    4096 => RsaKeySize::Rsa4096,
                    8192 => RsaKeySize::Rsa8192,
                    _ => {
                        return Err(format!(
                            "RSA keys are made with {RSA_BITS:?} bits, not {bits}"
                        ));
                    }
                };
                Pair::Rsa(RsaKeyPair::generate(size).map_err(failed)?)
            }
        };
        Ok(Self { alg, pair })
    }

    /// Loads a stored signing key: base64url for HMAC; PEM for the others, as PKCS#8 or the
    /// older `EC PRIVATE KEY` (SEC 1) and `RSA PRIVATE KEY` (PKCS#1) forms that `openssl`
    /// writes. Keys below RFC 7518's minimum sizes are refused.
    pub fn load(alg: Algorithm, material: &str) -> Result<Self, String> {
        let pair = if alg.is_symmetric() {
            let key = Zeroizing::new(
                base64url::decode(material)
                    .ok_or("it is not unpadded base64url (the JWK \"k\" encoding)")?,
            );
            check_hmac_length(alg, key.len())?;
            Pair::Hmac(key)
        } else {
            let (label, der) = pem::decode(material)?;
            let rejected = |e: aws_lc_rs::error::KeyRejected| match e.description_() {
                "TooSmall" => format!(
                    "the {alg} key is smaller than RFC 7518's minimum of {MIN_RSA_BITS} bits"
                ),
                reason => format!("it is not a usable {alg} private key ({reason})"),
            };
            match (alg, label.as_str()) {
                (Algorithm::Es256, pem::PKCS8) => Pair::Ecdsa(
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                        .map_err(rejected)?,
                ),
                (Algorithm::Es256, "EC PRIVATE KEY") => Pair::Ecdsa(
                    EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                        .map_err(rejected)?,
                ),
                (Algorithm::EdDsa, pem::PKCS8) => {
                    Pair::Ed25519(Ed25519KeyPair::from_pkcs8(&der).map_err(rejected)?)
                }
                (Algorithm::Rs256, pem::PKCS8) => {
                    Pair::Rsa(RsaKeyPair::from_pkcs8(&der).map_err(rejected)?)
                }
                (Algorithm::Rs256, "RSA PRIVATE KEY") => {
                    Pair::Rsa(RsaKeyPair::from_der(&der).map_err(rejected)?)
                }
                _ => {
                    return Err(format!(
                        "its PEM label {:?} is not a private key form this function reads for {alg}",
                        rotation_core::sanitize(&label)
                    ));
                }
            }
        };
        let key = Self { alg, pair };
        if let Pair::Rsa(_) = key.pair {
            check_rsa_bits(key.rsa_bits().unwrap_or_default())?;
        }
        Ok(key)
    }

    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The size a replacement should keep: RSA modulus bits or HMAC key bytes.
    pub fn size(&self) -> KeySize {
        match &self.pair {
            Pair::Hmac(key) => KeySize::HmacBytes(key.len()),
            Pair::Rsa(_) => KeySize::RsaBits(self.rsa_bits().unwrap_or_default()),
            _ => KeySize::Minimum,
        }
    }

    fn rsa_bits(&self) -> Option<usize> {
        match &self.pair {
            Pair::Rsa(pair) => Some(modulus_bits(
                pair.public_key()
                    .modulus()
                    .big_endian_without_leading_zero(),
            )),
            _ => None,
        }
    }

    /// The stored form: PKCS#8 PEM, or base64url for HMAC keys.
    pub fn material(&self) -> Result<Secret, String> {
        let failed = |_| {
            format!(
                "the crypto library could not serialise the {} key",
                self.alg
            )
        };
        let pkcs8 = |der: &[u8]| Secret::new(pem::encode(pem::PKCS8, der).as_str());
        Ok(match &self.pair {
            Pair::Hmac(key) => Secret::new(base64url::encode(key)),
            Pair::Ecdsa(pair) => pkcs8(pair.to_pkcs8v1().map_err(failed)?.as_ref()),
            Pair::Ed25519(pair) => pkcs8(pair.to_pkcs8v1().map_err(failed)?.as_ref()),
            Pair::Rsa(pair) => pkcs8(pair.as_der().map_err(failed)?.as_ref()),
        })
    }

    /// The verification JWK under `kid`: the public key, or for HMAC the secret itself.
    pub fn jwk(&self, kid: &str) -> Result<Jwk, String> {
        let material = match &self.pair {
            Pair::Hmac(key) => Material::Oct(key.clone()),
            Pair::Ecdsa(pair) => {
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point[0] != 4 {
                    return Err("the P-256 public key is not an uncompressed point".into());
                }
                Material::Ec(point.to_vec())
            }
            Pair::Ed25519(pair) => Material::Ed25519(pair.public_key().as_ref().to_vec()),
            Pair::Rsa(pair) => {
                let public = pair.public_key();
                Material::Rsa {
                    n: public.modulus().big_endian_without_leading_zero().to_vec(),
                    e: public.exponent().big_endian_without_leading_zero().to_vec(),
                }
            }
        };
        Jwk::build(self.alg, kid, &material)
    }

    /// The `kid` a new key gets: the RFC 7638 thumbprint of a public key, so anyone holding
    /// the JWK can recompute it; for an HMAC key a random value, because a thumbprint would
    /// be a published hash of the secret.
    pub fn new_kid(&self) -> Result<String, String> {
        if self.alg.is_symmetric() {
            let mut id = [0u8; 16];
            fill(&mut id).map_err(|_| "the crypto library could not make a kid")?;
            return Ok(base64url::encode(&id));
        }
        // The thumbprint covers only the key members, so any kid serves to build the JWK.
        Ok(self.jwk("thumbprint")?.thumbprint())
    }

    /// A JWS signature over `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let failed = |_| {
            format!(
                "the crypto library could not sign with the {} key",
                self.alg
            )
        };
        Ok(match &self.pair {
            Pair::Hmac(key) => {
                let key = hmac::Key::new(hmac_algorithm(self.alg), key);
                hmac::sign(&key, message).as_ref().to_vec()
            }
            Pair::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Pair::Ed25519(pair) => pair.sign(message).as_ref().to_vec(),
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(failed)?;
                signature
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1024-bit RSA key, made for this test with `openssl genpkey -algorithm RSA
    /// -pkeyopt rsa_keygen_bits:1024`; it protects nothing.
    const WEAK_RSA: &str = include_str!("../testdata/rsa-1024.pem");

    #[test]
    fn every_algorithm_signs_what_its_published_jwk_verifies() {
        for alg in Algorithm::ALL {
            let key = SigningKey::generate(alg, KeySize::Minimum).unwrap();
            let kid = key.new_kid().unwrap();
            let jwk = key.jwk(&kid).unwrap();
            let signature = key.sign(b"header.payload").unwrap();
            assert!(jwk.verify(b"header.payload", &signature), "{alg}");
            assert!(!jwk.verify(b"header.payload2", &signature), "{alg}");
            let other = SigningKey::generate(alg, KeySize::Minimum).unwrap();
            assert!(
                !other
                    .jwk(&kid)
                    .unwrap()
                    .verify(b"header.payload", &signature)
            );
            if !alg.is_symmetric() {
                assert_eq!(kid, jwk.thumbprint(), "{alg}");
            }
        }
    }

    #[test]
    fn stored_material_loads_back_as_the_same_key() {
        for alg in Algorithm::ALL {
            let key = SigningKey::generate(alg, KeySize::Minimum).unwrap();
            let material = key.material().unwrap();
            if !alg.is_symmetric() {
                assert!(
                    material
                        .expose()
                        .starts_with("-----BEGIN PRIVATE KEY-----\n")
                );
            }
            let loaded = SigningKey::load(alg, material.expose()).unwrap();
            assert!(
                loaded.jwk("a").unwrap().same_key(&key.jwk("b").unwrap()),
                "{alg}"
            );
            assert_eq!(loaded.size(), key.size());
        }
    }

    #[test]
    fn sizes_are_kept_and_checked() {
        let rsa = SigningKey::generate(Algorithm::Rs256, KeySize::RsaBits(3072)).unwrap();
        assert_eq!(rsa.size(), KeySize::RsaBits(3072));
        let hmac = SigningKey::generate(Algorithm::Hs384, KeySize::HmacBytes(80)).unwrap();
        assert_eq!(hmac.size(), KeySize::HmacBytes(80));
        assert_eq!(
            SigningKey::generate(Algorithm::Hs512, KeySize::Minimum)
                .unwrap()
                .size(),
            KeySize::HmacBytes(64)
        );
        let err = SigningKey::generate(Algorithm::Hs256, KeySize::HmacBytes(31)).unwrap_err();
        assert!(err.contains("31 bytes"), "{err}");
        let err = SigningKey::generate(Algorithm::Rs256, KeySize::RsaBits(1024)).unwrap_err();
        assert!(err.contains("not 1024"), "{err}");
    }

    #[test]
    fn weak_and_malformed_keys_are_refused_without_echoing_them() {
        let err = SigningKey::load(Algorithm::Rs256, WEAK_RSA).unwrap_err();
        assert_eq!(
            err,
            "the RS256 key is smaller than RFC 7518's minimum of 2048 bits"
        );
        let short = base64url::encode(&[9; 20]);
        let err = SigningKey::load(Algorithm::Hs256, &short).unwrap_err();
        assert!(
            err.contains("20 bytes; RFC 7518 requires at least 32"),
            "{err}"
        );
        let err = SigningKey::load(Algorithm::Es256, WEAK_RSA).unwrap_err();
        assert!(err.contains("not a usable ES256 private key"), "{err}");
        let ed = SigningKey::generate(Algorithm::EdDsa, KeySize::Minimum).unwrap();
        let pem = ed.material().unwrap();
        let garbled = pem.expose().replacen("MC", "MD", 1);
        let err = SigningKey::load(Algorithm::EdDsa, &garbled).unwrap_err();
        assert!(err.contains("not a usable EdDSA private key"), "{err}");
        assert!(!err.contains(pem.expose().lines().nth(1).unwrap()));
    }
}

#[cfg(test)]
mod properties {
    use std::sync::LazyLock;

    use proptest::prelude::*;

    use super::*;

    /// One key of each algorithm, made once: RSA keys take a while to make.
    static KEYS: LazyLock<Vec<SigningKey>> = LazyLock::new(|| {
        Algorithm::ALL
            .into_iter()
            .map(|alg| SigningKey::generate(alg, KeySize::Minimum).unwrap())
            .collect()
    });

    /// Whether `error` holds any run of `len` characters of `material`.
    fn quotes(error: &str, material: &str, len: usize) -> bool {
        let chars: Vec<char> = material.chars().filter(|c| !c.is_whitespace()).collect();
        chars
            .windows(len)
            .any(|w| error.contains(&w.iter().collect::<String>()))
    }

    /// An HMAC algorithm and a key size it allows.
    fn hmac() -> impl Strategy<Value = (Algorithm, usize)> {
        prop_oneof![
            Just(Algorithm::Hs256),
            Just(Algorithm::Hs384),
            Just(Algorithm::Hs512)
        ]
        .prop_flat_map(|alg| {
            let min = alg.min_hmac_bytes().unwrap();
            (Just(alg), min..=min + 64)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// The stored form of every new HMAC, ES256 and EdDSA key loads back as the same
        /// key of the same size (RSA keys, slow to make, are loaded in `secret`'s
        /// properties).
        #[test]
        fn stored_keys_load_back_as_the_same_key(
            (alg, bytes) in prop_oneof![
                hmac(),
                Just((Algorithm::Es256, 0)),
                Just((Algorithm::EdDsa, 0)),
            ],
        ) {
            let key = SigningKey::generate(alg, KeySize::HmacBytes(bytes)).unwrap();
            let material = key.material().unwrap();
            let loaded = SigningKey::load(alg, material.expose());
            let Ok(loaded) = loaded else {
                return Err(TestCaseError::fail(format!("a new {alg} key does not load")));
            };
            prop_assert!(loaded.jwk("a").unwrap().same_key(&key.jwk("b").unwrap()), "{}", alg);
            let size = if alg.is_symmetric() {
                KeySize::HmacBytes(bytes)
            } else {
                KeySize::Minimum
            };
            prop_assert_eq!((loaded.size(), key.size()), (size, size));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Whatever text or bytes a `signing_key` holds (a real key damaged anywhere, any
        /// bytes under any PEM label, any text), loading it never panics and a refusal never
        /// quotes it.
        #[test]
        fn any_stored_key_is_loaded_or_refused_without_being_quoted(
            which in 0..Algorithm::ALL.len(),
            alg in proptest::sample::select(&Algorithm::ALL[..]),
            damage in prop_oneof![
                (any::<proptest::sample::Index>(), any::<u8>()).prop_map(|(at, b)| (at, Some(b))),
                any::<proptest::sample::Index>().prop_map(|at| (at, None)),
            ],
            label in prop_oneof![
                Just(pem::PKCS8.to_owned()),
                Just("EC PRIVATE KEY".to_owned()),
                Just("RSA PRIVATE KEY".to_owned()),
                "[A-Z ]{1,12}",
            ],
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            text in "(?s).{0,80}",
        ) {
            let original = KEYS[which].material().unwrap();
            let candidates = if KEYS[which].alg().is_symmetric() {
                // base64url text: a character changed or the text cut short.
                let mut chars: Vec<char> = original.expose().chars().collect();
                let (at, byte) = damage;
                let at = at.index(chars.len());
                match byte {
                    Some(b) => chars[at] = char::from(b'A' + b % 26),
                    None => chars.truncate(at),
                }
                vec![chars.into_iter().collect::<String>()]
            } else {
                // PKCS#8 DER: a byte changed or the DER cut short, under any label.
                let (_, der) = pem::decode(original.expose()).unwrap();
                let mut der = der.to_vec();
                let (at, byte) = damage;
                let at = at.index(der.len());
                match byte {
                    Some(b) => der[at] ^= b.max(1),
                    None => der.truncate(at),
                }
                vec![pem::encode(&label, &der).to_string()]
            };
            let candidates = candidates
                .into_iter()
                .chain([pem::encode(&label, &bytes).to_string(), text]);
            for candidate in candidates {
                if let Err(reason) = SigningKey::load(alg, &candidate) {
                    let body: String =
                        candidate.lines().filter(|l| !l.starts_with("-----")).collect();
                    prop_assert!(!quotes(&reason, &body, 12));
                    prop_assert!(!quotes(&reason, original.expose(), 12));
                }
            }
        }
    }
}
