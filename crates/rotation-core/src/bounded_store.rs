//! Every Secrets Manager call a step makes, bounded by what the invocation's deadline leaves.
//!
//! The SDK's own timeouts are fixed (aws_store.rs); a function with a short timeout would
//! otherwise reach the step's last-resort timeout, which cannot say what hung. Bounded here,
//! a hung Secrets Manager is reported as such, naming the call.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;

use crate::deadline::{Bound, Deadline};
use crate::redact::Secret;
use crate::store::{SecretMetadata, SecretStore, StoreError};

/// The longest one call to an AWS API may take when the deadline leaves more: a little longer
/// than the SDK's own operation timeout, so that when there is time for it, the SDK's timeout
/// (with its retries inside) is the one that decides, never a race between the two.
pub const AWS_CALL_BOUND: Duration =
    crate::aws_store::OPERATION_TIMEOUT.saturating_add(Duration::from_secs(1));

pub(crate) struct BoundedStore<'a> {
    inner: &'a dyn SecretStore,
    deadline: Deadline,
}

impl<'a> BoundedStore<'a> {
    pub(crate) fn new(inner: &'a dyn SecretStore, deadline: Deadline) -> Self {
        Self { inner, deadline }
    }

    async fn bounded<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StoreError>> + Send,
    ) -> Result<T, StoreError> {
        if self.deadline.remaining().is_none() {
            return call.await;
        }
        let fail = |message: String| StoreError::Timeout { operation, message };
        let limit = Bound::new(AWS_CALL_BOUND, self.deadline)
            .limit()
            .map_err(|exhausted| fail(format!("not sent: {exhausted}")))?;
        tokio::time::timeout(limit.duration, call)
            .await
            .unwrap_or_else(|_| {
                Err(fail(format!(
                    "got no answer within {:.1} s{}; the step is safe to run again",
                    limit.duration.as_secs_f32(),
                    if limit.cut_by_deadline {
                        " (all the time left before the function's deadline)"
                    } else {
                        ""
                    }
                )))
            })
    }
}

#[async_trait]
impl SecretStore for BoundedStore<'_> {
    async fn describe(&self, secret_id: &str) -> Result<SecretMetadata, StoreError> {
        self.bounded("DescribeSecret", self.inner.describe(secret_id))
            .await
    }

    async fn get_value(
        &self,
        secret_id: &str,
        stage: &str,
        version_id: Option<&str>,
    ) -> Result<Option<Secret>, StoreError> {
        self.bounded(
            "GetSecretValue",
            self.inner.get_value(secret_id, stage, version_id),
        )
        .await
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        version_id: &str,
        value: &Secret,
        rotation_token: Option<&Secret>,
    ) -> Result<(), StoreError> {
        self.bounded(
            "PutSecretValue",
            self.inner
                .put_pending(secret_id, version_id, value, rotation_token),
        )
        .await
    }

    async fn move_current(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: &str,
    ) -> Result<(), StoreError> {
        self.bounded(
            "UpdateSecretVersionStage",
            self.inner.move_current(secret_id, to_version, from_version),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InMemorySecretStore;
    use std::time::Instant;

    /// A Secrets Manager that never answers.
    struct Hung;

    #[async_trait]
    impl SecretStore for Hung {
        async fn describe(&self, _: &str) -> Result<SecretMetadata, StoreError> {
            std::future::pending().await
        }
        async fn get_value(
            &self,
            _: &str,
            _: &str,
            _: Option<&str>,
        ) -> Result<Option<Secret>, StoreError> {
            std::future::pending().await
        }
        async fn put_pending(
            &self,
            _: &str,
            _: &str,
            _: &Secret,
            _: Option<&Secret>,
        ) -> Result<(), StoreError> {
            std::future::pending().await
        }
        async fn move_current(&self, _: &str, _: &str, _: &str) -> Result<(), StoreError> {
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn a_hung_call_fails_before_the_deadline_and_names_the_call() {
        let store = BoundedStore::new(&Hung, Deadline::after(Duration::from_millis(1500)));
        let started = Instant::now();
        let err = store.get_value("s", "AWSCURRENT", None).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(1500));
        let message = err.to_string();
        assert!(message.contains("GetSecretValue"), "{message}");
        assert!(message.contains("no answer within"), "{message}");
        let err = err.for_stage("s", "AWSCURRENT");
        assert_eq!(err.error_type(), "Timeout", "{err}");
    }

    #[tokio::test]
    async fn no_deadline_leaves_the_call_alone() {
        let memory = InMemorySecretStore::default();
        let store = BoundedStore::new(&memory, Deadline::NONE);
        let err = store.describe("missing").await.unwrap_err();
        assert!(matches!(err, StoreError::Api { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_call_the_deadline_leaves_no_time_for_is_not_sent() {
        let memory = InMemorySecretStore::default();
        let store = BoundedStore::new(&memory, Deadline::after(Duration::from_millis(500)));
        let err = store.describe("missing").await.unwrap_err();
        assert!(matches!(err, StoreError::Timeout { .. }), "{err}");
        assert!(err.to_string().contains("DescribeSecret not sent"), "{err}");
    }
}
