//! Publishing the public verification set where verifiers fetch it: an S3 object (behind a
//! CDN or a bucket website, as the `jwks_uri` of an issuer), written by finishSecret once
//! AWSCURRENT holds the new set.
//!
//! Where it goes is the function's own setting (`JWKS_BUCKET`, `JWKS_KEY`), never the
//! secret's: a team that may write the secret must not steer what the function writes
//! elsewhere, and the role may write that one object only.

use std::time::Duration;

use async_trait::async_trait;
use rotation_core::{AWS_CALL_BOUND, Bound, Deadline, RotationError, sanitize};

/// Stands for the secret's name in `JWKS_KEY`, so one function can publish several sets.
pub const NAME_PLACEHOLDER: &str = "{name}";
/// `JWKS_KEY` when only `JWKS_BUCKET` is set.
pub const DEFAULT_JWKS_KEY: &str = "{name}/jwks.json";
/// Longest a verifier should cache the set: a day is long enough for any cache to help, and
/// short enough that an unscheduled rotation soon after a scheduled one still reaches it.
pub const MAX_CACHE: Duration = Duration::from_secs(24 * 3600);
/// Secrets Manager rotates at most every four hours; a schedule whose interval the function
/// cannot read (a cron expression) is taken to be that short.
pub const MIN_INTERVAL: Duration = Duration::from_secs(4 * 3600);

/// Where the set goes: a bucket and a key, possibly with [`NAME_PLACEHOLDER`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksTarget {
    pub bucket: String,
    pub key: String,
}

impl JwksTarget {
    /// The object key for secret `secret_id` (an ARN or a name): the placeholder becomes the
    /// secret's name, without the ARN's random suffix.
    pub fn key_for(&self, secret_id: &str) -> String {
        self.key.replace(NAME_PLACEHOLDER, secret_name(secret_id))
    }
}

/// The name of a secret named by ARN (`arn:…:secret:NAME-AbCdEf`), or the name itself.
pub fn secret_name(secret_id: &str) -> &str {
    match secret_id.split_once(":secret:") {
        Some((prefix, rest)) if prefix.starts_with("arn:") => match rest.rsplit_once('-') {
            Some((name, suffix))
                if suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                name
            }
            _ => rest,
        },
        _ => secret_id,
    }
}

/// How long a verifier may cache the set, given the secret's rotation interval: half of it,
/// at most [`MAX_CACHE`]. Half, so that a verifier honouring it has held the next key for at
/// least half an interval when that key starts to sign.
pub fn cache_max_age(interval: Option<Duration>) -> Duration {
    (interval.unwrap_or(MIN_INTERVAL).max(MIN_INTERVAL) / 2).min(MAX_CACHE)
}

/// The `Cache-Control` header of the published set.
pub fn cache_control(interval: Option<Duration>) -> String {
    format!("public, max-age={}", cache_max_age(interval).as_secs())
}

/// Writes one object; the seam between the engine and S3.
#[async_trait]
pub trait JwksPublisher: Send + Sync {
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        cache_control: &str,
    ) -> Result<(), String>;
}

/// S3 through the AWS SDK, with the same bounds on each call as Secrets Manager's.
pub struct S3Publisher {
    client: aws_sdk_s3::Client,
}

impl S3Publisher {
    /// A client on `config`. Another endpoint (`AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`,
    /// such as moto) is addressed path-style, which keeps the bucket out of the host name.
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        let custom =
            config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(custom)
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(s3),
        }
    }
}

#[async_trait]
impl JwksPublisher for S3Publisher {
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        cache_control: &str,
    ) -> Result<(), String> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .cache_control(cache_control)
            .body(body.into())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| rotation_core::service_message(&e))
    }
}

/// Writes `jwks` to `target` for `secret_id`, answering before `deadline`.
pub async fn publish(
    publisher: &dyn JwksPublisher,
    target: &JwksTarget,
    secret_id: &str,
    jwks: &serde_json::Value,
    interval: Option<Duration>,
    deadline: Deadline,
) -> Result<(), RotationError> {
    let key = target.key_for(secret_id);
    let location = format!("s3://{}/{}", target.bucket, sanitize(&key));
    let failed = |message: String| RotationError::Publish {
        what: location.clone(),
        message,
    };
    let body = serde_json::to_vec(jwks).map_err(|e| failed(e.to_string()))?;
    let cache = cache_control(interval);
    let limit = Bound::new(AWS_CALL_BOUND, deadline)
        .limit()
        .map_err(|e| failed(e.to_string()))?;
    let put = publisher.put(&target.bucket, &key, body, &cache);
    match tokio::time::timeout(limit.duration, put).await {
        Ok(Ok(())) => {
            tracing::info!(location = %location, cache_control = %cache, "published the verification set");
            Ok(())
        }
        Ok(Err(message)) => Err(failed(message)),
        Err(_) => Err(failed(format!("S3 did not answer within {limit}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_comes_from_the_arn_without_its_suffix() {
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt/signing-AbC123";
        assert_eq!(secret_name(arn), "jwt/signing");
        assert_eq!(secret_name("jwt/signing"), "jwt/signing");
        // A name whose last part merely looks like a suffix is kept whole when named.
        assert_eq!(secret_name("my-secret"), "my-secret");
        let target = JwksTarget {
            bucket: "keys".into(),
            key: DEFAULT_JWKS_KEY.into(),
        };
        assert_eq!(target.key_for(arn), "jwt/signing/jwks.json");
    }

    #[test]
    fn verifiers_cache_half_an_interval_at_most_a_day() {
        let days = |n: u64| Some(Duration::from_secs(n * 86_400));
        assert_eq!(cache_max_age(days(30)), MAX_CACHE);
        assert_eq!(cache_max_age(days(1)), Duration::from_secs(12 * 3600));
        assert_eq!(cache_max_age(None), Duration::from_secs(2 * 3600));
        assert_eq!(
            cache_max_age(Some(Duration::from_secs(60))),
            Duration::from_secs(2 * 3600),
            "never below half the shortest interval Secrets Manager allows"
        );
        assert_eq!(cache_control(days(90)), "public, max-age=86400");
    }
}
