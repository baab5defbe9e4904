//! A role on the test cluster, a secret for it in moto, and a rotator joining them.

use integration_tests::{PgCluster, SecretsManager, install_crypto_provider, postgres, unique};
use rotate_postgres::{PostgresEngine, Settings};
use rotation_core::{
    AWSCURRENT, AwsSecretStore, Outcome, RotationError, RotationEvent, Rotator, Step,
};
use serde_json::Value;

pub struct Fixture {
    pub cluster: &'static PgCluster,
    pub sm: SecretsManager,
    pub rotator: Rotator<AwsSecretStore, PostgresEngine>,
    pub arn: String,
    pub user: String,
    pub password: String,
}

impl Fixture {
    /// A role with `password` on the plaintext cluster, and a secret holding `secret`.
    pub async fn with(user: &str, password: &str, secret: Value, settings: Settings) -> Self {
        Self::on(postgres(), user, password, secret, settings).await
    }

    /// A role with `password` on `cluster`, and a secret holding `secret`.
    pub async fn on(
        cluster: &'static PgCluster,
        user: &str,
        password: &str,
        secret: Value,
        settings: Settings,
    ) -> Self {
        install_crypto_provider();
        cluster.create_role(user, password).await;
        let sm = SecretsManager::connect().await;
        let arn = sm.create(&unique("db"), &secret.to_string()).await;
        let rotator = Rotator::new(sm.store(), PostgresEngine::new(settings));
        Self {
            cluster,
            sm,
            rotator,
            arn,
            user: user.into(),
            password: password.into(),
        }
    }

    pub async fn new() -> Self {
        let user = unique("app");
        let password = format!("initial-{}", unique("pw"));
        Self::with(
            &user,
            &password,
            postgres().secret(&user, &password),
            Settings::default(),
        )
        .await
    }

    /// Starts a rotation and runs createSecret; returns the token.
    pub async fn begin(&self) -> String {
        let token = self.sm.start_rotation(&self.arn).await;
        self.step(Step::CreateSecret, &token).await.unwrap();
        token
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

    /// One whole rotation as the service runs it, AWSPENDING cleared at the end. Returns the
    /// new password.
    pub async fn rotate(&self) -> String {
        let token = self.sm.start_rotation(&self.arn).await;
        for step in Step::ALL {
            self.step(step, &token)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", step.as_str()));
        }
        self.sm.complete_rotation(&self.arn, &token).await;
        self.password_at(AWSCURRENT).await
    }

    pub async fn password_at(&self, stage: &str) -> String {
        self.sm.value(&self.arn, stage).await.unwrap()["password"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn can_login(&self, password: &str) -> bool {
        self.cluster.can_login(&self.user, password).await
    }

    /// Runs `step`, expects `error_type` with `message` in it, and proves nothing changed: the
    /// secret's versions and labels, and which password the role accepts.
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
        assert!(
            self.can_login(&self.password).await,
            "the failed step changed the role's password"
        );
        err
    }
}
