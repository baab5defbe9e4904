//! Verification keys as JWKs (RFC 7517), their RFC 7638 thumbprints, and signature checks
//! made from the published members alone.
//!
//! Checking a signature from the JWK rather than from the key pair that made it is the point:
//! testSecret then proves that what verifiers will read is right, not merely that the key pair
//! agrees with itself.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::algorithm::{Algorithm, MIN_RSA_BITS};
use crate::base64url;

/// Members that only a private JWK has; a verification set holding one would publish the key.
/// `oth` (RFC 7518 §6.3.2.7) holds a multi-prime RSA key's further primes and their CRT values.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// The key material a JWK carries, decoded.
#[derive(Clone)]
pub(crate) enum Material {
    /// HMAC: the shared secret itself.
    Oct(Zeroizing<Vec<u8>>),
    /// P-256: the uncompressed point `04 || x || y`.
    Ec(Vec<u8>),
    Ed25519(Vec<u8>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

impl Material {
    /// The JWK members that carry this key, in RFC 7638 order (lexicographic; RFC 8037 §2 for
    /// OKP): what a JWK is built from and what its thumbprint hashes.
    fn key_members(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Oct(k) => vec![("k", base64url::encode(k))],
            Self::Ec(point) => vec![
                ("crv", "P-256".into()),
                ("x", base64url::encode(&point[1..33])),
                ("y", base64url::encode(&point[33..])),
            ],
            Self::Ed25519(x) => vec![("crv", "Ed25519".into()), ("x", base64url::encode(x))],
            Self::Rsa { n, e } => vec![("e", base64url::encode(e)), ("n", base64url::encode(n))],
        }
    }
}

/// One key of a verification set. The JSON object is kept whole so members this function does
/// not use (`x5c`, `key_ops`, a team's own annotations) survive rotations.
#[derive(Clone)]
pub struct Jwk {
    members: Map<String, Value>,
    pub kid: String,
    pub alg: Algorithm,
    material: Material,
}

/// Written by hand: an `oct` JWK holds a secret key.
impl std::fmt::Debug for Jwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwk")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Jwk {
    /// Parses and checks one JWK: a known `alg` that matches `kty`, a `kid`, well-formed key
    /// material of at least RFC 7518's minimum size, and, for public keys, no private member.
    /// Errors name the member at fault, never its value.
    pub fn parse(value: &Value) -> Result<Self, String> {
        let Value::Object(members) = value else {
            return Err("it is not a JSON object".into());
        };
        let text = |name: &str| match members.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
            Some(_) => Err(format!("its \"{name}\" is not a non-empty string")),
            None => Err(format!("it has no \"{name}\"")),
        };
        let bytes = |name: &str| {
            base64url::decode(text(name)?)
                .ok_or_else(|| format!("its \"{name}\" is not unpadded base64url"))
        };
        let kid = text("kid")?.to_owned();
        let alg = Algorithm::parse(text("alg")?)?;
        let kty = text("kty")?;
        if kty != alg.key_type() {
            return Err(format!(
                "its kty {:?} does not fit alg {alg} (which needs {:?})",
                rotation_core::sanitize(kty),
                alg.key_type()
            ));
        }
        if let Some(usage) = members.get("use")
            && usage != "sig"
        {
            return Err("its \"use\" is not \"sig\"".into());
        }
        let material = match alg {
            Algorithm::Hs256 | Algorithm::Hs384 | Algorithm::Hs512 => {
                let k = Zeroizing::new(bytes("k")?);
                check_hmac_length(alg, k.len())?;
                Material::Oct(k)
            }
            Algorithm::Es256 => {
                expect_text(members, "crv", "P-256")?;
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err("its \"x\" and \"y\" are not 32-byte P-256 coordinates".into());
                }
                Material::Ec([&[4u8][..], &x, &y].concat())
            }
            Algorithm::EdDsa => {
                expect_text(members, "crv", "Ed25519")?;
                let x = bytes("x")?;
                if x.len() != 32 {
                    return Err("its \"x\" is not a 32-byte Ed25519 public key".into());
                }
                Material::Ed25519(x)
            }
            Algorithm::Rs256 => {
                let (n, e) = (bytes("n")?, bytes("e")?);
                if n.first() == Some(&0) || e.first() == Some(&0) || e.is_empty() {
                    return Err("its \"n\" or \"e\" has a leading zero byte".into());
                }
                check_rsa_bits(modulus_bits(&n))?;
                Material::Rsa { n, e }
            }
        };
        if !alg.is_symmetric()
            && let Some(member) = PRIVATE_MEMBERS.iter().find(|m| members.contains_key(**m))
        {
            return Err(format!(
                "it holds the private member \"{member}\"; a verification set must only hold public keys"
            ));
        }
        Ok(Self {
            members: members.clone(),
            kid,
            alg,
            material,
        })
    }

    /// A JWK for `alg` holding `material`, checked as any parsed JWK is.
    pub(crate) fn build(alg: Algorithm, kid: &str, material: &Material) -> Result<Self, String> {
        let mut members = Map::new();
        members.insert("kty".into(), alg.key_type().into());
        for (name, value) in material.key_members() {
            members.insert(name.into(), value.into());
        }
        members.insert("kid".into(), kid.into());
        members.insert("alg".into(), alg.as_str().into());
        members.insert("use".into(), "sig".into());
        Self::parse(&Value::Object(members))
    }

    pub fn to_json(&self) -> Value {
        Value::Object(self.members.clone())
    }

    pub fn is_symmetric(&self) -> bool {
        matches!(self.material, Material::Oct(_))
    }

    /// Whether both hold the same key, whatever their `kid` and other members say.
    pub fn same_key(&self, other: &Jwk) -> bool {
        match (&self.material, &other.material) {
            (Material::Oct(a), Material::Oct(b)) => verify_slices_are_equal(a, b).is_ok(),
            (Material::Ec(a), Material::Ec(b)) | (Material::Ed25519(a), Material::Ed25519(b)) => {
                a == b
            }
            (Material::Rsa { n, e }, Material::Rsa { n: n2, e: e2 }) => n == n2 && e == e2,
            _ => false,
        }
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url): the required members in lexicographic
    /// order with no whitespace.
    pub fn thumbprint(&self) -> String {
        let mut members = self.material.key_members();
        members.push(("kty", self.alg.key_type().into()));
        members.sort_by(|a, b| a.0.cmp(b.0));
        let body: Vec<String> = members
            .iter()
            .map(|(name, value)| format!("{}:{}", Value::from(*name), Value::from(value.as_str())))
            .collect();
        let canonical = Zeroizing::new(format!("{{{}}}", body.join(",")));
        base64url::encode(digest(&SHA256, canonical.as_bytes()).as_ref())
    }

    /// Checks a JWS signature over `message` with this key and its own `alg`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.material {
            Material::Oct(k) => {
                let key = hmac::Key::new(hmac_algorithm(self.alg), k);
                hmac::verify(&key, message, signature).is_ok()
            }
            Material::Ec(point) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(message, signature)
                .is_ok(),
            Material::Ed25519(x) => UnparsedPublicKey::new(&ED25519, x)
                .verify(message, signature)
                .is_ok(),
            Material::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok(),
        }
    }
}

