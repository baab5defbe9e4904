//! The single-user PostgreSQL strategy: the role changes its own password.

use async_trait::async_trait;
use rotation_core::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, Applied, Engine, FailureKind, RotationError, Secret,
    StepContext, Versions, sanitize, scrub,
};
use tokio_postgres::Client;
use tracing::{info, warn};

use crate::connect::{Login, LoginFailure, error_text};
use crate::secret::PgSecret;
use crate::settings::Settings;
use crate::sql;

pub struct PostgresEngine {
    settings: Settings,
}

impl PostgresEngine {
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }

    pub fn from_env() -> Result<Self, RotationError> {
        Settings::from_env().map(Self::new)
    }

    /// Logs in to the pending version's server as its user, with `password`.
    async fn login(&self, target: &PgSecret, password: &Secret) -> Result<Client, LoginFailure> {
        Login {
            host: &target.host,
            port: target.port,
            dbname: &target.dbname,
            username: &target.username,
            password,
            tls: target.tls,
        }
        .connect(self.settings.connect_timeout)
        .await
    }
}

/// The pending version must point at the same role on the same server as the current one;
/// otherwise a tampered pending value could make us change some other role's password.
fn ensure_same_target(
    ctx: &StepContext<'_>,
    current: &PgSecret,
    pending: &PgSecret,
) -> Result<(), RotationError> {
    let field = if current.username != pending.username {
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
        let password = self.settings.password_policy.generate()?;
        Ok(current.with_password(&password))
    }

    async fn apply(
        &self,
        ctx: &StepContext<'_>,
        versions: &Versions<'_>,
    ) -> Result<Applied, RotationError> {
        let current = PgSecret::parse(ctx, AWSCURRENT, versions.current)?;
        let pending = PgSecret::parse(ctx, AWSPENDING, versions.pending)?;
        ensure_same_target(ctx, &current, &pending)?;

        let mut candidates = vec![
            (AWSPENDING, &pending.password),
            (AWSCURRENT, &current.password),
        ];
        let previous =
            versions
                .previous
                .and_then(|value| match PgSecret::parse(ctx, AWSPREVIOUS, value) {
                    Ok(previous) => Some(previous),
                    Err(e) => {
                        warn!(error = %e, "AWSPREVIOUS cannot be used");
                        None
                    }
                });
        if let Some(previous) = previous.as_ref().filter(|p| p.password != current.password) {
            candidates.push((AWSPREVIOUS, &previous.password));
        }

        let mut refused = Vec::new();
        for (stage, password) in candidates {
            match self.login(&pending, password).await {
                Ok(_) if stage == AWSPENDING => {
                    info!("the pending password already logs in; nothing to change");
                    return Ok(Applied::AlreadyInPlace);
                }
                Ok(client) => {
                    let (statement, verifier) =
                        sql::set_password(&pending.username, &pending.password);
                    client
                        .batch_execute(&statement)
                        .await
                        .map_err(|e| RotationError::Server {
                            kind: FailureKind::Statement,
                            detail: format!(
                                "changing the password of role \"{}\" failed: {}",
                                pending.username,
                                error_text(&e, [password, &pending.password, &verifier])
                            ),
                        })?;
                    info!(logged_in_with = stage, role = %sanitize(&pending.username), "set the pending password");
                    return Ok(Applied::Changed);
                }
                // Only a refused password is worth trying the next one for; an unreachable
                // server or a TLS failure will not change with another password, and each
                // further attempt would only add another timeout.
                Err(f) if f.kind == FailureKind::LoginRefused => {
                    refused.push(format!("{stage}: {}", f.detail));
                }
                Err(f) => return Err(f.into()),
            }
        }
        Err(RotationError::NoWorkingCredentials {
            attempts: scrub(&refused.join("; "), [&pending.password]),
        })
    }

    async fn verify(&self, ctx: &StepContext<'_>, pending: &Secret) -> Result<(), RotationError> {
        let pending = PgSecret::parse(ctx, AWSPENDING, pending)?;
        let client = self.login(&pending, &pending.password).await?;
        let row =
            client
                .query_one(sql::WHO_AM_I, &[])
                .await
                .map_err(|e| RotationError::Server {
                    kind: FailureKind::Statement,
                    detail: format!("test query failed: {}", error_text(&e, [&pending.password])),
                })?;
        let who: String = row.get(0);
        if who != pending.username {
            return Err(RotationError::Server {
                kind: FailureKind::Statement,
                detail: format!(
                    "logged in as \"{}\" instead of \"{}\"",
                    sanitize(&who),
                    sanitize(&pending.username)
                ),
            });
        }
        info!(role = %sanitize(&who), "the pending password logs in");
        Ok(())
    }
}
