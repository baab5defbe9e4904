//! Whole rotations of each kind of key through the state machine, on the in-memory store.

use rotation_core::{InMemorySecretStore, Outcome, RotationEvent, SecretStore, Step};
use serde_json::{Value, json};

use super::*;
use crate::secret::{ALG, CREATED, JWKS, KID, NEXT_KID, NEXT_SIGNING_KEY, SIGNING_KEY};

const NAME: &str = "jwt/signing";

struct Harness {
    rotator: rotation_core::Rotator<InMemorySecretStore, JwtEngine>,
}

impl Harness {
    fn new(value: &str, settings: Settings) -> Self {
        let store = InMemorySecretStore::new();
        store.create(NAME, value);
        Self {
            rotator: rotation_core::Rotator::new(store, JwtEngine::new(settings)),
        }
    }

    async fn step(&self, step: Step, token: &str) -> Result<Outcome, RotationError> {
        let event = RotationEvent {
            step,
            secret_id: NAME.into(),
            token: token.into(),
            rotation_token: None,
        };
        self.rotator.run(&event).await
    }

    async fn rotate(&self) -> Value {
        self.rotate_raw().await;
        self.current()
    }

    async fn rotate_raw(&self) {
        let token = self.rotator.store().start_rotation(NAME);
        for step in Step::ALL {
            self.step(step, &token)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", step.as_str()));
        }
        self.rotator.store().complete_rotation(NAME);
    }

    fn raw(&self, stage: &str) -> String {
        let value = self.rotator.store().value_at(NAME, stage).unwrap();
        value.expose().to_owned()
    }

    fn current(&self) -> Value {
        serde_json::from_str(&self.raw(AWSCURRENT)).unwrap()
    }
}

fn signer(value: &Value) -> (SigningKey, String) {
    let alg = Algorithm::parse(value[ALG].as_str().unwrap()).unwrap();
    let key = SigningKey::load(alg, value[SIGNING_KEY].as_str().unwrap()).unwrap();
    (key, value[KID].as_str().unwrap().to_owned())
}

fn token_from(value: &Value) -> String {
    let (key, kid) = signer(value);
    let Value::Object(claims) = json!({"sub": "user-1", "exp": 4_000_000_000u64}) else {
        unreachable!()
    };
    token::sign(&key, &kid, &claims).unwrap()
}

fn verifies(value: &Value, token: &str) -> Result<(), String> {
    let keys = KeySet::parse(&value[JWKS]).unwrap();
    token::verify(&keys, token, 1_800_000_000).map(|_| ())
}

fn kids(value: &Value) -> Vec<String> {
    value[JWKS]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k[KID].as_str().unwrap().to_owned())
        .collect()
}

/// The kids a value lists after its signing key: its next key's, when it has one.
fn next_kid(value: &Value) -> Option<Value> {
    value.get(NEXT_KID).cloned()
}

#[tokio::test]
async fn every_algorithm_rotates_with_one_key_of_overlap() {
    for alg in Algorithm::ALL {
        let h = Harness::new(
            &json!({"alg": alg.as_str(), "team": "payments"}).to_string(),
            Settings::default(),
        );
        let first = h.rotate().await;
        assert_eq!(first[ALG], alg.as_str());
        assert_eq!(first["team"], "payments", "unknown keys survive");
        assert!(first[CREATED].as_str().unwrap().ends_with('Z'));
        let ahead = |value: &Value| [Some(value[KID].clone()), next_kid(value)];
        let published: Vec<_> = ahead(&first).into_iter().flatten().collect();
        assert_eq!(kids(&first), published, "{alg}");
        assert_eq!(
            next_kid(&first).is_some(),
            !alg.is_symmetric(),
            "{alg}: the next key is published for public keys only"
        );
        let before = token_from(&first);

        let second = h.rotate().await;
        if let Some(promised) = next_kid(&first) {
            assert_eq!(second[KID], promised, "{alg}: the published next key signs");
        }
        let mut expected: Vec<_> = ahead(&second).into_iter().flatten().collect();
        expected.push(first[KID].clone());
        assert_eq!(kids(&second), expected, "{alg}");
        verifies(&second, &before).expect("a token from before the rotation still verifies");
        verifies(&second, &token_from(&second)).unwrap();
        verifies(&first, &token_from(&second))
            .map(|()| assert!(!alg.is_symmetric()))
            .unwrap_or_else(|e| {
                assert!(alg.is_symmetric(), "{alg}: {e}");
            });

        let third = h.rotate().await;
        let mut expected: Vec<_> = ahead(&third).into_iter().flatten().collect();
        expected.push(second[KID].clone());
        assert_eq!(kids(&third), expected, "{alg}");
        let err = verifies(&third, &before).unwrap_err();
        assert!(
            err.contains("no key in the verification set"),
            "{alg}: {err}"
        );
    }
}

