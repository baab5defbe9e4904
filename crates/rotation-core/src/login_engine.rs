//! The rules every engine that rotates a login on a server shares, written once: what a
//! pending value may change, which credential to try in what order, where admin credentials
//! may go, what testSecret must prove, and how long each call may take.

use std::ops::Deref;
use std::sync::Arc;

use async_trait::async_trait;
use tracing::info;

use crate::admin::{AdminAccess, locate_admin};
use crate::deadline::Bound;
use crate::engine::{Applied, Engine, StepContext, Versions};
use crate::error::RotationError;
use crate::login_secret::LoginSecret;
use crate::password::PasswordPolicy;
use crate::rds::DatabaseDirectory;
use crate::redact::{Secret, sanitize, scrub};
use crate::server::{Credentials, Endpoint, PasswordCheck, Server, UserChange};
use crate::settings::LoginSettings;
use crate::store::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use crate::strategy::{Strategy, base_username, usable_previous};

/// A stored value parsed for a [`Server`]: the login, and where it logs in.
#[derive(Debug)]
pub struct UserSecret<E> {
    login: LoginSecret,
    pub endpoint: E,
}

impl<E> Deref for UserSecret<E> {
    type Target = LoginSecret;

    fn deref(&self) -> &LoginSecret {
        &self.login
    }
}

/// An [`Engine`] for any [`Server`].
pub struct LoginEngine<S: Server> {
    server: S,
    settings: LoginSettings,
    directory: Option<Arc<dyn DatabaseDirectory>>,
}

impl<S: Server> LoginEngine<S> {
    pub fn new(server: S, settings: LoginSettings) -> Self {
        Self {
            server,
            settings,
            directory: None,
        }
    }

    /// Lets RDS-managed admin secrets be located through `directory` (the RDS API).
    pub fn with_directory(mut self, directory: impl DatabaseDirectory + 'static) -> Self {
        self.directory = Some(Arc::new(directory));
        self
    }

    pub fn server(&self) -> &S {
        &self.server
    }

    /// Parses the value stored under `stage`.
    pub fn parse(
        &self,
        ctx: &StepContext<'_>,
        stage: &str,
        value: &Secret,
    ) -> Result<UserSecret<S::Endpoint>, RotationError> {
        let login = LoginSecret::parse(ctx, stage, value)?;
        login.check_engine(ctx, S::ENGINES)?;
        let endpoint = self
            .server
            .endpoint(&login)
            .map_err(|e| e.into_error(|reason| ctx.malformed(stage, reason)))?;
        Ok(UserSecret { login, endpoint })
    }

    pub(crate) fn strategy(
        &self,
        ctx: &StepContext<'_>,
        secret: &LoginSecret,
    ) -> Result<Strategy, RotationError> {
        self.settings
            .strategy
            .choose(ctx.secret_id, secret.masterarn.as_deref())
    }

    /// The bound on each call to a server in this step.
    pub(crate) fn bound(&self, ctx: &StepContext<'_>) -> Bound {
        Bound::new(self.settings.connect_timeout, ctx.deadline)
    }

    /// The pending value must point at the same server as the current one, with the same
    /// transport, and at the user the strategy expects: otherwise a tampered pending value
    /// could make us change another user's password, or send the current password elsewhere
    /// or over weaker TLS.
    fn ensure_expected_target(
        ctx: &StepContext<'_>,
        current: &UserSecret<S::Endpoint>,
        pending: &UserSecret<S::Endpoint>,
        expected_user: &str,
    ) -> Result<(), RotationError> {
        let field = if pending.username != expected_user {
            "username"
        } else if let Some(field) = current.endpoint.differs(&pending.endpoint) {
            field
        } else {
            return Ok(());
        };
        Err(RotationError::PendingMismatch {
            secret: sanitize(ctx.secret_id),
            field,
        })
    }

