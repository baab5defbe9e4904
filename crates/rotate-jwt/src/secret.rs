//! The secret's value, in the three forms this function accepts:
//!
//! - a key set: `{"alg", "kid", "created", "signing_key", "jwks", ...}`, enough for a signer
//!   (`signing_key`, `kid`, `alg`) and a verifier (`jwks`) to work from AWSCURRENT alone;
//! - a placeholder: an empty value or a JSON object without `signing_key` (optionally naming
//!   the `alg` it wants), from which the first key is made;
//! - a bare key: any other non-JSON string, rotated to a new string of the same form.
//!
//! Unknown JSON keys are kept through every rotation. Errors name the field at fault and
//! never quote key material.

use serde_json::{Map, Value};

use crate::algorithm::Algorithm;
use crate::bare::Form;
use crate::jwks::KeySet;
use crate::key::SigningKey;

pub const ALG: &str = "alg";
pub const KID: &str = "kid";
pub const CREATED: &str = "created";
pub const SIGNING_KEY: &str = "signing_key";
pub const JWKS: &str = "jwks";
const ENGINE: &str = "engine";
pub const ENGINE_NAME: &str = "jwt";

/// Why a value cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub enum Unusable {
    Malformed(String),
    /// The value's `engine` names another rotation function.
    WrongEngine(String),
}

impl From<String> for Unusable {
    fn from(reason: String) -> Self {
        Self::Malformed(reason)
    }
}

impl From<&str> for Unusable {
    fn from(reason: &str) -> Self {
        Self::Malformed(reason.to_owned())
    }
}

pub enum KeySecret {
    Keys(KeySetSecret),
    Placeholder {
        fields: Map<String, Value>,
        alg: Option<Algorithm>,
    },
    Bare(Form),
}

/// A value holding a signing key and its verification set.
pub struct KeySetSecret {
    /// The whole object, so keys this function does not own survive.
    pub fields: Map<String, Value>,
    pub alg: Algorithm,
    pub kid: String,
    pub key: SigningKey,
    pub keys: KeySet,
}

impl KeySecret {
    pub fn parse(value: &str) -> Result<Self, Unusable> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Ok(Self::Placeholder {
                fields: Map::new(),
                alg: None,
            });
        }
        if !trimmed.starts_with('{') {
            return Ok(Self::Bare(Form::of(trimmed)?));
        }
        let fields = match serde_json::from_str(trimmed) {
            Ok(Value::Object(fields)) => fields,
            Ok(_) => return Err("it is not a JSON object".into()),
            // It starts with '{', so it is meant as JSON, not a bare key.
            Err(e) => return Err(Unusable::Malformed(rotation_core::json_error(e))),
        };
        match fields.get(ENGINE) {
            None | Some(Value::Null) => {}
            Some(Value::String(engine)) if engine == ENGINE_NAME => {}
            Some(Value::String(other)) => {
                return Err(Unusable::WrongEngine(rotation_core::sanitize(other)));
            }
            Some(_) => return Err("\"engine\" is not a string".into()),
        }
        let alg = match fields.get(ALG) {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(Algorithm::parse(name)?),
            Some(_) => return Err("\"alg\" is not a string".into()),
        };
        if !fields.contains_key(SIGNING_KEY) {
            if fields.contains_key("password") {
                return Err(
                    "it holds a \"password\" and no \"signing_key\": it looks like a \
                     database login, not a JWT signing key"
                        .into(),
                );
            }
            // A placeholder gets a new `signing_key`; a key kept under another name would
            // stay what the apps read, and never rotate.
            if let Some(name) = fields.keys().find(|name| looks_like_key_material(name)) {
                let name = rotation_core::sanitize(name);
                return Err(Unusable::Malformed(format!(
                    "it has {name:?} but no \"signing_key\": a rotation would add a new key \
                     beside it and {name:?} would never change. Move the key to the documented \
                     form, or remove it"
                )));
            }
            return Ok(Self::Placeholder { fields, alg });
        }
        let alg = alg.ok_or("it has a \"signing_key\" but no \"alg\"")?;
        KeySetSecret::parse(fields, alg).map(Self::Keys)
    }
}

/// Member names under which a team may already keep a key or secret.
fn looks_like_key_material(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["key", "secret", "private", "pem", "jwk", "k", "d"]
        .iter()
        .any(|word| name == *word || (word.len() > 1 && name.contains(word)))
}

impl KeySetSecret {
    fn parse(fields: Map<String, Value>, alg: Algorithm) -> Result<Self, Unusable> {
        let Some(Value::String(material)) = fields.get(SIGNING_KEY) else {
            return Err("\"signing_key\" is not a string".into());
        };
        let key = SigningKey::load(alg, material).map_err(|e| format!("\"signing_key\": {e}"))?;
        let kid = match fields.get(KID) {
            Some(Value::String(kid)) if !kid.is_empty() => kid.clone(),
            _ => return Err("it has no \"kid\" string".into()),
        };
        let keys = KeySet::parse(fields.get(JWKS).unwrap_or(&Value::Null))
            .map_err(|e| format!("\"jwks\": {e}"))?;
        let listed = keys.find(&kid).ok_or_else(|| {
            format!(
                "\"jwks\" has no key with the secret's kid {:?}",
                rotation_core::sanitize(&kid)
            )
        })?;
        if listed.alg != alg || !listed.same_key(&key.jwk(&kid)?) {
            return Err(Unusable::Malformed(format!(
                "the \"jwks\" key with kid {:?} is not the {alg} \"signing_key\"",
                rotation_core::sanitize(&kid)
            )));
        }
        if !alg.is_symmetric() && keys.keys().iter().any(|k| k.is_symmetric()) {
            return Err(
                "\"jwks\" holds an HMAC key next to asymmetric keys; a set of public \
                 keys is meant to be published, so it must not hold a secret"
                    .into(),
            );
        }
        Ok(Self {
            fields,
            alg,
            kid,
            key,
            keys,
        })
    }

