//! The Neo4j secret JSON as teams already store it: `uri`, `username`, `password`,
//! `database`, plus `masterarn` for the alternating-users strategy.
//!
//! The whole JSON object is kept so that a rotated value differs from its source only in the
//! user name and password: unknown keys survive every rotation.

use std::ops::Deref;

use rotation_core::{LoginSecret, RotationError, Secret, StepContext, sanitize};

const DEFAULT_DATABASE: &str = "neo4j";
const DEFAULT_PORT: u16 = 7687;

/// How the Bolt connection is secured, from the URI scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `bolt://`, `neo4j://`: plaintext.
    Plain,
    /// `bolt+s://`, `neo4j+s://`: TLS, certificate verified against trusted roots.
    Verified,
    /// `bolt+ssc://`, `neo4j+ssc://`: TLS, self-signed certificates accepted.
    SelfSigned,
}

/// A parsed Bolt URI. `neo4j://` (routing) is reached at the given address, which for a
/// single server or a cluster's leader is the same thing; password changes are
/// administration commands that any core member forwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoltUri {
    pub scheme: String,
    pub host: String,
    pub port: u16,
    pub transport: Transport,
}

impl BoltUri {
    pub fn parse(uri: &str) -> Result<Self, String> {
        let (scheme, rest) = uri.split_once("://").ok_or_else(|| {
            format!(
                "\"uri\" {:?} has no scheme (expected bolt://host:7687)",
                sanitize(uri)
            )
        })?;
        let transport = match scheme.to_ascii_lowercase().as_str() {
            "bolt" | "neo4j" => Transport::Plain,
            "bolt+s" | "neo4j+s" => Transport::Verified,
            "bolt+ssc" | "neo4j+ssc" => Transport::SelfSigned,
            _ => {
                return Err(format!(
                    "\"uri\" has the unknown scheme {:?}; expected bolt, bolt+s, bolt+ssc, neo4j, neo4j+s or neo4j+ssc",
                    sanitize(scheme)
                ));
            }
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(
                "\"uri\" must not carry credentials; use \"username\" and \"password\"".into(),
            );
        }
        let (host, port) = split_host_port(authority)
            .ok_or_else(|| format!("\"uri\" {:?} has no valid host and port", sanitize(uri)))?;
        Ok(Self {
            scheme: scheme.to_ascii_lowercase(),
            host,
            port,
            transport,
        })
    }

    /// The URI the driver connects to: the same security, always a direct connection. A
    /// password change is an administration command any cluster member accepts, and direct
    /// connections avoid the driver's experimental client-side routing.
    pub fn direct(&self) -> String {
        let scheme = match self.transport {
            Transport::Plain => "bolt",
            Transport::Verified => "bolt+s",
            Transport::SelfSigned => "bolt+ssc",
        };
        format!("{scheme}://{}", self.address())
    }

    /// `host:port`, brackets kept for IPv6, as a Bolt client wants it.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

fn split_host_port(authority: &str) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p.parse().ok().filter(|p| *p != 0)?,
    };
    let valid_host = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    valid_host.then(|| (host.to_owned(), port))
}

/// A Neo4j secret: the login (user name, password, `masterarn`, every other key kept), and
/// where it logs in.
#[derive(Debug)]
pub struct Neo4jSecret {
    login: LoginSecret,
    pub uri: BoltUri,
    pub database: String,
}

impl Deref for Neo4jSecret {
    type Target = LoginSecret;

    fn deref(&self) -> &LoginSecret {
        &self.login
    }
}

