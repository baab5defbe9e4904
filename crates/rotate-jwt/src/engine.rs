//! The JWT engine: createSecret makes a new signing key and a verification set that still
//! holds the keys before it; setSecret has nothing outside the secret to change; testSecret
//! proves with real tokens that the new set works for signers and verifiers alike.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rotation_core::{
    AWSCURRENT, AWSPENDING, Applied, Engine, Finished, RotationError, Secret, Step, StepContext,
    Versions, sanitize,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::{info, warn};

use crate::algorithm::{Algorithm, DEFAULT_ALGORITHM, MAX_KEPT_RSA_BITS, RSA_BITS};
use crate::base64url;
use crate::jwks::KeySet;
use crate::key::{KeySize, SigningKey};
use crate::publish::{JwksPublisher, S3Publisher, publish};
use crate::secret::{ENGINE_NAME, KeySecret, KeySetSecret, NextKey, Unusable};
use crate::settings::Settings;
use crate::token;

/// Lifetime of the tokens testSecret signs; they are never sent anywhere.
const TEST_TOKEN_SECONDS: u64 = 60;

pub struct JwtEngine {
    settings: Settings,
    /// Writes the public set where `JWKS_BUCKET` says; attached only when it is set.
    publisher: Option<Arc<dyn JwksPublisher>>,
}

