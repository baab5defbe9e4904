//! End-to-end rotations of JWT signing keys through moto and the AWS SDK, checked by PyJWT
//! from what each secret publishes.

use integration_tests::{LogCapture, PyJwt, Rotation, sign_as_app, unix_now};
use rotate_jwt::{
    ALG, Algorithm, JWKS, JwtEngine, KID, KeySet, KeySize, NEXT_KID, SIGNING_KEY, Settings,
    SigningKey, token,
};
use rotation_core::{AWSCURRENT, AWSPENDING, Step};
use serde_json::{Value, json};

fn claims(subject: &str) -> Value {
    json!({"sub": subject, "iat": unix_now(), "exp": unix_now() + 3600})
}

async fn rotation(value: &Value) -> Rotation<JwtEngine> {
    Rotation::new(value, JwtEngine::new(Settings::default())).await
}

#[tokio::test]
async fn pyjwt_verifies_rotated_keys_with_one_key_of_overlap() {
    for alg in Algorithm::ALL {
        let r = rotation(&json!({"alg": alg.as_str(), "service": "billing"})).await;
        let first = r.rotate().await;
        assert_eq!(first["service"], "billing");

        // Signed before the next rotation by both implementations.
        let by_rust = sign_as_app(&first, &claims("before-rust"));
        let by_python = PyJwt::sign(&first, &claims("before-python"));
        let verdicts = PyJwt::verify(&first[JWKS], &[&by_rust, &by_python]);
        assert_eq!(verdicts[0].claims()["sub"], "before-rust", "{alg}");
        assert_eq!(verdicts[1].claims()["sub"], "before-python", "{alg}");
        let ours = KeySet::parse(&first[JWKS]).unwrap();
        token::verify(&ours, &by_python, unix_now()).expect("PyJWT's token verifies here too");

        let second = r.rotate().await;
        assert_ne!(second[KID], first[KID]);
        let after = sign_as_app(&second, &claims("after"));
        let verdicts = PyJwt::verify(&second[JWKS], &[&by_rust, &by_python, &after]);
        for (verdict, subject) in verdicts
            .iter()
            .zip(["before-rust", "before-python", "after"])
        {
            assert_eq!(verdict.claims()["sub"], subject, "{alg}");
        }

        // Two rotations on, the first key has left the set.
        let third = r.rotate().await;
        let verdicts = PyJwt::verify(&third[JWKS], &[&by_rust, &after]);
        assert!(verdicts[0].error().contains("no key with kid"), "{alg}");
        assert_eq!(verdicts[1].claims()["sub"], "after", "{alg}");
    }
}

/// A verifier that fetched the set once, one rotation earlier, and never again: the key that
/// signs after the rotation was already in it, so it never meets an unknown kid.
#[tokio::test]
async fn a_verifier_with_a_set_cached_one_rotation_earlier_needs_no_refetch() {
    for alg in [Algorithm::Es256, Algorithm::EdDsa, Algorithm::Rs256] {
        let r = rotation(&json!({"alg": alg.as_str()})).await;
        let first = r.rotate().await;
        let cached = first[JWKS].clone();
        let before = PyJwt::sign(&first, &claims("before"));

        let second = r.rotate().await;
        assert_eq!(
            second[KID], first[NEXT_KID],
            "{alg}: the published key signs"
        );
        let after = PyJwt::sign(&second, &claims("after"));
        let verdicts = PyJwt::verify(&cached, &[&before, &after]);
        assert_eq!(verdicts[0].claims()["sub"], "before", "{alg}");
        assert_eq!(verdicts[1].claims()["sub"], "after", "{alg}");

        // The same holds one rotation on, for a verifier that refreshed at the second.
        let third = r.rotate().await;
        let later = PyJwt::sign(&third, &claims("later"));
        let verdicts = PyJwt::verify(&second[JWKS], &[&after, &later]);
        assert_eq!(verdicts[0].claims()["sub"], "after", "{alg}");
        assert_eq!(verdicts[1].claims()["sub"], "later", "{alg}");
        // While the set cached at the first rotation, two behind, does not know it.
        let stale = &PyJwt::verify(&cached, &[&later])[0];
        assert!(
            stale.error().contains("no key with kid"),
            "{alg}: {stale:?}"
        );
    }
}