/// Without the next key (HMAC keys, or `JWT_PUBLISH_NEXT_KEY=false`), each rotation makes a
/// key verifiers have not seen, and an existing next key is still promoted, not thrown away.
#[tokio::test]
async fn without_a_published_next_key_each_rotation_makes_a_new_one() {
    let published = Harness::new(r#"{"alg": "ES256"}"#, Settings::default())
        .rotate()
        .await;
    let promised = next_kid(&published).expect("a next key by default for ES256");
    let off = Settings {
        publish_next: Some(false),
        ..Settings::default()
    };
    let h = Harness::new(&published.to_string(), off);
    let promoted = h.rotate().await;
    assert_eq!(promoted[KID], promised, "a published next key still signs");
    assert_eq!(next_kid(&promoted), None);
    assert_eq!(kids(&promoted), [promised.clone(), published[KID].clone()]);
    let fresh = h.rotate().await;
    assert_eq!(kids(&fresh), [fresh[KID].clone(), promised]);
    assert_eq!(fresh.get(NEXT_SIGNING_KEY), None);
}

/// A secret made before next keys existed, signing with a key nobody was told of in advance,
/// gets a new signing key and a next key on its next rotation; from then on each rotation
/// promotes.
#[tokio::test]
async fn a_secret_without_a_next_key_gets_one_on_its_next_rotation() {
    let old = Harness::new(
        r#"{"alg": "EdDSA"}"#,
        Settings {
            publish_next: Some(false),
            ..Settings::default()
        },
    )
    .rotate()
    .await;
    assert_eq!(next_kid(&old), None);
    let h = Harness::new(&old.to_string(), Settings::default());
    let migrated = h.rotate().await;
    let next = next_kid(&migrated).expect("a next key after the migration");
    assert_eq!(
        kids(&migrated),
        [migrated[KID].clone(), next.clone(), old[KID].clone()]
    );
    verifies(&migrated, &token_from(&old)).unwrap();
    assert_eq!(h.rotate().await[KID], next);
}

#[tokio::test]
async fn the_number_of_earlier_keys_is_configurable() {
    let settings = Settings {
        previous_keys: 3,
        ..Settings::default()
    };
    let h = Harness::new("{}", settings);
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(h.rotate().await[KID].as_str().unwrap().to_owned());
    }
    made.reverse();
    let current = h.current();
    let next = current[NEXT_KID].as_str().unwrap().to_owned();
    let mut expected = vec![made[0].clone(), next];
    expected.extend_from_slice(&made[1..4]);
    assert_eq!(kids(&current), expected);

    let h = Harness::new(
        "",
        Settings {
            previous_keys: 0,
            ..Settings::default()
        },
    );
    h.rotate().await;
    let only = h.rotate().await;
    assert_eq!(kids(&only), [only[KID].clone(), only[NEXT_KID].clone()]);
}

