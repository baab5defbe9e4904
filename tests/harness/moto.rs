//! moto server as the Secrets Manager API, and as the Lambda service for functions that run
//! for real behind its Runtime API (tests/moto/serve.py).

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

/// The moto server of this test binary, started on first use.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start)
}

impl Moto {
    /// Registers a function named `name` and opens its Runtime API.
    pub fn register_function(&self, name: &str) -> RegisteredFunction {
        let mut control = self.control.lock().unwrap();
        let command = serde_json::json!({"op": "function", "name": name});
        writeln!(control.0, "{command}").expect("send a command to moto");
        let mut line = String::new();
        control.1.read_line(&mut line).expect("read moto's answer");
        let answer: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("moto answered {line:?}"));
        RegisteredFunction {
            arn: answer["arn"].as_str().expect("a function ARN").to_owned(),
            runtime_api: answer["runtime_api"].as_str().unwrap().to_owned(),
        }
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
