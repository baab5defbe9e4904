//! moto server as the Secrets Manager API.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::process::keep_until_exit;
use crate::{python, workspace_root};

pub struct Moto {
    pub endpoint: String,
    /// A placeholder function, so that RotateSecret makes the AWSPENDING stub as AWS does.
    pub lambda_arn: String,
}

/// The moto server of this test binary, started on first use.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start)
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
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("read moto's ready line");
    let ready: serde_json::Value = serde_json::from_str(&line)
        .unwrap_or_else(|_| panic!("moto did not start; it printed {line:?}"));
    keep_until_exit(child);
    Moto {
        endpoint: ready["endpoint"].as_str().unwrap().to_owned(),
        lambda_arn: ready["lambda_arn"].as_str().unwrap().to_owned(),
    }
}
