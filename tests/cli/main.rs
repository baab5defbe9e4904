//! The `rotate` operator tool end to end: its release binary against moto, a real PostgreSQL
//! cluster and a real Neo4j server, as an operator runs it.

mod check;
mod import;
mod run;
mod status;

use integration_tests::{Rotation, SecretsManager, install_crypto_provider, postgres, unique};
use rotate_postgres::PostgresEngine;
use rotation_core::{AWSCURRENT, AWSPENDING};
use serde_json::Value;

/// A PostgreSQL role and a secret for it (edited by `edit`), driven by the same engine the
/// function uses when a test needs a rotation to stop part way.
pub struct PgSecret {
    pub r: Rotation<PostgresEngine>,
    pub user: String,
    pub password: String,
}

impl PgSecret {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    pub async fn with(edit: impl FnOnce(&mut Value)) -> Self {
        install_crypto_provider();
        let user = unique("app");
        let password = format!("initial-{}", unique("pw"));
        postgres().create_role(&user, &password).await;
        let mut secret = postgres().secret(&user, &password);
        edit(&mut secret);
        let r = Rotation::new(&secret, rotate_postgres::engine(Default::default())).await;
        Self { r, user, password }
    }

    pub fn arn(&self) -> &str {
        &self.r.arn
    }

    pub fn sm(&self) -> &SecretsManager {
        &self.r.sm
    }

    /// The password AWSCURRENT holds.
    pub async fn current_password(&self) -> String {
        self.r.value(AWSCURRENT).await["password"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// A PostgreSQL admin role (with CREATEROLE when `createrole`) and its admin secret.
pub struct PgAdmin {
    pub name: String,
    pub password: String,
    pub arn: String,
}

impl PgAdmin {
    pub async fn new(createrole: bool) -> Self {
        let name = unique("admin");
        let password = unique("admin-pw");
        match createrole {
            true => postgres().create_admin(&name, &password).await,
            false => postgres().create_role(&name, &password).await,
        }
        let arn = SecretsManager::connect()
            .await
            .create(
                &unique("admin"),
                &postgres().secret(&name, &password).to_string(),
            )
            .await;
        Self {
            name,
            password,
            arn,
        }
    }
}

/// Turns rotation on as RotateSecret does, then clears the value-less AWSPENDING it leaves, so
/// the secret is in the state a healthy, scheduled secret is in.
pub async fn enable_rotation(sm: &SecretsManager, arn: &str) {
    let token = sm.start_rotation(arn).await;
    sm.complete_rotation(arn, &token).await;
}

/// The version holding `stage`.
pub async fn holder(sm: &SecretsManager, arn: &str, stage: &str) -> Option<String> {
    sm.stages(arn)
        .await
        .into_iter()
        .find(|(_, stages)| stages.iter().any(|s| s == stage))
        .map(|(id, _)| id)
}

/// The codes of the problems `rotate status --json` reports, and its exit status.
pub async fn problems(arn: &str) -> (i32, Vec<String>) {
    let run = integration_tests::rotate(&["--json", "status", "--secret-id", arn], &[]).await;
    let doc = run.json();
    let codes = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect();
    (run.code, codes)
}

pub const PENDING: &str = AWSPENDING;
