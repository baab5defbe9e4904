//! The secret's value, in the three forms this function accepts:
//!
//! - a key set: `{"alg", "kid", "created", "signing_key", "jwks", ...}`, enough for a signer
//!   (`signing_key`, `kid`, `alg`) and a verifier (`jwks`) to work from AWSCURRENT alone,
//!   optionally with the key that signs after the next rotation (`next_kid`,
//!   `next_signing_key`), already in `jwks` so that verifiers know it before it signs;
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
pub const NEXT_KID: &str = "next_kid";
pub const NEXT_SIGNING_KEY: &str = "next_signing_key";
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
    Keys(Box<KeySetSecret>),
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
    /// The key the next rotation promotes, published in `keys` since it was made.
    pub next: Option<NextKey>,
}

/// A key made one rotation ahead of its use.
pub struct NextKey {
    pub kid: String,
    pub key: SigningKey,
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
        KeySetSecret::parse(fields, alg).map(|keys| Self::Keys(Box::new(keys)))
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
        let next = NextKey::parse(&fields, &kid, &keys)?;
        Ok(Self {
            fields,
            alg,
            kid,
            key,
            keys,
            next,
        })
    }

    /// Builds the JSON value for a new key: `fields` with this function's keys replaced,
    /// and the next key's written or, when there is none, removed.
    pub fn value(
        mut fields: Map<String, Value>,
        (key, kid): (&SigningKey, &str),
        next: Option<&NextKey>,
        keys: &KeySet,
        created: &str,
    ) -> Result<rotation_core::Secret, String> {
        fields.insert(ALG.into(), key.alg().as_str().into());
        fields.insert(KID.into(), kid.into());
        fields.insert(CREATED.into(), created.into());
        fields.insert(SIGNING_KEY.into(), key.material()?.expose().into());
        match next {
            Some(next) => {
                fields.insert(NEXT_KID.into(), next.kid.as_str().into());
                let material = next.key.material()?;
                fields.insert(NEXT_SIGNING_KEY.into(), material.expose().into());
            }
            None => {
                fields.remove(NEXT_KID);
                fields.remove(NEXT_SIGNING_KEY);
            }
        }
        fields.insert(JWKS.into(), keys.to_json());
        let text = Value::Object(fields).to_string();
        Ok(rotation_core::Secret::new(text))
    }
}

