//! Tokens signed the way an application reading a rotated JWT secret signs them: with
//! `signing_key`, `alg` and `kid` from the secret's value, through rotate-jwt's signer.

use std::time::{SystemTime, UNIX_EPOCH};

use rotate_jwt::{ALG, Algorithm, KID, SIGNING_KEY, SigningKey, token};
use serde_json::Value;

/// Seconds since the epoch, as JWT claims count time.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token carrying `claims` (a JSON object), signed with the key `secret` publishes.
pub fn sign_as_app(secret: &Value, claims: &Value) -> String {
    let alg = Algorithm::parse(secret[ALG].as_str().unwrap()).unwrap();
    let key = SigningKey::load(alg, secret[SIGNING_KEY].as_str().unwrap()).unwrap();
    let Value::Object(claims) = claims else {
        panic!("claims must be a JSON object, not {claims}")
    };
    token::sign(&key, secret[KID].as_str().unwrap(), claims).unwrap()
}
