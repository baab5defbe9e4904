//! The `rotate` release binary, run as an operator runs it: a fresh process, AWS credentials
//! from the environment, moto named with `--endpoint-url` for Secrets Manager and with
//! AWS_ENDPOINT_URL_LAMBDA/RDS for the others.

use serde_json::Value;

use crate::function::release_binary;
use crate::moto;

/// What one `rotate` command did.
#[derive(Debug)]
pub struct CliRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CliRun {
    /// The `--json` document on stdout.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {self:?}"))
    }

    /// Everything the command printed.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Panics with the output unless the command exited with `code`.
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(self.code, code, "unexpected exit status: {self:#?}");
        self
    }
}

/// The binary: `ROTATE_BIN` (`make demo` runs a debug build), else the release build.
fn binary() -> std::path::PathBuf {
    std::env::var_os("ROTATE_BIN")
        .map(Into::into)
        .unwrap_or_else(|| release_binary("rotate"))
}

/// Runs `rotate` with `args` against moto, with only `env` (the functions' settings) added to
/// a clean environment.
pub async fn rotate(args: &[&str], env: &[(&str, &str)]) -> CliRun {
    let moto = moto();
    let out = tokio::process::Command::new(binary())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        // --endpoint-url is Secrets Manager's only; moto also serves Lambda and RDS.
        .env("AWS_ENDPOINT_URL_LAMBDA", &moto.endpoint)
        .env("AWS_ENDPOINT_URL_RDS", &moto.endpoint)
        .envs(env.iter().copied())
        .args(["--endpoint-url", &moto.endpoint, "--region", "us-east-1"])
        .args(args)
        .output()
        .await
        .expect("run rotate");
    CliRun {
        code: out.status.code().expect("rotate exited, not killed"),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    }
}
