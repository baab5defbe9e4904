//! What every command works with: the AWS configuration, Secrets Manager, and the terminal.

use crate::aws::SecretsApi;
use crate::cli::Global;
use crate::output::Output;

pub struct Session {
    pub config: aws_config::SdkConfig,
    pub api: SecretsApi,
    pub out: Output,
    pub commands: Commands,
}

impl Session {
    pub async fn new(global: &Global) -> Self {
        let config = crate::aws::sdk_config(global).await;
        Self {
            api: SecretsApi::new(&config, global.endpoint_url.as_deref()),
            config,
            out: Output::new(global.json),
            commands: Commands {
                global: global.clone(),
            },
        }
    }
}

/// Commands suggested to the operator, with the global options this one was given, so that
/// they work when pasted.
#[derive(Debug, Clone)]
pub struct Commands {
    pub global: Global,
}

impl Commands {
    /// `rotate` with the region, profile and endpoint this command was given.
    pub fn rotate_command(&self, rest: &str) -> String {
        format!("rotate{} {rest}", self.aws_options())
    }

    /// `aws` with the same options.
    pub fn aws_command(&self, rest: &str) -> String {
        format!("aws{} {rest}", self.aws_options())
    }

    fn aws_options(&self) -> String {
        let mut options = String::new();
        for (flag, value) in [
            ("--region", &self.global.region),
            ("--profile", &self.global.profile),
            ("--endpoint-url", &self.global.endpoint_url),
        ] {
            if let Some(value) = value {
                options.push_str(&format!(" {flag} {}", shell_word(value)));
            }
        }
        options
    }
}

/// `word` quoted for a POSIX shell when it needs it.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@=,+%".contains(c));
    match plain {
        true => word.to_owned(),
        false => format!("'{}'", word.replace('\'', r"'\''")),
    }
}
