//! [`SecretStore`] over the AWS SDK.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};

use crate::redact::{Secret, sanitize};
use crate::schedule::RotationRules;
use crate::store::{AWSCURRENT, AWSPENDING, SecretMetadata, SecretStore, StoreError};

/// Bounds on every Secrets Manager call, so an endpoint that cannot be reached (a VPC with
/// neither a Secrets Manager endpoint nor NAT, the most common misconfiguration) fails with a
/// clear timeout well inside the Lambda timeout instead of hanging until it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
pub(crate) const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);

#[derive(Debug, Clone)]
pub struct AwsSecretStore {
    client: Client,
}

impl AwsSecretStore {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// A client configured from the environment (region, credentials, `AWS_ENDPOINT_URL`),
    /// with bounded timeouts. Build it once per process: it holds the connection pool.
    pub async fn from_env() -> Self {
        Self::from_config(&aws_sdk_config().await)
    }

    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }
}

/// The AWS configuration from the environment, with every call bounded; load it once per
/// process and build each service's client from it.
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    aws_sdk_config_from(aws_config::from_env()).await
}

/// The configuration `loader` makes, with every call bounded as the functions bound theirs.
pub async fn aws_sdk_config_from(loader: aws_config::ConfigLoader) -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    loader.timeout_config(timeouts).load().await
}

/// The service's own code and message when it answered (any AWS service: the RDS lookup
/// reports its failures the same way) ("ResourceNotFoundException: Secrets
/// Manager can't find the specified secret."), else the whole chain of causes (a timeout, a
/// refused connection), which is what an operator needs to act on.
fn api_error<E>(operation: &'static str, err: E) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    StoreError::Api {
        operation,
        message: service_message(&err),
    }
}

pub fn service_message<E>(err: &E) -> String
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let message = match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => DisplayErrorContext(err).to_string(),
    };
    match missing_setting(&message) {
        // First, as a long chain of causes is cut short.
        Some(missing) => sanitize(&format!("{missing} ({message})")),
        None => sanitize(&message),
    }
}

/// What the SDK's failure says is missing from the environment, in the operator's words. Run
/// outside Lambda (by hand, against moto or a VPC endpoint), the SDK otherwise reports only
/// that IMDS, the last place it looked for credentials, refused it.
fn missing_setting(message: &str) -> Option<&'static str> {
    if message.contains("loading credentials") {
        Some(
            "no AWS credentials found: outside Lambda set AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY (any values for moto) or AWS_PROFILE",
        )
    } else if message.contains("MissingSigningRegion") || message.contains("missing signing region")
    {
        Some("no AWS region: set AWS_REGION (any, such as us-east-1, for moto)")
    } else {
        None
    }
}

#[async_trait]
impl SecretStore for AwsSecretStore {
    async fn describe(&self, secret_id: &str) -> Result<SecretMetadata, StoreError> {
        let out = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| api_error("DescribeSecret", e))?;
        Ok(SecretMetadata {
            rotation_enabled: out.rotation_enabled().unwrap_or(false),
            versions: out
                .version_ids_to_stages()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            tags: out
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                .collect(),
            rotation_rules: out
                .rotation_rules()
                .map(|rules| RotationRules {
                    automatically_after_days: rules
                        .automatically_after_days()
                        .and_then(|days| u64::try_from(days).ok()),
                    schedule_expression: rules.schedule_expression().map(str::to_owned),
                })
                .unwrap_or_default(),
        })
    }

    async fn get_value(
        &self,
        secret_id: &str,
        stage: &str,
        version_id: Option<&str>,
    ) -> Result<Option<Secret>, StoreError> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(stage)
            .set_version_id(version_id.map(str::to_owned))
            .send()
            .await;
        match result {
            Ok(out) => match (out.secret_string(), out.secret_binary()) {
                (Some(text), _) => Ok(Some(Secret::new(text))),
                (None, Some(_)) => Err(StoreError::Binary),
                (None, None) => Ok(None),
            },
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(api_error("GetSecretValue", err)),
        }
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        version_id: &str,
        value: &Secret,
        rotation_token: Option<&Secret>,
    ) -> Result<(), StoreError> {
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(version_id)
            .secret_string(value.expose())
            .version_stages(AWSPENDING)
            .set_rotation_token(rotation_token.map(|t| t.expose().to_owned()))
            .send()
            .await
            .map_err(|e| api_error("PutSecretValue", e))?;
        Ok(())
    }

    async fn move_current(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(AWSCURRENT)
            .move_to_version_id(to_version)
            .remove_from_version_id(from_version)
            .send()
            .await
            .map_err(|e| api_error("UpdateSecretVersionStage", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod missing_settings {
    use super::missing_setting;

    #[test]
    fn missing_credentials_and_region_are_named() {
        let imds = "dispatch failure: other: an error occurred while loading credentials: \
                    failed to load IMDS session token: service error";
        assert!(missing_setting(imds).unwrap().contains("AWS_ACCESS_KEY_ID"));
        let region = "dispatch failure: other: missing signing region (DispatchFailure(…))";
        assert!(missing_setting(region).unwrap().contains("AWS_REGION"));
        let refused = "ResourceNotFoundException: Secrets Manager can't find the secret";
        assert_eq!(missing_setting(refused), None);
    }
}
