//! TLS for SMTP, IMAP and the HTTPS client (`crate::http`): always on,
//! certificates always checked, against the system's roots plus, when an
//! account names one, an extra CA file (a private CA such as the test mail
//! stack's). And the board's HTTPS server, from PEM files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig};

#[derive(Debug, Clone, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the certificate file {path} (PEM): {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("the file {0} holds no PEM certificate")]
    EmptyCaFile(PathBuf),
    #[error("no trusted root certificates: the system has none and no CA file was given")]
    NoRoots,
    #[error("TLS setup failed: {0}")]
    Config(String),
    #[error("cannot read the private key {path} (PEM): {reason}")]
    KeyFile { path: PathBuf, reason: String },
}

/// The PEM certificates of a file (a CA file, or a server's chain).
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| TlsError::CaFile { path: path.to_path_buf(), reason: e.to_string() })?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::CaFile { path: path.to_path_buf(), reason: e.to_string() })?;
    if certs.is_empty() {
        return Err(TlsError::EmptyCaFile(path.to_path_buf()));
    }
    Ok(certs)
}

/// A client configuration trusting the system roots and `extra_ca`.
pub fn client_config(extra_ca: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A broken system certificate is skipped, not fatal.
        let _ = roots.add(cert);
    }
    if let Some(path) = extra_ca {
        for cert in read_certificates(path)? {
            roots.add(cert).map_err(|e| TlsError::Config(e.to_string()))?;
        }
    }
    if roots.is_empty() {
        return Err(TlsError::NoRoots);
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A server configuration presenting the certificate chain in `cert`
/// (PEM, the server's certificate first) with the private key in `key`.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = read_certificates(cert)?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError::KeyFile { path: key.to_path_buf(), reason: e.to_string() })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(format!("the certificate and key do not go together: {e}")))?;
    Ok(Arc::new(config))
}
