//! The JWT engine: createSecret makes a new signing key and a verification set that still
//! holds the keys before it; setSecret has nothing outside the secret to change; testSecret
//! proves with real tokens that the new set works for signers and verifiers alike.

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rotation_core::{
    AWSCURRENT, AWSPENDING, Applied, Engine, RotationError, Secret, Step, StepContext, Versions,
    sanitize,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::{info, warn};

use crate::algorithm::{Algorithm, DEFAULT_ALGORITHM, RSA_BITS};
use crate::base64url;
use crate::jwks::KeySet;
use crate::key::{KeySize, SigningKey};
use crate::secret::{ENGINE_NAME, KeySecret, KeySetSecret, Unusable};
use crate::settings::Settings;
use crate::token;

/// Lifetime of the tokens testSecret signs; they are never sent anywhere.
const TEST_TOKEN_SECONDS: u64 = 60;

pub struct JwtEngine {
    settings: Settings,
}

impl JwtEngine {
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }

    pub fn from_env() -> Result<Self, RotationError> {
        Settings::from_env().map(Self::new)
    }

    pub(crate) fn parse(
        &self,
        ctx: &StepContext<'_>,
        stage: &str,
        value: &Secret,
    ) -> Result<KeySecret, RotationError> {
        KeySecret::parse(value.expose()).map_err(|e| match e {
            Unusable::Malformed(reason) => ctx.malformed(stage, reason),
            Unusable::WrongEngine(found) => RotationError::WrongEngine {
                secret: sanitize(ctx.secret_id),
                found,
                expected: ENGINE_NAME.into(),
            },
        })
    }

    /// The algorithm and size of the next key. For a rotation, configuration first, then the
    /// current key; for a first key, the placeholder's own `alg` first, then configuration.
    pub(crate) fn next_key_spec(
        &self,
        ctx: &StepContext<'_>,
        alg: Option<Algorithm>,
        current: Option<&SigningKey>,
    ) -> Result<(Algorithm, KeySize), RotationError> {
        let chosen = match current {
            Some(_) => self.settings.algorithm.or(alg),
            None => alg.or(self.settings.algorithm),
        };
        let alg = chosen.unwrap_or(DEFAULT_ALGORITHM);
        if let Some(current) = current
            && alg.is_symmetric()
            && !current.alg().is_symmetric()
        {
            // The new HMAC key would join a verification set that may be published.
            return Err(RotationError::Config(format!(
                "JWT_ALGORITHM={alg} would replace the {} key of secret {} with a shared HMAC \
                 secret in a jwks that verifiers may publish; make a new secret for HMAC keys",
                current.alg(),
                sanitize(ctx.secret_id)
            )));
        }
        let kept = current.filter(|k| k.alg() == alg).map(SigningKey::size);
        let size = match alg {
            Algorithm::Rs256 => match (self.settings.rsa_bits, kept) {
                (Some(bits), _) => KeySize::RsaBits(bits),
                // A hand-made key of an unusual size is replaced by the next size up.
                (None, Some(KeySize::RsaBits(bits))) => KeySize::RsaBits(
                    RSA_BITS
                        .into_iter()
                        .find(|b| *b >= bits)
                        .unwrap_or(RSA_BITS[RSA_BITS.len() - 1]),
                ),
                _ => KeySize::Minimum,
            },
            Algorithm::Hs256 | Algorithm::Hs384 | Algorithm::Hs512 => {
                let min = alg.min_hmac_bytes().unwrap_or(32);
                match (self.settings.hmac_bytes, kept) {
                    (Some(bytes), _) => KeySize::HmacBytes(bytes.max(min)),
                    (None, Some(KeySize::HmacBytes(bytes))) => KeySize::HmacBytes(bytes.max(min)),
                    _ => KeySize::Minimum,
                }
            }
            Algorithm::Es256 | Algorithm::EdDsa => KeySize::Minimum,
        };
        Ok((alg, size))
    }

    fn new_key_set(
        &self,
        ctx: &StepContext<'_>,
        fields: Map<String, Value>,
        alg: Option<Algorithm>,
        current: Option<&KeySetSecret>,
    ) -> Result<Secret, RotationError> {
        let (alg, size) = self.next_key_spec(ctx, alg, current.map(|c| &c.key))?;
        let key = SigningKey::generate(alg, size).map_err(RotationError::Crypto)?;
        let kid = key.new_kid().map_err(RotationError::Crypto)?;
        let newest = key.jwk(&kid).map_err(RotationError::Crypto)?;
        let earlier = current.map(|c| {
            // The key being replaced comes first, whatever order a hand-made set had.
            let own = c.keys.find(&c.kid).cloned();
            let others = c.keys.keys().iter().filter(|k| k.kid != c.kid).cloned();
            own.into_iter().chain(others).collect::<Vec<_>>()
        });
        let keys = KeySet::rotated(
            newest,
            earlier.unwrap_or_default(),
            self.settings.previous_keys,
        );
        if let Some(current) = current
            && keys.find(&current.kid).is_none()
        {
            warn!(
                current_kid = %sanitize(&current.kid),
                previous_keys = self.settings.previous_keys,
                "the current key is left out of the new verification set: tokens it signed stop verifying when the rotation finishes"
            );
        }
        let created = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_default();
        info!(
            alg = alg.as_str(),
            kid = %kid,
            verification_keys = keys.keys().len(),
            "made a new signing key"
        );
        KeySetSecret::value(fields, &key, &kid, &keys, &created).map_err(RotationError::Crypto)
    }

    /// Signs a short-lived token with `key` and checks it against `keys`.
    fn round_trip(key: &SigningKey, kid: &str, keys: &KeySet) -> Result<(), String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut jti = [0u8; 12];
        aws_lc_rs::rand::fill(&mut jti).map_err(|_| "the OS random source failed")?;
        let Value::Object(claims) = json!({
            "iss": "rotate-jwt",
            "aud": "rotate-jwt-test",
            "iat": now,
            "exp": now + TEST_TOKEN_SECONDS,
            "jti": base64url::encode(&jti),
        }) else {
            unreachable!("a JSON object literal")
        };
        let token = token::sign(key, kid, &claims)?;
        token::verify(keys, &token, now).map(|_| ())
    }

    fn test_key_set(
        &self,
        current: &KeySecret,
        pending: &KeySetSecret,
    ) -> Result<(), RotationError> {
        let failed = RotationError::TestFailed;
        if !pending.alg.is_symmetric() {
            let thumbprint = pending.key.jwk(&pending.kid).map_err(failed)?.thumbprint();
            if thumbprint != pending.kid {
                return Err(failed(
                    "the pending kid is not the RFC 7638 thumbprint of its key".into(),
                ));
            }
        }
        Self::round_trip(&pending.key, &pending.kid, &pending.keys)
            .map_err(|e| failed(format!("a token signed with the pending key: {e}")))?;
        match current {
            KeySecret::Keys(current) => {
                let same_key = current
                    .keys
                    .find(&current.kid)
                    .zip(pending.keys.find(&pending.kid))
                    .is_some_and(|(a, b)| a.same_key(b));
                if current.kid == pending.kid || same_key {
                    return Err(failed("the pending key is the current key".into()));
                }
                if pending.keys.find(&current.kid).is_some() {
                    Self::round_trip(&current.key, &current.kid, &pending.keys).map_err(|e| {
                        failed(format!(
                            "a token signed with the current key would stop verifying: {e}"
                        ))
                    })?;
                    info!(
                        "tokens signed with the current key still verify against the pending set"
                    );
                } else {
                    warn!(
                        "the pending set does not keep the current key; its tokens stop verifying after finishSecret"
                    );
                }
            }
            KeySecret::Placeholder { .. } => {
                info!("first key: there is no earlier key to keep verifying");
            }
            KeySecret::Bare(_) => {
                return Err(failed(
                    "AWSCURRENT is a bare key string but AWSPENDING is a key set".into(),
                ));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Engine for JwtEngine {
    fn name(&self) -> &'static str {
        ENGINE_NAME
    }

    /// setSecret has no server to change; testSecret checks the pending key set against the
    /// current one.
    fn reads_current(&self, step: Step) -> bool {
        step == Step::TestSecret
    }

    fn build_pending(
        &self,
        ctx: &StepContext<'_>,
        current: &Secret,
    ) -> Result<Secret, RotationError> {
        match self.parse(ctx, AWSCURRENT, current)? {
            KeySecret::Keys(current) => {
                let fields = current.fields.clone();
                self.new_key_set(ctx, fields, Some(current.alg), Some(&current))
            }
            KeySecret::Placeholder { fields, alg } => {
                info!("the secret holds no key yet; making the first one");
                self.new_key_set(ctx, fields, alg, None)
            }
            KeySecret::Bare(form) => {
                let next = form.strengthened();
                info!(
                    form = next.alphabet.as_str(),
                    length = next.length,
                    "the secret is a bare key string; making a new one of the same form"
                );
                next.generate().map_err(RotationError::Crypto)
            }
        }
    }

    async fn apply(
        &self,
        ctx: &StepContext<'_>,
        versions: &Versions<'_>,
    ) -> Result<Applied, RotationError> {
        // Still parsed, so a hand-edited AWSPENDING fails here rather than at finishSecret.
        self.parse(ctx, AWSPENDING, versions.pending)?;
        info!("a signing key lives only in the secret: there is no server to change");
        Ok(Applied::NothingToChange)
    }

    async fn verify(
        &self,
        ctx: &StepContext<'_>,
        versions: &Versions<'_>,
    ) -> Result<(), RotationError> {
        let pending = versions.pending;
        let parsed = self.parse(ctx, AWSPENDING, pending)?;
        let current = versions.current(ctx).await?;
        let current_parsed = self.parse(ctx, AWSCURRENT, &current)?;
        match (&current_parsed, parsed) {
            (KeySecret::Bare(form), KeySecret::Bare(_)) => {
                let wanted = form.strengthened();
                if !wanted.admits(pending.expose()) {
                    return Err(RotationError::TestFailed(format!(
                        "the pending key is not {} of at least {} characters like the current one",
                        wanted.alphabet.as_str(),
                        wanted.length
                    )));
                }
                if *pending == current {
                    return Err(RotationError::TestFailed(
                        "the pending key is the current key".into(),
                    ));
                }
                info!("the pending bare key has the current key's form");
                Ok(())
            }
            (_, KeySecret::Keys(pending)) => self.test_key_set(&current_parsed, &pending),
            (_, KeySecret::Placeholder { .. }) => {
                Err(ctx.malformed(AWSPENDING, "it holds no signing key".to_owned()))
            }
            (_, KeySecret::Bare(_)) => Err(RotationError::TestFailed(
                "AWSPENDING is a bare key string but AWSCURRENT is not".into(),
            )),
        }
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
