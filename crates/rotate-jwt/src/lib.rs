//! Secrets Manager rotation for JWT signing keys: HS256/384/512, ES256, EdDSA and RS256.
//!
//! Nothing outside the secret changes; what this function guarantees is the key lifecycle.
//! Each rotation signs with the key published one rotation earlier (or a new one), makes the
//! key after it, and keeps the key it replaces in the verification set: a verifier that
//! cached the set knows the new signing key, and a token signed just before a rotation
//! verifies after it.

mod algorithm;
mod bare;
mod base64url;
mod engine;
mod inspect;
mod jwk;
mod jwks;
mod key;
mod pem;
pub mod publish;
mod secret;
mod settings;
pub mod token;

pub use algorithm::{Algorithm, DEFAULT_ALGORITHM, MAX_KEPT_RSA_BITS, MIN_RSA_BITS, RSA_BITS};
pub use engine::JwtEngine;
pub use jwk::Jwk;
pub use jwks::KeySet;
pub use key::{KeySize, SigningKey};
pub use publish::{JwksPublisher, JwksTarget, S3Publisher};
pub use secret::{ALG, CREATED, ENGINE_NAME, JWKS, KID, NEXT_KID, NEXT_SIGNING_KEY, SIGNING_KEY};
pub use settings::{DEFAULT_PREVIOUS_KEYS, Settings};
