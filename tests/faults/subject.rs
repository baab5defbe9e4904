//! What a fault scenario rotates: a secret of one function and strategy, on its real server,
//! with the invariant that must hold after the fault.

use integration_tests::{
    Phase, RunningFunction, SecretsManager, assert_no_credential_lost, assert_signed_tokens_verify,
    install_crypto_provider, neo4j, postgres, sign_as_app, unique, unix_now, version_with_stage,
};
use rotation_core::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    PgSingle,
    PgAlternating,
    Neo4jSingle,
    Neo4jAlternating,
    Jwt,
}

impl Kind {
    pub const ALL: [Self; 5] = [
        Self::PgSingle,
        Self::PgAlternating,
        Self::Neo4jSingle,
        Self::Neo4jAlternating,
        Self::Jwt,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::PgSingle => "PostgreSQL, single user",
            Self::PgAlternating => "PostgreSQL, alternating users",
            Self::Neo4jSingle => "Neo4j, single user",
            Self::Neo4jAlternating => "Neo4j, alternating users",
            Self::Jwt => "JWT signing key",
        }
    }

    fn binary(self) -> &'static str {
        match self {
            Self::PgSingle | Self::PgAlternating => "rotate-postgres",
            Self::Neo4jSingle | Self::Neo4jAlternating => "rotate-neo4j",
            Self::Jwt => "rotate-jwt",
        }
    }

    fn alternating(self) -> bool {
        matches!(self, Self::PgAlternating | Self::Neo4jAlternating)
    }

    fn is_postgres(self) -> bool {
        matches!(self, Self::PgSingle | Self::PgAlternating)
    }

    /// The port of the shared test server this kind's secrets name.
    pub fn database_port(self) -> u16 {
        if self.is_postgres() {
            postgres().port
        } else {
            neo4j().port
        }
    }

    /// One login to this kind's server (each refusal counts towards Neo4j's lockout).
    pub async fn can_login(self, user: &str, password: &str) -> bool {
        if self.is_postgres() {
            postgres().can_login(user, password).await
        } else {
            neo4j().can_login(user, password).await
        }
    }

    /// Points `secret` at 127.0.0.1:`port` (a proxy in front of the server), when given.
    fn reach_at(self, secret: &mut Value, port: Option<u16>) {
        let Some(port) = port else { return };
        if self.is_postgres() {
            secret["port"] = port.into();
        } else {
            secret["uri"] = format!("bolt://127.0.0.1:{port}").into();
        }
    }
}

pub struct Subject {
    pub kind: Kind,
    pub sm: SecretsManager,
    pub arn: String,
    /// The function's own configuration for this secret.
    env: Vec<(String, String)>,
    /// JWT: tokens signed with keys that were AWSCURRENT, still inside the overlap window.
    tokens: Vec<String>,
}

impl Subject {
    /// A secret of `kind` on the shared test server.
    pub async fn new(kind: Kind) -> Self {
        Self::reached_at(kind, None).await
    }

