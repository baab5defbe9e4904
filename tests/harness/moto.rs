//! moto server as the Secrets Manager API, as the Lambda service for functions that run for
//! real behind its Runtime API, and as the RDS control plane in front of local PostgreSQL
//! clusters (tests/moto/serve.py).

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::process::keep_running;
use crate::{python, workspace_root};

pub struct Moto {
    pub endpoint: String,
    /// A placeholder function, so that RotateSecret makes the AWSPENDING stub as AWS does.
    pub lambda_arn: String,
    /// serve.py's command channel. The test process holds the write end until it exits, so
    /// the server stops with it.
    control: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
}

/// A Lambda function registered in moto whose invocations go to its Runtime API.
pub struct RegisteredFunction {
    pub arn: String,
    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API` for the function's process.
    pub runtime_api: String,
}

/// One Secrets Manager call through a latency proxy; times in seconds since the epoch.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ProxiedCall {
    pub operation: String,
    pub start: f64,
    pub end: f64,
}

/// One invocation as the Runtime API saw it: when the event was handed to the function and
/// when its answer came back (seconds since the epoch).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Invocation {
    pub step: String,
    pub delivered: f64,
    pub answered: f64,
    pub ok: bool,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct FunctionTimings {
    /// When the function first asked for an event: its initialisation was over.
    pub ready: Option<f64>,
    pub invocations: Vec<Invocation>,
}

/// The moto server of this test binary, started on first use.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start)
}

/// The function timeout when a test sets none (serve.py's default too).
pub(crate) const DEFAULT_FUNCTION_TIMEOUT_SECONDS: u64 = 60;

impl Moto {
    /// A function whose configuration sets `environment`, which nothing serves: RotateSecret
    /// naming it makes the AWSPENDING stub and nothing else. Returns its ARN.
    pub fn configured_function(&self, name: &str, environment: &[(&str, &str)]) -> String {
        let environment: serde_json::Map<String, serde_json::Value> = environment
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        let answer = self.command(serde_json::json!({
            "op": "configured-function",
            "name": name,
            "environment": environment,
        }));
        answer["arn"].as_str().unwrap().to_owned()
    }

    /// Deletes a Lambda function, as when a rotation function is removed while secrets still
    /// name it.
    pub fn delete_function(&self, arn: &str) {
        self.command(serde_json::json!({"op": "delete-function", "arn": arn}));
    }

    /// Registers a function named `name` with the default timeout and opens its Runtime API.
    pub fn register_function(&self, name: &str) -> RegisteredFunction {
        self.register_function_with_timeout(name, DEFAULT_FUNCTION_TIMEOUT_SECONDS)
    }

    /// Registers a function that Lambda stops after `timeout_seconds`: an invocation it has
    /// not answered by then fails with errorType `Sandbox.Timedout`.
    pub fn register_function_with_timeout(
        &self,
        name: &str,
        timeout_seconds: u64,
    ) -> RegisteredFunction {
        let answer = self.command(serde_json::json!({
            "op": "function",
            "name": name,
            "timeout": timeout_seconds,
        }));
        RegisteredFunction {
            arn: answer["arn"].as_str().expect("a function ARN").to_owned(),
            runtime_api: answer["runtime_api"].as_str().unwrap().to_owned(),
        }
    }

    /// A PostgreSQL DB instance whose master password RDS manages, with a read replica for
    /// each `(id, address)`. DescribeDBInstances reports `address` (and each replica's) with
    /// `port`, where a local cluster answers for it. Returns serve.py's answer: `arn`,
    /// `secret_arn`, `endpoint` and `replica_endpoints` (each `{"address", "port"}`).
    pub fn rds_instance(
        &self,
        id: &str,
        address: &str,
        port: u16,
        replicas: &[(&str, &str)],
    ) -> serde_json::Value {
        let replicas: Vec<_> = replicas
            .iter()
            .map(|(id, address)| serde_json::json!({"id": id, "address": address}))
            .collect();
        self.command(serde_json::json!({
            "op": "rds-instance",
            "id": id,
            "address": address,
            "port": port,
            "replicas": replicas,
        }))
    }

    /// An Aurora PostgreSQL DB cluster whose master password RDS manages, reported by
    /// DescribeDBClusters at `endpoint` and `reader_endpoint` on `port`. Returns serve.py's
    /// answer: `arn`, `secret_arn`, `endpoint`, `reader_endpoint` and `port`.
    pub fn rds_cluster(
        &self,
        id: &str,
        endpoint: &str,
        reader_endpoint: &str,
        port: u16,
    ) -> serde_json::Value {
        self.command(serde_json::json!({
            "op": "rds-cluster",
            "id": id,
            "endpoint": endpoint,
            "reader_endpoint": reader_endpoint,
            "port": port,
        }))
    }

    /// A proxy in front of moto's Secrets Manager API that holds each request for
    /// `latency_ms` (the network and the service on AWS) and records it; its endpoint.
    pub fn latency_proxy(&self, latency_ms: u64) -> String {
        let answer = self.command(serde_json::json!({"op": "proxy", "latency_ms": latency_ms}));
        answer["endpoint"].as_str().unwrap().to_owned()
    }

    /// The calls the proxy at `endpoint` passed since this was last asked, in the order they
    /// were answered.
    pub fn proxied_calls(&self, endpoint: &str) -> Vec<ProxiedCall> {
        let answer = self.command(serde_json::json!({"op": "proxy-calls", "endpoint": endpoint}));
        serde_json::from_value(answer["calls"].clone()).expect("proxy calls")
    }

    /// Sets the fault the proxy at `endpoint` answers every request with from now on (see
    /// tests/moto/serve.py): `Some("stall" | "reset" | "500" | "throttle")`, or `None` to let
    /// requests through again.
    pub fn proxy_fault(&self, endpoint: &str, fault: Option<&str>) {
        self.command(
            serde_json::json!({"op": "proxy-fault", "endpoint": endpoint, "fault": fault}),
        );
    }

    /// As [`Self::proxy_fault`], for calls to `operation` only; with `after`, moto carries
    /// each call out and only its answer is lost.
    pub fn proxy_fault_on(&self, endpoint: &str, fault: &str, operation: &str, after: bool) {
        self.command(serde_json::json!({
            "op": "proxy-fault", "endpoint": endpoint, "fault": fault,
            "operation": operation, "after": after,
        }));
    }

    /// Has the Runtime API of function `arn` kill process `pid` at `at` ("before" or "after")
    /// of the next invocation of `step`.
    pub fn arm_crash(&self, arn: &str, step: &str, at: &str, pid: u32) {
        self.command(serde_json::json!({
            "op": "crash", "name": arn, "step": step, "at": at, "pid": pid,
        }));
    }

    /// A Lambda client of moto for the calling test's runtime (SDK clients must not outlive
    /// the runtime they ran on).
    pub async fn lambda(&self) -> aws_sdk_lambda::Client {
        let config = self.sdk_config().await;
        // Secrets Manager invokes a rotation function once per step; an SDK retry would run
        // a step again behind the test's back.
        let config = aws_sdk_lambda::config::Builder::from(&config)
            .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_lambda::Client::from_conf(config)
    }

    /// What every client of moto is made from: its endpoint, a region, test credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .load()
            .await
    }

    /// An S3 client of moto (path-style: the bucket is not in the host name).
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = self.sdk_config().await;
        let config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// What the Runtime API of function `arn` saw since this was last asked.
    pub fn timings(&self, arn: &str) -> FunctionTimings {
        serde_json::from_value(self.command(serde_json::json!({"op": "timings", "name": arn})))
            .expect("function timings")
    }

    /// Sends one command to serve.py and returns its answer, which must not be an error. The
    /// channel is released before any check can panic, so one test's failure does not poison
    /// it for the others.
    fn command(&self, command: serde_json::Value) -> serde_json::Value {
        let line = {
            let mut control = self.control.lock().unwrap();
            writeln!(control.0, "{command}").expect("send a command to moto");
            let mut line = String::new();
            control.1.read_line(&mut line).expect("read moto's answer");
            line
        };
        let answer: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("moto answered {line:?}"));
        assert!(
            answer.get("error").is_none(),
            "moto refused {command}: {answer}"
        );
        answer
    }
}

fn start() -> Moto {
    let python = python();
    let script = workspace_root().join("tests/moto/serve.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start moto with {}: {e} (run `make test`, which creates the venv)",
                python.display()
            )
        });
    let stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    keep_running(child);
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read moto's ready line");
    let ready: serde_json::Value = serde_json::from_str(&line)
        .unwrap_or_else(|_| panic!("moto did not start; it printed {line:?}"));
    Moto {
        endpoint: ready["endpoint"].as_str().unwrap().to_owned(),
        lambda_arn: ready["lambda_arn"].as_str().unwrap().to_owned(),
        control: Mutex::new((stdin, stdout)),
    }
}
