//! TLS for both sides, through rustls with the `ring` provider (no OpenSSL, nothing to build
//! but C and Rust).
//!
//! - The relay: [`ServerTls::load`] reads a PEM certificate chain and its private key, refuses
//!   a key that does not belong to the certificate, and builds the server config that makes
//!   the relay's port `https://` and `wss://`.
//! - Clients: [`Trust`] says which certificates a `wss://` connection accepts: the system's
//!   roots, optionally with a PEM file of more (a classroom's self-signed certificate), or, for
//!   the host's own window on loopback, exactly the relay's certificate. The system's roots come
//!   from `rustls-native-certs` rather than the `webpki-roots` list compiled in: a school that
//!   installs its own certificate authority on its computers is trusted without a rebuild, and
//!   the roots are updated with the system.
//!
//! Try it: make a certificate (`openssl req -x509 -newkey ec -pkeyopt
//! ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out cert.pem -subj /CN=localhost
//! -addext subjectAltName=DNS:localhost`), then `cargo run -- serve --tls-cert cert.pem
//! --tls-key key.pem` and `cargo run -- join wss://localhost:30005 --ca-cert cert.pem`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_rustls::rustls;

pub use rustls::pki_types::CertificateDer;

/// Why a certificate, key or CA file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file holds no PEM certificate (`-----BEGIN CERTIFICATE-----`).
    #[error("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The file holds no PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[error("{} holds no PEM private key (-----BEGIN PRIVATE KEY-----)", path.display())]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// The file's PEM is damaged.
    #[error("{} is not valid PEM: {reason}", path.display())]
    BadPem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The private key is not the certificate's.
    #[error(
        "the private key in {} does not belong to the certificate in {}",
        key.display(),
        cert.display()
    )]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the certificate or key (an unsupported key type, a damaged certificate).
    #[error("cannot use the certificate {} with the key {}: {reason}", cert.display(), key.display())]
    Unusable {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        reason: String,
    },
    /// rustls cannot be set up with the built-in crypto provider.
    #[error("TLS cannot be set up: {0}")]
    Setup(String),
    /// A certificate in a CA file cannot be a trust anchor.
    #[error("{} holds a certificate that cannot be trusted as an authority: {reason}", path.display())]
    BadAuthority {
        /// The CA file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The crypto provider for every TLS config here: `ring`, which builds with a C compiler
/// alone. rustls's default, aws-lc-rs, needs CMake and NASM to build for Windows, where the
/// app ships too. rustls marks the `ring` provider deprecated because it has no post-quantum
/// key exchange; that protects recorded traffic against a future quantum computer, which is
/// not what a classroom chat is defending against.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    Arc::clone(PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Every certificate in a PEM file, in order; at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadPem {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

/// The first private key in a PEM file.
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoKey {
            path: path.to_owned(),
        },
        other => TlsError::BadPem {
            path: path.to_owned(),
            reason: other.to_string(),
        },
    })
}

/// The relay's certificate and key, ready to serve `https://` and `wss://`.
#[derive(Clone, Debug)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    /// The certificate the relay shows (the chain's first).
    certificate: CertificateDer<'static>,
}

impl ServerTls {
    /// Reads the PEM certificate chain at `cert` (the relay's certificate first, then any
    /// intermediates) and the PEM private key at `key`. Blocking: it reads files.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let chain = certificates(cert)?;
        let private_key = private_key(key)?;
        let certificate = chain
            .first()
            .cloned()
            .ok_or_else(|| TlsError::NoCertificate {
                path: cert.to_owned(),
            })?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .and_then(|builder| {
                builder
                    .with_no_client_auth()
                    .with_single_cert(chain, private_key)
            })
            .map_err(|e| match e {
                rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                    TlsError::KeyMismatch {
                        cert: cert.to_owned(),
                        key: key.to_owned(),
                    }
                }
                other => TlsError::Unusable {
                    cert: cert.to_owned(),
                    key: key.to_owned(),
                    reason: other.to_string(),
                },
            })?;
        // WebSockets and the join page both use HTTP/1.1.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            certificate,
        })
    }

    /// The acceptor for one connection's handshake.
    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.config))
    }

    /// Whether the certificate is made out for the DNS name `name`.
    pub(crate) fn is_for(&self, name: &str) -> bool {
        let (Ok(name), Ok(certificate)) = (
            ServerName::try_from(name),
            rustls::server::ParsedCertificate::try_from(&self.certificate),
        ) else {
            return false;
        };
        rustls::client::verify_server_name(&certificate, &name).is_ok()
    }

    /// The certificate the relay shows, for [`Trust::Pinned`].
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.certificate
    }
}