#[tokio::test]
async fn a_key_outside_the_verification_set_is_rejected() {
    for alg in [Algorithm::Es256, Algorithm::Rs256, Algorithm::Hs256] {
        let r = rotation(&json!({"alg": alg.as_str()})).await;
        let current = r.rotate().await;
        // Same kid and alg as the real key, signed with a key the secret never held.
        let stranger = SigningKey::generate(alg, KeySize::Minimum).unwrap();
        let mut forged = current.clone();
        forged[SIGNING_KEY] = stranger.material().unwrap().expose().into();
        let token = PyJwt::sign(&forged, &claims("forged"));
        let verdict = &PyJwt::verify(&current[JWKS], &[&token])[0];
        assert!(
            verdict.error().starts_with("InvalidSignatureError"),
            "{alg}: {verdict:?}"
        );
    }
}

#[tokio::test]
async fn published_sets_of_public_keys_hold_no_private_material() {
    for alg in [Algorithm::Es256, Algorithm::EdDsa, Algorithm::Rs256] {
        let r = rotation(&json!({"alg": alg.as_str()})).await;
        r.rotate().await;
        let current = r.rotate().await;
        for key in current[JWKS]["keys"].as_array().unwrap() {
            for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                assert!(key.get(private).is_none(), "{alg} publishes {private}");
            }
            assert_eq!(key["use"], "sig");
        }
    }
}

#[tokio::test]
async fn a_bare_key_string_stays_a_bare_key_string() {
    let old = "5f2b".repeat(16);
    let r = Rotation::from_text(&old, JwtEngine::new(Settings::default())).await;
    r.rotate().await;
    let Value::String(new) = r.value(AWSCURRENT).await else {
        panic!("the rotated value is no longer a bare string")
    };
    assert_ne!(new, old);
    assert_eq!(new.len(), old.len());
    assert!(
        new.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert_eq!(r.value("AWSPREVIOUS").await, Value::String(old));
}

#[tokio::test]
async fn bad_secrets_get_a_clear_error_change_nothing_and_log_no_key() {
    let (logs, _guard) = LogCapture::start();
    let good = rotation(&json!({"alg": "HS256"})).await.rotate().await;
    let material = good[SIGNING_KEY].as_str().unwrap().to_owned();
    let short = "c2hvcnQta2V5LXNob3J0LWtleQ";
    let rsa = rotation(&json!({"alg": "RS256"})).await.rotate().await;
    let rsa_line = rsa[SIGNING_KEY]
        .as_str()
        .unwrap()
        .lines()
        .nth(3)
        .unwrap()
        .to_owned();
    let with = |base: &Value, name: &str, value: Value| {
        let mut v = base.clone();
        v[name] = value;
        v
    };
    let mut garbled = rsa[SIGNING_KEY].as_str().unwrap().to_owned();
    garbled.replace_range(40..44, "AAAA");
    let cases = [
        (with(&good, ALG, json!("PS256")), "unknown alg \"PS256\""),
        (
            with(&rsa, SIGNING_KEY, json!(garbled)),
            "\"signing_key\": it is not a usable RS256 private key",
        ),
        (
            with(&good, SIGNING_KEY, json!(short)),
            "the HS256 key is 19 bytes; RFC 7518 requires at least 32",
        ),
        (
            with(&rsa, KID, json!("rotated-by-hand")),
            "\"jwks\" has no key with the secret's kid \"rotated-by-hand\"",
        ),
    ];
    for (value, message) in cases {
        let r = rotation(&value).await;
        let token = r.sm.start_rotation(&r.arn).await;
        let err = r
            .assert_rejected(Step::CreateSecret, &token, "MalformedSecret", message)
            .await;
        let text = format!("{err} {err:?}");
        for secret in [material.as_str(), short, rsa_line.as_str()] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(r.sm.value(&r.arn, AWSPENDING).await.is_none());
    }
    let logged = logs.text();
    assert!(
        logged.contains("MalformedSecret"),
        "the failures were logged"
    );
    for secret in [material.as_str(), short, rsa_line.as_str()] {
        assert!(!logged.contains(secret), "key material reached the logs");
    }
}

#[tokio::test]
async fn a_secret_of_another_engine_is_refused() {
    let r =
        rotation(&json!({"engine": "postgres", "username": "app", "password": "pw-123456"})).await;
    let token = r.sm.start_rotation(&r.arn).await;
    r.assert_rejected(
        Step::CreateSecret,
        &token,
        "WrongEngine",
        "this function rotates jwt",
    )
    .await;
}