    /// Single user: the user changes its own password, logging in with whichever stored
    /// password the server accepts. Current is tried first, so the usual rotation makes no
    /// failed login and a retry after a crash makes one (servers such as Neo4j lock a user
    /// after a few failures in a row). AWSPREVIOUS is read only when both are refused. Every
    /// password goes with the current value's transport.
    async fn apply_single(
        &self,
        ctx: &StepContext<'_>,
        current: &UserSecret<S::Endpoint>,
        pending: &UserSecret<S::Endpoint>,
    ) -> Result<Applied, RotationError> {
        let bound = self.bound(ctx);
        let mut refused = Vec::new();
        let mut candidates = vec![(AWSCURRENT, &current.password)];
        if pending.password != current.password {
            candidates.push((AWSPENDING, &pending.password));
        }
        for (stage, password) in candidates {
            if let Some(applied) = self
                .attempt_single(current, pending, stage, password, bound, &mut refused)
                .await?
            {
                return Ok(applied);
            }
        }
        let previous = ctx.previous().await;
        let previous = usable_previous(previous.as_ref(), |value| {
            self.parse(ctx, AWSPREVIOUS, value)
        });
        let previous = previous.filter(|p| {
            p.username == current.username
                && p.password != current.password
                && p.password != pending.password
        });
        if let Some(previous) = previous
            && let Some(applied) = self
                .attempt_single(
                    current,
                    pending,
                    AWSPREVIOUS,
                    &previous.password,
                    bound,
                    &mut refused,
                )
                .await?
        {
            return Ok(applied);
        }
        Err(RotationError::NoWorkingCredentials {
            attempts: scrub(&refused.join("; "), [&pending.password]),
        })
    }

    /// One login as the single user with the password stored under `stage`: `None` when the
    /// server refused it (the reason is added to `refused`).
    async fn attempt_single(
        &self,
        current: &UserSecret<S::Endpoint>,
        pending: &UserSecret<S::Endpoint>,
        stage: &str,
        password: &Secret,
        bound: Bound,
        refused: &mut Vec<String>,
    ) -> Result<Option<Applied>, RotationError> {
        let who = Credentials::user(&current.username, password);
        match self.server.login(&current.endpoint, who, bound).await {
            Ok(_) if stage == AWSPENDING => {
                info!("the pending password already logs in; nothing to change");
                Ok(Some(Applied::AlreadyInPlace))
            }
            Ok(mut session) => {
                self.server
                    .change_own_password(
                        &mut session,
                        &current.username,
                        password,
                        &pending.password,
                        bound,
                    )
                    .await?;
                info!(logged_in_with = stage, user = %sanitize(&current.username), "set the pending password");
                Ok(Some(Applied::Changed))
            }
            // Only a refused password is worth trying the next one for; an unreachable
            // server or a TLS failure will not change with another password, and each
            // further attempt would only add another timeout (or extend a lockout).
            Err(f) if f.refused_password() => {
                refused.push(format!("{stage}: {}", f.detail));
                Ok(None)
            }
            Err(f) => Err(f.into()),
        }
    }

