//! TLS for workers and outgoing connections, on rustls (ring provider).
//!
//! A worker gets TLS with [`Worker::transport`](crate::Worker::transport)
//! and [`Transport::Tls`]: `websocket://` plus TLS is `wss://`, `http://`
//! plus TLS is `https://`, `text://` plus TLS is text over TLS, as in
//! Workerman (`transport = 'ssl'`). An outgoing connection gets it with
//! [`AsyncTcpConnection::tls`](crate::AsyncTcpConnection::tls).
//!
//! Where we differ from Workerman: `on_connect` runs after the TLS
//! handshake (Workerman runs it at TCP accept), and a handshake that fails
//! or does not finish within the handshake timeout (10 s by default) closes
//! only that connection, with no callback at all.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// How long a TLS handshake may take by default.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A worker's transport: plain TCP (the default) or TLS.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Transport {
    /// Plain TCP (or a Unix socket).
    #[default]
    Tcp,
    /// TLS over TCP with this server configuration.
    Tls(TlsConfig),
    /// UDP: each datagram is decoded by the protocol (`text` over UDP gives
    /// one message per line of the datagram), and `send` answers its
    /// sender. `udp://` addresses use it by themselves.
    Udp,
}

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The certificate PEM holds no certificate.
    #[error("no certificate found in {0}")]
    NoCertificate(String),
    /// The key PEM holds no private key (PKCS#8, PKCS#1 or SEC1).
    #[error("no private key found in {0}")]
    NoPrivateKey(String),
    /// rustls refused the certificate or key (for example a key that does
    /// not match the certificate).
    #[error("invalid certificate or key: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A server's TLS configuration: its certificate chain and private key.
#[derive(Clone)]
pub struct TlsConfig {
    pub(crate) config: Arc<rustls::ServerConfig>,
    pub(crate) handshake_timeout: Duration,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsConfigError> {
    std::fs::read(path).map_err(|source| TlsConfigError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsConfigError::NoCertificate(what.to_owned()));
    }
    Ok(certs)
}

impl TlsConfig {
    /// Loads a PEM certificate chain (leaf first) and a PEM private key
    /// from files: the usual deployment (`ssl.local_cert`, `ssl.local_pk`).
    ///
    /// # Errors
    ///
    /// A missing or unreadable file, a file without a certificate or key,
    /// or a key that does not fit the certificate.
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<TlsConfig, TlsConfigError> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let cert_pem = read(cert)?;
        let key_pem = read(key)?;
        Self::build(
            certs(&cert_pem, &cert.display().to_string())?,
            &key_pem,
            &key.display().to_string(),
        )
    }

    /// Like [`from_pem_files`](TlsConfig::from_pem_files), from PEM text in
    /// memory.
    ///
    /// # Errors
    ///
    /// As [`from_pem_files`](TlsConfig::from_pem_files).
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<TlsConfig, TlsConfigError> {
        Self::build(
            certs(cert_pem, "the certificate PEM")?,
            key_pem,
            "the key PEM",
        )
    }

    fn build(
        certs: Vec<CertificateDer<'static>>,
        key_pem: &[u8],
        what: &str,
    ) -> Result<TlsConfig, TlsConfigError> {
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|_| TlsConfigError::NoPrivateKey(what.to_owned()))?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self::from_rustls(Arc::new(config)))
    }

    /// Uses a rustls configuration built by the caller (client
    /// certificates, SNI with several certificates, ALPN...).
    pub fn from_rustls(config: Arc<rustls::ServerConfig>) -> TlsConfig {
        TlsConfig {
            config,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// How long a client may take to finish the handshake (default 10 s);
    /// a stalled one is closed.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }
}

/// An outgoing connection's TLS configuration: which roots to trust and the
/// name to check the server's certificate against.
#[derive(Clone)]
pub struct ClientTlsConfig {
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) server_name: Option<String>,
}

impl fmt::Debug for ClientTlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTlsConfig")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl Default for ClientTlsConfig {
    /// Trusts the Mozilla root certificates (`webpki-roots`).
    fn default() -> Self {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Self::with_roots(roots)
    }
}

impl ClientTlsConfig {
    fn with_roots(roots: rustls::RootCertStore) -> Self {
        // The ring provider's safe defaults cannot be refused.
        let config = match rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
        {
            Ok(b) => b.with_root_certificates(roots).with_no_client_auth(),
            Err(_) => rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        };
        Self::from_rustls(Arc::new(config))
    }

    /// Trusts only the certificates in this PEM file (a private CA or a
    /// self-signed server certificate).
    ///
    /// # Errors
    ///
    /// A missing file or one without a usable certificate.
    pub fn with_root_pem_file(path: impl AsRef<Path>) -> Result<Self, TlsConfigError> {
        let path = path.as_ref();
        Self::with_root_pem(&read(path)?)
    }

    /// Trusts only the certificates in this PEM text.
    ///
    /// # Errors
    ///
    /// No usable certificate in the text.
    pub fn with_root_pem(pem: &[u8]) -> Result<Self, TlsConfigError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in certs(pem, "the root PEM")? {
            roots.add(cert)?;
        }
        Ok(Self::with_roots(roots))
    }

    /// Uses a rustls configuration built by the caller.
    pub fn from_rustls(config: Arc<rustls::ClientConfig>) -> Self {
        ClientTlsConfig {
            config,
            server_name: None,
        }
    }

    /// The name the server's certificate must carry (default: the host in
    /// the URL).
    #[must_use]
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    pub(crate) fn name_for(&self, host: &str) -> std::io::Result<ServerName<'static>> {
        let name = self.server_name.as_deref().unwrap_or(host);
        ServerName::try_from(name.to_owned())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    }
}
