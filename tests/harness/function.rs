//! A rotation function's release binary running as on AWS: a custom runtime (`bootstrap`)
//! polling the Lambda Runtime API, here served by moto for a function registered there.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use rotation_core::Step;

use crate::moto::DEFAULT_FUNCTION_TIMEOUT_SECONDS;
use crate::{moto, unique, workspace_root};

pub struct RunningFunction {
    pub arn: String,
    /// When the process was started (just before it was spawned).
    pub started: std::time::SystemTime,
    child: Child,
    log: PathBuf,
    binary: String,
    function_name: String,
    runtime_api: String,
    env: Vec<(String, String)>,
}

/// Where in a step the Runtime API kills the function's process (see [`RunningFunction::crash_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// When the process asks for the step's event: the step never runs.
    Before,
    /// When the step's answer arrives: its work is done, and Secrets Manager never hears so.
    After,
}

impl CrashPoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Before => "before",
            Self::After => "after",
        }
    }
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
        std::fs::File::create(&log).expect("create the function's log file");
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let started = std::time::SystemTime::now();
        let child = spawn(name, &function_name, &registered.runtime_api, &env, &log);
        Self {
            arn: registered.arn,
            started,
            child,
            log,
            binary: name.to_owned(),
            function_name,
            runtime_api: registered.runtime_api,
            env,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Has the Runtime API kill this process (SIGKILL) at `point` of the next invocation of
    /// `step`; that invocation then fails as Lambda reports a runtime that died.
    pub fn crash_at(&self, step: Step, point: CrashPoint) {
        moto().arm_crash(&self.arn, step.as_str(), point.as_str(), self.pid());
    }

    /// Kills the process (SIGKILL) at once, in the middle of whatever it is doing; the
    /// invocation it was running fails as Lambda reports a runtime that died.
    pub fn kill_now(&self) {
        moto().arm_crash(&self.arn, "", "now", self.pid());
    }

    /// A new process for the function, polling the same Runtime API, as Lambda starts one
    /// after the last died. Its output joins the same log.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.started = std::time::SystemTime::now();
        self.child = spawn(
            &self.binary,
            &self.function_name,
            &self.runtime_api,
            &self.env,
            &self.log,
        );
    }

    /// Invokes the function with one rotation step, as Secrets Manager does (through
    /// Lambda's Invoke API on moto). The error names the step and the function's errorType.
    ///
    /// A step the function answered must have written exactly one metric line that counts it
    /// as the answer says: succeeded, or failed with the answer's errorType.
    pub async fn invoke(&self, step: Step, secret_id: &str, token: &str) -> Result<(), String> {
        let counted = self.metric_lines().len();
        let event = serde_json::json!({
            "Step": step.as_str(),
            "SecretId": secret_id,
            "ClientRequestToken": token,
        });
        let answer = self.invoke_event(&event).await;
        self.assert_counted(step, &answer, counted);
        answer
    }

    /// The function's metric lines so far, each checked against the EMF specification.
    pub fn metric_lines(&self) -> Vec<serde_json::Value> {
        crate::metric_lines(&self.log())
    }

    /// Checks the metric lines written after the first `counted` against `answer` to `step`.
    fn assert_counted(&self, step: Step, answer: &Result<(), String>, counted: usize) {
        let error_type = match answer {
            Ok(()) => None,
            Err(err) => match answered_error_type(step, err) {
                // Lambda's own errors: the process died or was stopped, and wrote what it had.
                Some(t) if t.starts_with("Runtime.") || t.starts_with("Sandbox.") => return,
                Some(t) => Some(t),
                // Not the function's answer (Lambda's Invoke itself failed).
                None => return,
            },
        };
        let lines = self.metric_lines();
        let new = &lines[counted.min(lines.len())..];
        assert_eq!(new.len(), 1, "one metric line per answered step: {new:?}");
        let line = &new[0];
        assert_eq!(line["step"], step.as_str(), "{line}");
        assert_eq!(
            line["StepSucceeded"],
            u8::from(error_type.is_none()),
            "{line}"
        );
        assert_eq!(line["StepFailed"], u8::from(error_type.is_some()), "{line}");
        assert_eq!(
            line.get("errorType").and_then(|t| t.as_str()),
            error_type,
            "{line}"
        );
    }

    /// Invokes the function with any event, such as one Secrets Manager would never send.
    pub async fn invoke_event(&self, event: &serde_json::Value) -> Result<(), String> {
        moto()
            .lambda()
            .await
            .invoke()
            .function_name(&self.arn)
            .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_lambda::error::DisplayErrorContext(&e).to_string())
    }

    /// The whole rotation again with `token`, as Secrets Manager retries one that failed:
    /// the four steps in order, stopping at the first that fails.
    pub async fn retry(&self, secret_id: &str, token: &str) -> Result<(), String> {
        for step in Step::ALL {
            self.invoke(step, secret_id, token).await?;
        }
        Ok(())
    }
}

/// The errorType in moto's report of a failed invocation ("rotation function failed at
/// {step}: {errorType}: {message}").
fn answered_error_type(step: Step, err: &str) -> Option<&str> {
    let marker = format!("rotation function failed at {}: ", step.as_str());
    let rest = &err[err.find(&marker)? + marker.len()..];
    rest.split(": ").next()
}

/// Starts release binary `name` as function `function_name` with the environment Lambda
/// gives a function plus `env`, appending its output to `log`.
fn spawn(
    name: &str,
    function_name: &str,
    runtime_api: &str,
    env: &[(String, String)],
    log: &std::path::Path,
) -> Child {
    let log_file = std::fs::OpenOptions::new()
        .append(true)
        .open(log)
        .expect("open the function's log file");
    {
        Command::new(release_binary(name))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
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
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"))
    }
}

impl RunningFunction {
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
