//! Logging in, bounded in time, with the transport the endpoint's policy allows and failures
//! sorted into what an operator can act on.

use std::error::Error as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use rotation_core::{
    Bound, Credentials, Endpoint, FailureKind, Limit, LoginFailure, LoginRole, PasswordCheck,
    server_message,
};
use tokio::net::TcpStream;
use tokio_postgres::config::{ChannelBinding, SslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{CancelToken, Client, Config, NoTls};
use tracing::warn;

use crate::auth_guard::{GuardedTls, PasswordAsked, ScramOnly, WeakAuthRequest};
use crate::endpoint::PgEndpoint;
use crate::tls::{LazyTls, TlsPolicy, Verification};

/// One way of opening the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Plain,
    Tls(Verification),
}

/// A logged-in session, and what it takes to cancel its running statement.
pub struct PgSession {
    pub client: Client,
    pub describe: String,
    cancel: CancelToken,
    transport: Transport,
    address: SocketAddr,
    host: String,
    /// How the server authenticated this session.
    pub password_check: PasswordCheck,
}

/// A failed attempt, and whether the server declined TLS before any handshake.
struct Failed {
    failure: LoginFailure,
    no_tls_offered: bool,
}

impl From<Failed> for LoginFailure {
    fn from(f: Failed) -> Self {
        f.failure
    }
}

pub struct Login<'a> {
    pub endpoint: &'a PgEndpoint,
    pub who: Credentials<'a>,
    pub trust: &'a LazyTls,
}