impl JwtEngine {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            publisher: None,
        }
    }

    /// Publishes each new public set through `publisher` (S3, or a test's).
    pub fn with_publisher(mut self, publisher: Arc<dyn JwksPublisher>) -> Self {
        self.publisher = Some(publisher);
        self
    }

    /// With an S3 client when `JWKS_BUCKET` is set; made only then, so a function that
    /// publishes nothing loads no configuration for it.
    pub async fn with_s3_when_publishing(self) -> Self {
        if self.settings.jwks.is_some() {
            let config = rotation_core::aws_sdk_config().await;
            self.with_s3_from(&config)
        } else {
            self
        }
    }

    /// As [`Self::with_s3_when_publishing`], on a configuration already loaded (the
    /// operator's tool, which acts as the function does).
    pub fn with_s3_from(self, config: &aws_config::SdkConfig) -> Self {
        if self.settings.jwks.is_some() {
            self.with_publisher(Arc::new(S3Publisher::from_config(config)))
        } else {
            self
        }
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
                (None, Some(KeySize::RsaBits(bits))) => KeySize::RsaBits(kept_rsa_bits(bits)),
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

    /// A new key of the algorithm and size [`Self::next_key_spec`] chooses, with its `kid`.
    fn make_key(
        &self,
        ctx: &StepContext<'_>,
        alg: Option<Algorithm>,
        current: Option<&SigningKey>,
    ) -> Result<NextKey, RotationError> {
        let (alg, size) = self.next_key_spec(ctx, alg, current)?;
        let key = SigningKey::generate(alg, size).map_err(RotationError::Crypto)?;
        let kid = key.new_kid().map_err(RotationError::Crypto)?;
        Ok(NextKey { kid, key })
    }

    /// The value after `current`: its published next key signs when it has one (verifiers
    /// already hold it), else a new key; with `JWT_PUBLISH_NEXT_KEY` a new next key joins
    /// the set right behind the signing key.
    fn new_key_set(
        &self,
        ctx: &StepContext<'_>,
        fields: Map<String, Value>,
        alg: Option<Algorithm>,
        mut current: Option<KeySetSecret>,
    ) -> Result<Secret, RotationError> {
        let crypto = RotationError::Crypto;
        let promoted = current.as_mut().and_then(|c| c.next.take());
        let signing = match promoted {
            Some(next) => {
                info!(
                    kid = %sanitize(&next.kid),
                    "the published next key becomes the signing key"
                );
                next
            }
            None => self.make_key(ctx, alg, current.as_ref().map(|c| &c.key))?,
        };
        let next = if !self.settings.publishes_next(signing.key.alg()) {
            None
        } else if current.is_some() {
            Some(self.make_key(ctx, Some(signing.key.alg()), Some(&signing.key))?)
        } else {
            // A first key and its next key alike: the placeholder's own `alg` comes first.
            Some(self.make_key(ctx, alg, None)?)
        };
        let earlier = current.as_ref().map(|c| {
            // The key being replaced comes first, whatever order a hand-made set had.
            let own = c.keys.find(&c.kid).cloned();
            let others = c.keys.keys().iter().filter(|k| k.kid != c.kid).cloned();
            own.into_iter().chain(others).collect::<Vec<_>>()
        });
        let keys = KeySet::rotated(
            signing.key.jwk(&signing.kid).map_err(crypto)?,
            next.as_ref()
                .map(|n| n.key.jwk(&n.kid))
                .transpose()
                .map_err(crypto)?,
            earlier.unwrap_or_default(),
            self.settings.previous_keys,
        );
        if let Some(current) = &current
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
            alg = signing.key.alg().as_str(),
            kid = %sanitize(&signing.kid),
            next_kid = next.as_ref().map(|n| n.kid.as_str()),
            verification_keys = keys.keys().len(),
            "made the new key set"
        );
        KeySetSecret::value(
            fields,
            (&signing.key, &signing.kid),
            next.as_ref(),
            &keys,
            &created,
        )
        .map_err(crypto)
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

    /// What a key set must be on its own: kids that are thumbprints, and tokens of its
    /// signing key and of its next key that verify against its own set.
    fn test_own_keys(pending: &KeySetSecret) -> Result<(), RotationError> {
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
        if let Some(next) = &pending.next {
            let jwk = next.key.jwk(&next.kid).map_err(failed)?;
            if !next.key.alg().is_symmetric() && jwk.thumbprint() != next.kid {
                return Err(failed(
                    "the pending next_kid is not the RFC 7638 thumbprint of its key".into(),
                ));
            }
            if jwk.same_key(&pending.key.jwk(&next.kid).map_err(failed)?) {
                return Err(failed("the pending next key is its signing key".into()));
            }
            Self::round_trip(&next.key, &next.kid, &pending.keys)
                .map_err(|e| failed(format!("a token signed with the pending next key: {e}")))?;
        }
        Ok(())
    }

    fn test_key_set(
        &self,
        current: &KeySecret,
        pending: &KeySetSecret,
    ) -> Result<(), RotationError> {
        let failed = RotationError::TestFailed;
        Self::test_own_keys(pending)?;
        match current {
            KeySecret::Keys(current) => {
                if let Some(published) = &current.next
                    && published.kid != pending.kid
                {
                    return Err(failed(format!(
                        "AWSCURRENT published the next key {:?}, but AWSPENDING signs with {:?}: \
                         verifiers holding the published set would not know it",
                        sanitize(&published.kid),
                        sanitize(&pending.kid)
                    )));
                }
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
                self.new_key_set(ctx, fields, Some(current.alg), Some(*current))
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

    /// Publishes the new public set once it is AWSCURRENT, so that a verifier never fetches
    /// a set that signers do not use yet, and a failed rotation publishes nothing.
    async fn after_finish(
        &self,
        ctx: &StepContext<'_>,
        finished: &Finished<'_>,
    ) -> Result<(), RotationError> {
        let Some(target) = &self.settings.jwks else {
            return Ok(());
        };
        let Some(publisher) = &self.publisher else {
            return Err(RotationError::Config(
                "JWKS_BUCKET is set, but the function has no S3 client to publish with".into(),
            ));
        };
        let current = ctx.required(AWSCURRENT, Some(finished.version)).await?;
        match self.parse(ctx, AWSCURRENT, &current)? {
            KeySecret::Keys(keys) if !keys.alg.is_symmetric() => {
                publish(
                    publisher.as_ref(),
                    target,
                    ctx.secret_id,
                    &keys.keys.to_json(),
                    finished.rules.interval(),
                    ctx.deadline,
                )
                .await
            }
            KeySecret::Keys(_) => {
                warn!(
                    "the verification set holds HMAC keys, which are secrets: it is not published"
                );
                Ok(())
            }
            KeySecret::Placeholder { .. } | KeySecret::Bare(_) => {
                warn!("AWSCURRENT holds no key set: there is nothing to publish");
                Ok(())
            }
        }
    }

    async fn verify(
        &self,
        ctx: &StepContext<'_>,
        versions: &Versions<'_>,
    ) -> Result<(), RotationError> {
        let pending = versions.pending;
        let current = versions.current(ctx).await?;
        if *pending == current {
            // RotateSecret without an immediate rotation: Secrets Manager tests the function
            // on a temporary AWSPENDING copy of AWSCURRENT. There is no new key to judge, only
            // whether the current value is one this function can rotate.
            info!(
                "AWSPENDING is a copy of AWSCURRENT (Secrets Manager testing the rotation configuration)"
            );
            return match self.parse(ctx, AWSCURRENT, &current)? {
                KeySecret::Keys(keys) => Self::test_own_keys(&keys),
                KeySecret::Placeholder { alg, .. } => {
                    self.next_key_spec(ctx, alg, None).map(|_| ())
                }
                KeySecret::Bare(_) => Ok(()),
            };
        }
        let parsed = self.parse(ctx, AWSPENDING, pending)?;
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

/// The size of the key after a current key of `bits`, when no setting says: a hand-made key
/// of an unusual size is replaced by the next size up, and a key over 4096 bits by a
/// 4096-bit one, so that only `JWT_RSA_KEY_BITS=8192` makes a rotation that slow.
fn kept_rsa_bits(bits: usize) -> usize {
    RSA_BITS
        .into_iter()
        .filter(|b| *b <= MAX_KEPT_RSA_BITS)
        .find(|b| *b >= bits)
        .unwrap_or(MAX_KEPT_RSA_BITS)
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
