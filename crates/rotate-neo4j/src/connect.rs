//! Logging in over Bolt and running statements, every call bounded in time, failures sorted
//! into what an operator can act on.

use std::time::Duration;

use neo4rs::{ConfigBuilder, Graph, Query};
use rotation_core::{FailureKind, RotationError, Secret, scrub};

use crate::cypher;
use crate::secret::BoltUri;

/// Who logs in where.
pub struct Login<'a> {
    pub uri: &'a BoltUri,
    pub username: &'a str,
    pub password: &'a Secret,
    pub database: &'a str,
}

#[derive(Debug)]
pub struct LoginFailure {
    pub kind: FailureKind,
    pub detail: String,
    /// The server locked the account after repeated failures: trying another password now
    /// would only extend the lock.
    pub locked_out: bool,
}

impl From<LoginFailure> for RotationError {
    fn from(f: LoginFailure) -> Self {
        RotationError::Server {
            kind: f.kind,
            detail: f.detail,
        }
    }
}

/// A logged-in connection.
pub struct Session {
    graph: Graph,
    timeout: Duration,
    describe: String,
}

impl Login<'_> {
    fn describe(&self) -> String {
        format!("{} as \"{}\"", self.uri.address(), self.username)
    }

    /// Connects and proves the login with a query: the driver connects lazily, so only a
    /// statement shows whether the password was accepted.
    pub async fn connect(&self, timeout: Duration) -> Result<Session, LoginFailure> {
        let config = ConfigBuilder::default()
            .uri(self.uri.direct())
            .user(self.username)
            .password(self.password.expose())
            .db(self.database)
            .max_connections(1)
            .connection_timeout(timeout)
            .build()
            .map_err(|e| self.failure(FailureKind::Configuration, &e))?;
        let graph = Graph::connect(config).map_err(|e| self.failure(classify(&e), &e))?;
        let session = Session {
            graph,
            timeout,
            describe: self.describe(),
        };
        match tokio::time::timeout(timeout, session.graph.run(neo4rs::query(cypher::WHO_AM_I)))
            .await
        {
            Ok(Ok(())) => Ok(session),
            Ok(Err(e)) => Err(self.failure(classify(&e), &e)),
            Err(_) => Err(LoginFailure {
                kind: FailureKind::Timeout,
                detail: format!(
                    "login to {} got no answer within {} s",
                    self.describe(),
                    timeout.as_secs_f32()
                ),
                locked_out: false,
            }),
        }
    }

    fn failure(&self, kind: FailureKind, error: &neo4rs::Error) -> LoginFailure {
        let text = scrub(&error.to_string(), [self.password]);
        let locked_out = text.contains("too many times");
        let hint = if locked_out {
            " (the server locks a user for dbms.security.auth_lock_time, 5 s by default, after dbms.security.auth_max_failed_attempts failed logins)"
        } else {
            ""
        };
        LoginFailure {
            kind,
            detail: format!("login to {} failed: {text}{hint}", self.describe()),
            locked_out,
        }
    }
}

impl Session {
    /// Runs one auto-commit statement. `secrets` are scrubbed from any error text.
    pub async fn run(
        &self,
        query: Query,
        what: &str,
        secrets: &[&Secret],
    ) -> Result<(), RotationError> {
        match tokio::time::timeout(self.timeout, self.graph.run(query)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.statement_error(what, &e, secrets)),
            Err(_) => Err(self.timed_out(what)),
        }
    }

    /// Runs a query and returns one column of every row.
    pub async fn column<T>(
        &self,
        query: Query,
        column: &str,
        what: &str,
    ) -> Result<Vec<T>, RotationError>
    where
        T: for<'de> serde::Deserialize<'de>,
    {
        let collect = async {
            let mut rows = self.graph.execute(query).await?;
            let mut values = Vec::new();
            while let Some(row) = rows.next().await? {
                values.push(row.get::<T>(column)?);
            }
            Ok::<_, neo4rs::Error>(values)
        };
        match tokio::time::timeout(self.timeout, collect).await {
            Ok(Ok(values)) => Ok(values),
            Ok(Err(e)) => Err(self.statement_error(what, &e, &[])),
            Err(_) => Err(self.timed_out(what)),
        }
    }

    fn statement_error(
        &self,
        what: &str,
        error: &neo4rs::Error,
        secrets: &[&Secret],
    ) -> RotationError {
        RotationError::Server {
            kind: match classify(error) {
                FailureKind::LoginRefused => FailureKind::LoginRefused,
                _ if matches!(error, neo4rs::Error::Neo4j(_)) => FailureKind::Statement,
                other => other,
            },
            detail: format!(
                "{what} on {} failed: {}",
                self.describe,
                scrub(&error.to_string(), secrets.iter().copied())
            ),
        }
    }

    fn timed_out(&self, what: &str) -> RotationError {
        RotationError::Server {
            kind: FailureKind::Timeout,
            detail: format!(
                "{what} on {} got no answer within {} s",
                self.describe,
                self.timeout.as_secs_f32()
            ),
        }
    }
}

fn classify(error: &neo4rs::Error) -> FailureKind {
    use neo4rs::Error as E;
    match error {
        E::AuthenticationError(_) => FailureKind::LoginRefused,
        E::ConnectionTimedOut => FailureKind::Timeout,
        E::InvalidDnsName(_) | E::UnsupportedScheme(_) => FailureKind::Tls,
        E::IOError { detail } => {
            if detail
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                FailureKind::Tls
            } else if detail.kind() == std::io::ErrorKind::TimedOut {
                FailureKind::Timeout
            } else {
                FailureKind::Unreachable
            }
        }
        E::Neo4j(_) => FailureKind::Statement,
        _ => FailureKind::Unreachable,
    }
}