impl NextKey {
    /// The next key, when the value has one: both members or neither, a `next_kid` other than
    /// the signing key's, listed in `jwks` with the same key (its `alg` is the listed one,
    /// which a change of `JWT_ALGORITHM` may have made differ from the signing key's).
    fn parse(
        fields: &Map<String, Value>,
        kid: &str,
        keys: &KeySet,
    ) -> Result<Option<Self>, Unusable> {
        let (next_kid, material) = match (fields.get(NEXT_KID), fields.get(NEXT_SIGNING_KEY)) {
            (None | Some(Value::Null), None | Some(Value::Null)) => return Ok(None),
            (Some(Value::String(next_kid)), Some(Value::String(material)))
                if !next_kid.is_empty() =>
            {
                (next_kid, material)
            }
            (_, None | Some(Value::Null)) => {
                return Err("it has a \"next_kid\" but no \"next_signing_key\"".into());
            }
            (None | Some(Value::Null), _) => {
                return Err("it has a \"next_signing_key\" but no \"next_kid\"".into());
            }
            _ => {
                return Err(
                    "\"next_kid\" and \"next_signing_key\" must be non-empty strings".into(),
                );
            }
        };
        if next_kid == kid {
            return Err("\"next_kid\" is the signing key's \"kid\"".into());
        }
        let listed = keys.find(next_kid).ok_or_else(|| {
            format!(
                "\"jwks\" has no key with the secret's next_kid {:?}: verifiers would not \
                 know the next key before it signs",
                rotation_core::sanitize(next_kid)
            )
        })?;
        let key = SigningKey::load(listed.alg, material)
            .map_err(|e| format!("\"next_signing_key\": {e}"))?;
        if !listed.same_key(&key.jwk(next_kid)?) {
            return Err(Unusable::Malformed(format!(
                "the \"jwks\" key with kid {:?} is not the {} \"next_signing_key\"",
                rotation_core::sanitize(next_kid),
                listed.alg
            )));
        }
        Ok(Some(Self {
            kid: next_kid.clone(),
            key,
        }))
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
        let keys = KeySet::rotated(key.jwk(&kid).unwrap(), None, [], 0);
        let value = KeySetSecret::value(Map::new(), (&key, &kid), None, &keys, "t").unwrap();
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
    fn an_inconsistent_next_key_is_refused_by_field() {
        let (fields, _, kid) = made(Algorithm::EdDsa);
        let next = SigningKey::generate(Algorithm::EdDsa, KeySize::Minimum).unwrap();
        let next_kid = next.new_kid().unwrap();
        let material = next.material().unwrap().expose().to_owned();
        let listed = KeySet::rotated(
            SigningKey::load(Algorithm::EdDsa, fields[SIGNING_KEY].as_str().unwrap())
                .unwrap()
                .jwk(&kid)
                .unwrap(),
            Some(next.jwk(&next_kid).unwrap()),
            [],
            0,
        );
        let value = |members: &[(&str, Value)]| {
            let mut f = fields.clone();
            f.insert(JWKS.into(), listed.to_json());
            for (name, value) in members {
                f.insert((*name).into(), value.clone());
            }
            Value::Object(f)
        };
        let good = value(&[
            (NEXT_KID, json!(next_kid)),
            (NEXT_SIGNING_KEY, json!(material)),
        ]);
        let Ok(KeySecret::Keys(parsed)) = KeySecret::parse(&good.to_string()) else {
            panic!("a consistent next key is refused")
        };
        assert_eq!(parsed.next.unwrap().kid, next_kid);
        let other = SigningKey::generate(Algorithm::EdDsa, KeySize::Minimum).unwrap();
        let other_material = other.material().unwrap().expose().to_owned();
        let cases = [
            (
                value(&[(NEXT_KID, json!(next_kid))]),
                "a \"next_kid\" but no \"next_signing_key\"",
            ),
            (
                value(&[(NEXT_SIGNING_KEY, json!(material))]),
                "a \"next_signing_key\" but no \"next_kid\"",
            ),
            (
                value(&[(NEXT_KID, json!(kid)), (NEXT_SIGNING_KEY, json!(material))]),
                "\"next_kid\" is the signing key's",
            ),
            (
                value(&[
                    (NEXT_KID, json!("unlisted")),
                    (NEXT_SIGNING_KEY, json!(material)),
                ]),
                "no key with the secret's next_kid \"unlisted\"",
            ),
            (
                value(&[
                    (NEXT_KID, json!(next_kid)),
                    (NEXT_SIGNING_KEY, json!(other_material)),
                ]),
                "is not the EdDSA \"next_signing_key\"",
            ),
            (
                value(&[(NEXT_KID, json!(next_kid)), (NEXT_SIGNING_KEY, json!(7))]),
                "must be non-empty strings",
            ),
        ];
        for (value, message) in cases {
            let reason = malformed(&value);
            assert!(
                reason.contains(message),
                "{reason} should mention {message}"
            );
            assert!(
                !quotes_any(&reason, &[&material, &other_material]),
                "{reason}"
            );
        }
    }

    /// Whether `reason` holds a line of any of the PEM blocks.
    fn quotes_any(reason: &str, pems: &[&str]) -> bool {
        pems.iter()
            .flat_map(|pem| pem.lines().filter(|l| !l.starts_with("-----")))
            .any(|line| reason.contains(line))
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

#[cfg(test)]
mod properties {
    use std::sync::LazyLock;

    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::key::KeySize;

    /// Begins every piece of key material in generated values; errors are looked through
    /// for it.
    const MARK: &str = "keyQ7xZ";

    const OWN: [&str; 8] = [
        ALG,
        KID,
        CREATED,
        SIGNING_KEY,
        JWKS,
        ENGINE,
        NEXT_KID,
        NEXT_SIGNING_KEY,
    ];

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "\\PC{0,16}".prop_map(Value::from),
        ]
    }

    /// A team's own members, which every rotation keeps.
    fn team_members() -> impl Strategy<Value = Map<String, Value>> {
        proptest::collection::btree_map("[a-z_]{1,10}", scalar(), 0..4).prop_map(|m| {
            m.into_iter()
                .filter(|(k, _)| !OWN.contains(&k.as_str()))
                .collect()
        })
    }

    /// Whether `error` holds any run of 12 characters of `material`.
    fn quotes(error: &str, material: &str) -> bool {
        let chars: Vec<char> = material.chars().filter(|c| !c.is_whitespace()).collect();
        chars
            .windows(12)
            .any(|w| error.contains(&w.iter().collect::<String>()))
    }

    /// The engine's own value for a new `alg` key, with the team's members, is read as a key
    /// set, however it is spaced: never as a bare key or a placeholder. The key alone is a
    /// bare key when it is an HMAC key, and refused unquoted when it is a PEM block.
    fn check_made(
        alg: Algorithm,
        size: KeySize,
        team: Map<String, Value>,
        pretty: bool,
    ) -> Result<(), TestCaseError> {
        let key = SigningKey::generate(alg, size).unwrap();
        let kid = key.new_kid().unwrap();
        let keys = KeySet::rotated(key.jwk(&kid).unwrap(), None, [], 0);
        let value = KeySetSecret::value(
            team.clone(),
            (&key, &kid),
            None,
            &keys,
            "2025-01-01T00:00:00Z",
        )
        .unwrap();
        let text = if pretty {
            let parsed: Value = serde_json::from_str(value.expose()).unwrap();
            format!("\n  {}\n", serde_json::to_string_pretty(&parsed).unwrap())
        } else {
            value.expose().to_owned()
        };
        let parsed = KeySecret::parse(&text);
        let Ok(KeySecret::Keys(parsed)) = parsed else {
            return Err(TestCaseError::fail(format!(
                "the engine's {alg} value is not read as a key set"
            )));
        };
        prop_assert_eq!((parsed.alg, parsed.kid.as_str()), (alg, kid.as_str()));
        prop_assert!(
            parsed
                .key
                .jwk(&kid)
                .unwrap()
                .same_key(&key.jwk(&kid).unwrap())
        );
        prop_assert_eq!(parsed.key.size(), key.size());
        for (name, value) in &team {
            prop_assert_eq!(parsed.fields.get(name), Some(value), "{}", name);
        }

        let material = key.material().unwrap();
        match KeySecret::parse(material.expose()) {
            Ok(KeySecret::Bare(form)) => {
                prop_assert!(alg.is_symmetric(), "a {} PEM key read as a bare key", alg);
                prop_assert!(form.admits(material.expose()));
            }
            Err(Unusable::Malformed(reason)) => {
                prop_assert!(!quotes(&reason, material.expose()));
                prop_assert!(!alg.is_symmetric(), "an {} key refused as a bare key", alg);
                prop_assert!(reason.contains("a PEM block"), "{}", reason);
            }
            _ => {
                return Err(TestCaseError::fail(format!(
                    "a bare {alg} key read as JSON"
                )));
            }
        }
        Ok(())
    }

    /// JWK-like members: key material under the names JWKs use, and the names around it.
    fn jwk() -> impl Strategy<Value = Value> {
        (
            proptest::option::of("\\PC{0,8}"),
            proptest::option::of(prop_oneof![
                Just("oct"),
                Just("EC"),
                Just("OKP"),
                Just("RSA"),
                Just("x")
            ]),
            proptest::option::of(
                proptest::sample::select(&Algorithm::ALL[..]).prop_map(|a| a.as_str()),
            ),
            proptest::collection::btree_map(
                proptest::sample::select(&["k", "x", "y", "n", "e", "d", "p", "q"][..]),
                "[A-Za-z0-9_-]{0,40}".prop_map(|m| format!("{MARK}{m}")),
                0..4,
            ),
            proptest::option::of(prop_oneof![Just("sig"), Just("enc")]),
        )
            .prop_map(|(kid, kty, alg, material, usage)| {
                let mut jwk = json!({});
                for (name, value) in [
                    ("kid", kid.map(Value::from)),
                    ("kty", kty.map(Value::from)),
                    ("alg", alg.map(Value::from)),
                    ("use", usage.map(Value::from)),
                ] {
                    if let Some(value) = value {
                        jwk[name] = value;
                    }
                }
                for (name, value) in material {
                    jwk[name] = value.into();
                }
                jwk
            })
    }

    /// A signing key that is not one: key-like text, PEM armour around it, or not a string.
    fn signing_key() -> impl Strategy<Value = Value> {
        prop_oneof![
            "[A-Za-z0-9_-]{0,40}".prop_map(|m| Value::from(format!("{MARK}{m}"))),
            "[A-Za-z0-9+/]{0,40}".prop_map(|m| Value::from(format!(
                "-----BEGIN PRIVATE KEY-----\n{MARK}{m}\n-----END PRIVATE KEY-----\n"
            ))),
            scalar(),
        ]
    }

    /// Keys of the quick algorithms, made once, to be mixed into made-up objects.
    static MADE: LazyLock<Vec<(SigningKey, String)>> = LazyLock::new(|| {
        [Algorithm::Hs256, Algorithm::Es256, Algorithm::EdDsa]
            .into_iter()
            .map(|alg| {
                let key = SigningKey::generate(alg, KeySize::Minimum).unwrap();
                let kid = key.new_kid().unwrap();
                (key, kid)
            })
            .collect()
    });

    /// Objects shaped like key sets and verification sets: `kid`, `keys` or `jwks` arrays of
    /// JWK-like objects, `alg`, `signing_key`, `engine`, a team's members, in any mix; now
    /// and then with a real key, its `alg`, its `kid` and its JWK, so that the checks past
    /// loading the key run too.
    fn key_object() -> impl Strategy<Value = Map<String, Value>> {
        (
            (
                team_members(),
                proptest::option::of(prop_oneof!["\\PC{0,12}".prop_map(Value::from), scalar()]),
                proptest::option::of(prop_oneof![
                    proptest::sample::select(&Algorithm::ALL[..])
                        .prop_map(|a| Value::from(a.as_str())),
                    scalar(),
                ]),
                proptest::option::of(signing_key()),
            ),
            proptest::option::of(proptest::collection::vec(jwk(), 0..3)),
            proptest::option::of(proptest::collection::vec(jwk(), 0..3)),
            proptest::option::of(prop_oneof![
                Just(Value::from("jwt")),
                Just(Value::from("postgres")),
                scalar()
            ]),
            proptest::option::of((
                0..MADE.len(),
                proptest::array::uniform4(proptest::bool::weighted(0.8)),
            )),
        )
            .prop_map(
                |((mut object, kid, alg, signing_key), keys, jwks, engine, real)| {
                    let (mut kid, mut alg, mut signing_key, mut jwks) =
                        (kid, alg, signing_key, jwks);
                    if let Some((which, [same_alg, same_kid, listed, alone])) = real {
                        let (key, made_kid) = &MADE[which];
                        signing_key = Some(key.material().unwrap().expose().into());
                        if same_alg {
                            alg = Some(key.alg().as_str().into());
                        }
                        if same_kid {
                            kid = Some(made_kid.as_str().into());
                        }
                        if listed {
                            let jwk = key.jwk(made_kid).unwrap().to_json();
                            let mut set = if alone {
                                Vec::new()
                            } else {
                                jwks.unwrap_or_default()
                            };
                            set.insert(0, jwk);
                            jwks = Some(set);
                        }
                    }
                    let members = [
                        (KID, kid),
                        (ALG, alg),
                        (SIGNING_KEY, signing_key),
                        ("keys", keys.map(Value::from)),
                        (JWKS, jwks.map(|keys| json!({ "keys": keys }))),
                        (ENGINE, engine),
                    ];
                    for (name, value) in members {
                        if let Some(value) = value {
                            object.insert(name.into(), value);
                        }
                    }
                    object
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// See [`check_made`], for the algorithms whose keys are quick to make.
        #[test]
        fn what_the_engine_makes_is_told_apart(
            (alg, size) in prop_oneof![
                prop_oneof![Just(Algorithm::Hs256), Just(Algorithm::Hs384), Just(Algorithm::Hs512)]
                    .prop_flat_map(|alg| {
                        let min = alg.min_hmac_bytes().unwrap();
                        (Just(alg), (min..=min + 64).prop_map(KeySize::HmacBytes))
                    }),
                Just((Algorithm::Es256, KeySize::Minimum)),
                Just((Algorithm::EdDsa, KeySize::Minimum)),
            ],
            team in team_members(),
            pretty in any::<bool>(),
        ) {
            check_made(alg, size, team, pretty)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3))]

        /// See [`check_made`]: RSA keys, few of them, as each takes a while to make.
        #[test]
        fn what_the_engine_makes_is_told_apart_for_rsa(
            team in team_members(),
            pretty in any::<bool>(),
        ) {
            check_made(Algorithm::Rs256, KeySize::Minimum, team, pretty)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// A JSON object is read as JSON however it is shaped and spaced, never as a bare
        /// key, and a refusal never quotes the key material in it.
        #[test]
        fn a_json_object_is_never_a_bare_key(
            object in key_object(),
            pretty in any::<bool>(),
            before in "\\s{0,3}",
            after in "\\s{0,3}",
        ) {
            let object = Value::Object(object);
            let json = if pretty {
                serde_json::to_string_pretty(&object).unwrap()
            } else {
                object.to_string()
            };
            match KeySecret::parse(&format!("{before}{json}{after}")) {
                Ok(KeySecret::Bare(form)) => {
                    let reason = format!("a JSON object read as a bare key: {form:?}");
                    return Err(TestCaseError::fail(reason));
                }
                Ok(KeySecret::Keys(keys)) => {
                    let made = MADE.iter().find(|(key, _)| {
                        key.jwk("a").unwrap().same_key(&keys.key.jwk("a").unwrap())
                    });
                    let real = made.is_some_and(|(_, kid)| *kid == keys.kid);
                    prop_assert!(real, "made-up key material was accepted");
                }
                Ok(KeySecret::Placeholder { fields, .. }) => {
                    prop_assert!(!fields.contains_key(SIGNING_KEY));
                }
                Err(Unusable::Malformed(reason)) => {
                    prop_assert!(!reason.contains(MARK));
                    for (key, _) in MADE.iter() {
                        prop_assert!(!quotes(&reason, key.material().unwrap().expose()));
                        // An HMAC JWK's "k" is the secret itself.
                        let jwk = key.jwk("a").unwrap().to_json();
                        prop_assert!(!quotes(&reason, jwk["k"].as_str().unwrap_or_default()));
                    }
                    prop_assert!(!reason.starts_with("it is neither a JSON object"), "{}", reason);
                }
                Err(Unusable::WrongEngine(name)) => prop_assert!(!name.contains(MARK)),
            }
        }

        /// Any text is a placeholder (nothing, or an object without a key), a bare key of a
        /// form that admits it, a key set, or refused without quoting it.
        #[test]
        fn any_text_is_told_apart_or_refused_unquoted(
            text in prop_oneof![
                "(?s).{0,60}",
                ("(?s).{0,20}", "(?s).{0,20}").prop_map(|(a, b)| format!("{a}{MARK}{b}")),
                ("\\s{0,2}", "(?s).{0,30}")
                    .prop_map(|(a, b)| format!("{a}{{\"{SIGNING_KEY}\": \"{MARK}{b}")),
            ],
        ) {
            let trimmed = text.trim();
            let json_like = trimmed.starts_with('{');
            match KeySecret::parse(&text) {
                Ok(KeySecret::Bare(form)) => {
                    prop_assert!(!trimmed.is_empty() && !json_like);
                    prop_assert!(form.admits(&text));
                }
                Ok(KeySecret::Placeholder { .. } | KeySecret::Keys(_)) => {
                    prop_assert!(trimmed.is_empty() || json_like);
                }
                Err(Unusable::Malformed(reason)) => prop_assert!(!reason.contains(MARK)),
                Err(Unusable::WrongEngine(name)) => prop_assert!(!name.contains(MARK)),
            }
        }
    }
}