    /// Alternating users: the admin secret's user creates the user not in use or sets its
    /// password, and makes a clone act as the original. What is already in place is checked
    /// on every call and only what is missing is done, so a retry after a crash part way
    /// through finishes the job.
    async fn apply_alternating(
        &self,
        ctx: &StepContext<'_>,
        admin_secret: &str,
        pending: &UserSecret<S::Endpoint>,
    ) -> Result<Applied, RotationError> {
        let bound = self.bound(ctx);
        let base = base_username(&pending.username);
        let clone = pending.username != base;
        let who = Credentials::user(&pending.username, &pending.password);
        let mut pending_session = match self.server.login(&pending.endpoint, who, bound).await {
            Ok(session) => Some(session),
            Err(f) if f.refused_password() => None,
            Err(f) => return Err(f.into()),
        };
        let targets = [pending.username.as_str(), base];
        let mut admin = None;
        if let Some(session) = pending_session.as_mut() {
            if !clone {
                info!(user = %sanitize(&pending.username), "the pending user already logs in; nothing to change");
                return Ok(Applied::AlreadyInPlace);
            }
            if S::DRIFT_NEEDS_ADMIN {
                admin = Some(
                    self.admin_session(ctx, admin_secret, pending, &targets, bound)
                        .await?,
                );
            }
            if self
                .drift(session, base, admin.as_mut(), bound)
                .await?
                .is_none()
            {
                info!(user = %sanitize(&pending.username), "the pending user already logs in and acts as {}; nothing to change", sanitize(base));
                return Ok(Applied::AlreadyInPlace);
            }
        }
        let mut admin = match admin {
            Some(admin) => admin,
            None => {
                self.admin_session(ctx, admin_secret, pending, &targets, bound)
                    .await?
            }
        };
        let change = UserChange {
            user: &pending.username,
            password: pending_session.is_none().then_some(&pending.password),
            act_as: clone.then_some(base),
        };
        let created = self
            .server
            .apply_as_admin(&mut admin, change, bound)
            .await?;
        info!(user = %sanitize(&pending.username), created, password_set = change.password.is_some(), "applied the pending user with the admin secret");
        Ok(Applied::Changed)
    }

    /// Why the logged-in clone does not act as `base`, if it does not; logged when found.
    async fn drift(
        &self,
        session: &mut S::Session,
        base: &str,
        admin: Option<&mut S::Session>,
        bound: Bound,
    ) -> Result<Option<String>, RotationError> {
        let identity = self.server.identity(session, bound).await?;
        let drift = self
            .server
            .drift(session, &identity, base, admin, bound)
            .await?;
        if let Some(why) = &drift {
            info!(reason = %why, "the pending user does not act as the original user yet");
        }
        Ok(drift)
    }

    /// A session as the admin secret's user, on the only server the admin side allows, to
    /// act on the users `targets`. The user names come from the user secret: the admin never
    /// acts on itself (the application team would read its new password), and the engine
    /// refuses other privileged users when it applies a change.
    pub(crate) async fn admin_session(
        &self,
        ctx: &StepContext<'_>,
        admin_secret: &str,
        user: &UserSecret<S::Endpoint>,
        targets: &[&str],
        bound: Bound,
    ) -> Result<S::Session, RotationError> {
        let AdminAccess {
            username,
            password,
            endpoint,
        } = locate_admin(
            &self.server,
            self.directory.as_deref(),
            ctx,
            admin_secret,
            &user.endpoint,
        )
        .await?;
        if let Some(target) = targets.iter().find(|t| **t == username) {
            return Err(RotationError::PrivilegedUser {
                user: sanitize(target),
                reason: "it is the admin secret's own user".into(),
            });
        }
        self.server
            .login(&endpoint, Credentials::admin(&username, &password), bound)
            .await
            .map_err(|f| RotationError::Server {
                kind: f.kind,
                detail: format!("with the admin secret's credentials: {}", f.detail),
            })
    }
}

impl<S: Server> LoginEngine<S> {
    /// A login as `user` proves its password only if the server checked it: trust, peer or
    /// certificate authentication would let any password in. The inner error says why this
    /// login proves nothing; the outer one, why that could not be found out.
    pub(crate) async fn password_checked(
        &self,
        session: &S::Session,
        user: &UserSecret<S::Endpoint>,
        bound: Bound,
    ) -> Result<Result<PasswordCheck, String>, RotationError> {
        let check = self.server.password_check(session);
        let at = || {
            format!(
                "{} at {} let user \"{}\"",
                S::NAME,
                sanitize(&user.endpoint.address()),
                sanitize(&user.username)
            )
        };
        match check {
            PasswordCheck::Proven => {}
            PasswordCheck::NotAsked => {
                return Ok(Err(format!(
                    "{} in without asking for a password (trust authentication?), so no password can be proved to work there",
                    at()
                )));
            }
            PasswordCheck::Unknown if S::WRONG_PASSWORD_PROBE => {
                // A random password that nobody holds has to be refused.
                let wrong = PasswordPolicy::defaults("").generate()?;
                let who = Credentials::user(&user.username, &wrong);
                match self.server.login(&user.endpoint, who, bound).await {
                    Err(f) if f.refused_password() => {}
                    Err(f) => return Err(f.into()),
                    Ok(_) => {
                        return Ok(Err(format!(
                            "{} log in with a random wrong password, so it does not check this user's password; no rotation can prove a password works there",
                            at()
                        )));
                    }
                }
            }
            PasswordCheck::Unknown => {}
        }
        Ok(Ok(check))
    }
}