impl Login<'_> {
    fn describe(&self) -> String {
        format!(
            "{} as \"{}\"",
            rotation_core::sanitize(&self.endpoint.address()),
            rotation_core::sanitize(self.who.username)
        )
    }

    /// Opens a session as the endpoint's policy says. Only `prefer` and the default for
    /// secrets that say nothing ever step down, and each step down is logged.
    pub async fn connect(&self, bound: Bound) -> Result<PgSession, LoginFailure> {
        use Verification::{Chain, Full, None as Unverified};
        let attempt = |transport| self.attempt(transport, bound);
        Ok(match self.endpoint.tls {
            TlsPolicy::Disable => attempt(Transport::Plain).await?,
            TlsPolicy::Require => attempt(Transport::Tls(Unverified)).await?,
            TlsPolicy::VerifyCa => attempt(Transport::Tls(Chain)).await?,
            TlsPolicy::VerifyFull => attempt(Transport::Tls(Full)).await?,
            TlsPolicy::Prefer => match attempt(Transport::Tls(Unverified)).await {
                Err(f) if f.failure.kind == FailureKind::Tls => {
                    self.warn_plaintext(&f.failure.detail);
                    attempt(Transport::Plain).await?
                }
                other => other?,
            },
            TlsPolicy::Opportunistic => match attempt(Transport::Tls(Full)).await {
                Err(f) if f.no_tls_offered => {
                    self.warn_plaintext(&f.failure.detail);
                    attempt(Transport::Plain).await?
                }
                Err(f) if f.failure.kind == FailureKind::Tls => {
                    warn!(
                        target_server = %self.describe(),
                        reason = %f.failure.detail,
                        "the server's certificate could not be verified; using TLS without verification (set \"ssl\": true, an sslmode, or PGSSLMODE=verify-full to forbid this, and PGSSLROOTCERT to trust the server's CA)"
                    );
                    attempt(Transport::Tls(Unverified)).await?
                }
                other => other?,
            },
        })
    }

    fn warn_plaintext(&self, reason: &str) {
        warn!(
            target_server = %self.describe(),
            reason = %reason,
            "TLS is not to be had and the secret does not require it; falling back to an unencrypted connection (set \"ssl\": true, an sslmode, or PGSSLMODE to forbid this)"
        );
    }

    fn failed(&self, kind: FailureKind, detail: String) -> Failed {
        Failed {
            failure: LoginFailure::new(kind, detail),
            no_tls_offered: false,
        }
    }

    async fn attempt(&self, transport: Transport, bound: Bound) -> Result<PgSession, Failed> {
        let mode = match transport {
            Transport::Plain => "unencrypted",
            Transport::Tls(_) => "TLS",
        };
        let limit = bound.limit().map_err(|exhausted| {
            self.failed(
                FailureKind::Timeout,
                format!(
                    "{mode} login to {} not started: {exhausted}",
                    self.describe()
                ),
            )
        })?;
        let admin = self.who.role == LoginRole::Admin;
        let mut config = Config::new();
        config
            .dbname(&self.endpoint.dbname)
            .user(self.who.username)
            .password(self.who.password.expose())
            .application_name("secrets-manager-rotation");
        let asked = PasswordAsked::default();
        let connecting = async {
            let (socket, address) = open(&self.endpoint.host, self.endpoint.port).await?;
            let client = match transport {
                Transport::Plain => {
                    config.ssl_mode(SslMode::Disable);
                    let (client, connection) = config
                        .connect_raw(ScramOnly::new(socket, admin, asked.clone()), NoTls)
                        .await
                        .map_err(Refusal::Postgres)?;
                    tokio::spawn(connection);
                    client
                }
                Transport::Tls(verification) => {
                    let context = self
                        .trust
                        .get()
                        .map_err(|reason| Refusal::Setup(reason.to_owned()))?;
                    config.ssl_mode(SslMode::Require);
                    if admin && verification != Verification::Full {
                        // Without a verified certificate, only channel binding keeps a man in
                        // the middle from relaying the SCRAM exchange and taking the session.
                        config.channel_binding(ChannelBinding::Require);
                    }
                    let tls = tls_for(context, verification, &self.endpoint.host);
                    let (guarded, started) = GuardedTls::new(tls, admin, asked.clone());
                    let (client, connection) =
                        config.connect_raw(socket, guarded).await.map_err(|e| {
                            // Declined, not failed: the server answered the TLS request
                            // with "no" and no handshake began.
                            let declined = !started.load(Ordering::SeqCst)
                                && error_text(&e, []).contains("does not support TLS");
                            if declined {
                                Refusal::NoTls(e)
                            } else {
                                Refusal::Postgres(e)
                            }
                        })?;
                    tokio::spawn(connection);
                    client
                }
            };
            Ok::<_, Refusal>((client, address))
        };
        match tokio::time::timeout(limit.duration, connecting).await {
            Ok(Ok((client, address))) => Ok(PgSession {
                cancel: client.cancel_token(),
                client,
                describe: self.describe(),
                transport,
                address,
                host: self.endpoint.host.clone(),
                password_check: asked.check(),
            }),
            Ok(Err(refusal)) => Err(self.refused(mode, transport, refusal)),
            Err(_) => Err(self.failed(
                FailureKind::Timeout,
                format!(
                    "{mode} login to {} got no answer within {limit}",
                    self.describe()
                ),
            )),
        }
    }

    fn refused(&self, mode: &str, transport: Transport, refusal: Refusal) -> Failed {
        let secrets = [self.who.password];
        // 28000 rather than 28P01: no pg_hba.conf entry, no such role, no LOGIN.
        let not_about_the_password = matches!(&refusal, Refusal::Postgres(e)
            if e.as_db_error().is_some_and(|db| *db.code() == SqlState::INVALID_AUTHORIZATION_SPECIFICATION));
        let (kind, text, no_tls_offered) = match refusal {
            Refusal::Connect(text) => (FailureKind::Unreachable, text, false),
            Refusal::Setup(reason) => (
                FailureKind::Configuration,
                format!("TLS cannot be set up: {reason}"),
                false,
            ),
            Refusal::NoTls(e) => (
                FailureKind::Tls,
                format!("{} (the server offers no TLS)", error_text(&e, secrets)),
                true,
            ),
            Refusal::Postgres(e) => {
                let kind = classify(&e);
                let mut text = error_text(&e, secrets);
                if transport == Transport::Plain
                    && kind == FailureKind::LoginRefused
                    && demands_tls(&e)
                {
                    text.push_str(
                        " (the server requires TLS for this user; set \"ssl\": true or an sslmode)",
                    );
                    (FailureKind::Tls, text, false)
                } else {
                    (kind, text, false)
                }
            }
        };
        let mut failure = LoginFailure::new(
            kind,
            format!("{mode} login to {} failed: {text}", self.describe()),
        );
        failure.not_about_the_password = not_about_the_password;
        Failed {
            failure,
            no_tls_offered,
        }
    }
}

/// Why a connection attempt ended.
enum Refusal {
    Connect(String),
    Setup(String),
    /// The server declined the TLS request.
    NoTls(tokio_postgres::Error),
    Postgres(tokio_postgres::Error),
}

