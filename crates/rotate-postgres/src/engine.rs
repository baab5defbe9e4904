//! The PostgreSQL engine: builds pending values, and hands setSecret to the chosen strategy.

use async_trait::async_trait;
use rotation_core::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, Applied, Engine, FailureKind, RotationError, Secret,
    StepContext, Strategy, Versions, base_username, sanitize, usable_previous,
};
use tokio_postgres::Client;
use tracing::info;

use crate::connect::{Login, LoginFailure, error_text};
use crate::secret::PgSecret;
use crate::settings::Settings;
use crate::tls::{LazyTls, TlsPolicy};
use crate::{alternating, single_user, sql};

/// PostgreSQL's identifier limit (NAMEDATALEN - 1).
pub const MAX_ROLE_NAME_BYTES: usize = 63;

pub struct PostgresEngine {
    pub(crate) settings: Settings,
    trust: LazyTls,
}

impl PostgresEngine {
    pub fn new(settings: Settings) -> Self {
        let trust = LazyTls::new(settings.trust.clone());
        Self { settings, trust }
    }

    pub fn from_env() -> Result<Self, RotationError> {
        Settings::from_env().map(Self::new)
    }

    fn strategy(
        &self,
        ctx: &StepContext<'_>,
        secret: &PgSecret,
    ) -> Result<Strategy, RotationError> {
        self.settings
            .strategy
            .choose(ctx.secret_id, secret.masterarn.as_deref())
    }

    /// The TLS policy for connections to `secret`'s server.
    pub(crate) fn tls_for(&self, secret: &PgSecret) -> TlsPolicy {
        self.settings.tls_for(secret.tls)
    }

    /// Logs in to `target`'s server and database as `username` with `password`.
    pub(crate) async fn login(
        &self,
        target: &PgSecret,
        username: &str,
        password: &Secret,
        tls: TlsPolicy,
    ) -> Result<Client, LoginFailure> {
        Login {
            host: &target.host,
            port: target.port,
            dbname: &target.dbname,
            username,
            password,
            tls,
            trust: &self.trust,
        }
        .connect(self.settings.connect_timeout)
        .await
    }

    /// Logs in as the secret's own user.
    pub(crate) async fn login_as_secret(&self, secret: &PgSecret) -> Result<Client, LoginFailure> {
        self.login(
            secret,
            &secret.username,
            &secret.password,
            self.tls_for(secret),
        )
        .await
    }
}

/// The session's login user and the role whose rights it acts with.
pub(crate) async fn who_am_i(
    client: &Client,
    secrets: &[&Secret],
) -> Result<(String, String), RotationError> {
    let row = client
        .query_one(sql::WHO_AM_I, &[])
        .await
        .map_err(|e| RotationError::Server {
            kind: FailureKind::Statement,
            detail: format!(
                "the test query failed: {}",
                error_text(&e, secrets.iter().copied())
            ),
        })?;
    Ok((row.get(0), row.get(1)))
}

/// The pending value must point at the same server as the current one, and at the user the
/// strategy expects; otherwise a tampered pending value could make us change some other
/// role's password, or send credentials elsewhere.
fn ensure_expected_target(
    ctx: &StepContext<'_>,
    current: &PgSecret,
    pending: &PgSecret,
    expected_user: &str,
) -> Result<(), RotationError> {
    let field = if pending.username != expected_user {
        "username"
    } else if current.host != pending.host {
        "host"
    } else if current.port != pending.port {
        "port"
    } else {
        return Ok(());
    };
    Err(RotationError::PendingMismatch {
        secret: sanitize(ctx.secret_id),
        field,
    })
}

#[async_trait]
impl Engine for PostgresEngine {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn build_pending(
        &self,
        ctx: &StepContext<'_>,
        current: &Secret,
    ) -> Result<Secret, RotationError> {
        let current = PgSecret::parse(ctx, AWSCURRENT, current)?;
        let username = self.strategy(ctx, &current)?.pending_username(
            ctx,
            &current.username,
            MAX_ROLE_NAME_BYTES,
        )?;
        let password = self.settings.password_policy.generate()?;
        Ok(current.with_login(&username, &password))
    }

    async fn apply(
        &self,
        ctx: &StepContext<'_>,
        versions: &Versions<'_>,
    ) -> Result<Applied, RotationError> {
        let current = PgSecret::parse(ctx, AWSCURRENT, versions.current)?;
        let pending = PgSecret::parse(ctx, AWSPENDING, versions.pending)?;
        let strategy = self.strategy(ctx, &current)?;
        let expected_user =
            strategy.pending_username(ctx, &current.username, MAX_ROLE_NAME_BYTES)?;
        ensure_expected_target(ctx, &current, &pending, &expected_user)?;
        match strategy {
            Strategy::SingleUser => {
                let previous = usable_previous(versions.previous, |value| {
                    PgSecret::parse(ctx, AWSPREVIOUS, value)
                });
                single_user::apply(self, &current, &pending, previous.as_ref()).await
            }
            Strategy::AlternatingUsers { admin_secret } => {
                alternating::apply(self, ctx, &admin_secret, &pending).await
            }
        }
    }

    async fn verify(&self, ctx: &StepContext<'_>, pending: &Secret) -> Result<(), RotationError> {
        let pending = PgSecret::parse(ctx, AWSPENDING, pending)?;
        let client = self.login_as_secret(&pending).await?;
        let (session, acting) = who_am_i(&client, &[&pending.password]).await?;
        if session != pending.username {
            return Err(RotationError::Server {
                kind: FailureKind::Statement,
                detail: format!(
                    "logged in as \"{}\" instead of \"{}\"",
                    sanitize(&session),
                    sanitize(&pending.username)
                ),
            });
        }
        if let Strategy::AlternatingUsers { .. } = self.strategy(ctx, &pending)? {
            let base = base_username(&pending.username);
            if acting != base {
                return Err(RotationError::Server {
                    kind: FailureKind::Statement,
                    detail: format!(
                        "\"{}\" logs in but acts as \"{}\", not as \"{}\"; its rights would drift from the other user's",
                        sanitize(&session),
                        sanitize(&acting),
                        sanitize(base)
                    ),
                });
            }
        }
        info!(user = %sanitize(&session), acting_as = %sanitize(&acting), "the pending password logs in");
        Ok(())
    }
}