#[async_trait]
impl<S: Server> Engine for LoginEngine<S> {
    fn name(&self) -> &'static str {
        S::NAME
    }

    fn build_pending(
        &self,
        ctx: &StepContext<'_>,
        current: &Secret,
    ) -> Result<Secret, RotationError> {
        let current = self.parse(ctx, AWSCURRENT, current)?;
        let username = self.strategy(ctx, &current)?.pending_username(
            ctx,
            &current.username,
            S::MAX_USERNAME_BYTES,
        )?;
        let password = self.settings.password_policy.generate()?;
        Ok(current.with_login(&username, &password))
    }

    async fn apply(
        &self,
        ctx: &StepContext<'_>,
        versions: &Versions<'_>,
    ) -> Result<Applied, RotationError> {
        let current = self.parse(ctx, AWSCURRENT, &versions.current(ctx).await?)?;
        let pending = self.parse(ctx, AWSPENDING, versions.pending)?;
        let strategy = self.strategy(ctx, &current)?;
        let expected_user =
            strategy.pending_username(ctx, &current.username, S::MAX_USERNAME_BYTES)?;
        Self::ensure_expected_target(ctx, &current, &pending, &expected_user)?;
        match strategy {
            Strategy::SingleUser => self.apply_single(ctx, &current, &pending).await,
            Strategy::AlternatingUsers { admin_secret } => {
                self.apply_alternating(ctx, &admin_secret, &pending).await
            }
        }
    }

    async fn verify(
        &self,
        ctx: &StepContext<'_>,
        versions: &Versions<'_>,
    ) -> Result<(), RotationError> {
        let pending = self.parse(ctx, AWSPENDING, versions.pending)?;
        let bound = self.bound(ctx);
        let who = Credentials::user(&pending.username, &pending.password);
        let mut session = self.server.login(&pending.endpoint, who, bound).await?;
        self.password_checked(&session, &pending, bound)
            .await?
            .map_err(RotationError::TestFailed)?;
        let identity = self.server.identity(&mut session, bound).await?;
        if identity.user != pending.username {
            return Err(RotationError::TestFailed(format!(
                "logged in, but the server reports the user as \"{}\" instead of \"{}\"",
                sanitize(&identity.user),
                sanitize(&pending.username)
            )));
        }
        if let Strategy::AlternatingUsers { admin_secret } = self.strategy(ctx, &pending)? {
            let base = base_username(&pending.username);
            if base != pending.username {
                let mut admin = match S::DRIFT_NEEDS_ADMIN {
                    true => Some(
                        self.admin_session(ctx, &admin_secret, &pending, &[], bound)
                            .await?,
                    ),
                    false => None,
                };
                if let Some(why) = self
                    .server
                    .drift(&mut session, &identity, base, admin.as_mut(), bound)
                    .await?
                {
                    return Err(RotationError::TestFailed(format!(
                        "{why}; its rights would drift from the original user's"
                    )));
                }
            }
        }
        info!(user = %sanitize(&identity.user), acting_as = %sanitize(&identity.acting_as), "the pending password logs in");
        Ok(())
    }
}

#[cfg(test)]
#[path = "login_engine_tests.rs"]
mod tests;
