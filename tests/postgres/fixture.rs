//! A role on a test cluster, and a secret for it rotated by the PostgreSQL engine.

use std::ops::Deref;

use integration_tests::{PgCluster, Rotation, postgres, unique};
use rotate_postgres::{PostgresEngine, Settings};
use rotation_core::{AWSCURRENT, LoginSettings, RotationError, Step};
use serde_json::Value;

/// Settings that differ from the defaults only in what every engine reads.
pub fn login_settings(login: LoginSettings) -> Settings {
    Settings {
        login,
        ..Settings::default()
    }
}

/// The generic [`Rotation`] (secret, rotator, steps) plus the role it rotates.
pub struct Fixture {
    rotation: Rotation<PostgresEngine>,
    pub cluster: &'static PgCluster,
    pub user: String,
    pub password: String,
}

impl Deref for Fixture {
    type Target = Rotation<PostgresEngine>;

    fn deref(&self) -> &Self::Target {
        &self.rotation
    }
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
        cluster.create_role(user, password).await;
        Self::existing(
            cluster,
            user,
            password,
            secret,
            rotate_postgres::engine(settings),
        )
        .await
    }

    /// A secret holding `secret` for role `user`, which already exists on `cluster` with
    /// `password`, rotated by `engine`.
    pub async fn existing(
        cluster: &'static PgCluster,
        user: &str,
        password: &str,
        secret: Value,
        engine: PostgresEngine,
    ) -> Self {
        let rotation = Rotation::new(&secret, engine).await;
        Self {
            rotation,
            cluster,
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

    /// One whole rotation; returns the new password.
    pub async fn rotate(&self) -> String {
        self.rotation.rotate().await;
        self.password_at(AWSCURRENT).await
    }

    pub async fn password_at(&self, stage: &str) -> String {
        self.value(stage).await["password"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn can_login(&self, password: &str) -> bool {
        self.cluster.can_login(&self.user, password).await
    }

    /// [`Rotation::assert_rejected`], and the role's password unchanged too.
    pub async fn assert_rejected(
        &self,
        step: Step,
        token: &str,
        error_type: &str,
        message: &str,
    ) -> RotationError {
        let err = self
            .rotation
            .assert_rejected(step, token, error_type, message)
            .await;
        assert!(
            self.can_login(&self.password).await,
            "the failed step changed the role's password"
        );
        err
    }
}
