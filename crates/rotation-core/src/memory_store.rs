//! An in-memory Secrets Manager for unit tests of the state machine.
//!
//! It keeps the service's rules that rotation code can trip over: `RotateSecret` first makes a
//! version with no value labelled AWSPENDING; a version's value can never be changed once
//! written; moving AWSCURRENT hands AWSPREVIOUS to the version that lost it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::redact::Secret;
use crate::store::{AWSCURRENT, AWSPENDING, AWSPREVIOUS, SecretMetadata, SecretStore, StoreError};

#[derive(Debug, Clone)]
enum Payload {
    Empty,
    Text(Secret),
    Binary,
}

#[derive(Debug, Default)]
struct StoredSecret {
    rotation_enabled: bool,
    tags: BTreeMap<String, String>,
    versions: BTreeMap<String, (Payload, Vec<String>)>,
    next_version: u64,
}

impl StoredSecret {
    fn remove_stage(&mut self, stage: &str) {
        for (_, stages) in self.versions.values_mut() {
            stages.retain(|s| s != stage);
        }
    }

    fn holder_of(&self, stage: &str) -> Option<String> {
        self.versions
            .iter()
            .find(|(_, (_, stages))| stages.iter().any(|s| s == stage))
            .map(|(id, _)| id.clone())
    }

    fn add_version(&mut self, payload: Payload) -> String {
        self.next_version += 1;
        let id = format!("v{:04}", self.next_version);
        let previous = self.holder_of(AWSCURRENT);
        self.versions.insert(id.clone(), (payload, Vec::new()));
        self.promote(&id, previous.as_deref());
        id
    }

    fn promote(&mut self, to: &str, from: Option<&str>) {
        if from.is_some() {
            self.remove_stage(AWSPREVIOUS);
        }
        self.remove_stage(AWSCURRENT);
        if let Some(from) = from {
            self.versions
                .get_mut(from)
                .unwrap()
                .1
                .push(AWSPREVIOUS.into());
        }
        self.versions.get_mut(to).unwrap().1.push(AWSCURRENT.into());
    }
}

#[derive(Debug, Default)]
pub struct InMemorySecretStore {
    secrets: Mutex<HashMap<String, StoredSecret>>,
}

fn not_found(operation: &'static str, what: &str) -> StoreError {
    StoreError::Api {
        operation,
        message: format!("ResourceNotFoundException: {what}"),
    }
}

