//! PostgreSQL's part of a rotation: logging in, and the few statements rotation needs. Every
//! rule about which credential goes where lives in [`rotation_core::LoginEngine`].

use async_trait::async_trait;
use postgres_protocol::escape::escape_identifier;
use rotation_core::{
    AdminRights, Bound, Credentials, EndpointError, FailureKind, Identity, Limit, LoginEngine,
    LoginFailure, LoginSecret, PasswordCheck, RotationError, Secret, Server, UserChange, sanitize,
};

use crate::connect::{Login, PgSession, classify, error_text, within};
use crate::endpoint::{ENGINES, PgEndpoint};
use crate::settings::Settings;
use crate::sql;
use crate::tls::LazyTls;

/// PostgreSQL's identifier limit (NAMEDATALEN - 1).
pub const MAX_ROLE_NAME_BYTES: usize = 63;

/// The rotation engine for PostgreSQL secrets.
pub type PostgresEngine = LoginEngine<Postgres>;

/// An engine configured by `settings`.
pub fn engine(settings: Settings) -> PostgresEngine {
    let login = settings.login.clone();
    LoginEngine::new(Postgres::new(settings), login)
}

pub struct Postgres {
    settings: Settings,
    /// Trusted roots, loaded on first use and kept for the life of the process.
    trust: LazyTls,
}

impl Postgres {
    pub fn new(settings: Settings) -> Self {
        let trust = LazyTls::new(settings.trust.clone());
        Self { settings, trust }
    }

    /// Runs `work` on `session` within the bound, reporting failures as `what` failing.
    async fn run<T, F>(
        &self,
        session: &PgSession,
        bound: Bound,
        what: &str,
        secrets: &[&Secret],
        work: impl FnOnce(Limit) -> F,
    ) -> Result<T, RotationError>
    where
        F: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let limit = bound.limit().map_err(|exhausted| RotationError::Server {
            kind: FailureKind::Timeout,
            detail: format!("{what} on {} not started: {exhausted}", session.describe),
        })?;
        match within(session, &self.trust, limit, work(limit)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(RotationError::Server {
                kind: match classify(&e) {
                    FailureKind::Timeout => FailureKind::Timeout,
                    _ => FailureKind::Statement,
                },
                detail: format!(
                    "{what} on {} failed: {}",
                    session.describe,
                    error_text(&e, secrets.iter().copied())
                ),
            }),
            Err(()) => Err(RotationError::Server {
                kind: FailureKind::Timeout,
                detail: format!(
                    "{what} on {} got no answer within {limit}; the server was asked to cancel it",
                    session.describe
                ),
            }),
        }
    }
}

#[async_trait]
impl Server for Postgres {
    type Endpoint = PgEndpoint;
    type Session = PgSession;

