//! The invariant every fault scenario ends with: the credentials the server accepts are held
//! by a labelled version (AWSCURRENT or AWSPENDING), and once the retries have succeeded the
//! labels are where a finished rotation leaves them.

use rotation_core::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use serde_json::Value;

use crate::{Neo4jServer, PgCluster, SecretsManager};

/// A server that can say whether a login works.
pub trait Logins {
    fn accepts(&self, user: &str, password: &str) -> impl Future<Output = bool>;
}

impl Logins for PgCluster {
    async fn accepts(&self, user: &str, password: &str) -> bool {
        self.can_login(user, password).await
    }
}

impl Logins for Neo4jServer {
    async fn accepts(&self, user: &str, password: &str) -> bool {
        self.can_login(user, password).await
    }
}

/// Where a scenario stands when the invariant is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Part way: a step failed or the process died; retries have not run yet.
    Interrupted,
    /// The retries succeeded.
    Settled,
}

/// Panics, naming what is wrong, unless the secret `arn` and `server` satisfy the invariant.
pub async fn assert_no_credential_lost(
    sm: &SecretsManager,
    arn: &str,
    server: &impl Logins,
    phase: Phase,
) {
    let stages = sm.stages(arn).await;
    let holder = |stage: &str| {
        stages
            .iter()
            .find(|(_, s)| s.iter().any(|x| x == stage))
            .map(|(id, _)| id.clone())
    };
    let current = holder(AWSCURRENT).expect("a version is labelled AWSCURRENT");
    let pending = holder(AWSPENDING);
    let mut working = Vec::new();
    let labelled = [(AWSCURRENT, Some(&current)), (AWSPENDING, pending.as_ref())];
    for (stage, version) in labelled.into_iter().filter_map(|(s, v)| Some((s, v?))) {
        if let Some((user, password)) = login_of(sm, arn, stage, version).await
            && server.accepts(&user, &password).await
        {
            working.push(version.clone());
        }
    }
    assert!(
        !working.is_empty(),
        "no credential the server accepts is labelled: neither AWSCURRENT ({current}) nor AWSPENDING ({pending:?}) logs in"
    );
    if phase == Phase::Settled {
        assert!(
            working.contains(&current),
            "after the retries AWSCURRENT ({current}) does not log in"
        );
        let previous = holder(AWSPREVIOUS).expect("a finished rotation leaves AWSPREVIOUS");
        assert_ne!(
            previous, current,
            "AWSPREVIOUS is on the AWSCURRENT version"
        );
        assert!(
            pending.as_ref().is_none_or(|p| *p == current),
            "AWSPENDING is left on another version ({pending:?}) after the retries"
        );
    }
}

/// The user name and password stored in `version` (labelled `stage`), when it holds a login.
async fn login_of(
    sm: &SecretsManager,
    arn: &str,
    stage: &str,
    version: &str,
) -> Option<(String, String)> {
    let out = sm
        .client
        .get_secret_value()
        .secret_id(arn)
        .version_id(version)
        .version_stage(stage)
        .send()
        .await
        .ok()?;
    let value: Value = serde_json::from_str(out.secret_string()?).ok()?;
    Some((
        value["username"].as_str()?.to_owned(),
        value["password"].as_str()?.to_owned(),
    ))
}
