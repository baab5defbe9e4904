//! Logging in, bounded in time, with failures sorted into what an operator can act on.

use std::error::Error as _;
use std::time::Duration;

use rotation_core::{FailureKind, RotationError, Secret, scrub};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls, config::SslMode};
use tracing::warn;

use crate::tls::{LazyTls, TlsPolicy, Verification};

/// Where to log in and as whom.
pub struct Login<'a> {
    pub host: &'a str,
    pub port: u16,
    pub dbname: &'a str,
    pub username: &'a str,
    pub password: &'a Secret,
    pub tls: TlsPolicy,
    pub trust: &'a LazyTls,
}

/// A failed login: its kind decides whether trying another credential makes sense.
#[derive(Debug)]
pub struct LoginFailure {
    pub kind: FailureKind,
    pub detail: String,
}

impl From<LoginFailure> for RotationError {
    fn from(f: LoginFailure) -> Self {
        RotationError::Server {
            kind: f.kind,
            detail: f.detail,
        }
    }
}

/// One way of opening the connection.
#[derive(Clone, Copy)]
enum Transport {
    Plain,
    Tls(Verification),
}

impl Login<'_> {
    pub fn describe(&self) -> String {
        format!("{}:{} as \"{}\"", self.host, self.port, self.username)
    }

    /// Opens a session as the policy says. Only `prefer` and the default for secrets that say
    /// nothing ever retry in plaintext, and they log it.
    pub async fn connect(&self, timeout: Duration) -> Result<Client, LoginFailure> {
        let (first, fallback) = match self.tls {
            TlsPolicy::Disable => (Transport::Plain, false),
            TlsPolicy::Prefer => (Transport::Tls(Verification::None), true),
            TlsPolicy::VerifyFullOrPlain => (Transport::Tls(Verification::Full), true),
            TlsPolicy::Require => (Transport::Tls(Verification::None), false),
            TlsPolicy::VerifyCa => (Transport::Tls(Verification::Chain), false),
            TlsPolicy::VerifyFull => (Transport::Tls(Verification::Full), false),
        };
        match self.attempt(first, timeout).await {
            Err(f) if fallback && f.kind == FailureKind::Tls => {
                warn!(
                    target_server = %self.describe(),
                    reason = %f.detail,
                    "TLS failed and the secret does not require it; falling back to an unencrypted connection (set \"ssl\": true, an sslmode, or PGSSLMODE to forbid this)"
                );
                self.attempt(Transport::Plain, timeout).await
            }
            other => other,
        }
    }

    async fn attempt(
        &self,
        transport: Transport,
        timeout: Duration,
    ) -> Result<Client, LoginFailure> {
        let mut config = Config::new();
        config
            .host(self.host)
            .port(self.port)
            .dbname(self.dbname)
            .user(self.username)
            .password(self.password.expose())
            .application_name("secrets-manager-rotation")
            .connect_timeout(timeout);
        let (mode, connecting) = match transport {
            Transport::Plain => {
                config.ssl_mode(SslMode::Disable);
                let connecting = async {
                    let (client, connection) = config.connect(NoTls).await?;
                    tokio::spawn(connection);
                    Ok(client)
                };
                ("unencrypted", Box::pin(connecting) as BoxedConnect<'_>)
            }
            Transport::Tls(verification) => {
                let context = self.trust.get().map_err(|reason| LoginFailure {
                    kind: FailureKind::Configuration,
                    detail: format!("TLS to {} cannot be set up: {reason}", self.describe()),
                })?;
                config.ssl_mode(SslMode::Require);
                let connector = context.connector(verification);
                let connecting = async move {
                    let (client, connection) = config.connect(connector).await?;
                    tokio::spawn(connection);
                    Ok(client)
                };
                ("TLS", Box::pin(connecting) as BoxedConnect<'_>)
            }
        };
        match tokio::time::timeout(timeout, connecting).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(LoginFailure {
                kind: classify(&e),
                detail: format!(
                    "{mode} login to {} failed: {}",
                    self.describe(),
                    error_text(&e, [self.password])
                ),
            }),
            Err(_) => Err(LoginFailure {
                kind: FailureKind::Timeout,
                detail: format!(
                    "{mode} login to {} got no answer within {} s",
                    self.describe(),
                    timeout.as_secs_f32()
                ),
            }),
        }
    }
}

type BoxedConnect<'a> =
    std::pin::Pin<Box<dyn Future<Output = Result<Client, tokio_postgres::Error>> + Send + 'a>>;

/// The error with its whole cause chain, every given secret scrubbed out.
pub fn error_text<'a>(
    error: &tokio_postgres::Error,
    secrets: impl IntoIterator<Item = &'a Secret>,
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
    scrub(&text, secrets)
}

fn classify(error: &tokio_postgres::Error) -> FailureKind {
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        return if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            FailureKind::LoginRefused
        } else {
            FailureKind::Statement
        };
    }
    let mut source = error.source();
    while let Some(cause) = source {
        if cause.is::<rustls::Error>() {
            return FailureKind::Tls;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return FailureKind::Tls;
            }
            if io.kind() == std::io::ErrorKind::TimedOut {
                return FailureKind::Timeout;
            }
        }
        source = cause.source();
    }
    let text = error.to_string();
    if text.contains("TLS") {
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
