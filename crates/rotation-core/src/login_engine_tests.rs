//! The shared login rules against the in-memory store and a toy server that keeps its users in
//! memory and records every login attempt: which endpoint, which user, in which capacity.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::*;
use crate::deadline::{Bound, Deadline};
use crate::error::FailureKind;
use crate::rds::{RDS_CLUSTER_TAG, RdsAddress, RdsEndpoints, RdsResource};
use crate::recording_store::RecordingStore;
use crate::server::{AdminRights, EndpointError, Identity, LoginFailure, LoginRole, PasswordCheck};
use crate::{InMemorySecretStore, Rotator, Step, StrategyConfig, StrategySetting};

#[derive(Debug, Clone, PartialEq, Eq)]
struct ToyEndpoint {
    host: String,
    port: u16,
    tls: bool,
}

impl Endpoint for ToyEndpoint {
    fn host(&self) -> &str {
        &self.host
    }
    fn port(&self) -> u16 {
        self.port
    }
    fn differs(&self, other: &Self) -> Option<&'static str> {
        if !self.is_at(&other.host, other.port) {
            Some("host")
        } else if self.tls != other.tls {
            Some("tls")
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Attempt {
    at: String,
    user: String,
    role: LoginRole,
    tls: bool,
    accepted: bool,
}

#[derive(Default)]
struct ToyServer {
    /// user → (password, acting as)
    users: Mutex<BTreeMap<String, (String, String)>>,
    attempts: Mutex<Vec<Attempt>>,
    /// Lets any password in, as `trust` authentication does.
    trust: bool,
    /// Logins do not show whether the password was checked (cleartext or MD5).
    unproven: bool,
}

struct ToySession {
    user: String,
    check: PasswordCheck,
}

impl ToyServer {
    fn with_user(self, user: &str, password: &str) -> Self {
        self.users
            .lock()
            .unwrap()
            .insert(user.into(), (password.into(), user.into()));
        self
    }

    fn password_of(&self, user: &str) -> Option<String> {
        self.users.lock().unwrap().get(user).map(|(p, _)| p.clone())
    }

    fn attempts(&self) -> Vec<Attempt> {
        self.attempts.lock().unwrap().clone()
    }
}

#[async_trait]
impl Server for ToyServer {
    type Endpoint = ToyEndpoint;
    type Session = ToySession;
    const NAME: &'static str = "toy";
    const ENGINES: &'static [&'static str] = &["toy"];
    const MAX_USERNAME_BYTES: usize = 63;
    const ADMIN_SERVER_KEY: &'static str = "host";
    const WRONG_PASSWORD_PROBE: bool = true;

    fn endpoint(&self, secret: &LoginSecret) -> Result<ToyEndpoint, EndpointError> {
        Ok(ToyEndpoint {
            host: secret.required(&["host"])?,
            port: secret.get("port").and_then(Value::as_u64).unwrap_or(1) as u16,
            tls: secret.get("tls").and_then(Value::as_bool).unwrap_or(true),
        })
    }

    fn admin_endpoint(
        &self,
        admin: &LoginSecret,
        _user: &ToyEndpoint,
    ) -> Result<Option<ToyEndpoint>, EndpointError> {
        match admin.string(&["host"])? {
            Some(_) => self.endpoint(admin).map(Some),
            None => Ok(None),
        }
    }

    fn located_admin_endpoint(
        &self,
        _admin: &LoginSecret,
        host: &str,
        port: u16,
        _user: &ToyEndpoint,
    ) -> Result<ToyEndpoint, EndpointError> {
        Ok(ToyEndpoint {
            host: host.into(),
            port,
            tls: true,
        })
    }

    async fn login(
        &self,
        endpoint: &ToyEndpoint,
        who: Credentials<'_>,
        bound: Bound,
    ) -> Result<ToySession, LoginFailure> {
        bound
            .limit()
            .map_err(|e| LoginFailure::new(FailureKind::Timeout, format!("not started: {e}")))?;
        let accepted =
            self.trust || self.password_of(who.username).as_deref() == Some(who.password.expose());
        self.attempts.lock().unwrap().push(Attempt {
            at: endpoint.address(),
            user: who.username.into(),
            role: who.role,
            tls: endpoint.tls,
            accepted,
        });
        if accepted {
            Ok(ToySession {
                user: who.username.into(),
                check: match (self.unproven, self.trust) {
                    (true, _) => PasswordCheck::Unknown,
                    (false, true) => PasswordCheck::NotAsked,
                    (false, false) => PasswordCheck::Proven,
                },
            })
        } else {
            Err(LoginFailure::new(
                FailureKind::LoginRefused,
                format!("password refused for {}", who.username),
            ))
        }
    }

    fn password_check(&self, s: &ToySession) -> PasswordCheck {
        s.check
    }

    async fn identity(&self, s: &mut ToySession, _: Bound) -> Result<Identity, RotationError> {
        let acting = self.users.lock().unwrap()[&s.user].1.clone();
        Ok(Identity {
            user: s.user.clone(),
            acting_as: acting,
        })
    }

    async fn change_own_password(
        &self,
        s: &mut ToySession,
        _: &str,
        _: &Secret,
        new: &Secret,
        _: Bound,
    ) -> Result<(), RotationError> {
        self.users.lock().unwrap().get_mut(&s.user).unwrap().0 = new.expose().into();
        Ok(())
    }

    async fn apply_as_admin(
        &self,
        _: &mut ToySession,
        change: UserChange<'_>,
        _: Bound,
    ) -> Result<bool, RotationError> {
        let mut users = self.users.lock().unwrap();
        let created = !users.contains_key(change.user);
        let entry = users
            .entry(change.user.into())
            .or_insert_with(|| (String::new(), change.user.into()));
        if let Some(password) = change.password {
            entry.0 = password.expose().into();
        }
        if let Some(base) = change.act_as {
            entry.1 = base.into();
        }
        Ok(created)
    }

    async fn admin_rights(
        &self,
        _: &mut ToySession,
        users: &[&str],
        _: Bound,
    ) -> Result<AdminRights, RotationError> {
        Ok(AdminRights::Sufficient(format!(
            "toy admins manage {}",
            users.join(", ")
        )))
    }

    async fn drift(
        &self,
        _: &mut ToySession,
        identity: &Identity,
        base: &str,
        _: Option<&mut ToySession>,
        _: Bound,
    ) -> Result<Option<String>, RotationError> {
        Ok((identity.acting_as != base).then(|| format!("acts as {}", identity.acting_as)))
    }
}

struct StaticDirectory(RdsEndpoints);

#[async_trait]
impl DatabaseDirectory for StaticDirectory {
    async fn endpoints(&self, resource: &RdsResource) -> Result<RdsEndpoints, String> {
        assert_eq!(resource.arn(), "arn:aws:rds:us-east-1:1:cluster:main");
        Ok(self.0.clone())
    }
}

fn at(host: &str, port: u16) -> RdsAddress {
    RdsAddress {
        host: host.into(),
        port,
    }
}

const USER: &str = "app";

fn user_secret(extra: Value) -> String {
    let mut secret = json!({"host": "db", "port": 5432, "username": USER, "password": "pw-0"});
    secret
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    secret.to_string()
}

fn engine(server: ToyServer) -> LoginEngine<ToyServer> {
    LoginEngine::new(server, LoginSettings::default())
}

/// A secret rotated by `engine`, its rotation started and its pending value created.
async fn begun(
    store: InMemorySecretStore,
    engine: LoginEngine<ToyServer>,
    value: &str,
) -> (Rotator<InMemorySecretStore, LoginEngine<ToyServer>>, String) {
    store.create("s", value);
    let token = store.start_rotation("s");
    let rotator = Rotator::new(store, engine);
    rotator
        .run(&event(Step::CreateSecret, &token))
        .await
        .unwrap();
    (rotator, token)
}

fn event(step: Step, token: &str) -> crate::RotationEvent {
    crate::RotationEvent {
        step,
        secret_id: "s".into(),
        token: token.into(),
        rotation_token: None,
    }
}

/// A single-user rotation of `USER`, whose password on the toy server is "pw-0", begun.
async fn single_user() -> (Rotator<InMemorySecretStore, LoginEngine<ToyServer>>, String) {
    begun(
        InMemorySecretStore::new(),
        engine(ToyServer::default().with_user(USER, "pw-0")),
        &user_secret(json!({})),
    )
    .await
}

fn pending_password(store: &InMemorySecretStore) -> String {
    let value: Value =
        serde_json::from_str(store.value_at("s", AWSPENDING).unwrap().expose()).unwrap();
    value["password"].as_str().unwrap().into()
}

#[tokio::test]
async fn a_normal_single_user_rotation_makes_no_failed_login() {
    let (rotator, token) = single_user().await;
    for step in [Step::SetSecret, Step::TestSecret, Step::FinishSecret] {
        rotator.run(&event(step, &token)).await.unwrap();
    }
    let server = rotator.engine().server();
    assert_eq!(
        server.password_of(USER).unwrap(),
        pending_password(rotator.store())
    );
    let logins: Vec<_> = server.attempts();
    // setSecret: one login with AWSCURRENT. testSecret: one with the pending password.
    assert_eq!(logins.len(), 2, "{logins:?}");
    assert!(logins.iter().all(|a| a.user == USER && a.tls && a.accepted));
}

/// The calls each step makes, sorted (those sent together have no order), and its
/// sequential round trips.
async fn recorded_rotation(
    rotator: &Rotator<RecordingStore<InMemorySecretStore>, LoginEngine<ToyServer>>,
    token: &str,
) -> Vec<(Step, Vec<String>, usize)> {
    let mut steps = Vec::new();
    for step in Step::ALL {
        rotator.store().reset();
        rotator.run(&event(step, token)).await.unwrap();
        let mut calls = rotator.store().calls();
        calls.sort();
        steps.push((step, calls, rotator.store().round_trips()));
    }
    steps
}

fn calls(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[tokio::test]
async fn a_single_user_rotation_makes_eleven_calls_in_six_round_trips() {
    let store = InMemorySecretStore::new();
    store.create("s", &user_secret(json!({})));
    let token = store.start_rotation("s");
    let server = ToyServer::default().with_user(USER, "pw-0");
    let rotator = Rotator::new(RecordingStore::new(store), engine(server));
    let steps = recorded_rotation(&rotator, &token).await;
    let describe_current_pending = calls(&[
        "DescribeSecret",
        "GetSecretValue AWSCURRENT",
        "GetSecretValue AWSPENDING",
    ]);
    let mut create = describe_current_pending.clone();
    create.push("PutSecretValue".into());
    assert_eq!(
        steps,
        vec![
            (Step::CreateSecret, create, 2),
            (Step::SetSecret, describe_current_pending, 1),
            (
                Step::TestSecret,
                calls(&["DescribeSecret", "GetSecretValue AWSPENDING"]),
                1
            ),
            (
                Step::FinishSecret,
                calls(&["DescribeSecret", "UpdateSecretVersionStage"]),
                2
            ),
        ]
    );
    let server = rotator.engine().server();
    assert_eq!(
        server.password_of(USER).unwrap(),
        pending_password(rotator.store().inner())
    );
}

#[tokio::test]
async fn awsprevious_is_read_only_once_current_and_pending_are_refused() {
    let store = InMemorySecretStore::new();
    store.create("s", &user_secret(json!({})));
    // A rotation that failed after setSecret: the server kept "pw-0", which is now only
    // AWSPREVIOUS's.
    store.put_current("s", &user_secret(json!({"password": "pw-1"})));
    let token = store.start_rotation("s");
    let server = ToyServer::default().with_user(USER, "pw-0");
    let rotator = Rotator::new(RecordingStore::new(store), engine(server));
    let steps = recorded_rotation(&rotator, &token).await;
    assert_eq!(
        steps[1],
        (
            Step::SetSecret,
            calls(&[
                "DescribeSecret",
                "GetSecretValue AWSCURRENT",
                "GetSecretValue AWSPENDING",
                "GetSecretValue AWSPREVIOUS",
            ]),
            2
        )
    );
    let server = rotator.engine().server();
    assert_eq!(
        server.password_of(USER).unwrap(),
        pending_password(rotator.store().inner())
    );
    let refused: Vec<_> = server
        .attempts()
        .into_iter()
        .filter(|a| !a.accepted)
        .collect();
    assert_eq!(
        refused.len(),
        2,
        "current and pending, then previous: {refused:?}"
    );
}

#[tokio::test]
async fn a_pending_value_that_weakens_transport_is_refused_before_any_login() {
    let (rotator, token) = single_user().await;
    // Someone with write access to the secret replaced the pending value.
    let tampered = user_secret(json!({"password": "attacker", "tls": false}));
    let versions_current = rotator.store().value_at("s", AWSCURRENT).unwrap();
    let ctx = StepContext::new("s", rotator.store());
    let err = rotator
        .engine()
        .apply(
            &ctx,
            &Versions {
                current: Some(&versions_current),
                pending: &Secret::new(tampered),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "PendingMismatch");
    assert!(err.to_string().contains("pending tls differs"), "{err}");
    assert!(rotator.engine().server().attempts().is_empty());
    drop(token);
}

/// An alternating-users engine whose admin secret `admin` is stored as "admin" in `store`.
fn alternating(
    store: &InMemorySecretStore,
    admin: Value,
    server: ToyServer,
) -> LoginEngine<ToyServer> {
    store.create("admin", &admin.to_string());
    LoginEngine::new(
        server,
        LoginSettings {
            strategy: StrategyConfig {
                setting: StrategySetting::AlternatingUsers,
                admin_secret: Some("admin".into()),
            },
            ..LoginSettings::default()
        },
    )
}

fn toy_with_admin() -> ToyServer {
    ToyServer::default()
        .with_user(USER, "pw-0")
        .with_user("dba", "admin-pw")
}

/// An alternating-users rotation, begun, of a user secret with `extra` keys; the admin secret
/// names its own server, db:5432.
async fn alternating_rotation(
    extra: Value,
) -> (Rotator<InMemorySecretStore, LoginEngine<ToyServer>>, String) {
    let store = InMemorySecretStore::new();
    let engine = alternating(
        &store,
        json!({"host": "db", "port": 5432, "username": "dba", "password": "admin-pw"}),
        toy_with_admin(),
    );
    begun(store, engine, &user_secret(extra)).await
}

#[tokio::test]
async fn admin_credentials_never_go_where_only_the_user_secret_points() {
    // The user secret points at another server than the admin secret's own.
    let (rotator, token) = alternating_rotation(json!({"host": "evil"})).await;
    let err = rotator
        .run(&event(Step::SetSecret, &token))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "AdminHostMismatch", "{err}");
    assert!(err.to_string().contains("evil:5432") && err.to_string().contains("db:5432"));
    let admin_logins: Vec<_> = rotator
        .engine()
        .server()
        .attempts()
        .into_iter()
        .filter(|a| a.role == LoginRole::Admin)
        .collect();
    assert!(admin_logins.is_empty(), "{admin_logins:?}");

    // An admin secret naming no server, and not managed by RDS, is refused outright, whether
    // or not the engine can look RDS up.
    for (directory, message) in [
        (true, "not a master secret that RDS manages"),
        (false, "it names no server (\"host\")"),
    ] {
        let store = InMemorySecretStore::new();
        let mut engine = alternating(
            &store,
            json!({"username": "dba", "password": "admin-pw"}),
            toy_with_admin(),
        );
        if directory {
            engine = engine.with_directory(StaticDirectory(RdsEndpoints {
                primary: at("evil", 5432),
                others: vec![],
            }));
        }
        let (rotator, token) = begun(store, engine, &user_secret(json!({"host": "evil"}))).await;
        let err = rotator
            .run(&event(Step::SetSecret, &token))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "AdminSecretUnusable", "{err}");
        assert!(err.to_string().contains(message), "{err}");
        assert!(!err.to_string().contains("admin-pw"));
        assert!(
            rotator
                .engine()
                .server()
                .attempts()
                .iter()
                .all(|a| a.role == LoginRole::User)
        );
    }
}

#[tokio::test]
async fn an_rds_managed_admin_secret_logs_in_at_the_writer_of_its_cluster() {
    let directory = StaticDirectory(RdsEndpoints {
        primary: at("main.cluster-x.rds", 5432),
        others: vec![at("main.cluster-ro-x.rds", 5432)],
    });
    for (user_host, allowed) in [
        ("main.cluster-ro-x.rds", true),
        ("MAIN.cluster-x.rds", true),
        ("evil", false),
    ] {
        let store = InMemorySecretStore::new();
        let engine = alternating(
            &store,
            json!({"username": "dba", "password": "admin-pw"}),
            toy_with_admin(),
        )
        .with_directory(StaticDirectory(directory.0.clone()));
        store.set_tag(
            "admin",
            RDS_CLUSTER_TAG,
            "arn:aws:rds:us-east-1:1:cluster:main",
        );
        let (rotator, token) = begun(store, engine, &user_secret(json!({"host": user_host}))).await;
        let result = rotator.run(&event(Step::SetSecret, &token)).await;
        let admin_logins: Vec<_> = rotator
            .engine()
            .server()
            .attempts()
            .into_iter()
            .filter(|a| a.role == LoginRole::Admin)
            .collect();
        if allowed {
            result.unwrap();
            assert_eq!(admin_logins.len(), 1, "{user_host}");
            assert_eq!(admin_logins[0].at, "main.cluster-x.rds:5432");
            assert!(admin_logins[0].tls);
        } else {
            let err = result.unwrap_err();
            assert_eq!(err.error_type(), "AdminHostMismatch", "{err}");
            assert!(
                err.to_string().contains("main.cluster-ro-x.rds:5432"),
                "{err}"
            );
            assert!(admin_logins.is_empty());
        }
    }
}

#[tokio::test]
async fn alternating_users_repair_a_clone_that_logs_in_but_does_not_act_as_the_original() {
    let (rotator, token) = alternating_rotation(json!({})).await;
    // A crash after the clone was created and before it was made to act as the original.
    let server = rotator.engine().server();
    server.users.lock().unwrap().insert(
        "app_clone".into(),
        (pending_password(rotator.store()), "app_clone".into()),
    );
    let err = rotator
        .run(&event(Step::TestSecret, &token))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "TestFailed");
    assert!(err.to_string().contains("acts as app_clone"), "{err}");
    assert_eq!(
        rotator.run(&event(Step::SetSecret, &token)).await.unwrap(),
        crate::Outcome::Applied
    );
    assert_eq!(server.users.lock().unwrap()["app_clone"].1, USER);
    rotator.run(&event(Step::TestSecret, &token)).await.unwrap();
    assert_eq!(
        rotator.run(&event(Step::SetSecret, &token)).await.unwrap(),
        crate::Outcome::AlreadyApplied
    );
}

