//! Where an engine's settings come from. A function's configuration is its deployer's
//! (ROTATION_STRATEGY, ADMIN_SECRET_ARN, PGSSLMODE, ...), but which function a secret names
//! is up to whoever may call RotateSecret on it, often the application team, and the
//! operator's credentials reach further than any one function's role. So a function's
//! configuration is used only when the operator names the function; otherwise the settings
//! are this shell's environment.

use std::collections::BTreeMap;

use rotation_core::sanitize;

use crate::exit::Stop;
use crate::session::Session;

/// Variables that name files: the function's paths are inside its package, so the shell's
/// value (a local copy) wins when it has one.
const LOCAL_FILES: [&str; 1] = ["PGSSLROOTCERT"];

/// The settings an engine is built with, and where they came from.
pub struct Settings {
    /// Where they came from, for the output.
    pub source: String,
    /// The function's variables; `None` for the shell's environment.
    variables: Option<BTreeMap<String, String>>,
}

impl Settings {
    pub fn lookup(&self, name: &str) -> Option<String> {
        let shell = || std::env::var(name).ok().filter(|v| !v.is_empty());
        match &self.variables {
            Some(variables) if LOCAL_FILES.contains(&name) => {
                shell().or_else(|| variables.get(name).cloned())
            }
            Some(variables) => variables.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    /// The configuration of `function` when the operator named one, else this shell's
    /// environment. `rotated_by` is the function the secret names, if any: naming another
    /// one is refused, as it would check or rotate the secret as it is never rotated.
    pub async fn load(
        session: &Session,
        function: Option<&str>,
        rotated_by: Option<&str>,
    ) -> Result<Self, Stop> {
        let Some(function) = function else {
            return Ok(Self {
                source: "this shell's environment (--function ARN uses a function's configuration)"
                    .into(),
                variables: None,
            });
        };
        if let Some(rotated_by) = rotated_by
            && !same_function(rotated_by, function)
        {
            return Err(Stop::refused(format!(
                "the secret is rotated by {}, not by --function {}",
                sanitize(rotated_by),
                sanitize(function)
            )));
        }
        let variables = session
            .api
            .function_environment(function)
            .await
            .map_err(|why| {
                Stop::failed(format!(
                    "reading the configuration of function {} failed: {why}",
                    sanitize(function)
                ))
            })?;
        let mut source = format!("function {}", sanitize(function));
        let local: Vec<&str> = LOCAL_FILES
            .into_iter()
            .filter(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()))
            .collect();
        if !local.is_empty() {
            source.push_str(&format!(", with this shell's {}", local.join(", ")));
        }
        Ok(Self {
            source,
            variables: Some(variables),
        })
    }
}

/// Whether two function references name the same function: an ARN (with or without a
/// version or alias) or a bare name.
fn same_function(a: &str, b: &str) -> bool {
    let name = |f: &str| {
        let parts: Vec<&str> = f.split(':').collect();
        match parts.iter().position(|p| *p == "function") {
            Some(i) => parts.get(i + 1).copied().unwrap_or_default(),
            None => f,
        }
        .to_owned()
    };
    a == b || name(a) == name(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_is_the_same_by_arn_alias_or_name() {
        let arn = "arn:aws:lambda:us-east-1:1:function:rotate-postgres";
        assert!(same_function(arn, arn));
        assert!(same_function(arn, "rotate-postgres"));
        assert!(same_function(&format!("{arn}:live"), arn));
        assert!(!same_function(
            arn,
            "arn:aws:lambda:us-east-1:1:function:rotate-neo4j"
        ));
    }
}
