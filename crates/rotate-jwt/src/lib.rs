//! Secrets Manager rotation for JWT signing keys: HS256/384/512, ES256, EdDSA and RS256.
//!
//! Nothing outside the secret changes; what this function guarantees is the key lifecycle.
//! Each rotation makes a new key and a verification set that still holds the key it
//! replaces, so a token signed just before a rotation verifies after it.

mod algorithm;
mod bare;
mod base64url;
mod engine;
mod inspect;
mod jwk;
mod jwks;
mod key;
mod pem;
mod secret;
mod settings;
pub mod token;

pub use algorithm::{Algorithm, DEFAULT_ALGORITHM, MIN_RSA_BITS};
pub use engine::JwtEngine;
pub use jwk::Jwk;
pub use jwks::KeySet;
pub use key::{KeySize, SigningKey};
pub use secret::{ALG, CREATED, ENGINE_NAME, JWKS, KID, SIGNING_KEY};
pub use settings::{DEFAULT_PREVIOUS_KEYS, Settings};