/// Which certificates a `wss://` connection accepts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Trust {
    /// The system's trusted roots.
    #[default]
    System,
    /// The system's roots and every certificate in this PEM file: a school's own CA, or a
    /// classroom relay's self-signed certificate (`classchat join --ca-cert`).
    WithCaFile(PathBuf),
    /// Exactly this certificate, whatever name it is for: the host's own window, which joins
    /// its relay on `127.0.0.1` and knows the relay's certificate.
    Pinned(CertificateDer<'static>),
}

/// The system's roots, read once: certificates the system store holds but rustls cannot use
/// are skipped.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::debug!("reading the system's trusted certificates: {e}");
        }
        let mut roots = RootCertStore::empty();
        let (_added, skipped) = roots.add_parsable_certificates(found.certs);
        if skipped > 0 {
            tracing::debug!(skipped, "system certificates rustls cannot use");
        }
        roots
    })
}

impl Trust {
    /// The rustls client config for this trust. Blocking: it reads the system's store (once)
    /// and the CA file.
    pub(crate) fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Setup(e.to_string()))?;
        let builder = match self {
            Self::System => builder.with_root_certificates(system_roots().clone()),
            Self::WithCaFile(path) => {
                let mut roots = system_roots().clone();
                for certificate in certificates(path)? {
                    roots.add(certificate).map_err(|e| TlsError::BadAuthority {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                }
                builder.with_root_certificates(roots)
            }
            Self::Pinned(certificate) => {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(Pinned {
                        certificate: certificate.clone(),
                        provider: provider(),
                    }))
            }
        };
        let mut config = builder.with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The name to check the certificate against, from a URL's host.
pub(crate) fn server_name(host: &url::Host<&str>) -> Option<ServerName<'static>> {
    match host {
        url::Host::Domain(name) => ServerName::try_from(name.to_string()).ok(),
        url::Host::Ipv4(ip) => Some(ServerName::IpAddress(std::net::IpAddr::V4(*ip).into())),
        url::Host::Ipv6(ip) => Some(ServerName::IpAddress(std::net::IpAddr::V6(*ip).into())),
    }
}

/// Why a client's handshake failed, if the server's certificate was the reason: a sentence
/// that says what is wrong with it. `None` for every other failure (no TLS at the address,
/// a dropped connection).
pub(crate) fn untrusted_reason(error: &std::io::Error) -> Option<String> {
    let rustls::Error::InvalidCertificate(problem) =
        error.get_ref()?.downcast_ref::<rustls::Error>()?
    else {
        return None;
    };
    Some(match problem {
        CertificateError::UnknownIssuer | CertificateError::BadSignature => {
            "no authority this computer trusts signed it (for a self-signed certificate, \
             trust it with --ca-cert)"
                .to_owned()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "it is made out for another name than the address joined".to_owned()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "it has expired".to_owned()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "it is not valid yet (is this computer's clock right?)".to_owned()
        }
        CertificateError::Revoked => "it has been revoked".to_owned(),
        other => format!("{other:?}"),
    })
}

/// Accepts exactly one certificate, and checks that the server holds its key.
#[derive(Debug)]
struct Pinned {
    certificate: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.certificate.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            ))
        }
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
