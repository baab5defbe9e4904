//! Compact JWS tokens (RFC 7515 §7.1), signed and verified the way a JWT library does, so
//! testSecret can prove a key set works before any signer or verifier relies on it.

use serde_json::{Map, Value, json};

use crate::base64url;
use crate::jwks::KeySet;
use crate::key::SigningKey;

/// Signs `claims` with `key`, naming it `kid` in the header.
pub fn sign(key: &SigningKey, kid: &str, claims: &Map<String, Value>) -> Result<String, String> {
    let header = json!({ "alg": key.alg().as_str(), "kid": kid, "typ": "JWT" });
    let signing_input = format!(
        "{}.{}",
        base64url::encode(header.to_string().as_bytes()),
        base64url::encode(Value::Object(claims.clone()).to_string().as_bytes())
    );
    let signature = key.sign(signing_input.as_bytes())?;
    Ok(format!("{signing_input}.{}", base64url::encode(&signature)))
}

/// Verifies `token` against `keys` at `now` (seconds since the epoch) and returns its claims.
///
/// The key is chosen by `kid` and must carry the header's `alg`, so a token cannot pick a
/// weaker algorithm than its key was published for. Errors describe the token's fault and
/// never echo it.
pub fn verify(keys: &KeySet, token: &str, now: u64) -> Result<Map<String, Value>, String> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the token is not three dot-separated parts".into());
    };
    let header = decode_object(header).ok_or("the token header is not a base64url JSON object")?;
    let (Some(Value::String(alg)), Some(Value::String(kid))) =
        (header.get("alg"), header.get("kid"))
    else {
        return Err("the token header has no string alg and kid".into());
    };
    let jwk = keys.find(kid).ok_or_else(|| {
        format!(
            "no key in the verification set has kid {:?}",
            rotation_core::sanitize(kid)
        )
    })?;
    if jwk.alg.as_str() != alg {
        return Err(format!(
            "the token says alg {:?} but key {:?} is for {}",
            rotation_core::sanitize(alg),
            jwk.kid,
            jwk.alg
        ));
    }
    let signature = base64url::decode(signature).ok_or("the token signature is not base64url")?;
    let signing_input = &token[..header_and_payload_len(token)];
    if !jwk.verify(signing_input.as_bytes(), &signature) {
        return Err(format!(
            "the signature does not verify with key {:?}",
            jwk.kid
        ));
    }
    let claims =
        decode_object(payload).ok_or("the token payload is not a base64url JSON object")?;
    if let Some(exp) = claims.get("exp") {
        match exp.as_u64() {
            Some(exp) if exp > now => {}
            Some(_) => return Err("the token has expired".into()),
            None => return Err("the token's exp is not a number of seconds".into()),
        }
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_u64)
        && nbf > now
    {
        return Err("the token is not valid yet (nbf)".into());
    }
    Ok(claims)
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn decode_object(part: &str) -> Option<Map<String, Value>> {
    match serde_json::from_slice(&base64url::decode(part)?) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::Algorithm;
    use crate::key::KeySize;

    fn claims(exp: u64) -> Map<String, Value> {
        let Value::Object(map) = json!({"sub": "t", "exp": exp}) else {
            unreachable!()
        };
        map
    }

    fn keyed(alg: Algorithm, kid: &str) -> (SigningKey, KeySet) {
        let key = SigningKey::generate(alg, KeySize::Minimum).unwrap();
        let set = KeySet::rotated(key.jwk(kid).unwrap(), None, [], 0);
        (key, set)
    }

    #[test]
    fn tokens_round_trip_for_every_algorithm() {
        for alg in Algorithm::ALL {
            let (key, set) = keyed(alg, "k1");
            let token = sign(&key, "k1", &claims(200)).unwrap();
            assert_eq!(verify(&set, &token, 100).unwrap()["sub"], "t", "{alg}");
            let err = verify(&set, &token, 200).unwrap_err();
            assert_eq!(err, "the token has expired");
        }
    }

    #[test]
    fn a_token_must_name_a_key_of_the_set_and_its_alg() {
        let (key, set) = keyed(Algorithm::Es256, "k1");
        let token = sign(&key, "other", &claims(200)).unwrap();
        let err = verify(&set, &token, 100).unwrap_err();
        assert_eq!(err, "no key in the verification set has kid \"other\"");

        let (stranger, _) = keyed(Algorithm::Es256, "k1");
        let token = sign(&stranger, "k1", &claims(200)).unwrap();
        let err = verify(&set, &token, 100).unwrap_err();
        assert_eq!(err, "the signature does not verify with key \"k1\"");

        // An HS256 token under an ES256 kid: the classic algorithm-confusion attack.
        let (hmac, _) = keyed(Algorithm::Hs256, "k1");
        let token = sign(&hmac, "k1", &claims(200)).unwrap();
        let err = verify(&set, &token, 100).unwrap_err();
        assert!(
            err.contains("says alg \"HS256\" but key \"k1\" is for ES256"),
            "{err}"
        );
    }

    #[test]
    fn malformed_tokens_are_named() {
        let (_, set) = keyed(Algorithm::EdDsa, "k1");
        assert!(verify(&set, "a.b", 0).unwrap_err().contains("three"));
        assert!(
            verify(&set, "e30.e30.", 0)
                .unwrap_err()
                .contains("no string alg")
        );
        assert!(verify(&set, "!!.e30.AA", 0).unwrap_err().contains("header"));
    }
}
