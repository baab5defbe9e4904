//! Where a PostgreSQL secret logs in: AWS's keys (`host`, `port`, `dbname`, `ssl`), plus the
//! `database` and `sslmode` keys some teams already use.

use serde_json::Value;

use rotation_core::{Endpoint, EndpointError, LoginSecret};

use crate::settings::Settings;
use crate::tls::TlsPolicy;

/// Engine names AWS's PostgreSQL templates accept.
pub const ENGINES: [&str; 2] = ["postgres", "aurora-postgresql"];
const DBNAME_KEYS: [&str; 2] = ["dbname", "database"];
const DEFAULT_PORT: u16 = 5432;
const DEFAULT_DBNAME: &str = "postgres";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgEndpoint {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    /// What the secret asks for (`sslmode`, else `ssl`); `None` when it says nothing.
    pub asked: Option<TlsPolicy>,
    /// What a connection does: the secret's wish read with the function's settings.
    pub tls: TlsPolicy,
}

impl Endpoint for PgEndpoint {
    fn host(&self) -> &str {
        &self.host
    }

    fn port(&self) -> u16 {
        self.port
    }

    fn differs(&self, other: &Self) -> Option<&'static str> {
        if !self.host.eq_ignore_ascii_case(&other.host) {
            Some("host")
        } else if self.port != other.port {
            Some("port")
        } else if self.asked != other.asked {
            Some("ssl/sslmode")
        } else {
            None
        }
    }
}

impl PgEndpoint {
    /// The user secret's endpoint.
    pub fn of_user(secret: &LoginSecret, settings: &Settings) -> Result<Self, EndpointError> {
        let host = host(secret)?.ok_or_else(|| "it has no \"host\" key".to_owned())?;
        let asked = tls_keys(secret)?;
        Ok(Self {
            port: port(secret)?,
            dbname: dbname(secret)?.unwrap_or_else(|| DEFAULT_DBNAME.to_owned()),
            tls: settings.tls_for(asked).map_err(config)?,
            host,
            asked,
        })
    }

    /// The admin secret's endpoint at `host` (its own, or from RDS): its own port, TLS keys
    /// and database, verified TLS when it says nothing, `postgres` when it names no database.
    /// Never the user's database: its owner could set a search path there that runs their
    /// functions with the admin's rights.
    pub fn of_admin(
        admin: &LoginSecret,
        host: String,
        port: u16,
        settings: &Settings,
    ) -> Result<Self, EndpointError> {
        let asked = tls_keys(admin)?;
        Ok(Self {
            host,
            port,
            dbname: dbname(admin)?.unwrap_or_else(|| DEFAULT_DBNAME.to_owned()),
            tls: settings.admin_tls_for(asked).map_err(config)?,
            asked,
        })
    }

    /// The admin secret's own `host` and `port`, when it names a host.
    pub fn admin_server(admin: &LoginSecret) -> Result<Option<(String, u16)>, EndpointError> {
        match host(admin)? {
            Some(host) => Ok(Some((host, port(admin)?))),
            None => Ok(None),
        }
    }
}

/// `host`: a host name or an IP address, nothing else. A connection URL pasted there would
/// carry its password into every message that names the server.
fn host(secret: &LoginSecret) -> Result<Option<String>, String> {
    let Some(host) = secret.string(&["host"])? else {
        return Ok(None);
    };
    let valid = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    if !valid {
        return Err("\"host\" must be a host name or an IP address (not a URL or a list)".into());
    }
    Ok(Some(host))
}

fn config(error: rotation_core::RotationError) -> EndpointError {
    EndpointError::Config(match error {
        rotation_core::RotationError::Config(message) => message,
        other => other.to_string(),
    })
}

fn tls_keys(secret: &LoginSecret) -> Result<Option<TlsPolicy>, String> {
    TlsPolicy::from_secret(secret.get("sslmode"), secret.get("ssl"))
}

fn dbname(secret: &LoginSecret) -> Result<Option<String>, String> {
    secret.string(&DBNAME_KEYS)
}

