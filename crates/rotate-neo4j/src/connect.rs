//! Logging in over Bolt and running statements, every call bounded in time, failures sorted
//! into what an operator can act on.

use neo4rs::{ConfigBuilder, Graph, Query};
use rotation_core::{
    Bound, Credentials, FailureKind, LoginFailure, RotationError, Secret, sanitize, server_message,
};

use crate::cypher;
use crate::endpoint::Neo4jEndpoint;

/// A logged-in connection. Statements run on `system` unless another database is named.
pub struct Session {
    graph: Graph,
    describe: String,
    /// The endpoint's database, where testSecret proves access.
    pub database: String,
}

/// Logs in to `endpoint` and proves the login with a query on the `system` database: the
/// driver connects lazily, so only a statement shows whether the password was accepted, and
/// every user may run `SHOW CURRENT USER` there.
pub async fn login(
    endpoint: &Neo4jEndpoint,
    who: Credentials<'_>,
    bound: Bound,
) -> Result<Session, LoginFailure> {
    let describe = format!(
        "{} as \"{}\"",
        endpoint.uri.address(),
        sanitize(who.username)
    );
    let failure = |kind, error: &neo4rs::Error| {
        let text = server_message(&error.to_string(), [who.password]);
        let locked_out = text.contains("too many times");
        let hint = if locked_out {
            " (the server locks a user for dbms.security.auth_lock_time, 5 s by default, after dbms.security.auth_max_failed_attempts failed logins)"
        } else {
            ""
        };
        let mut failure =
            LoginFailure::new(kind, format!("login to {describe} failed: {text}{hint}"));
        failure.locked_out = locked_out;
        failure
    };
    let limit = bound.limit().map_err(|exhausted| {
        LoginFailure::new(
            FailureKind::Timeout,
            format!("login to {describe} not started: {exhausted}"),
        )
    })?;
    let config = ConfigBuilder::default()
        .uri(endpoint.uri.direct())
        .user(who.username)
        .password(who.password.expose())
        .db(cypher::SYSTEM_DATABASE)
        .max_connections(1)
        .connection_timeout(limit.duration)
        .build()
        .map_err(|e| failure(FailureKind::Configuration, &e))?;
    let graph = Graph::connect(config).map_err(|e| failure(classify(&e), &e))?;
    match tokio::time::timeout(limit.duration, graph.run(neo4rs::query(cypher::WHO_AM_I))).await {
        Ok(Ok(_)) => Ok(Session {
            graph,
            describe,
            database: endpoint.database.clone(),
        }),
        Ok(Err(e)) => Err(failure(classify(&e), &e)),
        Err(_) => Err(LoginFailure::new(
            FailureKind::Timeout,
            format!("login to {describe} got no answer within {limit}"),
        )),
    }
}

impl Session {
    /// Runs one auto-commit statement on `system`. `secrets` are scrubbed from any error text.
    pub async fn run(
        &self,
        query: Query,
        what: &str,
        secrets: &[&Secret],
        bound: Bound,
    ) -> Result<(), RotationError> {
        let work = async {
            self.graph.run_on(cypher::SYSTEM_DATABASE, query).await?;
            Ok(())
        };
        self.bounded(work, what, secrets, bound).await
    }

    /// Runs a query on `database` and returns one column of every row.
    pub async fn column<T>(
        &self,
        database: &str,
        query: Query,
        column: &str,
        what: &str,
        bound: Bound,
    ) -> Result<Vec<T>, RotationError>
    where
        T: for<'de> serde::Deserialize<'de>,
    {
        let collect = async {
            let mut rows = self.graph.execute_on(database, query).await?;
            let mut values = Vec::new();
            while let Some(row) = rows.next().await? {
                values.push(row.get::<T>(column)?);
            }
            Ok(values)
        };
        self.bounded(collect, what, &[], bound).await
    }

    async fn bounded<T>(
        &self,
        work: impl Future<Output = Result<T, neo4rs::Error>>,
        what: &str,
        secrets: &[&Secret],
        bound: Bound,
    ) -> Result<T, RotationError> {
        let limit = bound.limit().map_err(|exhausted| RotationError::Server {
            kind: FailureKind::Timeout,
            detail: format!("{what} on {} not started: {exhausted}", self.describe),
        })?;
        match tokio::time::timeout(limit.duration, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(RotationError::Server {
                kind: match classify(&error) {
                    FailureKind::LoginRefused => FailureKind::LoginRefused,
                    _ if matches!(error, neo4rs::Error::Neo4j(_)) => FailureKind::Statement,
                    other => other,
                },
                detail: format!(
                    "{what} on {} failed: {}",
                    self.describe,
                    server_message(&error.to_string(), secrets.iter().copied())
                ),
            }),
            Err(_) => Err(RotationError::Server {
                kind: FailureKind::Timeout,
                detail: format!("{what} on {} got no answer within {limit}", self.describe),
            }),
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
            // A plaintext server hangs up on a TLS hello: "tls handshake eof".
            if detail
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
                || detail.to_string().to_ascii_lowercase().contains("tls")
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
