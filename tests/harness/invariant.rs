//! The invariant every fault scenario ends with: the credentials the server accepts are held
//! by a labelled version (AWSCURRENT or AWSPENDING), and once the retries have succeeded the
//! labels are where a finished rotation leaves them.

use rotation_core::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use serde_json::Value;

use crate::{Neo4jServer, PgCluster, SecretsManager, version_with_stage};

/// A server that can say whether a login works.
pub trait Logins {
    fn accepts(&self, user: &str, password: &str) -> impl Future<Output = bool>;
}

impl Logins for PgCluster {
    async fn accepts(&self, user: &str, password: &str) -> bool {
        self.can_login(user, password).await
    }
}

/// Once a Neo4j user has had too many refused logins (an application's, during a single-user
/// rotation), every refusal locks it again for the lock time, and a locked user refuses even
/// its right password. A lockout is waited out, once, so that it is not taken for a lost
/// password.
impl Logins for Neo4jServer {
    async fn accepts(&self, user: &str, password: &str) -> bool {
        match self.login(user, password).await {
            Ok(()) => true,
            Err(reason) if Neo4jServer::is_lockout(&reason) => {
                tokio::time::sleep(std::time::Duration::from_millis(5_500)).await;
                self.can_login(user, password).await
            }
            Err(_) => false,
        }
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

/// Panics, naming what is wrong, unless the secret `arn` and `server` satisfy the invariant:
/// AWSCURRENT or AWSPENDING holds a login the server accepts; every user AWSCURRENT or
/// AWSPREVIOUS names (both users, when they alternate) has its working password in a labelled
/// version;
/// and, once `Settled`, AWSCURRENT logs in, AWSPREVIOUS is another version and AWSPENDING is
/// on no other version.
pub async fn assert_no_credential_lost(
    sm: &SecretsManager,
    arn: &str,
    server: &impl Logins,
    phase: Phase,
) {
    let stages = sm.stages(arn).await;
    let holder = |stage: &str| version_with_stage(&stages, stage);
    let current = holder(AWSCURRENT).expect("a version is labelled AWSCURRENT");
    let pending = holder(AWSPENDING);
    let previous = holder(AWSPREVIOUS);
    let mut logins = Vec::new();
    let labelled = [
        (AWSCURRENT, Some(&current)),
        (AWSPENDING, pending.as_ref()),
        (AWSPREVIOUS, previous.as_ref()),
    ];
    for (stage, version) in labelled.into_iter().filter_map(|(s, v)| Some((s, v?))) {
        if let Some(login) = login_of(sm, arn, stage, version).await {
            logins.push((stage, version.clone(), login));
        }
    }
    // Each user's labelled passwords are tried in label order and only until one works, so
    // that the check itself adds as few refused logins as it can (Neo4j locks a user out
    // after a few).
    // A user only AWSPENDING names has nothing to keep yet: on the first alternating rotation
    // the clone does not exist until setSecret makes it.
    let mut users: Vec<&str> = logins
        .iter()
        .filter(|(stage, _, _)| *stage != AWSPENDING)
        .map(|(_, _, (user, _))| user.as_str())
        .collect();
    users.sort_unstable();
    users.dedup();
    let mut working = Vec::new();
    for user in users {
        let mut held = false;
        for (stage, version, (_, password)) in logins.iter().filter(|(_, _, (u, _))| u == user) {
            if server.accepts(user, password).await {
                working.push((*stage, version.clone()));
                held = true;
                break;
            }
        }
        assert!(
            held,
            "user {user:?} has no working password in any labelled version (AWSCURRENT {current}, AWSPENDING {pending:?}, AWSPREVIOUS {previous:?})"
        );
    }
    assert!(
        working.iter().any(|(stage, _)| *stage != AWSPREVIOUS),
        "no credential the server accepts is labelled: neither AWSCURRENT ({current}) nor AWSPENDING ({pending:?}) logs in"
    );
    if phase == Phase::Settled {
        let current_user = &logins
            .iter()
            .find(|(stage, _, _)| *stage == AWSCURRENT)
            .expect("AWSCURRENT holds a login")
            .2;
        assert!(
            server.accepts(&current_user.0, &current_user.1).await,
            "after the retries AWSCURRENT ({current}) does not log in"
        );
        assert_labels_settled(&current, previous.as_deref(), pending.as_deref());
    }
}

/// The JWT form of the invariant: every token in `tokens` (each signed by a key that was
/// AWSCURRENT within the overlap window) verifies, through PyJWT, against the verification
/// set of AWSCURRENT, and of AWSPENDING when it holds one (it becomes AWSCURRENT next). Once
/// `Settled`, a token signed with AWSCURRENT's key verifies too, AWSPREVIOUS is another
/// version and AWSPENDING is on no other version.
pub async fn assert_signed_tokens_verify(
    sm: &SecretsManager,
    arn: &str,
    tokens: &[String],
    phase: Phase,
) {
    let stages = sm.stages(arn).await;
    let holder = |stage: &str| version_with_stage(&stages, stage);
    let current = holder(AWSCURRENT).expect("a version is labelled AWSCURRENT");
    let pending = holder(AWSPENDING);
    let current_value = sm
        .value(arn, AWSCURRENT)
        .await
        .expect("an AWSCURRENT value");
    let mut tokens: Vec<String> = tokens.to_vec();
    if phase == Phase::Settled {
        tokens.push(crate::sign_as_app(
            &current_value,
            &serde_json::json!({"sub": "after", "exp": crate::unix_now() + 600}),
        ));
    }
    let mut sets = vec![(AWSCURRENT, current_value)];
    if pending.as_ref().is_some_and(|p| *p != current)
        && let Some(value) = sm.value(arn, AWSPENDING).await
    {
        sets.push((AWSPENDING, value));
    }
    let token_refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    for (stage, value) in &sets {
        for (i, verdict) in crate::PyJwt::verify(&value[rotate_jwt::JWKS], &token_refs)
            .into_iter()
            .enumerate()
        {
            assert!(
                matches!(verdict, crate::Verdict::Valid(_)),
                "token {i} of {} no longer verifies against the {stage} verification set: {verdict:?}",
                tokens.len()
            );
        }
    }
    if phase == Phase::Settled {
        assert_labels_settled(&current, holder(AWSPREVIOUS).as_deref(), pending.as_deref());
    }
}

/// Where a finished rotation leaves the labels: AWSPREVIOUS on another version than
/// AWSCURRENT, and AWSPENDING on no other version.
fn assert_labels_settled(current: &str, previous: Option<&str>, pending: Option<&str>) {
    let previous = previous.expect("a finished rotation leaves AWSPREVIOUS");
    assert_ne!(
        previous, current,
        "AWSPREVIOUS is on the AWSCURRENT version"
    );
    assert!(
        pending.is_none_or(|p| p == current),
        "AWSPENDING is left on another version ({pending:?}) after the retries"
    );
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
