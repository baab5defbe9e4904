//! Where an engine's settings come from. The function's own configuration is the deployer's
//! (ROTATION_STRATEGY, ADMIN_SECRET_ARN, PGSSLMODE, ...): a check or a run made with anything
//! else would not show what the function does. So by default they are read from the rotation
//! function the secret names, and from this shell's environment only when there is none.

use std::collections::BTreeMap;

use clap::ValueEnum;
use rotation_core::sanitize;

use crate::exit::Stop;
use crate::session::Session;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SettingsFrom {
    /// The rotation function's environment when the secret names one Lambda can describe,
    /// else this shell's.
    Auto,
    /// The rotation function's environment, or an error.
    Function,
    /// This shell's environment.
    Environment,
}

/// The settings an engine is built with, and where they came from.
pub struct Settings {
    /// "function ARN" or "this shell's environment", for the output.
    pub source: String,
    /// The function's variables; `None` for the shell's environment.
    variables: Option<BTreeMap<String, String>>,
}

impl Settings {
    pub fn lookup(&self, name: &str) -> Option<String> {
        match &self.variables {
            Some(variables) => variables.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    /// The settings `from` asks for, for a secret rotated by `function`.
    pub async fn load(
        session: &Session,
        from: SettingsFrom,
        function: Option<&str>,
    ) -> Result<Self, Stop> {
        let shell = || Self {
            source: "this shell's environment".into(),
            variables: None,
        };
        if from == SettingsFrom::Environment {
            return Ok(shell());
        }
        let Some(function) = function else {
            return match from {
                SettingsFrom::Function => Err(Stop::refused(
                    "--settings-from function: the secret names no rotation function",
                )),
                _ => Ok(shell()),
            };
        };
        match session.api.function_environment(function).await {
            Ok(variables) => Ok(Self {
                source: format!("function {}", sanitize(function)),
                variables: Some(variables),
            }),
            Err(why) if from == SettingsFrom::Auto => Ok(Self {
                source: format!(
                    "this shell's environment (the configuration of function {} could not be read: {why})",
                    sanitize(function)
                ),
                variables: None,
            }),
            Err(why) => Err(Stop::failed(format!(
                "reading the configuration of function {} failed: {why}",
                sanitize(function)
            ))),
        }
    }
}