#[tokio::test]
async fn a_first_key_defaults_to_es256_and_configuration_can_change_the_algorithm() {
    let h = Harness::new("", Settings::default());
    let first = h.rotate().await;
    assert_eq!(first[ALG], "ES256");

    let rsa = Harness::new(
        &first.to_string(),
        Settings {
            algorithm: Some(Algorithm::Rs256),
            rsa_bits: Some(3072),
            ..Settings::default()
        },
    );
    // The published ES256 next key signs first; the RS256 key made now is published, and
    // signs after the next rotation.
    let promoted = rsa.rotate().await;
    assert_eq!(promoted[ALG], "ES256");
    assert_eq!(promoted[KID], first[NEXT_KID]);
    let next = rsa.rotate().await;
    assert_eq!(next[ALG], "RS256");
    assert_eq!(next[KID], promoted[NEXT_KID]);
    let (key, _) = signer(&next);
    assert_eq!(key.size(), KeySize::RsaBits(3072));
    verifies(&next, &token_from(&promoted)).expect("the ES256 key stays trusted");
}

#[tokio::test]
async fn hmac_keys_keep_their_size_and_never_join_a_published_set() {
    let h = Harness::new(
        r#"{"alg": "HS384"}"#,
        Settings {
            hmac_bytes: Some(80),
            ..Settings::default()
        },
    );
    let hmac = h.rotate().await;
    assert_eq!(signer(&hmac).0.size(), KeySize::HmacBytes(80));

    let kept = Harness::new(&hmac.to_string(), Settings::default())
        .rotate()
        .await;
    assert_eq!(signer(&kept).0.size(), KeySize::HmacBytes(80));

    let public = Harness::new(
        &hmac.to_string(),
        Settings {
            algorithm: Some(Algorithm::EdDsa),
            ..Settings::default()
        },
    );
    let next = public.rotate().await;
    assert_eq!(kids(&next), [next[KID].clone(), next[NEXT_KID].clone()]);
    assert!(!next[JWKS].to_string().contains("\"k\""));
}

