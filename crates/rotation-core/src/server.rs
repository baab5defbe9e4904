//! What an engine that rotates a login on a server provides: its wire protocol and its
//! statements, and nothing else.
//!
//! Which credential to try and in what order, where admin credentials may go, what a pending
//! value may change, how long each call may take: those rules are written once, in
//! [`crate::LoginEngine`], for every such engine. A new engine (MySQL, Redis) implements
//! [`Server`] and gets them all.

use async_trait::async_trait;

use crate::deadline::Bound;
use crate::error::{FailureKind, RotationError};
use crate::login_secret::LoginSecret;
use crate::redact::Secret;

/// Where a login goes and how it is protected in transit: an engine's host, port and TLS
/// settings as one value.
pub trait Endpoint: Send + Sync {
    fn host(&self) -> &str;
    fn port(&self) -> u16;

    /// The first setting, by the name the secret gives it, in which `other` would send a
    /// password to another server or protect it differently. A pending value may change
    /// neither: the current and previous passwords are sent with the current value's settings.
    fn differs(&self, other: &Self) -> Option<&'static str>;

    /// `host:port`, for messages.
    fn address(&self) -> String {
        if self.host().contains(':') {
            format!("[{}]:{}", self.host(), self.port())
        } else {
            format!("{}:{}", self.host(), self.port())
        }
    }

    /// Whether this endpoint is the server at `host:port` (host names compare without case).
    fn is_at(&self, host: &str, port: u16) -> bool {
        self.host().eq_ignore_ascii_case(host) && self.port() == port
    }
}

/// Why an engine could not work out an endpoint from a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointError {
    /// The secret is wrong: a missing or malformed key.
    Malformed(String),
    /// The secret and the function's own settings contradict each other.
    Config(String),
}

impl EndpointError {
    /// The rotation error: `malformed` names whose secret is wrong; a contradiction with the
    /// function's settings is a configuration error whoever wrote the secret.
    pub fn into_error(self, malformed: impl FnOnce(String) -> RotationError) -> RotationError {
        match self {
            Self::Malformed(reason) => malformed(reason),
            Self::Config(message) => RotationError::Config(message),
        }
    }
}

impl From<String> for EndpointError {
    fn from(reason: String) -> Self {
        Self::Malformed(reason)
    }
}

/// In which capacity a login is made. Admin credentials get stricter transport rules: they
/// unlock every user's password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRole {
    User,
    Admin,
}

/// Who logs in.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    pub username: &'a str,
    pub password: &'a Secret,
    pub role: LoginRole,
}

impl<'a> Credentials<'a> {
    pub fn user(username: &'a str, password: &'a Secret) -> Self {
        Self {
            username,
            password,
            role: LoginRole::User,
        }
    }

    pub fn admin(username: &'a str, password: &'a Secret) -> Self {
        Self {
            username,
            password,
            role: LoginRole::Admin,
        }
    }
}

/// Who a session is, as the server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user that logged in.
    pub user: String,
    /// The user whose rights the session acts with (PostgreSQL's `current_user`); the login
    /// user where the server has no such notion.
    pub acting_as: String,
}

/// What a login showed about whether the server checked the password: on a server that lets
/// anyone in, a working login proves nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The server proved it holds this password's verifier (a completed SCRAM exchange).
    Proven,
    /// The server let the user in without asking for a password (trust, peer or certificate
    /// authentication).
    NotAsked,
    /// The login does not tell: the password was sent (in cleartext or hashed with MD5) and
    /// accepted, which a server that accepts anything would do too; or the protocol says
    /// nothing (Bolt).
    Unknown,
}

/// What the admin user is asked to do to one user, in one go where the server allows it.
#[derive(Debug, Clone, Copy)]
pub struct UserChange<'a> {
    pub user: &'a str,
    /// The password to set, creating the user if it does not exist; `None` when the password
    /// is already in place.
    pub password: Option<&'a Secret>,
    /// The original user this one must act as (alternating users' clone); `None` for the
    /// original itself.
    pub act_as: Option<&'a str>,
}

/// Whether an admin session holds the rights alternating users need over one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRights {
    /// It does; what was found ("CREATEROLE").
    Sufficient(String),
    /// It does not; what is missing, and the statement or setting that would grant it.
    Missing(String),
}

/// A failed login: its kind decides whether another credential is worth trying.
#[derive(Debug)]
pub struct LoginFailure {
    pub kind: FailureKind,
    /// What failed and why, naming the server and user, never a secret.
    pub detail: String,
    /// The server locked the account after repeated failures: trying another password now
    /// would only extend the lock.
    pub locked_out: bool,
    /// The server refused the login for a reason other than the password (PostgreSQL's
    /// 28000: no pg_hba.conf entry for this client, no such user, no LOGIN), so it says
    /// nothing about whether the password is right.
    pub not_about_the_password: bool,
}

