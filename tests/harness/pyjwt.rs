//! PyJWT with `cryptography`, run from the venv, as an independent signer and verifier of the
//! keys rotate-jwt publishes (tests/jwt/peer.py).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::{python, workspace_root};

/// The peer; each call is one Python run, verifications batched so the interpreter starts
/// once per batch.
pub struct PyJwt;

/// What PyJWT concluded about one token.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Valid(Value),
    Rejected(String),
}

impl Verdict {
    pub fn claims(&self) -> &Value {
        match self {
            Self::Valid(claims) => claims,
            Self::Rejected(error) => panic!("PyJWT rejected the token: {error}"),
        }
    }

    pub fn error(&self) -> &str {
        match self {
            Self::Rejected(error) => error,
            Self::Valid(claims) => panic!("PyJWT accepted the token: {claims}"),
        }
    }
}

impl PyJwt {
    /// Signs `claims` as an application would, from the secret's `alg`, `kid` and
    /// `signing_key`; returns the token.
    pub fn sign(secret: &Value, claims: &Value) -> String {
        let out = Self::run(&[json!({"op": "sign", "secret": secret, "claims": claims})]);
        out[0]["token"].as_str().unwrap().to_owned()
    }

    /// Verifies each token against `jwks` as a resource server would.
    pub fn verify(jwks: &Value, tokens: &[&str]) -> Vec<Verdict> {
        let ops: Vec<Value> = tokens
            .iter()
            .map(|t| json!({"op": "verify", "jwks": jwks, "token": t}))
            .collect();
        Self::run(&ops)
            .into_iter()
            .map(|r| match r["ok"].as_bool() {
                Some(true) => Verdict::Valid(r["claims"].clone()),
                _ => Verdict::Rejected(r["error"].as_str().unwrap_or_default().to_owned()),
            })
            .collect()
    }

    fn run(ops: &[Value]) -> Vec<Value> {
        let python = python();
        let mut child = Command::new(&python)
            .arg(workspace_root().join("tests/jwt/peer.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e} (run `make test`)", python.display()));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(Value::from(ops.to_vec()).to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "PyJWT peer failed: {}", out.status);
        serde_json::from_slice(&out.stdout).unwrap()
    }
}
