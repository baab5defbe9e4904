//! Whether and how a connection uses TLS, with libpq's `sslmode` semantics.
//!
//! AWS's templates fall back to plaintext silently when TLS fails. Here a secret that asks for
//! TLS never gets a plaintext connection, and a fallback for a secret that says nothing is
//! logged as a warning, and can be switched off with `PGSSLMODE`. Certificates are checked as
//! libpq checks them (see [`crate::cert_names`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use serde_json::Value;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How a connection uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsPolicy {
    /// libpq `disable`, or `"ssl": false`: plaintext only.
    Disable,
    /// libpq `prefer`: TLS without certificate checks, else plaintext (logged).
    Prefer,
    /// libpq `require`: TLS without certificate checks, or fail. With a CA file configured it
    /// checks the chain, as libpq does when a root certificate file exists.
    Require,
    /// libpq `verify-ca`: TLS with the chain checked, host name not.
    VerifyCa,
    /// libpq `verify-full`, or `"ssl": true`: TLS with chain and host name checked, or fail.
    VerifyFull,
    /// A secret that says nothing: `verify-full`; else TLS without verification, with a
    /// warning; plaintext (with a warning) only when the server offers no TLS at all.
    Opportunistic,
}

impl TlsPolicy {
    /// Parses a libpq `sslmode` value (`allow` is read as `prefer`: neither verifies, and
    /// both end in plaintext when TLS is not to be had).
    pub fn from_sslmode(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "disable" => Some(Self::Disable),
            "allow" | "prefer" => Some(Self::Prefer),
            "require" => Some(Self::Require),
            "verify-ca" => Some(Self::VerifyCa),
            "verify-full" => Some(Self::VerifyFull),
            _ => None,
        }
    }

    /// What a secret asks for: `sslmode` when present, else AWS's `ssl` key (a boolean or
    /// "true" / "false"); `None` when it says nothing. `sslmode` may strengthen `"ssl": true`
    /// but not weaken it: that contradiction is an error, not a downgrade.
    pub fn from_secret(
        sslmode: Option<&Value>,
        ssl: Option<&Value>,
    ) -> Result<Option<Self>, String> {
        let ssl = match ssl {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => return Err("\"ssl\" must be true or false".into()),
            },
            Some(_) => return Err("\"ssl\" must be true or false".into()),
        };
        let mode = match sslmode {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(Self::from_sslmode(s).ok_or_else(|| {
                "\"sslmode\" must be disable, allow, prefer, require, verify-ca or verify-full"
                    .to_owned()
            })?),
            Some(_) => return Err("\"sslmode\" must be a string".into()),
        };
        match (mode, ssl) {
            (Some(Self::Disable | Self::Prefer), Some(true)) => {
                Err("\"sslmode\" allows plaintext but \"ssl\" is true; remove one of them".into())
            }
            (Some(mode), _) => Ok(Some(mode)),
            (None, Some(true)) => Ok(Some(Self::VerifyFull)),
            (None, Some(false)) => Ok(Some(Self::Disable)),
            (None, None) => Ok(None),
        }
    }

    /// The libpq name, for messages (the default for silent secrets has none of its own).
    pub fn as_sslmode(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
            Self::Opportunistic => "(none: verify-full, else unverified TLS, else plaintext)",
        }
    }

    /// Whether this policy ever sends the password without TLS.
    pub fn allows_plaintext(self) -> bool {
        matches!(self, Self::Disable | Self::Prefer | Self::Opportunistic)
    }
}

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Chain to a trusted root, and the host name.
    Full,
    /// Chain to a trusted root only.
    Chain,
    /// Nothing but the handshake signature (libpq's `require` and `prefer`).
    None,
}

/// Where trusted roots come from: the system store, plus libpq's `PGSSLROOTCERT` file
/// (`system` there means the system store alone, as in libpq).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustSettings {
    pub ca_file: Option<PathBuf>,
}

impl TrustSettings {
    /// `PGSSLROOTCERT=system`: the system's roots alone, and nothing weaker than verify-full.
    pub fn is_system(&self) -> bool {
        self.ca_file.as_deref() == Some(Path::new("system"))
    }
}

/// Trusted roots and crypto, loaded once per process and shared by every connection.
pub struct TlsContext {
    roots: Arc<Roots>,
    /// The certificates of `PGSSLROOTCERT` themselves: a server presenting one of them is
    /// trusted as it is, as OpenSSL (and so libpq) trusts a self-signed certificate given as a
    /// root, which webpki refuses as a CA used as an end entity.
    pinned: Arc<[CertificateDer<'static>]>,
}

/// The trusted roots: `PGSSLROOTCERT`'s bundle and the system's. A chain is trusted when it
/// ends at either, so the bundle is tried first and the system store is read only when the
/// bundle does not vouch for the server: a function pointed at the RDS bundle never reads the
/// hundred-odd system certificates, which would cost every cold rotation tens of milliseconds.
struct Roots {
    provider: Arc<CryptoProvider>,
    bundle: Option<Arc<WebPkiServerVerifier>>,
    system: OnceLock<Option<Arc<WebPkiServerVerifier>>>,
}

impl std::fmt::Debug for Roots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Roots")
            .field("bundle", &self.bundle.is_some())
            .field("system_loaded", &self.system.get().is_some())
            .finish()
    }
}

