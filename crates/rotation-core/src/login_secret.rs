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

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::*;

    /// The keys engines read, besides `password`, which is made apart so that it can be
    /// looked for in every error.
    const KNOWN_KEYS: [&str; 11] = [
        "username",
        "user",
        "host",
        "port",
        "dbname",
        "database",
        "engine",
        "ssl",
        "sslmode",
        "masterarn",
        "uri",
    ];

    /// Any scalar a hand-made secret may hold, strings most often, control characters and
    /// non-ASCII text included.
    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => "(?s).{0,24}".prop_map(Value::from),
            1 => Just(Value::Null),
            1 => any::<bool>().prop_map(Value::from),
            1 => any::<i64>().prop_map(Value::from),
            1 => any::<f64>().prop_map(Value::from),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            6 => scalar(),
            1 => proptest::collection::vec(scalar(), 0..3).prop_map(Value::from),
            1 => proptest::collection::btree_map("\\PC{0,8}", scalar(), 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    }

    /// Begins every generated password: no message holds it by chance, and quoting the
    /// password in any escaping (Debug, JSON, `sanitize`) keeps it, so it finds a leak that
    /// the password's own text, escaped, would hide.
    const MARK: &str = "pwQ7xZ";

    fn password() -> impl Strategy<Value = String> {
        "(?s).{0,20}".prop_map(|p| format!("{MARK}{p}"))
    }

    /// Secrets of every shape: the known keys with values of any type, keys of any name, and
    /// a password that is usually a string.
    fn secret() -> impl Strategy<Value = Map<String, Value>> {
        (
            proptest::collection::btree_map("(?s).{0,12}", value(), 0..4),
            proptest::collection::vec((proptest::sample::select(&KNOWN_KEYS[..]), value()), 0..8),
            prop_oneof![2 => Just(None), 1 => scalar().prop_map(Some)],
            prop_oneof![
                1 => Just(None),
                1 => scalar().prop_map(Some),
                6 => password().prop_map(|p| Some(Value::from(p))),
            ],
        )
            .prop_map(|(extra, known, username, password)| {
                let mut fields: Map<String, Value> = extra.into_iter().collect();
                fields.remove("password");
                fields.extend(known.into_iter().map(|(k, v)| (k.to_owned(), v)));
                // A user name is usually a string, so that most secrets get past it.
                let username = username.unwrap_or_else(|| Value::from("app"));
                if !fields.contains_key("user") {
                    fields.insert("username".into(), username);
                }
                if let Some(password) = password {
                    fields.insert("password".into(), password);
                }
                fields
            })
    }

    /// What the parser promises to accept: a user name under the first of `username` and
    /// `user` that is not null, as a non-empty string; a string password; a `masterarn`
    /// that, when given, is a non-empty string.
    fn acceptable(fields: &Map<String, Value>) -> bool {
        let non_empty = |v: Option<&Value>| matches!(v, Some(Value::String(s)) if !s.is_empty());
        let username = USERNAME_KEYS
            .iter()
            .map(|k| fields.get(*k))
            .find(|v| !matches!(v, None | Some(Value::Null)));
        let masterarn = fields.get(MASTERARN_KEY);
        username.is_some_and(non_empty)
            && matches!(fields.get("password"), Some(Value::String(_)))
            && (matches!(masterarn, None | Some(Value::Null)) || non_empty(masterarn))
    }

    proptest! {
        /// A secret is accepted exactly when it holds a usable login, and then nothing is
        /// lost: the login reads as written, every key is kept, and writing the same login
        /// back gives the same object. A refusal never quotes the password, nor does Debug.
        #[test]
        fn any_object_is_read_whole_or_refused_without_its_password(
            fields in secret(),
        ) {
            let text = Value::Object(fields.clone()).to_string();
            let parsed = LoginSecret::from_json(&Secret::new(text));
            prop_assert_eq!(parsed.is_ok(), acceptable(&fields), "{:?}", parsed.as_ref().err());
            match parsed {
                Ok(s) => {
                    let key = if matches!(fields.get("username"), None | Some(Value::Null)) {
                        "user"
                    } else {
                        "username"
                    };
                    prop_assert_eq!(Some(s.username.as_str()), fields[key].as_str());
                    prop_assert!(Some(s.password.expose()) == fields["password"].as_str());
                    prop_assert_eq!(
                        s.masterarn.as_deref(),
                        fields.get(MASTERARN_KEY).and_then(Value::as_str)
                    );
                    for (k, v) in &fields {
                        prop_assert!(s.get(k) == Some(v), "key {:?} changed", k);
                    }
                    let back: Value = serde_json::from_str(
                        s.with_login(&s.username, &s.password).expose(),
                    ).unwrap();
                    prop_assert!(back == Value::Object(fields), "with_login changed the secret");
                    let debug = format!("{s:?}");
                    prop_assert!(!debug.contains(MARK));
                }
                Err(reason) => {
                    prop_assert!(!reason.contains(MARK));
                    prop_assert!(!reason.chars().any(char::is_control), "{}", reason);
                }
            }
        }

        /// A new login replaces the user name under the key the secret already uses and the
        /// password, and nothing else.
        #[test]
        fn a_new_login_changes_only_the_login(
            fields in secret(),
            username in "\\PC{1,16}",
            new_password in password(),
        ) {
            let text = Value::Object(fields.clone()).to_string();
            let Ok(s) = LoginSecret::from_json(&Secret::new(text)) else {
                return Ok(());
            };
            let rotated = s.with_login(&username, &Secret::new(new_password.clone()));
            let Ok(Value::Object(rotated)) = serde_json::from_str::<Value>(rotated.expose()) else {
                return Err(TestCaseError::fail("with_login wrote something other than an object"));
            };
            let text = Value::Object(rotated.clone()).to_string();
            let again = LoginSecret::from_json(&Secret::new(text));
            let Ok(again) = again else {
                return Err(TestCaseError::fail("a rotated secret no longer parses"));
            };
            prop_assert_eq!(&again.username, &username);
            prop_assert!(again.password.expose() == new_password);
            let mut expected = fields;
            expected.insert(s.username_key.into(), Value::from(username));
            expected.insert("password".into(), Value::from(new_password));
            prop_assert!(rotated == expected, "keys other than the login changed");
        }

        /// Text that is not a whole JSON object (a real secret cut anywhere, then anything) is
        /// refused by position or shape, never by quoting it.
        #[test]
        fn broken_text_is_refused_without_its_password(
            fields in secret(),
            cut in any::<proptest::sample::Index>(),
            junk in "(?s).{0,8}",
        ) {
            let text = Value::Object(fields).to_string();
            let mut broken: String = text.chars().take(cut.index(text.chars().count())).collect();
            broken.push_str(&junk);
            if let Err(reason) = LoginSecret::from_json(&Secret::new(broken)) {
                prop_assert!(!reason.contains(MARK));
                prop_assert!(!reason.chars().any(char::is_control), "{}", reason);
            }
        }
    }
}
