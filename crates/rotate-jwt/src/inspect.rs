//! What `rotate check` and `rotate repair` learn about a signing-key secret. There is no
//! server: the key in use is AWSCURRENT's (or AWSPREVIOUS's, to go back to), when the
//! function can parse it and make its next key from it.

use async_trait::async_trait;
use rotation_core::{Finding, Inspect, Probe, RotationError, Secret, StepContext, sanitize};

use crate::engine::JwtEngine;
use crate::secret::KeySecret;

impl JwtEngine {
    /// What the value holds, for an operator; never key material.
    fn describe(
        &self,
        ctx: &StepContext<'_>,
        stage: &str,
        value: &Secret,
    ) -> Result<String, RotationError> {
        Ok(match self.parse(ctx, stage, value)? {
            KeySecret::Keys(keys) => {
                self.next_key_spec(ctx, Some(keys.alg), Some(&keys.key))?;
                let next = keys.next.as_ref().map_or(String::new(), |next| {
                    format!(
                        ", next key \"{}\" ({}) published",
                        sanitize(&next.kid),
                        next.key.alg()
                    )
                });
                format!(
                    "{} signing key \"{}\"{next}, {} key(s) in the verification set",
                    keys.alg,
                    sanitize(&keys.kid),
                    keys.keys.keys().len()
                )
            }
            KeySecret::Placeholder { alg, .. } => {
                let (alg, _) = self.next_key_spec(ctx, alg, None)?;
                format!("no key yet: the first rotation makes a {alg} key")
            }
            KeySecret::Bare(form) => format!(
                "a bare key string ({}, {} characters): rotations keep that form",
                form.alphabet.as_str(),
                form.length
            ),
        })
    }
}

#[async_trait]
impl Inspect for JwtEngine {
    async fn preflight(&self, ctx: &StepContext<'_>, current: &Secret) -> Vec<Finding> {
        let check = "AWSCURRENT parses as a JWT signing key, and the next key can be made";
        vec![
            match self.describe(ctx, rotation_core::AWSCURRENT, current) {
                Ok(found) => Finding::passed(check, found),
                Err(e) => Finding::error(check, &e),
            },
        ]
    }

    async fn probe(
        &self,
        ctx: &StepContext<'_>,
        stage: &str,
        value: &Secret,
        _current: &Secret,
    ) -> Result<Probe, RotationError> {
        // Signers use AWSCURRENT: a pending key has signed nothing yet, so it is not what
        // "works" means here, however well it parses.
        if stage == rotation_core::AWSPENDING {
            return Ok(Probe::Refused(
                "a pending key is in use only once finishSecret makes it AWSCURRENT".into(),
            ));
        }
        match self.describe(ctx, stage, value) {
            Ok(found) => Ok(Probe::Accepted(found)),
            Err(e @ RotationError::MalformedSecret { .. }) => Ok(Probe::Refused(e.to_string())),
            Err(e) => Err(e),
        }
    }
}
