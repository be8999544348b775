//! The rustls client configuration of a connection that verifies its server: which roots, what is checked, which client certificate.
//!
//! The connections build their own configuration instead of the drivers' because the drivers
//! load the system's trust store (every file of `/etc/ssl/certs`, parsed) for each connection
//! even when a CA file replaces it, which cost a short-lived command line more than its TLS
//! handshake (issue 26), and because sqlx's `verify-ca` also checked the host name.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Which CA certificates a connection trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Roots {
    /// Only the certificates of this PEM file (`sslrootcert`, `redis-cli --cacert`, `cacertfile`).
    File(PathBuf),
    /// The system's trust store (`sslrootcert=system`; a URL without a CA file).
    System,
}

/// What a connection checks of the server's certificate.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ServerCheck {
    /// The chain to a trusted root and the host name (`verify-full`, `rediss://`, `amqps://`).
    ChainAndHost,
    /// The chain to a trusted root, whatever host it names (libpq's `verify-ca`).
    ChainOnly,
}

/// A client certificate and its key, both PEM files, for servers that ask for one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The certificate (chain), PEM.
    pub cert: PathBuf,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why a client configuration could not be built; each names the file and the setting.
#[derive(Debug, thiserror::Error)]
pub enum ClientConfigError {
    /// A file could not be read.
    #[error("cannot read the {what} {path}: {source}")]
    Read {
        /// Which file: "CA file", "client certificate", "client key".
        what: &'static str,
        /// The file.
        path: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// A file holds no usable PEM item of its kind.
    #[error("the {what} {path} holds no {kind} in PEM form{detail}")]
    Pem {
        /// Which file.
        what: &'static str,
        /// The file.
        path: String,
        /// What was looked for: "certificate", "private key".
        kind: &'static str,
        /// Why, when rustls said.
        detail: String,
    },
    /// The system's trust store holds no certificate.
    #[error("the system's trust store holds no CA certificate; name a CA file")]
    NoSystemRoots,
    /// rustls refused the combination (a key that does not fit the certificate, ...).
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Returns a client configuration that trusts `roots`, checks what `check` says and presents `identity` when given.
pub fn client_config(
    roots: &Roots,
    check: ServerCheck,
    identity: Option<&ClientIdentity>,
) -> Result<Arc<ClientConfig>, ClientConfigError> {
    crate::install_crypto_provider();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = Arc::new(match roots {
        Roots::File(path) => roots_from_file(path)?,
        Roots::System => system_roots()?,
    });
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match check {
        ServerCheck::ChainAndHost => builder.with_root_certificates(roots),
        ServerCheck::ChainOnly => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NamelessVerifier {
                roots: Some(roots),
                provider,
            })),
    };
    with_identity(builder, identity)
}

/// Returns a client configuration that accepts any server certificate (`sslmode=require`, a
/// `rediss://...#insecure` URL): encrypted, not verified.
pub fn unverified_client_config(
    identity: Option<&ClientIdentity>,
) -> Result<Arc<ClientConfig>, ClientConfigError> {
    crate::install_crypto_provider();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NamelessVerifier {
            roots: None,
            provider,
        }));
    with_identity(builder, identity)
}

/// Finishes a configuration with the client certificate the server may ask for, or none.
fn with_identity(
    builder: rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>,
    identity: Option<&ClientIdentity>,
) -> Result<Arc<ClientConfig>, ClientConfigError> {
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some(identity) => {
            let (chain, key) = load_identity(identity)?;
            builder.with_client_auth_cert(chain, key)?
        }
    };
    Ok(Arc::new(config))
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, ClientConfigError> {
    std::fs::read(path).map_err(|source| ClientConfigError::Read {
        what,
        path: path.display().to_string(),
        source,
    })
}

fn roots_from_file(path: &Path) -> Result<RootCertStore, ClientConfigError> {
    let pem = read(path, "CA file")?;
    let no_pem = |detail: String| ClientConfigError::Pem {
        what: "CA file",
        path: path.display().to_string(),
        kind: "certificate",
        detail,
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| no_pem(format!(" ({e})")))?;
        roots.add(cert).map_err(|e| no_pem(format!(" ({e})")))?;
    }
    if roots.is_empty() {
        return Err(no_pem(String::new()));
    }
    Ok(roots)
}

/// Returns the system's trust store, read once per process.
fn system_roots() -> Result<RootCertStore, ClientConfigError> {
    static SYSTEM: OnceLock<RootCertStore> = OnceLock::new();
    let roots = SYSTEM.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        // Unreadable or unparsable files in the store are skipped, as the drivers do.
        let loaded = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(loaded.certs);
        roots
    });
    if roots.is_empty() {
        return Err(ClientConfigError::NoSystemRoots);
    }
    Ok(roots.clone())
}

fn load_identity(
    identity: &ClientIdentity,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), ClientConfigError> {
    let cert_pem = read(&identity.cert, "client certificate")?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ClientConfigError::Pem {
            what: "client certificate",
            path: identity.cert.display().to_string(),
            kind: "certificate",
            detail: format!(" ({e})"),
        })?;
    if chain.is_empty() {
        return Err(ClientConfigError::Pem {
            what: "client certificate",
            path: identity.cert.display().to_string(),
            kind: "certificate",
            detail: String::new(),
        });
    }
    let key_pem = read(&identity.key, "client key")?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| ClientConfigError::Pem {
        what: "client key",
        path: identity.key.display().to_string(),
        kind: "private key",
        detail: format!(" ({e})"),
    })?;
    Ok((chain, key))
}

/// Checks a server's certificate without its name: against `roots` (libpq's `verify-ca`, for
/// servers reached by an address or name their certificate does not list), or not at all when
/// there are none (`require`: the handshake's signatures are still checked, so the connection
/// is encrypted to whoever holds the certificate's key).
#[derive(Debug)]
struct NamelessVerifier {
    roots: Option<Arc<RootCertStore>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for NamelessVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Returns a `ServerName` for `host`: a DNS name, or an IP address (which the certificate must list as one).
pub fn server_name(
    host: &str,
) -> Result<ServerName<'static>, rustls::pki_types::InvalidDnsNameError> {
    ServerName::try_from(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
    )
}