#[tokio::test]
async fn the_admin_never_sets_its_own_password_for_a_user_secret() {
    // The pending user of "dba_clone" is "dba": the admin secret's own user.
    let (rotator, token) = alternating_rotation(json!({"username": "dba_clone"})).await;
    let err = rotator
        .run(&event(Step::SetSecret, &token))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "PrivilegedUser", "{err}");
    assert!(err.to_string().contains("admin secret's own user"), "{err}");
    assert_eq!(
        rotator.engine().server().password_of("dba").unwrap(),
        "admin-pw"
    );
}

#[tokio::test]
async fn test_secret_fails_on_a_server_that_accepts_any_password() {
    let store = InMemorySecretStore::new();
    let server = ToyServer {
        trust: true,
        ..ToyServer::default()
    };
    let (rotator, token) = begun(
        store,
        engine(server.with_user(USER, "pw-0")),
        &user_secret(json!({})),
    )
    .await;
    rotator.run(&event(Step::SetSecret, &token)).await.unwrap();
    let err = rotator
        .run(&event(Step::TestSecret, &token))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "TestFailed");
    assert!(
        err.to_string().contains("without asking for a password"),
        "{err}"
    );
    // Proved without a deliberately failed login.
    assert!(
        rotator
            .engine()
            .server()
            .attempts()
            .iter()
            .all(|a| a.accepted)
    );
}

