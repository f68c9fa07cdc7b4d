//! Shared helpers for the integration tests: a line client with timeouts
//! and an event recorder that services report to.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// How long a test waits for anything before failing.
pub const WAIT: Duration = Duration::from_secs(10);

pub fn inet(handle: &workerman::ServerHandle) -> SocketAddr {
    handle
        .local_addr()
        .as_inet()
        .expect("worker listens on an IP address")
}

/// A recorder of named events, sent from services on any thread.
#[derive(Clone, Debug)]
pub struct Events(mpsc::UnboundedSender<String>);

pub struct EventLog(mpsc::UnboundedReceiver<String>);

pub fn events() -> (Events, EventLog) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Events(tx), EventLog(rx))
}

impl Events {
    pub fn push(&self, e: impl Into<String>) {
        // The test may have finished and dropped the log.
        let _ = self.0.send(e.into());
    }
}

impl EventLog {
    /// The next event, failing the test after [`WAIT`].
    pub async fn next(&mut self) -> String {
        tokio::time::timeout(WAIT, self.0.recv())
            .await
            .expect("timed out waiting for an event")
            .expect("event senders gone")
    }

    /// Waits for an event equal to `want`, returning the ones before it.
    pub async fn until(&mut self, want: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let e = self.next().await;
            if e == want {
                return seen;
            }
            seen.push(e);
        }
    }

    /// The next event if one arrives within `d`.
    pub async fn next_within(&mut self, d: Duration) -> Option<String> {
        tokio::time::timeout(d, self.0.recv()).await.ok().flatten()
    }

    /// Everything already recorded, without waiting.
    pub fn drain(&mut self) -> Vec<String> {
        let mut v = Vec::new();
        while let Ok(e) = self.0.try_recv() {
            v.push(e);
        }
        v
    }
}

/// A client speaking lines over TCP, every wait bounded by [`WAIT`].
pub struct LineClient {
    pub reader: BufReader<TcpStream>,
}

impl LineClient {
    pub async fn connect(addr: SocketAddr) -> LineClient {
        let s = tokio::time::timeout(WAIT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect failed");
        s.set_nodelay(true).unwrap();
        LineClient {
            reader: BufReader::new(s),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).await.unwrap();
    }

    pub async fn line(&mut self) -> String {
        let mut buf = Vec::new();
        let n = tokio::time::timeout(WAIT, self.reader.read_until(b'\n', &mut buf))
            .await
            .expect("timed out reading a line")
            .expect("read failed");
        assert!(n > 0, "connection closed while waiting for a line");
        String::from_utf8(buf).expect("utf-8 line")
    }

    /// Reads until EOF (or a reset) and returns what arrived.
    pub async fn read_to_end(&mut self) -> Vec<u8> {
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(WAIT, self.reader.read_to_end(&mut buf))
            .await
            .expect("timed out waiting for EOF");
        buf
    }

    /// Asserts the server closed the connection (EOF or reset) within WAIT.
    pub async fn expect_closed(&mut self) {
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout(WAIT, self.reader.read(&mut buf))
                .await
                .expect("timed out waiting for the server to close")
            {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    }
}

/// A rustls client (not ours) that trusts the certificates in the PEM file
/// `ca`, for testing TLS servers.
pub fn rustls_client(ca: &std::path::Path) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca).unwrap();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}