impl LoginFailure {
    pub fn new(kind: FailureKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            locked_out: false,
            not_about_the_password: false,
        }
    }

    /// The server judged this password and found it wrong.
    pub fn wrong_password(&self) -> bool {
        self.refused_password() && !self.not_about_the_password
    }

    /// Worth trying the next credential: the server answered and refused this password, and
    /// is not locking the account.
    pub fn refused_password(&self) -> bool {
        self.kind == FailureKind::LoginRefused && !self.locked_out
    }
}

impl From<LoginFailure> for RotationError {
    fn from(f: LoginFailure) -> Self {
        RotationError::Server {
            kind: f.kind,
            detail: f.detail,
        }
    }
}

/// One kind of server whose users log in with a password. Every call is bounded by `bound`
/// (ask it for the limit just before waiting), and every error text has passed through
/// [`crate::server_message`] with the secrets involved.
#[async_trait]
pub trait Server: Send + Sync + 'static {
    type Endpoint: Endpoint;
    /// A logged-in connection.
    type Session: Send + Sync;

    /// Short name for logs and messages ("postgres").
    const NAME: &'static str;
    /// The `engine` values a secret for this server may carry.
    const ENGINES: &'static [&'static str];
    /// The longest user name the server accepts, which the alternate user must fit.
    const MAX_USERNAME_BYTES: usize;
    /// The admin secret's key that names its server ("host", "uri"), for messages.
    const ADMIN_SERVER_KEY: &'static str;
    /// When a login does not show whether the password was checked
    /// ([`PasswordCheck::Unknown`]), testSecret also logs in with a random wrong password,
    /// which must be refused. Off where failed logins lock the user out.
    const WRONG_PASSWORD_PROBE: bool = false;
    /// [`Server::drift`] needs an admin session to compare the two users.
    const DRIFT_NEEDS_ADMIN: bool = false;

    /// Where the user secret logs in. Called for every stored value before it is used.
    fn endpoint(&self, secret: &LoginSecret) -> Result<Self::Endpoint, EndpointError>;

    /// Where the admin secret logs in when it names its own server; `None` when it names
    /// none. `user` may supply what does not decide where credentials go (a database name),
    /// never the host, port or transport.
    fn admin_endpoint(
        &self,
        admin: &LoginSecret,
        user: &Self::Endpoint,
    ) -> Result<Option<Self::Endpoint>, EndpointError>;

    /// Where the admin secret logs in when its server was looked up (the RDS API) at
    /// `host:port`; transport settings come from the admin secret, else the strictest.
    fn located_admin_endpoint(
        &self,
        admin: &LoginSecret,
        host: &str,
        port: u16,
        user: &Self::Endpoint,
    ) -> Result<Self::Endpoint, EndpointError> {
        let _ = (admin, host, port, user);
        Err(EndpointError::Malformed(format!(
            "{} admin secrets must name their server with \"{}\"",
            Self::NAME,
            Self::ADMIN_SERVER_KEY
        )))
    }

    /// Logs in, proving the password was accepted.
    async fn login(
        &self,
        endpoint: &Self::Endpoint,
        who: Credentials<'_>,
        bound: Bound,
    ) -> Result<Self::Session, LoginFailure>;

    /// What the login of `session` showed about whether the server checked the password.
    fn password_check(&self, session: &Self::Session) -> PasswordCheck {
        let _ = session;
        PasswordCheck::Unknown
    }

    /// Who the session is.
    async fn identity(
        &self,
        session: &mut Self::Session,
        bound: Bound,
    ) -> Result<Identity, RotationError>;

    /// The logged-in user changes its own password from `old` to `new`.
    async fn change_own_password(
        &self,
        session: &mut Self::Session,
        username: &str,
        old: &Secret,
        new: &Secret,
        bound: Bound,
    ) -> Result<(), RotationError>;

    /// The admin user applies `change`; answers whether the user had to be created. Must be
    /// safe to repeat, and should leave either all of the change or none of it. Must refuse
    /// ([`RotationError::PrivilegedUser`]) when the user, or the one it is to act as, holds
    /// more than an application user may (administration rights of any kind): their names
    /// come from the user secret, which the application team may write.
    async fn apply_as_admin(
        &self,
        admin: &mut Self::Session,
        change: UserChange<'_>,
        bound: Bound,
    ) -> Result<bool, RotationError>;

    /// Whether `admin` may do what [`Self::apply_as_admin`] will ask of it for `users` (the
    /// user secret's user and its alternate, which may not exist yet): checked before
    /// rotation is turned on, so a missing privilege shows up then and not on the first
    /// rotation.
    async fn admin_rights(
        &self,
        admin: &mut Self::Session,
        users: &[&str],
        bound: Bound,
    ) -> Result<AdminRights, RotationError>;

    /// Why the clone (`pending`, logged in as `identity`) does not act as the original user
    /// `base`, or `None` when it does. `admin` is given when [`Self::DRIFT_NEEDS_ADMIN`].
    async fn drift(
        &self,
        pending: &mut Self::Session,
        identity: &Identity,
        base: &str,
        admin: Option<&mut Self::Session>,
        bound: Bound,
    ) -> Result<Option<String>, RotationError>;
}
