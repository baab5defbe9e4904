//! Secret values that are JSON objects holding a login: what every engine reads the same way.
//!
//! The whole object is kept, so a rotated value differs from its source only in the login:
//! unknown keys, and the team's own key names (`user` rather than `username`), survive every
//! rotation. Errors name the key, never a value: a malformed secret may hold its password
//! anywhere.

use serde_json::{Map, Value};

use crate::engine::StepContext;
use crate::error::RotationError;
use crate::redact::{Secret, sanitize};
use crate::strategy::MASTERARN_KEY;

/// Key names accepted for the user name, in order of preference.
pub const USERNAME_KEYS: [&str; 2] = ["username", "user"];

pub struct LoginSecret {
    fields: Map<String, Value>,
    /// Which of [`USERNAME_KEYS`] this secret uses, so a new user name is written back under it.
    username_key: &'static str,
    pub username: String,
    pub password: Secret,
    /// The admin secret, for the alternating-users strategy.
    pub masterarn: Option<String>,
}

/// Written by hand: the raw JSON holds the password, so it is never printed.
impl std::fmt::Debug for LoginSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginSecret")
            .field("username", &self.username)
            .field("password", &self.password)
            .finish_non_exhaustive()
    }
}

/// Why a value is not JSON, by position only: the text may hold a password. Nesting deeper
/// than the parser's limit (128) is named as such.
pub fn json_error(e: serde_json::Error) -> String {
    if e.to_string().starts_with("recursion limit exceeded") {
        return "it nests JSON more than 128 levels deep".into();
    }
    format!(
        "it is not valid JSON (error at line {} column {})",
        e.line(),
        e.column()
    )
}

impl LoginSecret {
    /// Parses the value stored under `stage` of the secret being rotated.
    pub fn parse(
        ctx: &StepContext<'_>,
        stage: &str,
        value: &Secret,
    ) -> Result<Self, RotationError> {
        Self::from_json(value).map_err(|reason| ctx.malformed(stage, reason))
    }

    /// Parses a value, answering with the reason it cannot be used.
    pub fn from_json(value: &Secret) -> Result<Self, String> {
        let json: Value = serde_json::from_str(value.expose()).map_err(json_error)?;
        let Value::Object(fields) = json else {
            return Err("it is not a JSON object".into());
        };
        let username_key = USERNAME_KEYS
            .into_iter()
            .find(|k| !matches!(fields.get(*k), None | Some(Value::Null)))
            .ok_or_else(|| "it has no \"username\" or \"user\" key".to_owned())?;
        let username = string(&fields, &[username_key])?.unwrap_or_default();
        let password = match fields.get("password") {
            Some(Value::String(p)) => Secret::new(p.clone()),
            Some(_) => return Err("\"password\" must be a string".into()),
            None => return Err("it has no \"password\" key".into()),
        };
        let masterarn = string(&fields, &[MASTERARN_KEY])?;
        Ok(Self {
            fields,
            username_key,
            username,
            password,
            masterarn,
        })
    }

    /// Refuses a secret whose `engine` key, when present, is not one of `accepted`.
    pub fn check_engine(
        &self,
        ctx: &StepContext<'_>,
        accepted: &[&str],
    ) -> Result<(), RotationError> {
        match self.fields.get("engine") {
            None | Some(Value::Null) => Ok(()),
            Some(Value::String(name)) if accepted.contains(&name.as_str()) => Ok(()),
            Some(other) => Err(RotationError::WrongEngine {
                secret: sanitize(ctx.secret_id),
                found: sanitize(other.as_str().unwrap_or(&other.to_string())),
                expected: accepted.join(" or "),
            }),
        }
    }

    /// The first of `keys` present, as a non-empty string.
    pub fn string(&self, keys: &[&str]) -> Result<Option<String>, String> {
        string(&self.fields, keys)
    }

    /// Like [`Self::string`], but one of `keys` must be present.
    pub fn required(&self, keys: &[&str]) -> Result<String, String> {
        self.string(keys)?.ok_or_else(|| {
            let names: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
            format!("it has no {} key", names.join(" or "))
        })
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
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

fn string(fields: &Map<String, Value>, keys: &[&str]) -> Result<Option<String>, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<LoginSecret, String> {
        LoginSecret::from_json(&Secret::new(value.to_string()))
    }

    #[test]
    fn malformed_json_is_named_by_position_and_deep_nesting_by_name() {
        let e = LoginSecret::from_json(&Secret::new(r#"{"username": "u", "password": "hunter2"#))
            .unwrap_err();
        assert!(
            e.starts_with("it is not valid JSON (error at line 1"),
            "{e}"
        );
        assert!(!e.contains("hunter2"));
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let e = LoginSecret::from_json(&Secret::new(deep)).unwrap_err();
        assert_eq!(e, "it nests JSON more than 128 levels deep");
    }

    #[test]
    fn writes_back_every_key_under_its_own_name() {
        let original =
            json!({"user": "u", "password": "p", "team": {"a": [1]}, "masterarn": "arn:a"});
        let s = parse(original.clone()).unwrap();
        assert_eq!(
            (s.username.as_str(), s.masterarn.as_deref()),
            ("u", Some("arn:a"))
        );
        let rotated: Value =
            serde_json::from_str(s.with_login("u_clone", &Secret::new("n")).expose()).unwrap();
        let mut expected = original;
        expected["user"] = "u_clone".into();
        expected["password"] = "n".into();
        assert_eq!(rotated, expected);
    }

    #[test]
    fn names_the_problem_without_echoing_values() {
        for (value, message) in [
            (json!("just a string"), "not a JSON object"),
            (
                json!({"password": "SECRETPW"}),
                "no \"username\" or \"user\" key",
            ),
            (
                json!({"username": 3, "password": "SECRETPW"}),
                "\"username\" must be a string",
            ),
            (json!({"username": "u"}), "no \"password\" key"),
            (
                json!({"username": "u", "password": 5}),
                "\"password\" must be a string",
            ),
        ] {
            let err = parse(value).unwrap_err();
            assert!(err.contains(message), "{err}");
            assert!(!err.contains("SECRETPW"));
        }
        let err = LoginSecret::from_json(&Secret::new("{\"password\": \"SECRETPW\"")).unwrap_err();
        assert!(
            err.contains("not valid JSON") && !err.contains("SECRETPW"),
            "{err}"
        );
    }

    #[test]
    fn debug_shows_no_password() {
        let s = parse(json!({"username": "u", "password": "SECRETPW"})).unwrap();
        assert!(!format!("{s:?}").contains("SECRETPW"));
    }
}
