//! The Neo4j engine: single user (the user changes its own password), or alternating users
//! (the admin secret's user sets the password of the user not in use).

use async_trait::async_trait;
use neo4rs::query;
use rotation_core::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, Applied, Engine, FailureKind, RotationError, Secret,
    StepContext, Strategy, Versions, base_username, sanitize, scrub, usable_previous,
};
use tracing::info;

use crate::admin::AdminLogin;
use crate::connect::{Login, LoginFailure, Session};
use crate::cypher;
use crate::secret::Neo4jSecret;
use crate::settings::Settings;

/// Neo4j sets no documented limit on user names; this keeps them sane.
const MAX_USERNAME_BYTES: usize = 255;

pub struct Neo4jEngine {
    settings: Settings,
}

impl Neo4jEngine {
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }

    pub fn from_env() -> Result<Self, RotationError> {
        Settings::from_env().map(Self::new)
    }

    fn strategy(
        &self,
        ctx: &StepContext<'_>,
        secret: &Neo4jSecret,
    ) -> Result<Strategy, RotationError> {
        self.settings
            .strategy
            .choose(ctx.secret_id, secret.masterarn.as_deref())
    }

    /// Logs in to `target`'s server as `username` on `database`.
    async fn login(
        &self,
        target: &Neo4jSecret,
        username: &str,
        password: &Secret,
        database: &str,
    ) -> Result<Session, LoginFailure> {
        Login {
            uri: &target.uri,
            username,
            password,
            database,
        }
        .connect(self.settings.connect_timeout)
        .await
    }

    /// Single user. Current is tried first, so the usual rotation makes no failed login at
    /// all and a retry makes one: Neo4j locks a user after a few failures in a row.
    async fn apply_single(
        &self,
        current: &Neo4jSecret,
        pending: &Neo4jSecret,
        previous: Option<&Neo4jSecret>,
    ) -> Result<Applied, RotationError> {
        let mut candidates = vec![
            (AWSCURRENT, &current.password),
            (AWSPENDING, &pending.password),
        ];
        if let Some(previous) =
            previous.filter(|p| p.password != current.password && p.username == current.username)
        {
            candidates.push((AWSPREVIOUS, &previous.password));
        }
        let mut refused = Vec::new();
        for (stage, password) in candidates {
            match self
                .login(
                    pending,
                    &pending.username,
                    password,
                    cypher::SYSTEM_DATABASE,
                )
                .await
            {
                Ok(_) if stage == AWSPENDING => {
                    info!("the pending password already logs in; nothing to change");
                    return Ok(Applied::AlreadyInPlace);
                }
                Ok(session) => {
                    let change = query(cypher::CHANGE_OWN_PASSWORD)
                        .param("old", password.expose())
                        .param("new", pending.password.expose());
                    session
                        .run(
                            change,
                            "changing the user's own password",
                            &[password, &pending.password],
                        )
                        .await?;
                    info!(logged_in_with = stage, user = %sanitize(&pending.username), "set the pending password");
                    return Ok(Applied::Changed);
                }
                Err(f) if f.kind == FailureKind::LoginRefused && !f.locked_out => {
                    refused.push(format!("{stage}: {}", f.detail));
                }
                Err(f) => return Err(f.into()),
            }
        }
        Err(RotationError::NoWorkingCredentials {
            attempts: scrub(&refused.join("; "), [&pending.password]),
        })
    }

    /// Alternating users: the admin creates the other user on first use, or sets its
    /// password, and gives it the original user's roles (Enterprise; Community has none).
    async fn apply_alternating(
        &self,
        ctx: &StepContext<'_>,
        admin_secret: &str,
        pending: &Neo4jSecret,
    ) -> Result<Applied, RotationError> {
        match self
            .login(
                pending,
                &pending.username,
                &pending.password,
                cypher::SYSTEM_DATABASE,
            )
            .await
        {
            Ok(_) => {
                info!(user = %sanitize(&pending.username), "the pending user already logs in; nothing to change");
                return Ok(Applied::AlreadyInPlace);
            }
            Err(f) if f.kind == FailureKind::LoginRefused && !f.locked_out => {}
            Err(f) => return Err(f.into()),
        }
        let admin = AdminLogin::fetch(ctx, admin_secret, pending).await?;
        let session = self
            .login(
                pending,
                &admin.username,
                &admin.password,
                cypher::SYSTEM_DATABASE,
            )
            .await
            .map_err(|f| RotationError::Server {
                kind: f.kind,
                detail: format!("with the admin secret's credentials: {}", f.detail),
            })?;
        let user = pending.username.as_str();
        let exists = !session
            .column::<String>(
                query(cypher::USER_EXISTS).param("user", user),
                "user",
                "looking up the user",
            )
            .await?
            .is_empty();
        let statement = if exists {
            cypher::SET_USER_PASSWORD
        } else {
            cypher::CREATE_USER
        };
        let what = if exists {
            "setting the password of the user"
        } else {
            "creating the user"
        };
        session
            .run(
                query(statement)
                    .param("user", user)
                    .param("password", pending.password.expose()),
                what,
                &[&admin.password, &pending.password],
            )
            .await?;
        let base = base_username(user);
        if base != user {
            self.copy_roles(&session, base, user).await?;
        }
        info!(user = %sanitize(user), created = !exists, "set the pending password with the admin secret");
        Ok(Applied::Changed)
    }

    async fn copy_roles(
        &self,
        session: &Session,
        from: &str,
        to: &str,
    ) -> Result<(), RotationError> {
        let roles: Vec<Option<Vec<String>>> = session
            .column(
                query(cypher::USER_ROLES).param("user", from),
                "roles",
                "reading the original user's roles",
            )
            .await?;
        for role in roles
            .into_iter()
            .flatten()
            .flatten()
            .filter(|r| r != cypher::PUBLIC_ROLE)
        {
            session
                .run(
                    query(cypher::GRANT_ROLE)
                        .param("role", role.as_str())
                        .param("user", to),
                    "granting a role to the user",
                    &[],
                )
                .await?;
        }
        Ok(())
    }
}

