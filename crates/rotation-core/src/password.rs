//! Password generation from the OS CSPRNG, configured like AWS's rotation templates.
//!
//! The environment variables and their defaults are the ones AWS's Python templates pass to
//! `GetRandomPassword`, so a function configured for those templates behaves the same here;
//! generating locally saves a network round trip and the `GetRandomPassword` permission.

use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use rand::{Rng, TryRngCore};

use crate::error::RotationError;
use crate::redact::Secret;

const UPPERCASE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWERCASE: &str = "abcdefghijklmnopqrstuvwxyz";
const NUMBERS: &str = "0123456789";
/// The punctuation set `GetRandomPassword` draws from.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// Default length, as in AWS's templates.
pub const DEFAULT_LENGTH: usize = 32;
/// `GetRandomPassword`'s upper bound.
const MAX_LENGTH: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub length: usize,
    pub exclude_characters: String,
    pub exclude_numbers: bool,
    pub exclude_punctuation: bool,
    pub exclude_uppercase: bool,
    pub exclude_lowercase: bool,
    pub require_each_included_type: bool,
}

impl PasswordPolicy {
    /// The policy when no variable is set: `engine_exclusions` are the characters the engine
    /// cannot carry safely (for PostgreSQL `:/@"'\`, which break `.pgpass` files and URLs).
    pub fn defaults(engine_exclusions: &str) -> Self {
        Self {
            length: DEFAULT_LENGTH,
            exclude_characters: engine_exclusions.to_owned(),
            exclude_numbers: false,
            exclude_punctuation: false,
            exclude_uppercase: false,
            exclude_lowercase: false,
            require_each_included_type: true,
        }
    }

    /// Reads `PASSWORD_LENGTH`, `EXCLUDE_CHARACTERS` (replaces the engine's exclusions),
    /// `EXCLUDE_NUMBERS`, `EXCLUDE_PUNCTUATION`, `EXCLUDE_UPPERCASE`, `EXCLUDE_LOWERCASE` and
    /// `REQUIRE_EACH_INCLUDED_TYPE` from the process environment.
    pub fn from_env(engine_exclusions: &str, min_length: usize) -> Result<Self, RotationError> {
        Self::from_lookup(engine_exclusions, min_length, |name| {
            std::env::var(name).ok()
        })
    }

    pub fn from_lookup(
        engine_exclusions: &str,
        min_length: usize,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, RotationError> {
        let mut policy = Self::defaults(engine_exclusions);
        if let Some(raw) = lookup("PASSWORD_LENGTH") {
            policy.length = raw.trim().parse().map_err(|_| {
                RotationError::Config(format!(
                    "PASSWORD_LENGTH must be a whole number, got {:?}",
                    crate::redact::sanitize(&raw)
                ))
            })?;
        }
        if let Some(raw) = lookup("EXCLUDE_CHARACTERS") {
            policy.exclude_characters = raw;
        }
        let flag = |name: &str, default: bool| match lookup(name) {
            None => Ok(default),
            Some(raw) => crate::settings::parse_flag(name, &raw),
        };
        policy.exclude_numbers = flag("EXCLUDE_NUMBERS", false)?;
        policy.exclude_punctuation = flag("EXCLUDE_PUNCTUATION", false)?;
        policy.exclude_uppercase = flag("EXCLUDE_UPPERCASE", false)?;
        policy.exclude_lowercase = flag("EXCLUDE_LOWERCASE", false)?;
        policy.require_each_included_type = flag("REQUIRE_EACH_INCLUDED_TYPE", true)?;
        if policy.length < min_length || policy.length > MAX_LENGTH {
            return Err(RotationError::Config(format!(
                "PASSWORD_LENGTH must be between {min_length} and {MAX_LENGTH}, got {}",
                policy.length
            )));
        }
        policy.classes()?;
        Ok(policy)
    }

    /// The character classes left after exclusions, each as a list of allowed characters.
    fn classes(&self) -> Result<Vec<Vec<char>>, RotationError> {
        let wanted = [
            (UPPERCASE, self.exclude_uppercase),
            (LOWERCASE, self.exclude_lowercase),
            (NUMBERS, self.exclude_numbers),
            (PUNCTUATION, self.exclude_punctuation),
        ];
        let classes: Vec<Vec<char>> = wanted
            .iter()
            .filter(|(_, excluded)| !excluded)
            .map(|(set, _)| {
                set.chars()
                    .filter(|c| !self.exclude_characters.contains(*c))
                    .collect::<Vec<_>>()
            })
            .filter(|class| !class.is_empty())
            .collect();
        if classes.is_empty() {
            return Err(RotationError::Config(
                "the password policy excludes every character".into(),
            ));
        }
        if self.require_each_included_type && classes.len() > self.length {
            return Err(RotationError::Config(format!(
                "PASSWORD_LENGTH {} is too short to include each of {} required character types",
                self.length,
                classes.len()
            )));
        }
        Ok(classes)
    }

    pub fn generate(&self) -> Result<Secret, RotationError> {
        let classes = self.classes()?;
        let all: Vec<char> = classes.iter().flatten().copied().collect();
        let mut rng = OsRng.unwrap_err();
        let mut chars: Vec<char> = Vec::with_capacity(self.length);
        if self.require_each_included_type {
            for class in &classes {
                chars.push(class[rng.random_range(0..class.len())]);
            }
        }
        while chars.len() < self.length {
            chars.push(all[rng.random_range(0..all.len())]);
        }
        // The required characters were placed first; shuffle so their positions are not known.
        chars.shuffle(&mut rng);
        Ok(Secret::new(chars.into_iter().collect::<String>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn policy(vars: &[(&str, &str)]) -> Result<PasswordPolicy, RotationError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PasswordPolicy::from_lookup(":/@\"'\\", 1, |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_aws_templates() {
        let p = policy(&[]).unwrap();
        assert_eq!(p.length, 32);
        assert!(p.require_each_included_type);
        for _ in 0..200 {
            let pw = p.generate().unwrap();
            let pw = pw.expose();
            assert_eq!(pw.chars().count(), 32);
            assert!(!pw.chars().any(|c| ":/@\"'\\".contains(c)), "{pw}");
            assert!(pw.chars().any(|c| c.is_ascii_uppercase()));
            assert!(pw.chars().any(|c| c.is_ascii_lowercase()));
            assert!(pw.chars().any(|c| c.is_ascii_digit()));
            assert!(pw.chars().any(|c| c.is_ascii_punctuation()));
        }
    }

    #[test]
    fn honours_every_variable() {
        let p = policy(&[
            ("PASSWORD_LENGTH", "12"),
            ("EXCLUDE_CHARACTERS", "abc"),
            ("EXCLUDE_NUMBERS", "yes"),
            ("EXCLUDE_PUNCTUATION", "1"),
            ("EXCLUDE_UPPERCASE", "Y"),
            ("REQUIRE_EACH_INCLUDED_TYPE", "false"),
        ])
        .unwrap();
        for _ in 0..100 {
            let pw = p.generate().unwrap();
            assert_eq!(pw.expose().len(), 12);
            assert!(
                pw.expose()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() && !"abc".contains(c))
            );
        }
    }

    #[test]
    fn two_passwords_differ() {
        let p = policy(&[]).unwrap();
        assert_ne!(p.generate().unwrap(), p.generate().unwrap());
    }

    #[test]
    fn rejects_impossible_or_garbled_policies_with_the_variable_named() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("PASSWORD_LENGTH", "abc")],
                "PASSWORD_LENGTH must be a whole number",
            ),
            (
                &[("PASSWORD_LENGTH", "0")],
                "PASSWORD_LENGTH must be between",
            ),
            (&[("PASSWORD_LENGTH", "3")], "too short to include each"),
            (
                &[("EXCLUDE_NUMBERS", "maybe")],
                "EXCLUDE_NUMBERS must be true or false",
            ),
            (
                &[
                    ("EXCLUDE_NUMBERS", "true"),
                    ("EXCLUDE_PUNCTUATION", "true"),
                    ("EXCLUDE_UPPERCASE", "true"),
                    ("EXCLUDE_LOWERCASE", "true"),
                ],
                "excludes every character",
            ),
        ];
        for (vars, expected) in cases {
            let err = policy(vars).unwrap_err();
            assert_eq!(err.error_type(), "ConfigurationError");
            assert!(err.to_string().contains(expected), "{err}");
        }
    }