/// A login that sent the password in cleartext or as MD5 does not show that the server
/// checked it: testSecret then tries a random wrong password, which must be refused.
#[tokio::test]
async fn a_login_that_does_not_prove_the_password_is_followed_by_a_wrong_one() {
    for trust in [false, true] {
        let server = ToyServer {
            trust,
            unproven: true,
            ..ToyServer::default()
        };
        let (rotator, token) = begun(
            InMemorySecretStore::new(),
            engine(server.with_user(USER, "pw-0")),
            &user_secret(json!({})),
        )
        .await;
        rotator.run(&event(Step::SetSecret, &token)).await.unwrap();
        let result = rotator.run(&event(Step::TestSecret, &token)).await;
        let attempts = rotator.engine().server().attempts();
        let probe = attempts.last().unwrap();
        assert_eq!(probe.user, USER);
        if trust {
            let err = result.unwrap_err();
            assert_eq!(err.error_type(), "TestFailed");
            assert!(err.to_string().contains("random wrong password"), "{err}");
        } else {
            result.unwrap();
            assert!(!probe.accepted, "{attempts:?}");
        }
    }
}

#[tokio::test]
async fn no_login_starts_when_the_deadline_leaves_no_time() {
    let (rotator, token) = single_user().await;
    let err = rotator
        .run_until(
            &event(Step::SetSecret, &token),
            Deadline::after(Duration::from_millis(900)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Timeout", "{err}");
    assert!(
        err.to_string().contains("before the function's deadline"),
        "{err}"
    );
    assert!(rotator.engine().server().attempts().is_empty());
    let users: BTreeSet<_> = rotator
        .engine()
        .server()
        .users
        .lock()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(users.len(), 1);
    assert_eq!(rotator.engine().server().password_of(USER).unwrap(), "pw-0");
}

#[tokio::test]
async fn another_engine_s_secret_is_refused_by_name() {
    let store = InMemorySecretStore::new();
    store.create("s", &user_secret(json!({"engine": "mysql"})));
    let token = store.start_rotation("s");
    let rotator = Rotator::new(store, engine(ToyServer::default()));
    let err = rotator
        .run(&event(Step::CreateSecret, &token))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "WrongEngine");
    assert!(
        err.to_string().contains("\"mysql\"") && err.to_string().contains("rotates toy"),
        "{err}"
    );
}
