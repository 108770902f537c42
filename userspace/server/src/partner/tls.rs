//! rustls configurations for partner connections: mutual authentication against the
//! configured CA, RFC 7525-conformant defaults (TLS 1.2 and 1.3, rustls's safe cipher suites),
//! ring as the crypto provider (RFC 8156 §10; RFC 7653 §9.1; R15).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use super::session::TlsSettings;

/// Why TLS settings could not be built; names the file at fault.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsSetupError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {what}")]
    File {
        /// The file.
        path: String,
        /// What was wrong.
        what: String,
    },
    /// rustls refused the material (for example a key that does not match the certificate).
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The CA file holds no usable certificate.
    #[error("client verifier: {0}")]
    Verifier(String),
}

fn file_err(path: &Path, what: impl ToString) -> TlsSetupError {
    TlsSetupError::File {
        path: path.display().to_string(),
        what: what.to_string(),
    }
}

impl TlsSettings {
    /// From PEM files: our certificate chain, our private key, the CA that signs partners.
    pub(crate) fn from_files(
        cert: &Path,
        key: &Path,
        ca: &Path,
        partner_name: Option<String>,
    ) -> Result<Self, TlsSetupError> {
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| file_err(cert, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| file_err(cert, e))?;
        if chain.is_empty() {
            return Err(file_err(cert, "no certificate in file"));
        }
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| file_err(key, e))?;
        let roots = CertificateDer::pem_file_iter(ca)
            .map_err(|e| file_err(ca, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| file_err(ca, e))?;
        if roots.is_empty() {
            return Err(file_err(ca, "no certificate in file"));
        }
        Self::from_der(chain, key_der, roots, partner_name)
    }

    /// From DER material (tests, and `from_files`).
    pub(crate) fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        roots: Vec<CertificateDer<'static>>,
        partner_name: Option<String>,
    ) -> Result<Self, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut store = RootCertStore::empty();
        for r in roots {
            store.add(r)?;
        }
        let store = Arc::new(store);
        let client = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(store.clone())
            .with_client_auth_cert(chain.clone(), key.clone_key())?;
        let verifier = WebPkiClientVerifier::builder_with_provider(store, provider.clone())
            .build()
            .map_err(|e| TlsSetupError::Verifier(e.to_string()))?;
        let server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)?;
        Ok(Self {
            client: Arc::new(client),
            server: Arc::new(server),
            partner_name,
        })
    }
}