    /// A secret of `kind` whose server address is 127.0.0.1:`port` (a proxy in front of the
    /// shared test server) instead of the server's own.
    pub async fn reached_at(kind: Kind, port: Option<u16>) -> Self {
        install_crypto_provider();
        let sm = SecretsManager::connect().await;
        let mut env = Vec::new();
        if kind.is_postgres() {
            env.push(("PGSSLMODE".to_owned(), "disable".to_owned()));
        }
        let arn = if kind == Kind::Jwt {
            let arn = sm.create(&unique("jwt"), r#"{"alg": "ES256"}"#).await;
            // The first key, as an earlier rotation made it.
            let token = sm.start_rotation(&arn).await;
            let engine = rotate_jwt::JwtEngine::new(rotate_jwt::Settings::default());
            let rotator = rotation_core::Rotator::new(sm.store(), engine);
            for step in rotation_core::Step::ALL {
                let event = rotation_core::RotationEvent {
                    step,
                    secret_id: arn.clone(),
                    token: token.clone(),
                    rotation_token: None,
                };
                rotator.run(&event).await.unwrap();
            }
            sm.complete_rotation(&arn, &token).await;
            arn
        } else {
            let user = unique("svc");
            let password = format!("initial-{}", unique("pw"));
            let mut secret = if kind.is_postgres() {
                postgres().create_role(&user, &password).await;
                postgres().secret(&user, &password)
            } else {
                neo4j().create_user(&user, &password).await;
                neo4j().secret(&user, &password)
            };
            kind.reach_at(&mut secret, port);
            if kind.alternating() {
                let admin = unique("admin");
                let admin_password = format!("admin-{}", unique("pw"));
                let mut admin_secret = if kind.is_postgres() {
                    postgres().create_admin(&admin, &admin_password).await;
                    postgres().secret(&admin, &admin_password)
                } else {
                    neo4j().create_user(&admin, &admin_password).await;
                    neo4j().secret(&admin, &admin_password)
                };
                kind.reach_at(&mut admin_secret, port);
                let admin_arn = sm.create(&unique("admin"), &admin_secret.to_string()).await;
                secret["masterarn"] = admin_arn.clone().into();
                env.push(("ROTATION_STRATEGY".into(), "alternating-users".into()));
                env.push(("ADMIN_SECRET_ARN".into(), admin_arn));
            }
            sm.create(&unique("secret"), &secret.to_string()).await
        };
        let mut subject = Self {
            kind,
            sm,
            arn,
            env,
            tokens: Vec::new(),
        };
        subject.sign_with_current().await;
        subject
    }

    /// This secret's function, as deployed for it, plus `extra` settings.
    pub fn start_function(&self, extra: &[(&str, &str)]) -> RunningFunction {
        self.start_function_with_timeout(extra, 60)
    }

    pub fn start_function_with_timeout(
        &self,
        extra: &[(&str, &str)],
        timeout_seconds: u64,
    ) -> RunningFunction {
        let mut env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        env.extend_from_slice(extra);
        RunningFunction::start_with_timeout(self.kind.binary(), &env, timeout_seconds)
    }

    /// JWT: an application signs a token with the key now AWSCURRENT. Only the tokens of the
    /// keys the next rotation keeps in its verification set are kept: with the default of one
    /// previous key, the newest token alone.
    async fn sign_with_current(&mut self) {
        if self.kind != Kind::Jwt {
            return;
        }
        let current = self.sm.value(&self.arn, AWSCURRENT).await.unwrap();
        self.tokens.push(sign_as_app(
            &current,
            &json!({"sub": "app", "exp": unix_now() + 3600}),
        ));
        let keep = self
            .tokens
            .len()
            .saturating_sub(rotate_jwt::DEFAULT_PREVIOUS_KEYS);
        self.tokens.drain(..keep);
    }

    /// The version AWSPENDING is on: the token Secrets Manager retries with.
    pub async fn pending_token(&self) -> String {
        self.holder(AWSPENDING)
            .await
            .expect("a version labelled AWSPENDING")
    }

    /// Panics unless the invariant holds (see integration_tests::invariant). Once a rotation
    /// has settled, a JWT application signs with the new key.
    pub async fn assert_invariant(&mut self, phase: Phase) {
        match self.kind {
            Kind::PgSingle | Kind::PgAlternating => {
                assert_no_credential_lost(&self.sm, &self.arn, postgres(), phase).await
            }
            Kind::Neo4jSingle | Kind::Neo4jAlternating => {
                assert_no_credential_lost(&self.sm, &self.arn, neo4j(), phase).await
            }
            Kind::Jwt => {
                assert_signed_tokens_verify(&self.sm, &self.arn, &self.tokens, phase).await;
                if phase == Phase::Settled {
                    self.sign_with_current().await;
                }
            }
        }
    }

    /// The version AWSCURRENT is on.
    pub async fn current_version(&self) -> String {
        self.holder(AWSCURRENT)
            .await
            .expect("a version labelled AWSCURRENT")
    }

    async fn holder(&self, stage: &str) -> Option<String> {
        version_with_stage(&self.sm.stages(&self.arn).await, stage)
    }

    /// The rotation that started from version `before` really happened: AWSCURRENT moved off
    /// it, AWSPREVIOUS is on it, and for a single user its password no longer logs in.
    pub async fn assert_rotated_from(&self, before: &str) {
        let (current, previous) = (
            self.holder(AWSCURRENT).await,
            self.holder(AWSPREVIOUS).await,
        );
        assert_ne!(
            current.as_deref(),
            Some(before),
            "{}: AWSCURRENT never moved",
            self.kind.label()
        );
        assert_eq!(
            previous.as_deref(),
            Some(before),
            "{}: AWSPREVIOUS is not the version before",
            self.kind.label()
        );
        if matches!(self.kind, Kind::PgSingle | Kind::Neo4jSingle) {
            let old = self.sm.value(&self.arn, AWSPREVIOUS).await.unwrap();
            let (user, password) = (
                old["username"].as_str().unwrap(),
                old["password"].as_str().unwrap(),
            );
            assert!(
                !self.kind.can_login(user, password).await,
                "{}: the password before the rotation still logs in",
                self.kind.label()
            );
        }
    }

    /// The retry Secrets Manager runs after a failure: the whole rotation with the same token,
    /// then AWSPENDING off the new version, as the service does on success.
    pub async fn retry(&self, function: &RunningFunction) {
        let token = self.pending_token().await;
        function
            .retry(&self.arn, &token)
            .await
            .unwrap_or_else(|e| panic!("{}: the retry failed: {e}", self.kind.label()));
        self.sm.complete_rotation(&self.arn, &token).await;
    }
}