    /// Builds the JSON value for a new key: `fields` with this function's keys replaced.
    pub fn value(
        mut fields: Map<String, Value>,
        key: &SigningKey,
        kid: &str,
        keys: &KeySet,
        created: &str,
    ) -> Result<rotation_core::Secret, String> {
        fields.insert(ALG.into(), key.alg().as_str().into());
        fields.insert(KID.into(), kid.into());
        fields.insert(CREATED.into(), created.into());
        fields.insert(SIGNING_KEY.into(), key.material()?.expose().into());
        fields.insert(JWKS.into(), keys.to_json());
        let text = Value::Object(fields).to_string();
        Ok(rotation_core::Secret::new(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeySize;
    use serde_json::json;

    fn malformed(value: &Value) -> String {
        match KeySecret::parse(&value.to_string()) {
            Err(Unusable::Malformed(reason)) => reason,
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("{value} was accepted"),
        }
    }

    fn made(alg: Algorithm) -> (Map<String, Value>, SigningKey, String) {
        let key = SigningKey::generate(alg, KeySize::Minimum).unwrap();
        let kid = key.new_kid().unwrap();
        let keys = KeySet::rotated(key.jwk(&kid).unwrap(), [], 0);
        let value = KeySetSecret::value(Map::new(), &key, &kid, &keys, "t").unwrap();
        let Value::Object(fields) = serde_json::from_str(value.expose()).unwrap() else {
            unreachable!()
        };
        (fields, key, kid)
    }

    #[test]
    fn the_three_forms_are_told_apart() {
        assert!(matches!(
            KeySecret::parse(" "),
            Ok(KeySecret::Placeholder { alg: None, .. })
        ));
        assert!(matches!(
            KeySecret::parse(r#"{"alg": "RS256", "team": "x"}"#),
            Ok(KeySecret::Placeholder {
                alg: Some(Algorithm::Rs256),
                ..
            })
        ));
        assert!(matches!(
            KeySecret::parse("c2VjcmV0"),
            Ok(KeySecret::Bare(_))
        ));
        for alg in Algorithm::ALL {
            let (fields, _, kid) = made(alg);
            let Ok(KeySecret::Keys(parsed)) = KeySecret::parse(&Value::Object(fields).to_string())
            else {
                panic!("{alg}")
            };
            assert_eq!((parsed.alg, parsed.kid), (alg, kid));
        }
    }

    #[test]
    fn another_engines_secret_is_refused() {
        let err = KeySecret::parse(r#"{"engine": "postgres", "password": "x"}"#);
        assert_eq!(err.err(), Some(Unusable::WrongEngine("postgres".into())));
        let reason = malformed(&json!({"username": "app", "password": "x"}));
        assert!(reason.contains("looks like a database login"), "{reason}");
    }

    #[test]
    fn a_key_kept_under_another_name_is_not_taken_for_a_placeholder() {
        for name in ["private_key", "JWT_SECRET", "jwks", "k"] {
            let reason = malformed(&json!({ name: "material", "alg": "ES256" }));
            assert!(reason.contains("but no \"signing_key\""), "{reason}");
            assert!(!reason.contains("material"), "{reason}");
        }
        assert!(matches!(
            KeySecret::parse(r#"{"alg": "ES256", "issuer": "https://id.example", "team": "x"}"#),
            Ok(KeySecret::Placeholder { .. })
        ));
    }

    #[test]
    fn inconsistent_key_sets_are_refused_by_field() {
        let (fields, _, _) = made(Algorithm::Es256);
        let key_line = fields[SIGNING_KEY]
            .as_str()
            .unwrap()
            .lines()
            .nth(1)
            .unwrap();
        let with = |name: &str, value: Value| {
            let mut f = fields.clone();
            f.insert(name.into(), value);
            Value::Object(f)
        };
        let (other, other_key, _) = made(Algorithm::Es256);
        let cases = [
            (with(ALG, json!("ES512")), "unknown alg \"ES512\""),
            (
                with(ALG, json!("RS256")),
                "\"signing_key\": it is not a usable RS256 private key",
            ),
            (
                with(SIGNING_KEY, json!("not a key")),
                "\"signing_key\": it does not start with a PEM",
            ),
            (
                with(KID, json!("nope")),
                "\"jwks\" has no key with the secret's kid \"nope\"",
            ),
            (
                with(JWKS, other[JWKS].clone()),
                "\"jwks\" has no key with the secret's kid",
            ),
            (
                with(SIGNING_KEY, json!(other_key.material().unwrap().expose())),
                "is not the ES256 \"signing_key\"",
            ),
            (
                with(JWKS, json!({"keys": "x"})),
                "\"jwks\": it is not a JWKS",
            ),
        ];
        for (value, message) in cases {
            let reason = malformed(&value);
            assert!(
                reason.contains(message),
                "{reason} should mention {message}"
            );
            assert!(!reason.contains(key_line), "{reason}");
        }
    }

    #[test]
    fn a_short_hmac_key_is_refused() {
        let (mut fields, _, _) = made(Algorithm::Hs256);
        fields.insert(ALG.into(), json!("HS512"));
        let reason = malformed(&Value::Object(fields));
        assert!(
            reason.contains("HS512 key is 32 bytes; RFC 7518 requires at least 64"),
            "{reason}"
        );
    }
}
