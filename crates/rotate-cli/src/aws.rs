//! The AWS side of the operator's tool: configuration from the command line and the default
//! chain, and the Secrets Manager calls a rotation function never makes (listing versions,
//! creating secrets, moving labels other than AWSCURRENT, turning rotation on).

use aws_config::BehaviorVersion;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::primitives::DateTimeFormat;
use aws_sdk_secretsmanager::types::{RotationRulesType, Tag};
use rotation_core::{AwsSecretStore, Secret, sanitize, service_message};

use crate::cli::Global;
use crate::exit::Stop;

/// Region and profile from the command line where given, else the default chain
/// (environment, profile files, SSO, instance and container roles), with every call bounded
/// as the functions bound theirs. `--endpoint-url` is Secrets Manager's alone (see
/// [`SecretsApi::new`]): a Secrets Manager VPC endpoint must not receive Lambda's or RDS's
/// calls, whose endpoints come from the usual AWS_ENDPOINT_URL_* variables.
pub async fn sdk_config(global: &Global) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &global.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &global.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    rotation_core::aws_sdk_config_from(loader).await
}

/// One version as `ListSecretVersionIds` reports it.
#[derive(Debug, Clone)]
pub struct Version {
    pub id: String,
    pub stages: Vec<String>,
    pub created: Option<String>,
}

impl Version {
    pub fn has(&self, stage: &str) -> bool {
        self.stages.iter().any(|s| s == stage)
    }
}

/// What `status` and `repair` work from.
#[derive(Debug, Clone, Default)]
pub struct SecretState {
    pub arn: String,
    pub name: String,
    pub rotation_enabled: bool,
    pub function: Option<String>,
    pub every_days: Option<i64>,
    pub schedule: Option<String>,
    pub window: Option<String>,
    pub last_rotated: Option<String>,
    pub next_rotation: Option<String>,
    /// Labelled versions, newest first.
    pub versions: Vec<Version>,
}

impl SecretState {
    pub fn holder(&self, stage: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.has(stage))
    }
}

pub struct SecretsApi {
    client: Client,
    lambda: aws_sdk_lambda::Client,
    pub store: AwsSecretStore,
}

fn failed<E>(operation: &str, secret: &str, err: E) -> Stop
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    Stop::failed(format!(
        "Secrets Manager {operation} on {} failed: {}",
        sanitize(secret),
        service_message(&err)
    ))
}

fn date(d: Option<&aws_sdk_secretsmanager::primitives::DateTime>) -> Option<String> {
    d.and_then(|d| d.fmt(DateTimeFormat::DateTime).ok())
}

impl SecretsApi {
    pub fn new(config: &aws_config::SdkConfig, endpoint_url: Option<&str>) -> Self {
        let mut secrets = aws_sdk_secretsmanager::config::Builder::from(config);
        if let Some(url) = endpoint_url {
            secrets = secrets.endpoint_url(url);
        }
        let client = Client::from_conf(secrets.build());
        Self {
            store: AwsSecretStore::new(client.clone()),
            lambda: aws_sdk_lambda::Client::new(config),
            client,
        }
    }

    /// The environment variables of function `arn`: its rotation settings.
    pub async fn function_environment(
        &self,
        arn: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, String> {
        let out = self
            .lambda
            .get_function_configuration()
            .function_name(arn)
            .send()
            .await
            .map_err(|e| service_message(&e))?;
        Ok(out
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// Whether Lambda knows function `arn`: `Err` with the reason when it could not be asked
    /// (no lambda:GetFunction permission, say), which says nothing about the function.
    pub async fn function_exists(&self, arn: &str) -> Result<bool, String> {
        match self.lambda.get_function().function_name(arn).send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(service_message(&e)),
        }
    }

    pub async fn state(&self, secret_id: &str) -> Result<SecretState, Stop> {
        let described = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| failed("DescribeSecret", secret_id, e))?;
        let rules = described.rotation_rules();
        let mut state = SecretState {
            arn: described.arn().unwrap_or(secret_id).to_owned(),
            name: described.name().unwrap_or(secret_id).to_owned(),
            rotation_enabled: described.rotation_enabled().unwrap_or(false),
            function: described
                .rotation_lambda_arn()
                .filter(|arn| !arn.is_empty())
                .map(str::to_owned),
            every_days: rules
                .and_then(|r| r.automatically_after_days())
                .filter(|days| *days > 0),
            schedule: rules
                .and_then(|r| r.schedule_expression())
                .map(str::to_owned),
            window: rules.and_then(|r| r.duration()).map(str::to_owned),
            last_rotated: date(described.last_rotated_date()),
            next_rotation: date(described.next_rotation_date()),
            versions: Vec::new(),
        };
        let mut pages = self
            .client
            .list_secret_version_ids()
            .secret_id(secret_id)
            .into_paginator()
            .send();
        let mut versions = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| failed("ListSecretVersionIds", secret_id, e))?;
            for v in page.versions() {
                versions.push((
                    v.created_date().map(|d| (d.secs(), d.subsec_nanos())),
                    Version {
                        id: v.version_id().unwrap_or_default().to_owned(),
                        stages: v.version_stages().to_vec(),
                        created: date(v.created_date()),
                    },
                ));
            }
        }
        // Versions with no label are on their way out; the service lists them only on request.
        versions.retain(|(_, v)| !v.stages.is_empty());
        versions.sort_by_key(|v| std::cmp::Reverse(v.0));
        state.versions = versions.into_iter().map(|(_, v)| v).collect();
        Ok(state)
    }

    /// Whether `version` holds a value; the value itself is dropped unread.
    pub async fn has_value(
        &self,
        secret_id: &str,
        stage: &str,
        version: &str,
    ) -> Result<bool, Stop> {
        use rotation_core::SecretStore;
        Ok(self
            .store
            .get_value(secret_id, stage, Some(version))
            .await?
            .is_some())
    }

    /// Takes `stage` off `version`, moving it nowhere.
    pub async fn remove_stage(
        &self,
        secret_id: &str,
        stage: &str,
        version: &str,
    ) -> Result<(), Stop> {
        self.client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(stage)
            .remove_from_version_id(version)
            .send()
            .await
            .map_err(|e| failed("UpdateSecretVersionStage", secret_id, e))?;
        Ok(())
    }

    pub async fn exists(&self, name: &str) -> Result<bool, Stop> {
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(failed("DescribeSecret", name, e)),
        }
    }

    /// Creates secret `name` holding `value`; answers its ARN.
    pub async fn create(
        &self,
        name: &str,
        value: &Secret,
        description: &str,
        tags: &[(String, String)],
    ) -> Result<String, Stop> {
        let tags = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        let out = self
            .client
            .create_secret()
            .name(name)
            .description(description)
            .secret_string(value.expose())
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| failed("CreateSecret", name, e))?;
        Ok(out.arn().unwrap_or(name).to_owned())
    }

    /// Turns rotation on with `function` every `days` days, without rotating at once: Secrets
    /// Manager then only tries the function's testSecret step on a temporary AWSPENDING copy,
    /// and the first rotation comes with the schedule (or `rotate run`).
    pub async fn enable_rotation(
        &self,
        secret_id: &str,
        function: &str,
        days: i64,
    ) -> Result<(), Stop> {
        self.client
            .rotate_secret()
            .secret_id(secret_id)
            .rotation_lambda_arn(function)
            .rotation_rules(
                RotationRulesType::builder()
                    .automatically_after_days(days)
                    .build(),
            )
            .rotate_immediately(false)
            .send()
            .await
            .map_err(|e| failed("RotateSecret", secret_id, e))?;
        Ok(())
    }
}