    #[test]
    fn an_engine_minimum_length_is_enforced() {
        let err = PasswordPolicy::from_lookup("", 8, |k| {
            (k == "PASSWORD_LENGTH").then(|| "6".to_string())
        })
        .unwrap_err();
        assert!(err.to_string().contains("between 8 and 4096"));
    }
}

#[cfg(test)]
mod properties {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the variables say, a policy either refuses them with a ConfigurationError
        /// or makes passwords that meet it: exact length, no excluded character, each included
        /// type present when required, printable ASCII only.
        #[test]
        fn every_password_meets_its_policy(
            length in 1usize..=96,
            exclude in "[!-~]{0,40}",
            flags in proptest::array::uniform5(any::<bool>()),
        ) {
            let [numbers, punctuation, upper, lower, require_each] = flags;
            let flag = |b: bool| if b { "true" } else { "false" }.to_owned();
            let vars: HashMap<&str, String> = [
                ("PASSWORD_LENGTH", length.to_string()),
                ("EXCLUDE_CHARACTERS", exclude.clone()),
                ("EXCLUDE_NUMBERS", flag(numbers)),
                ("EXCLUDE_PUNCTUATION", flag(punctuation)),
                ("EXCLUDE_UPPERCASE", flag(upper)),
                ("EXCLUDE_LOWERCASE", flag(lower)),
                ("REQUIRE_EACH_INCLUDED_TYPE", flag(require_each)),
            ]
            .into_iter()
            .collect();
            let policy = match PasswordPolicy::from_lookup("", 1, |k| vars.get(k).cloned()) {
                Ok(policy) => policy,
                Err(e) => {
                    prop_assert_eq!(e.error_type(), "ConfigurationError");
                    return Ok(());
                }
            };
            let password = match policy.generate() {
                Ok(p) => p,
                Err(e) => {
                    prop_assert_eq!(e.error_type(), "ConfigurationError");
                    return Ok(());
                }
            };
            let p = password.expose();
            prop_assert_eq!(p.chars().count(), length);
            prop_assert!(p.chars().all(|c| c.is_ascii_graphic()));
            prop_assert!(!p.chars().any(|c| exclude.contains(c)));
            let has = |f: fn(&char) -> bool| p.chars().any(|c| f(&c));
            prop_assert!(!(numbers && has(char::is_ascii_digit)));
            prop_assert!(!(punctuation && has(char::is_ascii_punctuation)));
            prop_assert!(!(upper && has(char::is_ascii_uppercase)));
            prop_assert!(!(lower && has(char::is_ascii_lowercase)));
            if require_each {
                let classes = policy.classes().unwrap();
                for class in classes {
                    prop_assert!(p.chars().any(|c| class.contains(&c)));
                }
            }
        }
    }
}
