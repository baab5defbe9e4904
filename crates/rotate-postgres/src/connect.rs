//! Logging in, bounded in time, with failures sorted into what an operator can act on.

use std::error::Error as _;
use std::time::Duration;

use rotation_core::{FailureKind, RotationError, Secret, scrub};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls, config::SslMode};
use tracing::warn;

use crate::tls::{TlsPolicy, verifying_connector};

/// Where to log in and as whom. The password is borrowed from whichever secret version is
/// being tried; everything else always comes from the pending version.
pub struct Login<'a> {
    pub host: &'a str,
    pub port: u16,
    pub dbname: &'a str,
    pub username: &'a str,
    pub password: &'a Secret,
    pub tls: TlsPolicy,
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

impl Login<'_> {
    fn describe(&self) -> String {
        format!("{}:{} as \"{}\"", self.host, self.port, self.username)
    }

    /// Opens a session. With [`TlsPolicy::Prefer`] a TLS failure is retried in plaintext and
    /// logged; with [`TlsPolicy::Require`] it is the answer.
    pub async fn connect(&self, timeout: Duration) -> Result<Client, LoginFailure> {
        match self.tls {
            TlsPolicy::Disable => self.attempt(false, timeout).await,
            TlsPolicy::Require => self.attempt(true, timeout).await,
            TlsPolicy::Prefer => match self.attempt(true, timeout).await {
                Err(f) if f.kind == FailureKind::Tls => {
                    warn!(
                        target_server = %self.describe(),
                        reason = %f.detail,
                        "TLS failed and the secret does not ask for it; falling back to an unencrypted connection (set \"ssl\": true to forbid this)"
                    );
                    self.attempt(false, timeout).await
                }
                other => other,
            },
        }
    }

    async fn attempt(&self, tls: bool, timeout: Duration) -> Result<Client, LoginFailure> {
        let mut config = Config::new();
        config
            .host(self.host)
            .port(self.port)
            .dbname(self.dbname)
            .user(self.username)
            .password(self.password.expose())
            .application_name("secrets-manager-rotation")
            .connect_timeout(timeout)
            .ssl_mode(if tls {
                SslMode::Require
            } else {
                SslMode::Disable
            });
        let connecting = async {
            if tls {
                let (client, connection) = config.connect(verifying_connector()).await?;
                tokio::spawn(connection);
                Ok(client)
            } else {
                let (client, connection) = config.connect(NoTls).await?;
                tokio::spawn(connection);
                Ok(client)
            }
        };
        let mode = if tls { "TLS" } else { "unencrypted" };
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