#[tokio::test]
async fn every_step_can_run_twice() {
    let h = Harness::new(r#"{"alg": "EdDSA"}"#, Settings::default());
    h.rotate().await;
    let token = h.rotator.store().start_rotation(NAME);
    let expected = [
        (Step::CreateSecret, Outcome::Created, Outcome::PendingExists),
        (
            Step::SetSecret,
            Outcome::NothingToApply,
            Outcome::NothingToApply,
        ),
        (Step::TestSecret, Outcome::Tested, Outcome::Tested),
        (
            Step::FinishSecret,
            Outcome::Finished,
            Outcome::AlreadyCurrent,
        ),
    ];
    for (step, first, again) in expected {
        assert_eq!(h.step(step, &token).await.unwrap(), first);
        if step == Step::CreateSecret {
            let pending = h.raw(AWSPENDING);
            assert_eq!(h.step(step, &token).await.unwrap(), again);
            assert_eq!(h.raw(AWSPENDING), pending, "the stored key is not replaced");
        } else {
            assert_eq!(h.step(step, &token).await.unwrap(), again);
        }
    }
}

#[tokio::test]
async fn a_bare_key_string_is_rotated_to_the_same_form() {
    let hex = "0123456789abcdef".repeat(4);
    let h = Harness::new(&hex, Settings::default());
    h.rotate_raw().await;
    let next = h.raw(AWSCURRENT);
    assert_ne!(next, hex);
    assert_eq!(next.len(), 64);
    assert!(
        next.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );

    let h = Harness::new("changeme", Settings::default());
    h.rotate_raw().await;
    let next = h.raw(AWSCURRENT);
    assert_eq!(next.len(), 44, "lengthened to 256 bits");
    assert!(next.bytes().all(|b| b.is_ascii_alphanumeric()));
}

#[tokio::test]
async fn bad_secrets_are_refused_by_name_and_nothing_changes() {
    let good = Harness::new(r#"{"alg": "HS256"}"#, Settings::default())
        .rotate()
        .await;
    let material = good[SIGNING_KEY].as_str().unwrap().to_owned();
    let with = |name: &str, value: Value| {
        let mut v = good.clone();
        v[name] = value;
        v.to_string()
    };
    let short = crate::base64url::encode(&[7u8; 16]);
    let cases = [
        (
            with(ALG, json!("HS999")),
            "MalformedSecret",
            "unknown alg \"HS999\"",
        ),
        (
            with(SIGNING_KEY, json!("%%%")),
            "MalformedSecret",
            "\"signing_key\": it is not unpadded base64url",
        ),
        (
            with(SIGNING_KEY, json!(short)),
            "MalformedSecret",
            "HS256 key is 16 bytes; RFC 7518 requires at least 32",
        ),
        (
            with(KID, json!("other")),
            "MalformedSecret",
            "no key with the secret's kid \"other\"",
        ),
        (
            with("engine", json!("neo4j")),
            "WrongEngine",
            "is for engine \"neo4j\"",
        ),
        ("{\"alg\": ".into(), "MalformedSecret", "not valid JSON"),
    ];
    for (value, error_type, message) in cases {
        let h = Harness::new(&value, Settings::default());
        let token = h.rotator.store().start_rotation(NAME);
        let before = h.rotator.store().snapshot(NAME);
        let err = h.step(Step::CreateSecret, &token).await.unwrap_err();
        assert_eq!(err.error_type(), error_type, "{err}");
        let text = err.to_string();
        assert!(text.contains(message), "{text} should mention {message}");
        assert!(
            !text.contains(&material) && !text.contains(&short),
            "{text}"
        );
        assert_eq!(h.rotator.store().snapshot(NAME), before);
    }
}

#[tokio::test]
async fn test_secret_refuses_a_pending_set_that_drops_the_current_key() {
    let h = Harness::new(r#"{"alg": "ES256"}"#, Settings::default());
    let current = h.rotate().await;
    let token = h.rotator.store().start_rotation(NAME);
    h.step(Step::CreateSecret, &token).await.unwrap();
    // A hand edit that leaves the current key out while keeping its kid points at a
    // different key: a verifier would reject every token signed before the rotation.
    let mut pending: Value = serde_json::from_str(&h.raw(AWSPENDING)).unwrap();
    let stranger = SigningKey::generate(Algorithm::Es256, KeySize::Minimum).unwrap();
    let kid = current[KID].as_str().unwrap();
    let listed = kids(&pending).iter().position(|k| k == kid).unwrap();
    pending[JWKS]["keys"][listed] = stranger.jwk(kid).unwrap().to_json();
    let h2 = Harness::new(&current.to_string(), Settings::default());
    let token2 = h2.rotator.store().start_rotation(NAME);
    h2.rotator
        .store()
        .put_pending(NAME, &token2, &Secret::new(pending.to_string()), None)
        .await
        .unwrap();
    let err = h2.step(Step::TestSecret, &token2).await.unwrap_err();
    assert_eq!(err.error_type(), "TestFailed", "{err}");
    assert!(
        err.to_string().contains("current key would stop verifying"),
        "{err}"
    );
}

/// A pending value that signs with anything but the key AWSCURRENT published as next would
/// meet verifiers that cached the set with an unknown kid: testSecret refuses it.
#[tokio::test]
async fn test_secret_refuses_a_pending_key_other_than_the_published_next_key() {
    let current = Harness::new(r#"{"alg": "ES256"}"#, Settings::default())
        .rotate()
        .await;
    // What a function without next keys would have made from AWSCURRENT: a new key.
    let elsewhere = Harness::new(
        &json!({"alg": "ES256", "team": "x"}).to_string(),
        Settings::default(),
    )
    .rotate()
    .await;
    let mut pending = elsewhere.clone();
    let mut keys = pending[JWKS]["keys"].as_array().unwrap().clone();
    keys.extend(current[JWKS]["keys"].as_array().unwrap().iter().cloned());
    pending[JWKS]["keys"] = keys.into();
    let h = Harness::new(&current.to_string(), Settings::default());
    let token = h.rotator.store().start_rotation(NAME);
    h.rotator
        .store()
        .put_pending(NAME, &token, &Secret::new(pending.to_string()), None)
        .await
        .unwrap();
    let err = h.step(Step::TestSecret, &token).await.unwrap_err();
    assert_eq!(err.error_type(), "TestFailed", "{err}");
    assert!(
        err.to_string().contains(&format!(
            "AWSCURRENT published the next key {}",
            current[NEXT_KID]
        )),
        "{err}"
    );
}

/// A placeholder's own `alg` makes the first key and the next key both, even where the
/// configured one could not join their set (an HMAC key among public keys).
#[tokio::test]
async fn a_placeholder_alg_wins_over_configuration_for_a_first_key() {
    let settings = Settings {
        algorithm: Some(Algorithm::Hs256),
        ..Settings::default()
    };
    let h = Harness::new(r#"{"alg": "EdDSA"}"#, settings.clone());
    let first = h.rotate().await;
    assert_eq!(first[ALG], "EdDSA");
    let keys = KeySet::parse(&first[JWKS]).unwrap();
    let next = keys.find(first[NEXT_KID].as_str().unwrap()).unwrap();
    assert_eq!(next.alg, Algorithm::EdDsa);
    let h = Harness::new("{}", settings);
    assert_eq!(h.rotate().await[ALG], "HS256");
}

/// RotateSecret without an immediate rotation makes Secrets Manager run testSecret on a
/// temporary AWSPENDING copy of AWSCURRENT: that passes for every form the function rotates.
#[tokio::test]
async fn test_secret_passes_secrets_managers_configuration_test() {
    let keys = Harness::new(r#"{"alg": "ES256"}"#, Settings::default())
        .rotate()
        .await
        .to_string();
    let hex = "0123456789abcdef".repeat(4);
    for value in [keys.as_str(), r#"{"alg": "RS256"}"#, "", hex.as_str()] {
        let h = Harness::new(value, Settings::default());
        let token = h.rotator.store().start_rotation(NAME);
        h.rotator
            .store()
            .put_pending(NAME, &token, &Secret::new(value), None)
            .await
            .unwrap();
        assert_eq!(
            h.step(Step::TestSecret, &token).await.unwrap(),
            Outcome::Tested,
            "{value:.40}"
        );
    }
}

#[tokio::test]
async fn configuration_cannot_turn_a_public_key_set_into_an_hmac_secret() {
    let public = Harness::new(r#"{"alg": "ES256"}"#, Settings::default())
        .rotate()
        .await;
    let h = Harness::new(
        &public.to_string(),
        Settings {
            algorithm: Some(Algorithm::Hs512),
            ..Settings::default()
        },
    );
    let token = h.rotator.store().start_rotation(NAME);
    let before = h.rotator.store().snapshot(NAME);
    let err = h.step(Step::CreateSecret, &token).await.unwrap_err();
    assert_eq!(err.error_type(), "ConfigurationError");
    assert!(
        err.to_string()
            .contains("JWT_ALGORITHM=HS512 would replace the ES256 key"),
        "{err}"
    );
    assert_eq!(h.rotator.store().snapshot(NAME), before);
}

#[tokio::test]
async fn a_value_that_is_not_a_key_is_refused_not_replaced() {
    for value in [
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA\n-----END PRIVATE KEY-----\n",
        "postgres://app:pw@db:5432/app",
        r#"{"private_key": "-----BEGIN PRIVATE KEY-----"}"#,
    ] {
        let h = Harness::new(value, Settings::default());
        let token = h.rotator.store().start_rotation(NAME);
        let err = h.step(Step::CreateSecret, &token).await.unwrap_err();
        assert_eq!(err.error_type(), "MalformedSecret", "{err}");
        assert_eq!(h.rotator.store().value_at(NAME, AWSPENDING), None);
        assert_eq!(h.raw(AWSCURRENT), value);
    }
}

#[test]
fn only_the_setting_makes_an_8192_bit_key() {
    let kept: Vec<usize> = [2048, 2500, 3072, 4000, 4096, 5000, 8192]
        .into_iter()
        .map(kept_rsa_bits)
        .collect();
    assert_eq!(kept, [2048, 3072, 3072, 4096, 4096, 4096, 4096]);
}
