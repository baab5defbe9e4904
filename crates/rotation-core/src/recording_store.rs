//! A [`SecretStore`] wrapper for tests that records which calls a rotation makes and how many
//! of them had to wait for another: what a rotation costs in AWS, where each call is a round
//! trip of 10–30 ms.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::redact::Secret;
use crate::store::{SecretMetadata, SecretStore, StoreError};

/// Long enough that calls sent together overlap, as they do on the network.
const LATENCY: Duration = Duration::from_millis(5);

pub struct RecordingStore<S> {
    inner: S,
    log: Mutex<Log>,
}

#[derive(Default)]
struct Log {
    /// "Operation" or "Operation STAGE", in the order sent.
    calls: Vec<String>,
    /// The longest chain of calls each sent only after the one before it answered.
    depth: usize,
}

impl<S> RecordingStore<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            log: Mutex::new(Log::default()),
        }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn calls(&self) -> Vec<String> {
        self.log.lock().unwrap().calls.clone()
    }

    /// Sequential round trips so far: a call sent while another is in flight shares its trip.
    pub fn round_trips(&self) -> usize {
        self.log.lock().unwrap().depth
    }

    pub fn reset(&self) {
        *self.log.lock().unwrap() = Log::default();
    }

    async fn record<T>(&self, call: String, answer: impl Future<Output = T>) -> T {
        let depth = {
            let mut log = self.log.lock().unwrap();
            log.calls.push(call);
            log.depth + 1
        };
        tokio::time::sleep(LATENCY).await;
        let answer = answer.await;
        let mut log = self.log.lock().unwrap();
        log.depth = log.depth.max(depth);
        answer
    }
}

#[async_trait]
impl<S: SecretStore> SecretStore for RecordingStore<S> {
    async fn describe(&self, secret_id: &str) -> Result<SecretMetadata, StoreError> {
        self.record("DescribeSecret".into(), self.inner.describe(secret_id))
            .await
    }

    async fn get_value(
        &self,
        secret_id: &str,
        stage: &str,
        version_id: Option<&str>,
    ) -> Result<Option<Secret>, StoreError> {
        self.record(
            format!("GetSecretValue {stage}"),
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
        self.record(
            "PutSecretValue".into(),
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
        self.record(
            "UpdateSecretVersionStage".into(),
            self.inner.move_current(secret_id, to_version, from_version),
        )
        .await
    }
}
