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