type Connector =
    <tokio_postgres_rustls::MakeRustlsConnect as MakeTlsConnect<TcpStream>>::TlsConnect;

/// The TLS connector for one connection to `host`.
fn tls_for(context: &crate::tls::TlsContext, verification: Verification, host: &str) -> Connector {
    match MakeTlsConnect::<TcpStream>::make_tls_connect(&mut context.connector(verification), host)
    {
        Ok(connector) => connector,
        Err(never) => match never {},
    }
}

/// Resolves the host and opens a TCP connection to the first address that answers.
async fn open(host: &str, port: u16) -> Result<(TcpStream, SocketAddr), Refusal> {
    let addresses = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Refusal::Connect(format!("cannot resolve the host: {e}")))?;
    let mut last = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(socket) => {
                let _ = socket.set_nodelay(true);
                return Ok((socket, address));
            }
            Err(e) => last = Some(format!("cannot connect to {address}: {e}")),
        }
    }
    Err(Refusal::Connect(last.unwrap_or_else(|| {
        "the host resolves to no address".into()
    })))
}

impl PgSession {
    /// Asks the server to cancel the running statement, best effort and briefly: the
    /// statement's own server-side timeout is the real bound; this only ends it sooner.
    pub async fn cancel(&self, trust: &LazyTls) {
        let attempt = async {
            let socket = TcpStream::connect(self.address).await.ok()?;
            match self.transport {
                Transport::Plain => self.cancel.cancel_query_raw(socket, NoTls).await.ok(),
                Transport::Tls(verification) => {
                    let tls = tls_for(trust.get().ok()?, verification, &self.host);
                    self.cancel.cancel_query_raw(socket, tls).await.ok()
                }
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_millis(500), attempt).await;
    }
}

/// The error with its whole cause chain, every given secret scrubbed out, on one line.
pub fn error_text<'a>(
    error: &tokio_postgres::Error,
    secrets: impl IntoIterator<Item = &'a rotation_core::Secret>,
) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    server_message(&text, secrets)
}

/// A plaintext login refused because pg_hba.conf accepts this user only over TLS
/// (`hostssl`, or `hostnossl ... reject`): PostgreSQL says "no encryption" (14 and later) or
/// "SSL off".
fn demands_tls(error: &tokio_postgres::Error) -> bool {
    error.as_db_error().is_some_and(|db| {
        *db.code() == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            && (db.message().contains("no encryption") || db.message().contains("SSL off"))
    })
}

pub fn classify(error: &tokio_postgres::Error) -> FailureKind {
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        return if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            FailureKind::LoginRefused
        } else if *code == SqlState::LOCK_NOT_AVAILABLE || *code == SqlState::QUERY_CANCELED {
            FailureKind::Timeout
        } else {
            FailureKind::Statement
        };
    }
    let mut source = error.source();
    while let Some(cause) = source {
        if cause.is::<WeakAuthRequest>() {
            return FailureKind::WeakAuthentication;
        }
        if cause.is::<rustls::Error>() {
            return FailureKind::Tls;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if inner.is::<WeakAuthRequest>() {
                    return FailureKind::WeakAuthentication;
                }
                if inner.is::<rustls::Error>() {
                    return FailureKind::Tls;
                }
            }
            if io.kind() == std::io::ErrorKind::TimedOut {
                return FailureKind::Timeout;
            }
        }
        source = cause.source();
    }
    let text = error.to_string();
    if text.contains("channel binding") {
        FailureKind::WeakAuthentication
    } else if text.contains("TLS") {
        FailureKind::Tls
    } else if text.contains("timeout") {
        FailureKind::Timeout
    } else if text.contains("error connecting") || text.contains("connection closed") {
        FailureKind::Unreachable
    } else if text.contains("password") || text.contains("authentication") {
        FailureKind::LoginRefused
    } else {
        FailureKind::Unreachable
    }
}

/// Waits for `work` at most `limit`: the statement's server-side timeout (set a little
/// shorter, see [`crate::sql::limits`]) normally ends it first with a clear error; this
/// catches a server that stops answering altogether, and cancels what it was running.
pub async fn within<T>(
    session: &PgSession,
    trust: &LazyTls,
    limit: Limit,
    work: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<Result<T, tokio_postgres::Error>, ()> {
    match tokio::time::timeout(limit.duration, work).await {
        Ok(result) => Ok(result),
        Err(_) => {
            session.cancel(trust).await;
            Err(())
        }
    }
}
