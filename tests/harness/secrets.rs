//! Secrets Manager (moto) through the real AWS SDK, with the calls the service itself makes
//! around a rotation.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::RotationRulesType;
use rotation_core::{AWSPENDING, AwsSecretStore};

use crate::moto;

/// The version `stages` (as [`SecretsManager::stages`] gives them) labels `stage`.
pub fn version_with_stage(stages: &BTreeMap<String, Vec<String>>, stage: &str) -> Option<String> {
    stages
        .iter()
        .find(|(_, labels)| labels.iter().any(|l| l == stage))
        .map(|(id, _)| id.clone())
}

/// Version id → (labels, value), to prove a failed step changed nothing.
pub type Snapshot = BTreeMap<String, (Vec<String>, Option<String>)>;

#[derive(Clone)]
pub struct SecretsManager {
    pub client: Client,
    lambda_arn: String,
}

impl SecretsManager {
    /// A client for this test's runtime; SDK clients must not outlive the runtime they ran on.
    pub async fn connect() -> Self {
        let moto = moto();
        let config = moto.sdk_config().await;
        Self {
            client: Client::new(&config),
            lambda_arn: moto.lambda_arn.clone(),
        }
    }

    pub fn store(&self) -> AwsSecretStore {
        AwsSecretStore::new(self.client.clone())
    }

    /// Creates a secret and returns its ARN.
    pub async fn create(&self, name: &str, value: &str) -> String {
        let out = self
            .client
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
        out.arn().unwrap().to_owned()
    }

    pub async fn create_binary(&self, name: &str, value: &[u8]) -> String {
        let out = self
            .client
            .create_secret()
            .name(name)
            .secret_binary(Blob::new(value))
            .send()
            .await
            .unwrap();
        out.arn().unwrap().to_owned()
    }

    /// What RotateSecret does before the first step: enables rotation and adds a version with
    /// no value labelled AWSPENDING. Returns its id, the ClientRequestToken of every step.
    pub async fn start_rotation(&self, secret_id: &str) -> String {
        self.start_rotation_with(secret_id, &self.lambda_arn).await
    }

    /// As [`Self::start_rotation`], naming `function_arn` as the rotation function (one that
    /// nothing serves, such as [`crate::Moto::configured_function`]'s).
    pub async fn start_rotation_with(&self, secret_id: &str, function_arn: &str) -> String {
        self.rotate_secret(secret_id, function_arn, None)
            .await
            .unwrap()
    }

    /// RotateSecret with `function_arn` as the rotation function, rotating at once: the service
    /// itself invokes the four steps. The error names the failed step (see tests/moto/serve.py).
    /// On success AWSPENDING is then removed, as the service does and moto does not.
    pub async fn rotate_with(&self, secret_id: &str, function_arn: &str) -> Result<(), String> {
        let version = self
            .rotate_secret(secret_id, function_arn, Some(true))
            .await?;
        self.complete_rotation(secret_id, &version).await;
        Ok(())
    }

    /// RotateSecret with `function_arn` and a 30-day schedule, not rotating at once: Secrets
    /// Manager then only runs testSecret, on a temporary AWSPENDING copy of the value.
    pub async fn schedule_without_rotating(
        &self,
        secret_id: &str,
        function_arn: &str,
    ) -> Result<(), String> {
        self.rotate_secret(secret_id, function_arn, Some(false))
            .await
            .map(|_| ())
    }

    /// RotateSecret on a 30-day schedule, with RotateImmediately as given; the new version's id.
    async fn rotate_secret(
        &self,
        secret_id: &str,
        function_arn: &str,
        immediately: Option<bool>,
    ) -> Result<String, String> {
        let out = self
            .client
            .rotate_secret()
            .secret_id(secret_id)
            .rotation_lambda_arn(function_arn)
            .rotation_rules(
                RotationRulesType::builder()
                    .automatically_after_days(30)
                    .build(),
            )
            .set_rotate_immediately(immediately)
            .send()
            .await
            .map_err(|e| aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string())?;
        Ok(out.version_id().unwrap_or_default().to_owned())
    }

    /// What the service does after finishSecret succeeds: AWSPENDING leaves the new version.
    pub async fn complete_rotation(&self, secret_id: &str, token: &str) {
        self.client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(AWSPENDING)
            .remove_from_version_id(token)
            .send()
            .await
            .unwrap();
    }

    pub async fn cancel_rotation(&self, secret_id: &str) {
        self.client
            .cancel_rotate_secret()
            .secret_id(secret_id)
            .send()
            .await
            .unwrap();
    }

    /// Writes `value` as the AWSPENDING version `token`, as anyone allowed to write the secret
    /// could between createSecret and setSecret.
    pub async fn put_pending(&self, secret_id: &str, token: &str, value: &str) {
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(token)
            .secret_string(value)
            .version_stages(AWSPENDING)
            .send()
            .await
            .unwrap();
    }

    /// Adds a new AWSCURRENT value, as `PutSecretValue` without stages does.
    pub async fn put_current(&self, secret_id: &str, value: &str) {
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }

    pub async fn value(&self, secret_id: &str, stage: &str) -> Option<serde_json::Value> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(stage)
            .send()
            .await
            .ok()?;
        out.secret_string()
            .map(|s| serde_json::from_str(s).unwrap_or_else(|_| s.into()))
    }

    pub async fn stages(&self, secret_id: &str) -> BTreeMap<String, Vec<String>> {
        let out = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .unwrap();
        out.version_ids_to_stages()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    pub async fn snapshot(&self, secret_id: &str) -> Snapshot {
        let mut snapshot = Snapshot::new();
        for (version, stages) in self.stages(secret_id).await {
            let value = self
                .client
                .get_secret_value()
                .secret_id(secret_id)
                .version_id(&version)
                .version_stage(&stages[0])
                .send()
                .await
                .ok()
                .and_then(|o| o.secret_string().map(str::to_owned));
            snapshot.insert(version, (stages, value));
        }
        snapshot
    }
}