pub(crate) fn hmac_algorithm(alg: Algorithm) -> hmac::Algorithm {
    match alg {
        Algorithm::Hs384 => hmac::HMAC_SHA384,
        Algorithm::Hs512 => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    }
}

pub(crate) fn check_hmac_length(alg: Algorithm, len: usize) -> Result<(), String> {
    match alg.min_hmac_bytes() {
        Some(min) if len < min => Err(format!(
            "the {alg} key is {len} bytes; RFC 7518 requires at least {min}"
        )),
        _ => Ok(()),
    }
}

pub(crate) fn check_rsa_bits(bits: usize) -> Result<(), String> {
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "the RS256 key is {bits} bits; RFC 7518 requires at least {MIN_RSA_BITS}"
        ));
    }
    Ok(())
}

/// The size in bits of a big-endian modulus without leading zero bytes.
pub(crate) fn modulus_bits(n: &[u8]) -> usize {
    n.first()
        .map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize)
}

fn expect_text(members: &Map<String, Value>, name: &str, expected: &str) -> Result<(), String> {
    match members.get(name) {
        Some(Value::String(s)) if s == expected => Ok(()),
        _ => Err(format!("its \"{name}\" is not \"{expected}\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The example key of RFC 7638 §3.1 and the thumbprint the RFC gives for it.
    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let jwk = Jwk::parse(&json!({
            "kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256",
            "kid": "2011-04-29"
        }))
        .unwrap();
        assert_eq!(
            jwk.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    /// RFC 8037 Appendix A.3 gives the thumbprint of its Ed25519 example key.
    #[test]
    fn thumbprint_matches_rfc_8037_example() {
        let jwk = Jwk::parse(&json!({
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "k",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        }))
        .unwrap();
        assert_eq!(
            jwk.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn refuses_what_a_verifier_must_not_trust() {
        let x = base64url::encode(&[7; 32]);
        let cases = [
            (
                json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "x": x}),
                "no \"kid\"",
            ),
            (
                json!({"kty": "OKP", "crv": "Ed25519", "alg": "ES256", "kid": "a", "x": x}),
                "kty \"OKP\" does not fit alg ES256",
            ),
            (
                json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "a", "x": x, "d": x}),
                "private member \"d\"",
            ),
            (
                json!({"kty": "oct", "alg": "HS256", "kid": "a", "k": base64url::encode(&[1; 16])}),
                "the HS256 key is 16 bytes; RFC 7518 requires at least 32",
            ),
            (
                json!({"kty": "RSA", "alg": "RS256", "kid": "a", "e": "AQAB", "n": base64url::encode(&[0xc5; 128])}),
                "the RS256 key is 1024 bits",
            ),
            (
                json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "a", "x": "AA=="}),
                "\"x\" is not unpadded base64url",
            ),
            (
                json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "a", "x": x, "use": "enc"}),
                "\"use\" is not \"sig\"",
            ),
        ];
        for (jwk, message) in cases {
            let err = Jwk::parse(&jwk).unwrap_err();
            assert!(err.contains(message), "{err} should mention {message}");
        }
    }

    /// RFC 7518 §6.3.2.7: each entry of "oth" holds a further prime and its CRT values, so a
    /// multi-prime RSA JWK carrying it is a private key whatever else it lacks.
    #[test]
    fn a_public_key_with_other_primes_info_is_refused() {
        let prime = base64url::encode(&[0xd3; 64]);
        let jwk = json!({
            "kty": "RSA", "alg": "RS256", "kid": "a", "e": "AQAB",
            "n": base64url::encode(&[0xc5; 256]),
            "oth": [{"r": prime, "d": prime, "t": prime}]
        });
        let err = Jwk::parse(&jwk).unwrap_err();
        assert!(err.contains("private member \"oth\""), "{err}");
        assert!(!err.contains(&prime[..16]), "{err}");
    }

    #[test]
    fn modulus_bits_ignore_leading_zero_bits() {
        assert_eq!(modulus_bits(&[0x01, 0, 0]), 17);
        assert_eq!(modulus_bits(&[0xff; 256]), 2048);
        assert_eq!(modulus_bits(&[]), 0);
    }
}
