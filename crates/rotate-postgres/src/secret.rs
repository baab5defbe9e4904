//! The PostgreSQL secret JSON: AWS's format, plus the `user` and `database` key names some
//! teams already use.
//!
//! The whole JSON object is kept so that a rotated value differs from its source only in the
//! password: unknown keys and the team's own key names survive every rotation.

use serde_json::{Map, Value};

use rotation_core::{MASTERARN_KEY, RotationError, Secret, StepContext, sanitize};

use crate::tls::TlsPolicy;

/// Engine names AWS's PostgreSQL templates accept.
const ENGINES: [&str; 2] = ["postgres", "aurora-postgresql"];
pub const USERNAME_KEYS: [&str; 2] = ["username", "user"];
const DBNAME_KEYS: [&str; 2] = ["dbname", "database"];
const DEFAULT_PORT: u16 = 5432;
const DEFAULT_DBNAME: &str = "postgres";

pub struct PgSecret {
    fields: Map<String, Value>,
    /// Which of [`USERNAME_KEYS`] this secret uses, so the alternate user is written back
    /// under the same name.
    username_key: &'static str,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: Secret,
    pub dbname: String,
    /// What the secret asks for (`sslmode`, else `ssl`); `None` when it says nothing.
    pub tls: Option<TlsPolicy>,
    /// The admin secret for the alternating-users strategy.
    pub masterarn: Option<String>,
}

/// Written by hand: the raw JSON holds the password, so it is never printed.
impl std::fmt::Debug for PgSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSecret")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("dbname", &self.dbname)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
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
        let bad = |reason: String| ctx.malformed(stage, reason);
        let json: Value = serde_json::from_str(value.expose()).map_err(|e| {
            bad(format!(
                "it is not valid JSON (error at line {} column {})",
                e.line(),
                e.column()
            ))
        })?;
        let Value::Object(fields) = json else {
            return Err(bad("it is not a JSON object".into()));
        };
        if let Some(engine) = fields.get("engine") {
            let name = engine
                .as_str()
                .ok_or_else(|| bad("\"engine\" must be a string".into()))?;
            if !ENGINES.contains(&name) {
                return Err(RotationError::WrongEngine {
                    secret: sanitize(ctx.secret_id),
                    found: sanitize(name),
                    expected: "postgres or aurora-postgresql",
                });
            }
        }
        let host = required_str(&fields, &["host"]).map_err(&bad)?;
        let username = required_str(&fields, &USERNAME_KEYS).map_err(&bad)?;
        let username_key = USERNAME_KEYS
            .into_iter()
            .find(|k| fields.get(*k).is_some_and(Value::is_string))
            .expect("required_str found one of these keys");
        let masterarn = optional_str(&fields, &[MASTERARN_KEY]).map_err(&bad)?;
        let password = match fields.get("password") {
            Some(Value::String(p)) => Secret::new(p.clone()),
            Some(_) => return Err(bad("\"password\" must be a string".into())),
            None => return Err(bad("it has no \"password\" key".into())),
        };
        let dbname = optional_str(&fields, &DBNAME_KEYS)
            .map_err(&bad)?
            .unwrap_or_else(|| DEFAULT_DBNAME.to_owned());
        let port = parse_port(fields.get("port")).map_err(&bad)?;
        let tls = TlsPolicy::from_secret(fields.get("sslmode"), fields.get("ssl")).map_err(&bad)?;
        Ok(Self {
            fields,
            username_key,
            host,
            port,
            username,
            password,
            dbname,
            tls,
            masterarn,
        })
    }

    /// The same secret for another user and password, every other key as it was.
    pub fn with_login(&self, username: &str, password: &Secret) -> Secret {
        let mut fields = self.fields.clone();
        fields.insert(self.username_key.into(), Value::String(username.to_owned()));
        fields.insert(
            "password".into(),
            Value::String(password.expose().to_owned()),
        );
        Secret::new(Value::Object(fields).to_string())
    }
}

pub fn optional_str(fields: &Map<String, Value>, keys: &[&str]) -> Result<Option<String>, String> {
    for key in keys {
        match fields.get(*key) {
            Some(Value::String(s)) if !s.is_empty() => return Ok(Some(s.clone())),
            Some(Value::String(_)) => return Err(format!("\"{key}\" is empty")),
            Some(Value::Null) | None => continue,
            Some(_) => return Err(format!("\"{key}\" must be a string")),
        }
    }
    Ok(None)
}

pub fn required_str(fields: &Map<String, Value>, keys: &[&str]) -> Result<String, String> {
    optional_str(fields, keys)?.ok_or_else(|| {
        let names: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
        format!("it has no {} key", names.join(" or "))
    })
}

/// AWS writes the port as a number; hand-made secrets often hold a string.
pub fn parse_port(value: Option<&Value>) -> Result<u16, String> {
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