impl Neo4jSecret {
    pub fn parse(
        ctx: &StepContext<'_>,
        stage: &str,
        value: &Secret,
    ) -> Result<Self, RotationError> {
        let login = LoginSecret::parse(ctx, stage, value)?;
        login.check_engine(ctx, &["neo4j"], "neo4j")?;
        let bad = |reason: String| ctx.malformed(stage, reason);
        let uri = BoltUri::parse(&login.required(&["uri"]).map_err(bad)?).map_err(bad)?;
        let database = login
            .string(&["database"])
            .map_err(bad)?
            .unwrap_or_else(|| DEFAULT_DATABASE.into());
        Ok(Self {
            login,
            uri,
            database,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rotation_core::InMemorySecretStore;
    use serde_json::{Value, json};

    fn parse(value: Value) -> Result<Neo4jSecret, RotationError> {
        let store = InMemorySecretStore::new();
        let ctx = StepContext {
            secret_id: "graph",
            store: &store,
        };
        Neo4jSecret::parse(&ctx, "AWSCURRENT", &Secret::new(value.to_string()))
    }

    #[test]
    fn reads_every_scheme() {
        for (uri, transport, address) in [
            (
                "bolt://db.example.com:7687",
                Transport::Plain,
                "db.example.com:7687",
            ),
            (
                "neo4j://db.example.com",
                Transport::Plain,
                "db.example.com:7687",
            ),
            (
                "bolt+s://db.example.com:7688",
                Transport::Verified,
                "db.example.com:7688",
            ),
            (
                "neo4j+s://abc.databases.neo4j.io",
                Transport::Verified,
                "abc.databases.neo4j.io:7687",
            ),
            (
                "bolt+ssc://127.0.0.1:9999/",
                Transport::SelfSigned,
                "127.0.0.1:9999",
            ),
            ("bolt://[::1]:7687", Transport::Plain, "[::1]:7687"),
        ] {
            let parsed = BoltUri::parse(uri).unwrap();
            assert_eq!(
                (parsed.transport, parsed.address().as_str()),
                (transport, address),
                "{uri}"
            );
            // TLS asked for by the scheme is kept when connecting directly.
            assert_eq!(
                parsed.direct().contains('+'),
                transport != Transport::Plain,
                "{uri}"
            );
        }
    }

    #[test]
    fn refuses_bad_uris_by_name() {
        for (uri, message) in [
            ("http://db:7474", "unknown scheme \"http\""),
            ("db.example.com:7687", "has no scheme"),
            ("bolt://:7687", "no valid host"),
            ("bolt://db:port", "no valid host"),
            (
                "bolt://neo4j:SECRETPW@db:7687",
                "must not carry credentials",
            ),
        ] {
            let err = BoltUri::parse(uri).unwrap_err();
            assert!(err.contains(message), "{uri}: {err}");
            assert!(!err.contains("SECRETPW"));
        }
    }

    #[test]
    fn reads_the_secret_with_defaults_and_writes_back_every_key() {
        let original = json!({"uri": "bolt://127.0.0.1:7687", "username": "neo4j", "password": "p", "team": [1]});
        let s = parse(original.clone()).unwrap();
        assert_eq!(
            (s.username.as_str(), s.database.as_str()),
            ("neo4j", "neo4j")
        );
        let rotated: Value =
            serde_json::from_str(s.with_login("neo4j", &Secret::new("n")).expose()).unwrap();
        let mut expected = original;
        expected["password"] = "n".into();
        assert_eq!(rotated, expected);
        assert!(!format!("{s:?}").contains("\"p\""));
    }

    #[test]
    fn names_what_is_missing() {
        for (value, message) in [
            (
                json!({"username": "u", "password": "SECRETPW"}),
                "no \"uri\" key",
            ),
            (
                json!({"uri": "bolt://h", "password": "SECRETPW"}),
                "no \"username\" or \"user\" key",
            ),
            (
                json!({"uri": "bolt://h", "username": "u"}),
                "no \"password\" key",
            ),
            (
                json!({"uri": "bolt://h", "username": "u", "password": "SECRETPW", "database": 3}),
                "\"database\" must be a string",
            ),
        ] {
            let err = parse(value).unwrap_err();
            assert_eq!(err.error_type(), "MalformedSecret");
            assert!(err.to_string().contains(message), "{err}");
            assert!(!err.to_string().contains("SECRETPW"));
        }
        let err = parse(
            json!({"engine": "postgres", "uri": "bolt://h", "username": "u", "password": "p"}),
        )
        .unwrap_err();
        assert_eq!(err.error_type(), "WrongEngine");
    }
}
