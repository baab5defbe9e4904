//! Driving rotations of one secret the way Secrets Manager does, for any engine.

use rotation_core::{
    AWSCURRENT, AwsSecretStore, Engine, Outcome, RotationError, RotationEvent, Rotator, Step,
};
use serde_json::Value;

use crate::{SecretsManager, install_crypto_provider, unique};

pub struct Rotation<E> {
    pub sm: SecretsManager,
    pub rotator: Rotator<AwsSecretStore, E>,
    pub arn: String,
}

impl<E: Engine> Rotation<E> {
    /// A new secret holding `secret`, rotated by `engine`.
    pub async fn new(secret: &Value, engine: E) -> Self {
        Self::from_text(&secret.to_string(), engine).await
    }

    /// A new secret whose `SecretString` is `text` as it is, JSON or not.
    pub async fn from_text(text: &str, engine: E) -> Self {
        install_crypto_provider();
        let sm = SecretsManager::connect().await;
        let arn = sm.create(&unique("secret"), text).await;
        Self {
            rotator: Rotator::new(sm.store(), engine),
            sm,
            arn,
        }
    }

    pub async fn step(&self, step: Step, token: &str) -> Result<Outcome, RotationError> {
        let event = RotationEvent {
            step,
            secret_id: self.arn.clone(),
            token: token.into(),
            rotation_token: None,
        };
        self.rotator.run(&event).await
    }

    /// Starts a rotation and runs createSecret; returns the token.
    pub async fn begin(&self) -> String {
        let token = self.sm.start_rotation(&self.arn).await;
        self.step(Step::CreateSecret, &token).await.unwrap();
        token
    }

    /// One whole rotation as the service runs it, AWSPENDING cleared at the end. Returns the
    /// new AWSCURRENT value.
    pub async fn rotate(&self) -> Value {
        let token = self.sm.start_rotation(&self.arn).await;
        for step in Step::ALL {
            self.step(step, &token)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", step.as_str()));
        }
        self.sm.complete_rotation(&self.arn, &token).await;
        self.value(AWSCURRENT).await
    }

    pub async fn value(&self, stage: &str) -> Value {
        self.sm
            .value(&self.arn, stage)
            .await
            .unwrap_or_else(|| panic!("no {stage} value"))
    }

    /// Runs `step`, expects `error_type` with `message` in it, and proves the secret's
    /// versions, labels and values did not change.
    pub async fn assert_rejected(
        &self,
        step: Step,
        token: &str,
        error_type: &str,
        message: &str,
    ) -> RotationError {
        let before = self.sm.snapshot(&self.arn).await;
        let err = self.step(step, token).await.unwrap_err();
        assert_eq!(err.error_type(), error_type, "{err}");
        assert!(
            err.to_string().contains(message),
            "{err:?} should mention {message:?}"
        );
        assert_eq!(
            self.sm.snapshot(&self.arn).await,
            before,
            "the failed step changed the secret"
        );
        err
    }
}
