//! Where a Neo4j secret logs in: its `uri` (scheme, host, port) and `database`.
//!
//! A `uri` that cannot be parsed is never echoed in an error: people paste URIs with the
//! password in them.

use rotation_core::{Endpoint, EndpointError, LoginSecret, sanitize};

const DEFAULT_DATABASE: &str = "neo4j";
const DEFAULT_PORT: u16 = 7687;

/// How the Bolt connection is secured, from the URI scheme; in order of strictness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Transport {
    /// `bolt://`, `neo4j://`: plaintext.
    Plain,
    /// `bolt+ssc://`, `neo4j+ssc://`: TLS, self-signed certificates accepted.
    SelfSigned,
    /// `bolt+s://`, `neo4j+s://`: TLS, certificate verified against trusted roots.
    Verified,
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
        let (scheme, rest) = uri
            .split_once("://")
            .ok_or("\"uri\" has no scheme (expected bolt://host:7687)")?;
        let transport = match scheme.to_ascii_lowercase().as_str() {
            "bolt" | "neo4j" => Transport::Plain,
            "bolt+s" | "neo4j+s" => Transport::Verified,
            "bolt+ssc" | "neo4j+ssc" => Transport::SelfSigned,
            _ => {
                // A scheme is named only when it looks like one: what precedes "://" in a
                // mangled URI could be anything, a password included.
                let named = if scheme.len() <= 16
                    && scheme.chars().all(|c| c.is_ascii_lowercase() || c == '+')
                {
                    format!(" \"{}\"", sanitize(scheme))
                } else {
                    String::new()
                };
                return Err(format!(
                    "\"uri\" has an unknown scheme{named}; expected bolt, bolt+s, bolt+ssc, neo4j, neo4j+s or neo4j+ssc"
                ));
            }
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(
                "\"uri\" must not carry credentials; use \"username\" and \"password\"".into(),
            );
        }
        let (host, port) =
            split_host_port(authority).ok_or("\"uri\" has no valid host and port")?;
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

/// Where a secret's user logs in, and the database testSecret proves access to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neo4jEndpoint {
    pub uri: BoltUri,
    pub database: String,
}

impl Endpoint for Neo4jEndpoint {
    fn host(&self) -> &str {
        &self.uri.host
    }

    fn port(&self) -> u16 {
        self.uri.port
    }

    fn differs(&self, other: &Self) -> Option<&'static str> {
        if !self.uri.host.eq_ignore_ascii_case(&other.uri.host) || self.uri.port != other.uri.port {
            Some("uri")
        } else if self.uri.transport != other.uri.transport {
            Some("uri scheme")
        } else {
            None
        }
    }
}

impl Neo4jEndpoint {
    pub fn of_user(secret: &LoginSecret) -> Result<Self, EndpointError> {
        Ok(Self {
            uri: BoltUri::parse(&secret.required(&["uri"])?)?,
            database: secret
                .string(&["database"])?
                .unwrap_or_else(|| DEFAULT_DATABASE.into()),
        })
    }

    /// The admin secret's own `uri`, with its scheme or, when the user's is stricter, the
    /// user's: the same server offers both. `None` when it has no `uri`.
    pub fn of_admin(admin: &LoginSecret, user: &Self) -> Result<Option<Self>, EndpointError> {
        let Some(uri) = admin.string(&["uri"])? else {
            return Ok(None);
        };
        let mut uri = BoltUri::parse(&uri)?;
        uri.transport = uri.transport.max(user.uri.transport);
        Ok(Some(Self {
            uri,
            database: crate::cypher::SYSTEM_DATABASE.into(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rotation_core::Secret;
    use serde_json::{Value, json};

    fn login(value: Value) -> LoginSecret {
        LoginSecret::from_json(&Secret::new(value.to_string())).unwrap()
    }

    fn parse(value: Value) -> Result<Neo4jEndpoint, EndpointError> {
        Neo4jEndpoint::of_user(&login(value))
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
            ("neo4j:SECRETPW@db://x", "unknown scheme;"),
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
    fn an_unparsable_uri_is_never_echoed() {
        for uri in [
            "neo4j:SECRETPW@db.example.com:7687",
            "bolt://db.example.com:SECRETPW",
            "SECRETPW://db:7687",
        ] {
            let err = BoltUri::parse(uri).unwrap_err();
            assert!(
                !err.contains("SECRETPW") && !err.contains("db.example"),
                "{err}"
            );
        }
    }

    #[test]
    fn reads_the_endpoint_with_defaults() {
        let e =
            parse(json!({"uri": "bolt://127.0.0.1:7687", "username": "neo4j", "password": "p"}))
                .unwrap();
        assert_eq!(e.database, "neo4j");
        assert_eq!(e.address(), "127.0.0.1:7687");
    }

    #[test]
    fn names_what_is_missing() {
        for (value, message) in [
            (
                json!({"username": "u", "password": "SECRETPW"}),
                "no \"uri\" key",
            ),
            (
                json!({"uri": "bolt://h", "username": "u", "password": "SECRETPW", "database": 3}),
                "\"database\" must be a string",
            ),
        ] {
            let EndpointError::Malformed(text) = parse(value).unwrap_err() else {
                panic!("expected a malformed secret");
            };
            assert!(text.contains(message), "{text}");
            assert!(!text.contains("SECRETPW"));
        }
    }

    #[test]
    fn a_pending_value_may_not_change_the_server_or_its_scheme() {
        let current =
            parse(json!({"uri": "bolt+s://db:7687", "username": "u", "password": "p"})).unwrap();
        for (uri, field) in [
            ("bolt+s://DB:7687", None),
            ("neo4j+s://db:7687", None),
            ("bolt+s://db:7688", Some("uri")),
            ("bolt+s://other:7687", Some("uri")),
            ("bolt://db:7687", Some("uri scheme")),
            ("bolt+ssc://db:7687", Some("uri scheme")),
        ] {
            let pending = parse(json!({"uri": uri, "username": "u", "password": "p"})).unwrap();
            assert_eq!(current.differs(&pending), field, "{uri}");
        }
    }

    #[test]
    fn the_admin_uses_its_own_scheme_or_a_stricter_one() {
        let user =
            parse(json!({"uri": "bolt://db:7687", "username": "u", "password": "p"})).unwrap();
        let admin = login(json!({"uri": "bolt+s://db:7687", "username": "a", "password": "p"}));
        let e = Neo4jEndpoint::of_admin(&admin, &user).unwrap().unwrap();
        assert_eq!(
            (e.uri.transport, e.database.as_str()),
            (Transport::Verified, "system")
        );
        let strict_user =
            parse(json!({"uri": "bolt+s://db:7687", "username": "u", "password": "p"})).unwrap();
        let plain_admin = login(json!({"uri": "bolt://db:7687", "username": "a", "password": "p"}));
        let e = Neo4jEndpoint::of_admin(&plain_admin, &strict_user)
            .unwrap()
            .unwrap();
        assert_eq!(e.uri.transport, Transport::Verified);
        let no_uri = login(json!({"username": "a", "password": "p"}));
        assert_eq!(Neo4jEndpoint::of_admin(&no_uri, &user).unwrap(), None);
    }
}
