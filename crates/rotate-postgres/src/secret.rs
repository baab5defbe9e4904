//! The PostgreSQL secret JSON: AWS's format, plus the `user` and `database` key names some
//! teams already use.
//!
//! The whole JSON object is kept so that a rotated value differs from its source only in the
//! password: unknown keys and the team's own key names survive every rotation.

use std::ops::Deref;

use serde_json::Value;

use rotation_core::{LoginSecret, RotationError, Secret, StepContext};

use crate::tls::TlsPolicy;

/// Engine names AWS's PostgreSQL templates accept.
const ENGINES: [&str; 2] = ["postgres", "aurora-postgresql"];
const DBNAME_KEYS: [&str; 2] = ["dbname", "database"];
const DEFAULT_PORT: u16 = 5432;
const DEFAULT_DBNAME: &str = "postgres";

/// A PostgreSQL secret: the login (user name, password, `masterarn`, every other key kept),
/// and where it logs in.
#[derive(Debug)]
pub struct PgSecret {
    login: LoginSecret,
    pub host: String,
    pub port: u16,
    pub dbname: String,
    /// What the secret asks for (`sslmode`, else `ssl`); `None` when it says nothing.
    pub tls: Option<TlsPolicy>,
}

impl Deref for PgSecret {
    type Target = LoginSecret;

    fn deref(&self) -> &LoginSecret {
        &self.login
    }
}

impl PgSecret {
    /// Parses the value stored under `stage`. Errors name the stage and the key but never echo a
    /// value: a malformed secret may have its password anywhere.
    pub fn parse(
        ctx: &StepContext<'_>,
        stage: &str,
        value: &Secret,
    ) -> Result<Self, RotationError> {
        let login = LoginSecret::parse(ctx, stage, value)?;
        login.check_engine(ctx, &ENGINES, "postgres or aurora-postgresql")?;
        let bad = |reason: String| ctx.malformed(stage, reason);
        let host = login.required(&["host"]).map_err(bad)?;
        let dbname = login
            .string(&DBNAME_KEYS)
            .map_err(bad)?
            .unwrap_or_else(|| DEFAULT_DBNAME.to_owned());
        let port = parse_port(login.get("port")).map_err(bad)?;
        let tls = TlsPolicy::from_secret(login.get("sslmode"), login.get("ssl")).map_err(bad)?;
        Ok(Self {
            login,
            host,
            port,
            dbname,
            tls,
        })
    }
}

/// AWS writes the port as a number; hand-made secrets often hold a string.
fn parse_port(value: Option<&Value>) -> Result<u16, String> {
    let parsed = match value {
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
    use rotation_core::InMemorySecretStore;
    use serde_json::json;

    fn parse(value: Value) -> Result<PgSecret, RotationError> {
        let store = InMemorySecretStore::new();
        let ctx = StepContext {
            secret_id: "db",
            store: &store,
        };
        PgSecret::parse(&ctx, "AWSCURRENT", &Secret::new(value.to_string()))
    }

    #[test]
    fn reads_the_aws_format_with_defaults() {
        let s = parse(json!({"engine": "postgres", "host": "h", "username": "u", "password": "p"}))
            .unwrap();
        assert_eq!(
            (
                s.host.as_str(),
                s.port,
                s.username.as_str(),
                s.dbname.as_str()
            ),
            ("h", 5432, "u", "postgres")
        );
        assert_eq!(s.password.expose(), "p");
        assert_eq!(s.tls, None);
    }

    #[test]
    fn reads_the_user_and_database_names_and_a_string_port() {
        let s = parse(json!({"host": "h", "user": "u", "password": "p", "database": "d", "port": "6432", "ssl": "TRUE"})).unwrap();
        assert_eq!(
            (s.username.as_str(), s.dbname.as_str(), s.port),
            ("u", "d", 6432)
        );
        assert_eq!(s.tls, Some(TlsPolicy::VerifyFull));
    }

    #[test]
    fn writes_back_every_key_under_its_own_name() {
        let original =
            json!({"host": "h", "user": "u", "password": "p", "database": "d", "team": {"a": 1}});
        let s = parse(original.clone()).unwrap();
        let rotated: Value =
            serde_json::from_str(s.with_login("u", &Secret::new("new")).expose()).unwrap();
        let mut expected = original;
        expected["password"] = "new".into();
        assert_eq!(rotated, expected);
    }

    #[test]
    fn names_what_is_wrong_without_echoing_values() {
        let cases = [
            (json!("just a string"), "not a JSON object"),
            (
                json!({"host": "h", "password": "SECRETPW"}),
                "no \"username\" or \"user\" key",
            ),
            (
                json!({"username": "u", "password": "SECRETPW"}),
                "no \"host\" key",
            ),
            (json!({"host": "h", "username": "u"}), "no \"password\" key"),
            (
                json!({"host": "h", "username": "u", "password": 5}),
                "\"password\" must be a string",
            ),
            (
                json!({"host": "h", "username": "u", "password": "SECRETPW", "port": 70000}),
                "\"port\" must be a number",
            ),
            (
                json!({"host": "h", "username": "u", "password": "SECRETPW", "ssl": "maybe"}),
                "\"ssl\" must be",
            ),
        ];
        for (value, expected) in cases {
            let err = parse(value).unwrap_err();
            let text = err.to_string();
            assert_eq!(err.error_type(), "MalformedSecret");
            assert!(text.contains(expected), "{text}");
            assert!(!text.contains("SECRETPW"), "{text}");
        }
    }

    #[test]
    fn invalid_json_reports_a_position_only() {
        let store = InMemorySecretStore::new();
        let ctx = StepContext {
            secret_id: "db",
            store: &store,
        };
        let err = PgSecret::parse(
            &ctx,
            "AWSCURRENT",
            &Secret::new("{\"password\": \"SECRETPW\""),
        )
        .unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
        assert!(!err.to_string().contains("SECRETPW"));
    }

    #[test]
    fn the_alternate_user_is_written_under_the_same_key() {
        let s = parse(json!({"host": "h", "user": "u", "password": "p", "masterarn": "arn:admin"}))
            .unwrap();
        assert_eq!(s.masterarn.as_deref(), Some("arn:admin"));
        let other: Value =
            serde_json::from_str(s.with_login("u_clone", &Secret::new("n")).expose()).unwrap();
        assert_eq!(
            other,
            json!({"host": "h", "user": "u_clone", "password": "n", "masterarn": "arn:admin"})
        );
    }

    #[test]
    fn debug_shows_no_password() {
        let s = parse(json!({"host": "h", "username": "u", "password": "SECRETPW"})).unwrap();
        let text = format!("{s:?}");
        assert!(
            text.contains("\"h\"") && !text.contains("SECRETPW"),
            "{text}"
        );
    }

    #[test]
    fn refuses_another_engine() {
        let err = parse(json!({"engine": "mysql", "host": "h", "username": "u", "password": "p"}))
            .unwrap_err();
        assert_eq!(err.error_type(), "WrongEngine");
        assert!(err.to_string().contains("\"mysql\""), "{err}");
        assert!(parse(json!({"engine": "aurora-postgresql", "host": "h", "username": "u", "password": "p"})).is_ok());
    }
}