impl Roots {
    fn verifier(
        roots: RootCertStore,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Option<Arc<WebPkiServerVerifier>>, String> {
        if roots.is_empty() {
            return Ok(None);
        }
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map(Some)
            .map_err(|e| format!("cannot build the certificate verifier: {e}"))
    }

    fn system(&self) -> Option<&Arc<WebPkiServerVerifier>> {
        self.system
            .get_or_init(|| {
                let native = rustls_native_certs::load_native_certs();
                for error in &native.errors {
                    tracing::warn!(%error, "could not load a system root certificate");
                }
                let mut roots = RootCertStore::empty();
                let (added, _) = roots.add_parsable_certificates(native.certs);
                tracing::info!(
                    certificates = added,
                    "loaded the system's root certificates"
                );
                Self::verifier(roots, &self.provider).unwrap_or_else(|error| {
                    tracing::warn!(%error, "ignoring the system's root certificates");
                    None
                })
            })
            .as_ref()
    }

    /// The chain check: the bundle's answer when it vouches for the chain (or finds only the
    /// host name wrong, which libpq checks its own way), else the system store's. A pinned
    /// certificate (one of the bundle's own) is trusted as it is, so the system store has
    /// nothing to add for it.
    fn verify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
        pinned: bool,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut refused = None;
        if let Some(bundle) = &self.bundle {
            match bundle.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                Err(e) if pinned => return Err(e),
                Err(e) if !is_name_error(&e) => refused = Some(e),
                decided => return decided,
            }
        }
        match self.system() {
            Some(system) => {
                match system.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                    // The system store knows nothing of this chain; the bundle's reason (an
                    // expired certificate, a bad signature) is the one worth reporting.
                    Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))
                        if refused.is_some() =>
                    {
                        Err(refused.unwrap())
                    }
                    decided => decided,
                }
            }
            None => Err(refused.unwrap_or_else(|| {
                rustls::Error::General(
                    "no trusted root certificates: the system has none and PGSSLROOTCERT is not set"
                        .into(),
                )
            })),
        }
    }
}

fn is_name_error(error: &rustls::Error) -> bool {
    matches!(
        error,
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    )
}

impl TlsContext {
    pub fn load(trust: &TrustSettings) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut bundle = RootCertStore::empty();
        let mut pinned = Vec::new();
        if let Some(file) = trust.ca_file.as_deref().filter(|_| !trust.is_system()) {
            pinned = read_ca_file(file)?;
            let added = add_roots(&mut bundle, &pinned, file)?;
            tracing::info!(file = %file.display(), certificates = added, "trusting the CA bundle");
        }
        let roots = Roots {
            bundle: Roots::verifier(bundle, &provider)?,
            system: OnceLock::new(),
            provider,
        };
        Ok(Self {
            roots: Arc::new(roots),
            pinned: pinned.into(),
        })
    }

    pub fn connector(&self, verification: Verification) -> MakeRustlsConnect {
        let verifier = PgVerifier {
            verification,
            roots: self.roots.clone(),
            pinned: self.pinned.clone(),
        };
        let config = ClientConfig::builder_with_provider(self.roots.provider.clone())
            .with_safe_default_protocol_versions()
            .expect("the aws-lc-rs provider supports the default protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        MakeRustlsConnect::new(config)
    }
}

/// The [`TlsContext`], loaded on first use and then kept for the life of the process: a
/// rotation that never uses TLS never reads the root store, and a warm function reads it once.
pub struct LazyTls {
    trust: TrustSettings,
    context: OnceLock<Result<TlsContext, String>>,
}

impl LazyTls {
    pub fn new(trust: TrustSettings) -> Self {
        Self {
            trust,
            context: OnceLock::new(),
        }
    }

    pub fn get(&self) -> Result<&TlsContext, &str> {
        self.context
            .get_or_init(|| TlsContext::load(&self.trust))
            .as_ref()
            .map_err(String::as_str)
    }
}

fn ca_file_name(file: &Path) -> String {
    format!("the CA bundle {} (PGSSLROOTCERT)", file.display())
}

fn read_ca_file(file: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let what = ca_file_name(file);
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
        .map_err(|e| format!("cannot read {what}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot parse {what}: {e}"))?;
    if certificates.is_empty() {
        return Err(format!("{what} holds no PEM certificate"));
    }
    Ok(certificates)
}