    const NAME: &'static str = "postgres";
    const ENGINES: &'static [&'static str] = &ENGINES;
    const MAX_USERNAME_BYTES: usize = MAX_ROLE_NAME_BYTES;
    const ADMIN_SERVER_KEY: &'static str = "host";
    // PostgreSQL does not lock users out, so a login that sent the password in cleartext or
    // as MD5 (which a server accepting anything would answer the same way) is followed by a
    // wrong one in testSecret. SCRAM logins, the norm, need none.
    const WRONG_PASSWORD_PROBE: bool = true;

    fn endpoint(&self, secret: &LoginSecret) -> Result<PgEndpoint, EndpointError> {
        PgEndpoint::of_user(secret, &self.settings)
    }

    fn admin_endpoint(
        &self,
        admin: &LoginSecret,
        _user: &PgEndpoint,
    ) -> Result<Option<PgEndpoint>, EndpointError> {
        PgEndpoint::admin_server(admin)?
            .map(|(host, port)| PgEndpoint::of_admin(admin, host, port, &self.settings))
            .transpose()
    }

    fn located_admin_endpoint(
        &self,
        admin: &LoginSecret,
        host: &str,
        port: u16,
        _user: &PgEndpoint,
    ) -> Result<PgEndpoint, EndpointError> {
        PgEndpoint::of_admin(admin, host.to_owned(), port, &self.settings)
    }

    async fn login(
        &self,
        endpoint: &PgEndpoint,
        who: Credentials<'_>,
        bound: Bound,
    ) -> Result<PgSession, LoginFailure> {
        Login {
            endpoint,
            who,
            trust: &self.trust,
        }
        .connect(bound)
        .await
    }

    fn password_check(&self, session: &PgSession) -> PasswordCheck {
        session.password_check
    }

    async fn identity(
        &self,
        session: &mut PgSession,
        bound: Bound,
    ) -> Result<Identity, RotationError> {
        let row = self
            .run(session, bound, "the test query", &[], |_| {
                session.client.query_one(sql::WHO_AM_I, &[])
            })
            .await?;
        Ok(Identity {
            user: row.get(0),
            acting_as: row.get(1),
        })
    }

    async fn change_own_password(
        &self,
        session: &mut PgSession,
        username: &str,
        old: &Secret,
        new: &Secret,
        bound: Bound,
    ) -> Result<(), RotationError> {
        let session: &PgSession = session;
        let verifier = sql::verifier(new);
        let statement = sql::set_password(username, &verifier);
        let what = format!("changing the password of role \"{}\"", sanitize(username));
        self.run(session, bound, &what, &[old, new, &verifier], |limit| {
            let batch = format!("{}; {statement}", sql::limits(limit.duration));
            async move { session.client.batch_execute(&batch).await }
        })
        .await
    }

    async fn apply_as_admin(
        &self,
        admin: &mut PgSession,
        change: UserChange<'_>,
        bound: Bound,
    ) -> Result<bool, RotationError> {
        let role = sanitize(change.user);
        let mut what = match change.password {
            Some(_) => format!("creating or changing the password of role \"{role}\""),
            None => format!("updating role \"{role}\""),
        };
        if let Some(base) = change.act_as {
            what.push_str(&format!(" so that it acts as \"{}\"", sanitize(base)));
        }
        let verifier = change.password.map(sql::verifier);
        let secrets: Vec<&Secret> = change.password.into_iter().chain(&verifier).collect();
        let admin: &PgSession = admin;
        let verifier = &verifier;
        // One transaction: a crash part way leaves either no change or all of it. COMMIT is
        // sent only once the change came back within the bound; a change the client gave up
        // on is rolled back with the connection.
        self.run(admin, bound, &what, &secrets, |limit| async move {
            let client = &admin.client;
            client
                .batch_execute(&sql::begin_admin(limit.duration))
                .await?;
            let exists = client
                .query_opt(sql::ROLE_EXISTS, &[&change.user])
                .await?
                .is_some();
            let checked = exists
                .then_some(change.user)
                .into_iter()
                .chain(change.act_as);
            for role in checked {
                let privileged = client
                    .query_opt(
                        sql::PRIVILEGED_MEMBERSHIP,
                        &[&role, &sql::POWERFUL_ROLES.as_slice()],
                    )
                    .await?;
                if let Some(row) = privileged {
                    client.batch_execute("ROLLBACK").await?;
                    return Ok(Err(RotationError::PrivilegedUser {
                        user: sanitize(role),
                        reason: privilege(&row, role),
                    }));
                }
            }
            let mut statements = Vec::new();
            if let Some(verifier) = verifier {
                statements.push(if exists {
                    sql::set_password(change.user, verifier)
                } else {
                    sql::create_role(change.user, verifier)
                });
            }
            if let Some(base) = change.act_as {
                statements.push(sql::act_as(change.user, base));
            }
            client.batch_execute(&statements.join("; ")).await?;
            client.batch_execute("COMMIT").await?;
            Ok(Ok(!exists && verifier.is_some()))
        })
        .await?
    }

    async fn admin_rights(
        &self,
        admin: &mut PgSession,
        users: &[&str],
        bound: Bound,
    ) -> Result<AdminRights, RotationError> {
        let admin: &PgSession = admin;
        let what = "reading the admin user's rights over the alternating users";
        let rows = self
            .run(admin, bound, what, &[], |_| async move {
                let mut rows = Vec::new();
                for user in users {
                    let rights = admin.client.query_one(sql::ADMIN_RIGHTS, &[user]).await?;
                    // The alternate user may not exist yet.
                    let privileged = match rights.get::<_, bool>(4) {
                        true => {
                            admin
                                .client
                                .query_opt(
                                    sql::PRIVILEGED_MEMBERSHIP,
                                    &[user, &sql::POWERFUL_ROLES.as_slice()],
                                )
                                .await?
                        }
                        false => None,
                    };
                    rows.push((*user, rights, privileged));
                }
                Ok(rows)
            })
            .await?;
        // First any user the function would refuse to change, then the admin's own
        // attributes, then ADMIN OPTION on each user that exists.
        for (user, _, privileged) in &rows {
            if let Some(row) = privileged {
                let user = sanitize(user);
                return Ok(AdminRights::Missing(format!(
                    "\"{user}\" {}; the function refuses to change such a user with admin credentials",
                    privilege(row, &user).trim_start_matches("it ")
                )));
            }
        }
        let Some((_, first, _)) = rows.first() else {
            return Ok(AdminRights::Missing("no user to check".into()));
        };
        let name = escape_identifier(&sanitize(&first.get::<_, String>(0)));
        let (superuser, createrole, version): (bool, bool, i32) =
            (first.get(1), first.get(2), first.get(3));
        if superuser {
            return Ok(AdminRights::Sufficient(format!("{name} is a superuser")));
        }
        if !createrole {
            return Ok(AdminRights::Missing(format!(
                "{name} lacks CREATEROLE, which creating the alternate user and setting its password need (ALTER ROLE {name} CREATEROLE)"
            )));
        }
        let mut admin_option_on = Vec::new();
        if version >= sql::ADMIN_OPTION_VERSION {
            for (user, rights, _) in rows.iter().filter(|(_, r, _)| r.get::<_, bool>(4)) {
                let quoted = escape_identifier(&sanitize(user));
                if !rights.get::<_, bool>(5) {
                    return Ok(AdminRights::Missing(format!(
                        "{name} lacks ADMIN OPTION on {quoted}, which PostgreSQL 16 and later require to change its password and members (GRANT {quoted} TO {name} WITH ADMIN OPTION)"
                    )));
                }
                admin_option_on.push(quoted);
            }
        }
        Ok(AdminRights::Sufficient(match admin_option_on.is_empty() {
            true => format!("{name} has CREATEROLE"),
            false => format!(
                "{name} has CREATEROLE and ADMIN OPTION on {}",
                admin_option_on.join(" and ")
            ),
        }))
    }

    async fn drift(
        &self,
        _pending: &mut PgSession,
        identity: &Identity,
        base: &str,
        _admin: Option<&mut PgSession>,
        _bound: Bound,
    ) -> Result<Option<String>, RotationError> {
        Ok((identity.acting_as != base).then(|| {
            format!(
                "\"{}\" logs in but acts as \"{}\", not as \"{}\"",
                sanitize(&identity.user),
                sanitize(&identity.acting_as),
                sanitize(base)
            )
        }))
    }
}

/// Why a role found by [`sql::PRIVILEGED_MEMBERSHIP`] is off limits.
fn privilege(row: &tokio_postgres::Row, checked: &str) -> String {
    let found: String = row.get(0);
    let what = match (row.get(1), row.get(2), row.get(3), row.get(4)) {
        (true, ..) => "a superuser",
        (_, true, ..) => "able to create and alter roles",
        (_, _, true, _) => "a replication role",
        (_, _, _, true) => "exempt from row security",
        _ if sql::POWERFUL_ROLES.contains(&found.as_str()) => {
            "a role that reaches the server's files or programs"
        }
        _ => "the admin secret's own user",
    };
    if found == checked {
        format!("it is {what}")
    } else {
        format!(
            "it is a member of \"{}\", which is {what}",
            sanitize(&found)
        )
    }
}