/// The pending value must point at the same server as the current one, and at the user the
/// strategy expects; otherwise a tampered pending value could make us change some other
/// user's password, or send credentials elsewhere.
fn ensure_expected_target(
    ctx: &StepContext<'_>,
    current: &Neo4jSecret,
    pending: &Neo4jSecret,
    expected_user: &str,
) -> Result<(), RotationError> {
    let field = if pending.username != expected_user {
        "username"
    } else if pending.uri.host != current.uri.host || pending.uri.port != current.uri.port {
        "uri"
    } else {
        return Ok(());
    };
    Err(RotationError::PendingMismatch {
        secret: sanitize(ctx.secret_id),
        field,
    })
}

#[async_trait]
impl Engine for Neo4jEngine {
    fn name(&self) -> &'static str {
        "neo4j"
    }

    fn build_pending(
        &self,
        ctx: &StepContext<'_>,
        current: &Secret,
    ) -> Result<Secret, RotationError> {
        let current = Neo4jSecret::parse(ctx, AWSCURRENT, current)?;
        let username = self.strategy(ctx, &current)?.pending_username(
            ctx,
            &current.username,
            MAX_USERNAME_BYTES,
        )?;
        let password = self.settings.password_policy.generate()?;
        Ok(current.with_login(&username, &password))
    }

    async fn apply(
        &self,
        ctx: &StepContext<'_>,
        versions: &Versions<'_>,
    ) -> Result<Applied, RotationError> {
        let current = Neo4jSecret::parse(ctx, AWSCURRENT, versions.current)?;
        let pending = Neo4jSecret::parse(ctx, AWSPENDING, versions.pending)?;
        let strategy = self.strategy(ctx, &current)?;
        let expected_user =
            strategy.pending_username(ctx, &current.username, MAX_USERNAME_BYTES)?;
        ensure_expected_target(ctx, &current, &pending, &expected_user)?;
        match strategy {
            Strategy::SingleUser => {
                let previous = usable_previous(versions.previous, |value| {
                    Neo4jSecret::parse(ctx, AWSPREVIOUS, value)
                });
                self.apply_single(&current, &pending, previous.as_ref())
                    .await
            }
            Strategy::AlternatingUsers { admin_secret } => {
                self.apply_alternating(ctx, &admin_secret, &pending).await
            }
        }
    }

    async fn verify(&self, ctx: &StepContext<'_>, pending: &Secret) -> Result<(), RotationError> {
        let pending = Neo4jSecret::parse(ctx, AWSPENDING, pending)?;
        let session = self
            .login(
                &pending,
                &pending.username,
                &pending.password,
                &pending.database,
            )
            .await?;
        let users: Vec<String> = session
            .column(query(cypher::WHO_AM_I), "user", "the test query")
            .await?;
        if users.first() != Some(&pending.username) {
            return Err(RotationError::Server {
                kind: FailureKind::Statement,
                detail: format!(
                    "logged in, but the server reports the user as {:?}",
                    users.first().map(|u| sanitize(u))
                ),
            });
        }
        info!(user = %sanitize(&pending.username), database = %sanitize(&pending.database), "the pending password logs in");
        Ok(())
    }
}