fn add_roots(
    roots: &mut RootCertStore,
    certificates: &[CertificateDer<'static>],
    file: &Path,
) -> Result<usize, String> {
    let (added, ignored) = roots.add_parsable_certificates(certificates.iter().cloned());
    if ignored > 0 {
        return Err(format!(
            "{} holds {ignored} certificate(s) that are not valid CA certificates",
            ca_file_name(file)
        ));
    }
    Ok(added)
}

/// Checks the server certificate as much as the mode asks, and always the handshake
/// signature, so even an unverified connection is bound to the certificate it was shown.
#[derive(Debug)]
struct PgVerifier {
    verification: Verification,
    roots: Arc<Roots>,
    pinned: Arc<[CertificateDer<'static>]>,
}

impl PgVerifier {
    /// The host name check of verify-full, by libpq's rules.
    fn check_name(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.verification == Verification::Chain {
            return Ok(ServerCertVerified::assertion());
        }
        match crate::cert_names::names_host(end_entity, &server_name.to_str()) {
            Ok(true) => Ok(ServerCertVerified::assertion()),
            Ok(false) => Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName,
            )),
            Err(reason) => Err(rustls::Error::General(reason)),
        }
    }
}

impl ServerCertVerifier for PgVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.verification == Verification::None {
            return Ok(ServerCertVerified::assertion());
        }
        let pinned = self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref());
        match self
            .roots
            .verify(end_entity, intermediates, server_name, ocsp, now, pinned)
        {
            // The chain is good; webpki found no matching alternative name, and libpq would
            // still look at the common name.
            Err(e) if is_name_error(&e) => self.check_name(end_entity, server_name),
            Err(_) if pinned => {
                let now = std::time::Duration::from_secs(now.as_secs());
                match crate::cert_names::valid_at(end_entity, now) {
                    Ok(true) => self.check_name(end_entity, server_name),
                    Ok(false) => Err(rustls::Error::InvalidCertificate(CertificateError::Expired)),
                    Err(reason) => Err(rustls::Error::General(reason)),
                }
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.roots.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.roots.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.roots
            .provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolve(sslmode: Option<Value>, ssl: Option<Value>) -> Result<Option<TlsPolicy>, String> {
        TlsPolicy::from_secret(sslmode.as_ref(), ssl.as_ref())
    }

    #[test]
    fn reads_aws_ssl_key() {
        assert_eq!(resolve(None, None), Ok(None));
        assert_eq!(
            resolve(None, Some(json!(true))),
            Ok(Some(TlsPolicy::VerifyFull))
        );
        assert_eq!(
            resolve(None, Some(json!("TRUE"))),
            Ok(Some(TlsPolicy::VerifyFull))
        );
        assert_eq!(
            resolve(None, Some(json!("false"))),
            Ok(Some(TlsPolicy::Disable))
        );
        assert!(resolve(None, Some(json!("yes please"))).is_err());
        assert!(resolve(None, Some(json!(1))).is_err());
    }

    #[test]
    fn sslmode_wins_but_never_weakens_ssl_true() {
        assert_eq!(
            resolve(Some(json!("verify-ca")), Some(json!(true))),
            Ok(Some(TlsPolicy::VerifyCa))
        );
        assert_eq!(
            resolve(Some(json!("require")), Some(json!(false))),
            Ok(Some(TlsPolicy::Require))
        );
        assert_eq!(
            resolve(Some(json!("Verify-Full")), None),
            Ok(Some(TlsPolicy::VerifyFull))
        );
        assert!(
            resolve(Some(json!("prefer")), Some(json!(true)))
                .unwrap_err()
                .contains("remove one")
        );
        assert!(resolve(Some(json!("disable")), Some(json!("true"))).is_err());
        assert!(
            resolve(Some(json!("sometimes")), None)
                .unwrap_err()
                .contains("verify-full")
        );
    }

    #[test]
    fn only_the_weak_modes_allow_plaintext() {
        for (mode, plaintext) in [
            (TlsPolicy::Disable, true),
            (TlsPolicy::Prefer, true),
            (TlsPolicy::Opportunistic, true),
            (TlsPolicy::Require, false),
            (TlsPolicy::VerifyCa, false),
            (TlsPolicy::VerifyFull, false),
        ] {
            assert_eq!(mode.allows_plaintext(), plaintext, "{mode:?}");
        }
    }

    #[test]
    fn a_bad_ca_file_is_named() {
        let missing = TrustSettings {
            ca_file: Some("/nonexistent/ca.pem".into()),
        };
        assert!(
            TlsContext::load(&missing)
                .err()
                .unwrap()
                .contains("/nonexistent/ca.pem")
        );
        let dir = std::env::temp_dir().join(format!("empty-ca-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate").unwrap();
        let empty = TrustSettings {
            ca_file: Some(dir.clone()),
        };
        assert!(
            TlsContext::load(&empty)
                .err()
                .unwrap()
                .contains("holds no PEM certificate")
        );
        std::fs::remove_file(dir).unwrap();
    }
}
