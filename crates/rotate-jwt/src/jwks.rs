//! The verification set: every key a verifier should accept, newest first, as a JWKS
//! (RFC 7517 §5) that can be served at a `jwks_uri` as it is for asymmetric keys.

use serde_json::{Value, json};

use crate::jwk::Jwk;

#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Jwk>,
}

impl KeySet {
    /// Parses `{"keys": [...]}`, checking every key and refusing a `kid` used twice (a
    /// verifier could not tell which key a token means).
    pub fn parse(value: &Value) -> Result<Self, String> {
        let Some(Value::Array(entries)) = value.get("keys") else {
            return Err("it is not a JWKS: no \"keys\" array".into());
        };
        let mut keys: Vec<Jwk> = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let jwk = Jwk::parse(entry).map_err(|e| format!("key {i}: {e}"))?;
            if keys.iter().any(|k| k.kid == jwk.kid) {
                return Err(format!(
                    "key {i}: kid {:?} is used twice",
                    rotation_core::sanitize(&jwk.kid)
                ));
            }
            keys.push(jwk);
        }
        Ok(Self { keys })
    }

    /// A set of `newest` (the signing key), then `next` (the key that signs after the next
    /// rotation, published ahead of it), then the first `earlier` of `previous`, skipping any
    /// that is already in. Symmetric keys are left out of a set for asymmetric keys: that
    /// set is meant to be published, and an HMAC key in it would be a published secret.
    pub fn rotated(
        newest: Jwk,
        next: Option<Jwk>,
        previous: impl IntoIterator<Item = Jwk>,
        earlier: usize,
    ) -> Self {
        let public = !newest.is_symmetric();
        let mut keys = vec![newest];
        keys.extend(next);
        let ahead = keys.len();
        for jwk in previous {
            if keys.len() >= ahead + earlier {
                break;
            }
            if (public && jwk.is_symmetric()) || keys.iter().any(|k| k.kid == jwk.kid) {
                continue;
            }
            keys.push(jwk);
        }
        Self { keys }
    }

    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn to_json(&self) -> Value {
        json!({ "keys": self.keys.iter().map(Jwk::to_json).collect::<Vec<_>>() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::Algorithm;
    use crate::key::{KeySize, SigningKey};

    fn jwk(alg: Algorithm, kid: &str) -> Jwk {
        SigningKey::generate(alg, KeySize::Minimum)
            .unwrap()
            .jwk(kid)
            .unwrap()
    }

    #[test]
    fn rotated_keeps_the_newest_and_the_configured_number_of_earlier_keys() {
        let earlier = [jwk(Algorithm::EdDsa, "b"), jwk(Algorithm::EdDsa, "c")];
        let kids = |set: &KeySet| set.keys().iter().map(|k| k.kid.clone()).collect::<Vec<_>>();
        let set = KeySet::rotated(jwk(Algorithm::EdDsa, "a"), None, earlier.clone(), 1);
        assert_eq!(kids(&set), ["a", "b"]);
        let set = KeySet::rotated(jwk(Algorithm::EdDsa, "a"), None, earlier.clone(), 5);
        assert_eq!(kids(&set), ["a", "b", "c"]);
        let set = KeySet::rotated(jwk(Algorithm::EdDsa, "a"), None, earlier, 0);
        assert_eq!(kids(&set), ["a"]);
    }

    #[test]
    fn the_next_key_follows_the_newest_and_does_not_count_as_earlier() {
        let kids = |set: &KeySet| set.keys().iter().map(|k| k.kid.clone()).collect::<Vec<_>>();
        // The previous set of a promotion: the old signing key, the promoted key, an older one.
        let earlier = [
            jwk(Algorithm::EdDsa, "b"),
            jwk(Algorithm::EdDsa, "a"),
            jwk(Algorithm::EdDsa, "c"),
        ];
        let next = Some(jwk(Algorithm::EdDsa, "n"));
        let set = KeySet::rotated(jwk(Algorithm::EdDsa, "a"), next.clone(), earlier.clone(), 1);
        assert_eq!(kids(&set), ["a", "n", "b"]);
        let set = KeySet::rotated(jwk(Algorithm::EdDsa, "a"), next.clone(), earlier.clone(), 2);
        assert_eq!(kids(&set), ["a", "n", "b", "c"]);
        let set = KeySet::rotated(jwk(Algorithm::EdDsa, "a"), next, earlier, 0);
        assert_eq!(kids(&set), ["a", "n"]);
    }

    #[test]
    fn a_published_set_never_takes_an_hmac_key() {
        let earlier = [jwk(Algorithm::Hs256, "h"), jwk(Algorithm::Rs256, "r")];
        let set = KeySet::rotated(jwk(Algorithm::Es256, "e"), None, earlier, 1);
        let kids: Vec<_> = set.keys().iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, ["e", "r"]);
    }

    #[test]
    fn parse_refuses_duplicate_kids_and_names_the_entry() {
        let a = jwk(Algorithm::EdDsa, "same").to_json();
        let b = jwk(Algorithm::EdDsa, "same").to_json();
        let err = KeySet::parse(&json!({"keys": [a, b]})).unwrap_err();
        assert_eq!(err, "key 1: kid \"same\" is used twice");
        let err = KeySet::parse(&json!({"keys": [{"kty": "EC"}]})).unwrap_err();
        assert!(err.starts_with("key 0: "), "{err}");
        assert!(KeySet::parse(&json!([])).is_err());
    }
}
