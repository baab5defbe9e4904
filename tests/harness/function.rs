//! A rotation function's release binary running as on AWS: a custom runtime (`bootstrap`)
//! polling the Lambda Runtime API, here served by moto for a function registered there.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::moto::DEFAULT_FUNCTION_TIMEOUT_SECONDS;
use crate::{moto, unique, workspace_root};

pub struct RunningFunction {
    pub arn: String,
    /// When the process was started (just before it was spawned).
    pub started: std::time::SystemTime,
    child: Child,
    log: PathBuf,
}

/// Where the release binaries are: `ROTATION_RELEASE_DIR`, or `target/release`.
pub(crate) fn release_binary(name: &str) -> PathBuf {
    let dir = std::env::var_os("ROTATION_RELEASE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/release"));
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build --release --bins` (`make test` does)",
        path.display()
    );
    path
}

impl RunningFunction {
    /// Starts release binary `name` as a new Lambda function in moto, with the environment
    /// Lambda gives a function plus `env` (the function's own configuration).
    pub fn start(name: &str, env: &[(&str, &str)]) -> Self {
        Self::start_with_timeout(name, env, DEFAULT_FUNCTION_TIMEOUT_SECONDS)
    }

    /// As [`Self::start`], for a function Lambda stops after `timeout_seconds` (see
    /// [`crate::Moto::register_function_with_timeout`]).
    pub fn start_with_timeout(name: &str, env: &[(&str, &str)], timeout_seconds: u64) -> Self {
        let function_name = unique(name);
        let registered = moto().register_function_with_timeout(&function_name, timeout_seconds);
        let log = std::env::temp_dir().join(format!("{function_name}.log"));
        let log_file = std::fs::File::create(&log).expect("create the function's log file");
        let started = std::time::SystemTime::now();
        let child = Command::new(release_binary(name))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &registered.runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", &function_name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/25/[$LATEST]test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &moto().endpoint)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self {
            arn: registered.arn,
            started,
            child,
            log,
        }
    }

    /// The most memory the process has held so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read the function's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc status")
    }

    /// Everything the function printed so far: its CloudWatch log on AWS.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for RunningFunction {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- log of the function ---\n{}", self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
