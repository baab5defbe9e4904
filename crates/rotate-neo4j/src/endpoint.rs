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
        // Only a port may follow the brackets: nothing after them is ignored.
        let port = match after {
            "" => None,
            after => Some(after.strip_prefix(':')?),
        };
        (host, port)
    } else {
        // The first colon starts the port: an IPv6 address is read only in brackets, so
        // `fe80::1` is refused rather than read as host `fe80:` and port 1.
        match authority.split_once(':') {
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
            ("bolt://[::1]7688", "no valid host"),
            ("bolt://fe80::1", "no valid host"),
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

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use rotation_core::Secret;
    use serde_json::{Value, json};

    use super::*;

    /// Begins every generated password. It has upper-case letters, so no part of a URI that
    /// holds it looks like a scheme, the one part of a bad URI an error may name.
    const MARK: &str = "pwQ7xZ";

    const SCHEMES: [(&str, Transport); 6] = [
        ("bolt", Transport::Plain),
        ("neo4j", Transport::Plain),
        ("bolt+s", Transport::Verified),
        ("neo4j+s", Transport::Verified),
        ("bolt+ssc", Transport::SelfSigned),
        ("neo4j+ssc", Transport::SelfSigned),
    ];

    /// A known scheme in any case, and the transport it asks for.
    fn scheme() -> impl Strategy<Value = (String, Transport)> {
        (
            proptest::sample::select(&SCHEMES[..]),
            proptest::collection::vec(any::<bool>(), 9),
        )
            .prop_map(|((name, transport), upper)| {
                let spelled = name
                    .chars()
                    .zip(upper)
                    .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
                    .collect();
                (spelled, transport)
            })
    }

    /// A host as written in a URI, and the host it names: names and IPv4 addresses as they
    /// are, IPv6 addresses in brackets.
    fn host() -> impl Strategy<Value = (String, String)> {
        prop_oneof![
            "[A-Za-z0-9_-][A-Za-z0-9._-]{0,30}".prop_map(|h| (h.clone(), h)),
            "[0-9]{1,3}(\\.[0-9]{1,3}){3}".prop_map(|h| (h.clone(), h)),
            "[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}".prop_map(|h| (format!("[{h}]"), h)),
        ]
    }

    /// What may follow the authority: nothing, a path, a query, a fragment.
    fn tail() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), "[/?#]\\PC{0,12}"]
    }

    /// Whether `error` is one of the parser's own sentences, naming at most a scheme that
    /// looks like one.
    fn is_known_error(error: &str) -> bool {
        const FIXED: [&str; 3] = [
            "\"uri\" has no scheme (expected bolt://host:7687)",
            "\"uri\" must not carry credentials; use \"username\" and \"password\"",
            "\"uri\" has no valid host and port",
        ];
        let unknown = error
            .strip_prefix("\"uri\" has an unknown scheme")
            .and_then(|rest| {
                rest.strip_suffix("; expected bolt, bolt+s, bolt+ssc, neo4j, neo4j+s or neo4j+ssc")
            });
        match unknown {
            Some("") => true,
            Some(named) => named
                .strip_prefix(" \"")
                .and_then(|n| n.strip_suffix('"'))
                .is_some_and(|n| {
                    n.len() <= 16 && n.chars().all(|c| c.is_ascii_lowercase() || c == '+')
                }),
            None => FIXED.contains(&error),
        }
    }

    fn login(value: Value) -> LoginSecret {
        LoginSecret::from_json(&Secret::new(value.to_string())).expect("a login")
    }

    proptest! {
        /// A well-formed URI comes out as written: its host, its port or 7687, its scheme's
        /// transport, an address as it was written; and the direct URI the driver is given
        /// reads back the same.
        #[test]
        fn a_well_formed_uri_reads_back_as_written(
            (scheme, transport) in scheme(),
            (written, host) in host(),
            port in proptest::option::of(1u16..),
            tail in tail(),
        ) {
            let authority = match port {
                Some(p) => format!("{written}:{p}"),
                None => written,
            };
            let uri = BoltUri::parse(&format!("{scheme}://{authority}{tail}"));
            let expected = BoltUri {
                scheme: scheme.to_ascii_lowercase(),
                host,
                port: port.unwrap_or(DEFAULT_PORT),
                transport,
            };
            prop_assert_eq!(uri.as_ref(), Ok(&expected));
            let direct = BoltUri::parse(&expected.direct());
            prop_assert_eq!(
                direct.map(|d| (d.host, d.port, d.transport)),
                Ok((expected.host.clone(), expected.port, transport))
            );
            let address = match port {
                Some(_) => authority,
                None => format!("{authority}:{DEFAULT_PORT}"),
            };
            prop_assert_eq!(expected.address(), address);
        }

        /// A scheme that asks for TLS never yields a plaintext connection, whatever follows
        /// it, and the direct URI keeps the same TLS.
        #[test]
        fn a_tls_scheme_never_yields_plaintext(
            (scheme, transport) in scheme(),
            rest in "(?s).{0,30}",
        ) {
            if let Ok(uri) = BoltUri::parse(&format!("{scheme}://{rest}")) {
                prop_assert_eq!(uri.transport, transport);
                let direct = uri.direct();
                let direct_scheme = direct.split_once("://").map(|(s, _)| s);
                prop_assert_eq!(
                    direct_scheme,
                    Some(match transport {
                        Transport::Plain => "bolt",
                        Transport::Verified => "bolt+s",
                        Transport::SelfSigned => "bolt+ssc",
                    })
                );
            }
        }

        /// Nothing in an accepted authority is ignored or misread: it is the host (IPv6 in
        /// brackets, as RFC 3986 writes it), then nothing or `:port`.
        #[test]
        fn every_character_of_an_accepted_authority_counts(
            authority in prop_oneof![
                "[\\[\\]a-c0-9:.]{0,12}",
                "\\[?[a-c0-9:.]{0,8}\\]?(:(0{1,2}|[0-9]{0,6}))?[a-c0-9:\\]]{0,2}",
            ],
        ) {
            if let Ok(uri) = BoltUri::parse(&format!("bolt://{authority}")) {
                prop_assert!(uri.port != 0, "{:?} read as port 0", authority);
                let host = if authority.starts_with('[') {
                    format!("[{}]", uri.host)
                } else {
                    let colon = uri.host.contains(':');
                    prop_assert!(!colon, "{:?} read as host {:?}", authority, uri.host);
                    uri.host.clone()
                };
                let port = match authority.strip_prefix(host.as_str()) {
                    Some("") => Some(DEFAULT_PORT),
                    Some(rest) => rest.strip_prefix(':').and_then(|p| p.parse().ok()),
                    None => None,
                };
                prop_assert_eq!(port, Some(uri.port), "{:?} read as {}", authority, uri.address());
            }
        }

        /// Any string is parsed or refused with one of the parser's own sentences: a bad URI,
        /// with or without a password in it, is never quoted.
        #[test]
        fn a_bad_uri_is_never_quoted(
            uri in prop_oneof![
                "(?s).{0,40}",
                ("[a-zA-Z+]{0,9}", "(?s).{0,30}").prop_map(|(s, rest)| format!("{s}://{rest}")),
                ("[a-z]{0,4}", "[ -~]{0,6}", "(?s).{0,20}")
                    .prop_map(|(a, b, rest)| format!("{a}{MARK}{b}://{rest}")),
                (scheme(), "[ -~]{0,12}", "[ -~]{0,20}").prop_map(|((s, _), pw, rest)| {
                    format!("{s}://neo4j:{MARK}{pw}@{rest}")
                }),
                ("[ -~]{0,30}", any::<proptest::sample::Index>()).prop_map(|(text, at)| {
                    let at = at.index(text.len() + 1);
                    format!("{}{MARK}{}", &text[..at], &text[at..])
                }),
            ],
        ) {
            match BoltUri::parse(&uri) {
                Ok(parsed) => {
                    prop_assert!(!parsed.host.is_empty() && parsed.port != 0);
                }
                Err(error) => {
                    prop_assert!(!error.contains(MARK));
                    prop_assert!(is_known_error(&error), "{}", error);
                }
            }
        }

        /// The admin logs in with its own scheme or the user's, whichever is stricter, to the
        /// system database; the user's database comes out as written, `neo4j` when missing.
        #[test]
        fn the_admin_never_gets_weaker_tls_than_the_user(
            (user_scheme, user_transport) in scheme(),
            (admin_scheme, admin_transport) in scheme(),
            (written, host) in host(),
            database in proptest::option::of("\\PC{1,20}"),
        ) {
            let uri = format!("{user_scheme}://{written}");
            let mut user = json!({"uri": uri, "username": "u", "password": MARK});
            if let Some(database) = &database {
                user["database"] = database.as_str().into();
            }
            let user = Neo4jEndpoint::of_user(&login(user)).expect("a well-formed user uri");
            prop_assert_eq!(&user.uri.host, &host);
            let wanted = database.as_deref().unwrap_or(DEFAULT_DATABASE);
            prop_assert_eq!(user.database.as_str(), wanted);
            let uri = format!("{admin_scheme}://{written}:7688");
            let admin = login(json!({"uri": uri, "username": "a", "password": MARK}));
            let admin = Neo4jEndpoint::of_admin(&admin, &user).expect("a well-formed admin uri");
            let admin = admin.expect("an admin uri");
            prop_assert_eq!(admin.uri.transport, admin_transport.max(user_transport));
            prop_assert!(admin.uri.transport >= user.uri.transport);
            prop_assert_eq!((admin.uri.port, admin.database.as_str()), (7688, "system"));
            let no_uri = login(json!({"username": "a", "password": MARK}));
            prop_assert_eq!(Neo4jEndpoint::of_admin(&no_uri, &user), Ok(None));
        }
    }
}