impl InMemorySecretStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Like `CreateSecret` with a `SecretString`, rotation enabled.
    pub fn create(&self, name: &str, value: &str) -> String {
        self.create_payload(name, Payload::Text(Secret::new(value)))
    }

    /// Like `CreateSecret` with a `SecretBinary`.
    pub fn create_binary(&self, name: &str) -> String {
        self.create_payload(name, Payload::Binary)
    }

    fn create_payload(&self, name: &str, payload: Payload) -> String {
        let mut secrets = self.secrets.lock().unwrap();
        let secret = secrets.entry(name.to_owned()).or_default();
        secret.rotation_enabled = true;
        secret.add_version(payload)
    }

    /// Like `PutSecretValue` without stages: a new AWSCURRENT version.
    pub fn put_current(&self, name: &str, value: &str) -> String {
        let mut secrets = self.secrets.lock().unwrap();
        secrets
            .get_mut(name)
            .expect("secret exists")
            .add_version(Payload::Text(Secret::new(value)))
    }

    pub fn set_rotation_enabled(&self, name: &str, enabled: bool) {
        self.secrets
            .lock()
            .unwrap()
            .get_mut(name)
            .unwrap()
            .rotation_enabled = enabled;
    }

    /// Tags as RDS puts them on the master secrets it manages (AWS refuses `aws:` tags from
    /// anyone else).
    pub fn set_tag(&self, name: &str, key: &str, value: &str) {
        self.secrets
            .lock()
            .unwrap()
            .get_mut(name)
            .unwrap()
            .tags
            .insert(key.to_owned(), value.to_owned());
    }

    /// What `RotateSecret` does before invoking the function: a new version id labelled
    /// AWSPENDING, holding no value.
    pub fn start_rotation(&self, name: &str) -> String {
        let mut secrets = self.secrets.lock().unwrap();
        let secret = secrets.get_mut(name).expect("secret exists");
        secret.next_version += 1;
        let token = format!("token-{:04}", secret.next_version);
        secret.remove_stage(AWSPENDING);
        secret
            .versions
            .insert(token.clone(), (Payload::Empty, vec![AWSPENDING.into()]));
        token
    }

    /// What the service does after finishSecret succeeds: AWSPENDING is removed.
    pub fn complete_rotation(&self, name: &str) {
        let mut secrets = self.secrets.lock().unwrap();
        secrets.get_mut(name).unwrap().remove_stage(AWSPENDING);
    }

    /// The value under `stage`, for assertions.
    pub fn value_at(&self, name: &str, stage: &str) -> Option<Secret> {
        let secrets = self.secrets.lock().unwrap();
        let secret = secrets.get(name)?;
        let id = secret.holder_of(stage)?;
        match &secret.versions[&id].0 {
            Payload::Text(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// A snapshot of labels and values, to compare before and after a failing step.
    pub fn snapshot(&self, name: &str) -> Vec<(String, Option<String>, Vec<String>)> {
        let secrets = self.secrets.lock().unwrap();
        secrets[name]
            .versions
            .iter()
            .map(|(id, (payload, stages))| {
                let value = match payload {
                    Payload::Text(s) => Some(s.expose().to_owned()),
                    Payload::Binary => Some("<binary>".into()),
                    Payload::Empty => None,
                };
                (id.clone(), value, stages.clone())
            })
            .collect()
    }
}

#[async_trait]
impl SecretStore for InMemorySecretStore {
    async fn describe(&self, secret_id: &str) -> Result<SecretMetadata, StoreError> {
        let secrets = self.secrets.lock().unwrap();
        let secret = secrets
            .get(secret_id)
            .ok_or_else(|| not_found("DescribeSecret", "no such secret"))?;
        Ok(SecretMetadata {
            rotation_enabled: secret.rotation_enabled,
            versions: secret
                .versions
                .iter()
                .filter(|(_, (_, stages))| !stages.is_empty())
                .map(|(id, (_, stages))| (id.clone(), stages.clone()))
                .collect(),
            tags: secret.tags.clone(),
            // RotateSecret here takes no schedule.
            rotation_rules: Default::default(),
        })
    }

    async fn get_value(
        &self,
        secret_id: &str,
        stage: &str,
        version_id: Option<&str>,
    ) -> Result<Option<Secret>, StoreError> {
        let secrets = self.secrets.lock().unwrap();
        let secret = secrets
            .get(secret_id)
            .ok_or_else(|| not_found("GetSecretValue", "no such secret"))?;
        let Some(id) = secret.holder_of(stage) else {
            return Ok(None);
        };
        if version_id.is_some_and(|v| v != id) {
            return Ok(None);
        }
        match &secret.versions[&id].0 {
            Payload::Empty => Ok(None),
            Payload::Text(s) => Ok(Some(s.clone())),
            Payload::Binary => Err(StoreError::Binary),
        }
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        version_id: &str,
        value: &Secret,
        _rotation_token: Option<&Secret>,
    ) -> Result<(), StoreError> {
        let mut secrets = self.secrets.lock().unwrap();
        let secret = secrets
            .get_mut(secret_id)
            .ok_or_else(|| not_found("PutSecretValue", "no such secret"))?;
        if let Some((Payload::Text(existing), _)) = secret.versions.get(version_id) {
            if existing == value {
                return Ok(());
            }
            return Err(StoreError::Api {
                operation: "PutSecretValue",
                message: "ResourceExistsException: a version with this ClientRequestToken already exists with a different value".into(),
            });
        }
        secret.remove_stage(AWSPENDING);
        secret.versions.insert(
            version_id.to_owned(),
            (Payload::Text(value.clone()), vec![AWSPENDING.into()]),
        );
        Ok(())
    }

    async fn move_current(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: &str,
    ) -> Result<(), StoreError> {
        let mut secrets = self.secrets.lock().unwrap();
        let secret = secrets
            .get_mut(secret_id)
            .ok_or_else(|| not_found("UpdateSecretVersionStage", "no such secret"))?;
        if secret.holder_of(AWSCURRENT).as_deref() != Some(from_version) {
            return Err(StoreError::Api {
                operation: "UpdateSecretVersionStage",
                message: "InvalidParameterException: AWSCURRENT is not on RemoveFromVersionId"
                    .into(),
            });
        }
        if !secret.versions.contains_key(to_version) {
            return Err(not_found("UpdateSecretVersionStage", "no such version"));
        }
        secret.promote(to_version, Some(from_version));
        Ok(())
    }
}