/// AWS writes the port as a number; hand-made secrets often hold a string.
fn port(secret: &LoginSecret) -> Result<u16, String> {
    let parsed = match secret.get("port") {
        None | Some(Value::Null) => return Ok(DEFAULT_PORT),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    parsed
        .filter(|p| (1..=65535).contains(p))
        .map(|p| p as u16)
        .ok_or_else(|| "\"port\" must be a number from 1 to 65535".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rotation_core::Secret;
    use serde_json::json;

    fn login(value: Value) -> LoginSecret {
        LoginSecret::from_json(&Secret::new(value.to_string())).unwrap()
    }

    fn parse(value: Value) -> Result<PgEndpoint, EndpointError> {
        PgEndpoint::of_user(&login(value), &Settings::default())
    }

    #[test]
    fn reads_the_aws_format_with_defaults() {
        let e = parse(json!({"engine": "postgres", "host": "h", "username": "u", "password": "p"}))
            .unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.dbname.as_str(), e.asked, e.tls),
            ("h", 5432, "postgres", None, TlsPolicy::Opportunistic)
        );
    }

    #[test]
    fn reads_the_database_key_and_a_string_port() {
        let e = parse(json!({"host": "h", "user": "u", "password": "p", "database": "d", "port": "6432", "ssl": "TRUE"})).unwrap();
        assert_eq!((e.dbname.as_str(), e.port), ("d", 6432));
        assert_eq!(e.tls, TlsPolicy::VerifyFull);
    }

    #[test]
    fn names_what_is_wrong_without_echoing_values() {
        for (value, expected) in [
            (
                json!({"username": "u", "password": "SECRETPW"}),
                "no \"host\" key",
            ),
            (
                json!({"host": "h", "username": "u", "password": "SECRETPW", "port": 70000}),
                "\"port\" must be a number",
            ),
            (
                json!({"host": "h", "username": "u", "password": "SECRETPW", "ssl": "maybe"}),
                "\"ssl\" must be",
            ),
            (
                json!({"host": "postgres://u:SECRETPW@db/app", "username": "u", "password": "p"}),
                "\"host\" must be a host name",
            ),
            (
                json!({"host": "db\nLOG: forged", "username": "u", "password": "SECRETPW"}),
                "\"host\" must be a host name",
            ),
        ] {
            let EndpointError::Malformed(text) = parse(value).unwrap_err() else {
                panic!("expected a malformed secret");
            };
            assert!(text.contains(expected), "{text}");
            assert!(!text.contains("SECRETPW"), "{text}");
        }
    }

    #[test]
    fn a_pending_value_may_not_change_where_or_how_passwords_go() {
        let base = json!({"host": "db", "username": "u", "password": "p", "ssl": true});
        let current = parse(base.clone()).unwrap();
        for (key, value, field) in [
            ("host", json!("other"), Some("host")),
            ("host", json!("DB"), None),
            ("port", json!(6432), Some("port")),
            ("ssl", json!(false), Some("ssl/sslmode")),
            ("sslmode", json!("verify-ca"), Some("ssl/sslmode")),
            ("dbname", json!("elsewhere"), None),
        ] {
            let mut pending = base.clone();
            pending[key] = value;
            assert_eq!(current.differs(&parse(pending).unwrap()), field, "{key}");
        }
    }

    #[test]
    fn the_admin_side_decides_its_own_transport() {
        let settings = Settings::default();
        let user = parse(
            json!({"host": "db", "username": "u", "password": "p", "ssl": false, "dbname": "app"}),
        )
        .unwrap();
        let admin = login(json!({"username": "a", "password": "p"}));
        let e = PgEndpoint::of_admin(&admin, "db".into(), 5432, &settings).unwrap();
        // The user's database "app" is its owner's to configure; the admin never goes there.
        assert_ne!(user.dbname, e.dbname);
        assert_eq!(
            (e.tls, e.dbname.as_str()),
            (TlsPolicy::VerifyFull, "postgres")
        );
        let admin = login(
            json!({"username": "a", "password": "p", "sslmode": "require", "dbname": "postgres"}),
        );
        let e = PgEndpoint::of_admin(&admin, "db".into(), 5432, &settings).unwrap();
        assert_eq!((e.tls, e.dbname.as_str()), (TlsPolicy::Require, "postgres"));
        assert_eq!(
            PgEndpoint::admin_server(&login(
                json!({"username": "a", "password": "p", "host": "h", "port": "6000"})
            ))
            .unwrap(),
            Some(("h".into(), 6000))
        );
        assert_eq!(PgEndpoint::admin_server(&admin).unwrap(), None);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use rotation_core::Secret;
    use serde_json::{Map, Value};

    use super::*;

    /// Begins every generated password, so that a quoted password is found in any escaping.
    const MARK: &str = "pwQ7xZ";

    /// A word as people type it in a secret: any case, stray whitespace around it.
    fn spelled(word: &'static str) -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(any::<bool>(), word.len()),
            "[ \t\n]{0,2}",
            "[ \t\n]{0,2}",
        )
            .prop_map(move |(upper, before, after)| {
                let word: String = word
                    .chars()
                    .zip(upper)
                    .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
                    .collect();
                format!("{before}{word}{after}")
            })
    }

    /// What is written under `port`, and the port it means (`Err` when none).
    fn port() -> impl Strategy<Value = (Option<Value>, Result<u16, ()>)> {
        prop_oneof![
            1 => Just((None, Ok(DEFAULT_PORT))),
            1 => Just((Some(Value::Null), Ok(DEFAULT_PORT))),
            3 => (1u16..).prop_map(|p| (Some(Value::from(p)), Ok(p))),
            3 => (1u16.., "\\s{0,2}", "\\s{0,2}")
                .prop_map(|(p, a, b)| (Some(Value::from(format!("{a}{p}{b}"))), Ok(p))),
            1 => prop_oneof![Just(0u64), 65536u64..].prop_map(|p| (Some(Value::from(p)), Err(()))),
            1 => (i64::MIN..0).prop_map(|p| (Some(Value::from(p)), Err(()))),
            1 => "[^0-9]{0,6}".prop_map(|s| (Some(Value::from(s)), Err(()))),
            1 => any::<bool>().prop_map(|b| (Some(Value::from(b)), Err(()))),
        ]
    }

    /// A value for `dbname` or `database`: a name most often, else something unusable.
    fn dbname() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            2 => Just(None),
            1 => Just(Some(Value::Null)),
            4 => "\\PC{1,20}".prop_map(|s| Some(Value::from(s))),
            1 => Just(Some(Value::from(""))),
            1 => any::<i64>().prop_map(|n| Some(Value::from(n))),
        ]
    }

    /// Host names and addresses in the accepted alphabet, anything at all, or nothing.
    fn host() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            1 => Just(None),
            4 => "[A-Za-z0-9._:-]{1,40}".prop_map(Some),
            2 => "(?s).{0,30}".prop_map(Some),
        ]
    }

    /// libpq's `sslmode` words (`allow` reads as `prefer`), meant in any spelling.
    const MODES: [(&str, TlsPolicy); 6] = [
        ("disable", TlsPolicy::Disable),
        ("allow", TlsPolicy::Prefer),
        ("prefer", TlsPolicy::Prefer),
        ("require", TlsPolicy::Require),
        ("verify-ca", TlsPolicy::VerifyCa),
        ("verify-full", TlsPolicy::VerifyFull),
    ];

    /// What `sslmode` says: `Ok(None)` nothing, `Err` something that is not a mode.
    fn sslmode() -> impl Strategy<Value = (Option<Value>, Result<Option<TlsPolicy>, ()>)> {
        let mode = proptest::sample::select(&MODES[..]).prop_flat_map(|(word, mode)| {
            spelled(word).prop_map(move |s| (Some(Value::from(s)), Ok(Some(mode))))
        });
        prop_oneof![
            2 => Just((None, Ok(None))),
            1 => Just((Some(Value::Null), Ok(None))),
            6 => mode,
            1 => "[a-z -]{0,12}"
                .prop_filter("not a mode", |s| !MODES.iter().any(|(w, _)| s.trim() == *w))
                .prop_map(|s| (Some(Value::from(s)), Err(()))),
            1 => any::<bool>().prop_map(|b| (Some(Value::from(b)), Err(()))),
        ]
    }

    /// What `ssl` says: `Ok(None)` nothing, `Err` something that is not a boolean.
    fn ssl() -> impl Strategy<Value = (Option<Value>, Result<Option<bool>, ()>)> {
        prop_oneof![
            2 => Just((None, Ok(None))),
            1 => Just((Some(Value::Null), Ok(None))),
            3 => any::<bool>().prop_map(|b| (Some(Value::from(b)), Ok(Some(b)))),
            3 => any::<bool>().prop_flat_map(|b| spelled(if b { "true" } else { "false" })
                .prop_map(move |s| (Some(Value::from(s)), Ok(Some(b))))),
            1 => "[a-z0-9]{0,6}"
                .prop_filter("not a boolean", |s| s != "true" && s != "false")
                .prop_map(|s| (Some(Value::from(s)), Err(()))),
            1 => (0i64..2).prop_map(|n| (Some(Value::from(n)), Err(()))),
        ]
    }

    /// Settings as `PGSSLMODE` and `PGSSLROOTCERT` make them; combinations that libpq
    /// refuses are refused at start-up and never reach a secret.
    fn settings() -> impl Strategy<Value = Settings> {
        (
            proptest::option::of(proptest::sample::select(&MODES[..]).prop_map(|(w, _)| w)),
            proptest::option::of(prop_oneof![Just("system"), Just("/opt/rds-ca.pem")]),
        )
            .prop_filter_map("libpq refuses it", |(mode, root)| {
                Settings::from_lookup(|name| match name {
                    "PGSSLMODE" => mode.map(str::to_owned),
                    "PGSSLROOTCERT" => root.map(str::to_owned),
                    _ => None,
                })
                .ok()
            })
    }

    /// How much a policy protects the password: plaintext, unchecked TLS, checked TLS.
    fn strength(policy: TlsPolicy) -> u8 {
        match policy {
            TlsPolicy::Disable => 0,
            TlsPolicy::Prefer | TlsPolicy::Opportunistic => 1,
            TlsPolicy::Require => 2,
            TlsPolicy::VerifyCa => 3,
            TlsPolicy::VerifyFull => 4,
        }
    }

    /// The policy `settings` turn `policy` into: libpq's `require` checks the chain when a
    /// root certificate file is configured.
    fn with_roots(policy: TlsPolicy, settings: &Settings) -> TlsPolicy {
        match policy {
            TlsPolicy::Require if settings.trust.ca_file.is_some() => TlsPolicy::VerifyCa,
            other => other,
        }
    }

    fn login(mut fields: Map<String, Value>, password: &str) -> LoginSecret {
        fields.insert("username".into(), "app".into());
        fields.insert("password".into(), password.into());
        LoginSecret::from_json(&Secret::new(Value::Object(fields).to_string()))
            .expect("a login with a user name and a password")
    }

    fn put(fields: &mut Map<String, Value>, key: &str, value: Option<Value>) {
        if let Some(value) = value {
            fields.insert(key.into(), value);
        }
    }

    proptest! {
        /// Host, port and database come out as written, defaults filling in for what is
        /// missing; anything else is refused as malformed, never by quoting the secret, not
        /// even when `host` holds a connection URL with the password in it.
        #[test]
        fn the_server_is_read_as_written_or_refused_without_the_password(
            host in host(),
            (port, want_port) in port(),
            dbname in dbname(),
            database in dbname(),
            password in "[ -~]{0,12}".prop_map(|p| format!("{MARK}{p}")),
            url in proptest::bool::weighted(0.1),
        ) {
            let host = if url {
                Some(format!("postgres://app:{password}@{}/app", host.unwrap_or_default()))
            } else {
                host
            };
            let mut fields = Map::new();
            put(&mut fields, "host", host.clone().map(Value::from));
            put(&mut fields, "port", port);
            put(&mut fields, "dbname", dbname.clone());
            put(&mut fields, "database", database.clone());
            let secret = login(fields, &password);

            let want_host = match &host {
                Some(h) if !h.is_empty()
                    && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-_:".contains(c)) =>
                {
                    Ok(h.clone())
                }
                _ => Err(()),
            };
            let want_dbname = match [dbname, database]
                .into_iter()
                .flatten()
                .find(|v| !v.is_null())
            {
                None => Ok(DEFAULT_DBNAME.to_owned()),
                Some(Value::String(s)) if !s.is_empty() => Ok(s),
                Some(_) => Err(()),
            };
            match PgEndpoint::of_user(&secret, &Settings::default()) {
                Ok(e) => {
                    prop_assert_eq!(Ok(e.host), want_host.clone());
                    prop_assert_eq!(Ok(e.port), want_port);
                    prop_assert_eq!(Ok(e.dbname), want_dbname);
                }
                Err(EndpointError::Malformed(reason)) => {
                    prop_assert!(!reason.contains(MARK));
                    prop_assert!(
                        want_host.is_err() || want_port.is_err() || want_dbname.is_err(),
                        "a usable secret was refused: {}",
                        reason
                    );
                }
                Err(EndpointError::Config(reason)) => {
                    return Err(TestCaseError::fail(format!("default settings refused: {reason}")));
                }
            }
            // The admin secret's own server: its host and port, or none without a host.
            match (PgEndpoint::admin_server(&secret), &host) {
                (Ok(None), None) => {}
                (Ok(Some((h, p))), Some(_)) => {
                    prop_assert_eq!((Ok(h), Ok(p)), (want_host, want_port));
                }
                (Err(EndpointError::Malformed(reason)), Some(_)) => {
                    prop_assert!(!reason.contains(MARK));
                    prop_assert!(want_host.is_err() || want_port.is_err(), "{}", reason);
                }
                (other, _) => {
                    return Err(TestCaseError::fail(format!("admin_server: {other:?}")));
                }
            }
        }

        /// A secret that asks for TLS (`"ssl": true`, or a `sslmode` of require or stricter)
        /// never gets a policy that sends its password in plaintext, whatever `PGSSLMODE`
        /// and `PGSSLROOTCERT` say; `sslmode` contradicting `"ssl": true` is an error, not a
        /// downgrade; a secret that says nothing gets the function's default. An admin login
        /// is verified TLS unless its own secret asks for less.
        #[test]
        fn a_secret_that_asks_for_tls_never_gets_plaintext(
            (sslmode, mode) in sslmode(),
            (ssl, flag) in ssl(),
            settings in settings(),
        ) {
            let mut fields = Map::new();
            fields.insert("host".into(), "db".into());
            put(&mut fields, "sslmode", sslmode);
            put(&mut fields, "ssl", ssl);
            let secret = login(fields, MARK);
            let asked = match (mode, flag) {
                (Err(()), _) | (_, Err(())) => Err(()),
                (Ok(Some(TlsPolicy::Disable | TlsPolicy::Prefer)), Ok(Some(true))) => Err(()),
                (Ok(Some(mode)), _) => Ok(Some(mode)),
                (Ok(None), Ok(Some(true))) => Ok(Some(TlsPolicy::VerifyFull)),
                (Ok(None), Ok(Some(false))) => Ok(Some(TlsPolicy::Disable)),
                (Ok(None), Ok(None)) => Ok(None),
            };
            let asks_for_tls = flag == Ok(Some(true))
                || matches!(mode, Ok(Some(m)) if !m.allows_plaintext());
            let system = settings.trust.is_system();

            for admin in [false, true] {
                let parsed = if admin {
                    PgEndpoint::of_admin(&secret, "db".into(), 5432, &settings)
                } else {
                    PgEndpoint::of_user(&secret, &settings)
                };
                let fallback = if admin { TlsPolicy::VerifyFull } else { settings.default_tls };
                match (parsed, asked) {
                    (Ok(e), Ok(asked)) => {
                        prop_assert_eq!(e.asked, asked);
                        let policy = asked.unwrap_or(fallback);
                        prop_assert_eq!(e.tls, with_roots(policy, &settings));
                        prop_assert!(strength(e.tls) >= strength(policy));
                        prop_assert!(!(asks_for_tls && e.tls.allows_plaintext()), "{:?}", e.tls);
                        prop_assert!(!(admin && asked.is_none() && e.tls.allows_plaintext()));
                        prop_assert!(!(system && e.tls != TlsPolicy::VerifyFull));
                    }
                    (Err(EndpointError::Malformed(reason)), Err(())) => {
                        prop_assert!(!reason.contains(MARK));
                    }
                    (Err(EndpointError::Config(_)), Ok(asked)) => {
                        prop_assert!(system && asked.unwrap_or(fallback) != TlsPolicy::VerifyFull);
                    }
                    (parsed, asked) => {
                        return Err(TestCaseError::fail(format!(
                            "admin {admin}: {parsed:?}, expected {asked:?}"
                        )));
                    }
                }
            }
        }
    }
}
