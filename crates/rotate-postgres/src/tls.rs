//! Whether and how a connection uses TLS.
//!
//! AWS's templates fall back to plaintext silently when TLS fails. Here a secret that asks for
//! TLS never gets a plaintext connection, and a fallback for a secret that says nothing is
//! logged as a warning.

use std::sync::{Arc, OnceLock};

use rustls::ClientConfig;
use serde_json::Value;
use tokio_postgres_rustls::MakeRustlsConnect;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsPolicy {
    /// `"ssl": false`: plaintext only.
    Disable,
    /// No `ssl` key: TLS with full verification, else plaintext with a warning.
    Prefer,
    /// `"ssl": true`: TLS with full verification (certificate chain and host name), or fail.
    Require,
}

impl TlsPolicy {
    /// Reads AWS's `ssl` key, a boolean or the strings "true" / "false".
    pub fn from_ssl_key(value: Option<&Value>) -> Result<Self, String> {
        let wanted = match value {
            None | Some(Value::Null) => return Ok(Self::Prefer),
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            Some(_) => None,
        };
        match wanted {
            Some(true) => Ok(Self::Require),
            Some(false) => Ok(Self::Disable),
            None => Err("\"ssl\" must be true or false".into()),
        }
    }
}

/// The verifying connector, built once per process: loading the system roots costs more than
/// a rotation step should pay on every connection.
pub fn verifying_connector() -> MakeRustlsConnect {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for error in &native.errors {
            tracing::warn!(%error, "could not load a system root certificate");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, ignored, "loaded system root certificates");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the aws-lc-rs provider supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    });
    MakeRustlsConnect::new(ClientConfig::clone(config))
}
