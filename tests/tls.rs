//! TLS transport: a worker with a certificate made at test time, reached
//! by rustls, by `openssl s_client`, and by our own AsyncTcpConnection; bad
//! files give clear errors; a failed or stalled handshake closes only that
//! connection.

mod common;

use std::io::{BufRead, BufReader as StdBufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{events, inet, rustls_client, Events, LineClient, WAIT};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use workerman::prelude::*;
use workerman::{ClientTlsConfig, TlsConfig, TlsConfigError, Transport};

struct Echo;

#[async_trait]
impl Service for Echo {
    type Protocol = Text;
    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let _ = conn.send(msg);
    }
}

/// A self-signed certificate for localhost and 127.0.0.1, as PEM files.
struct Cert {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Cert {
    fn new(name: &str) -> Cert {
        let dir = std::env::temp_dir().join(format!("wm-tls-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let c = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, c.cert.pem()).unwrap();
        std::fs::write(&key, c.signing_key.serialize_pem()).unwrap();
        Cert { dir, cert, key }
    }
}

impl Drop for Cert {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tls_server(cert: &Cert, handshake: Duration) -> ServerHandle {
    let tls = TlsConfig::from_pem_files(&cert.cert, &cert.key)
        .unwrap()
        .handshake_timeout(handshake);
    Worker::new("text://127.0.0.1:0", Echo)
        .transport(Transport::Tls(tls))
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn text_over_tls_with_rustls_and_our_client() {
    let cert = Cert::new("echo");
    let server = tls_server(&cert, Duration::from_secs(10));
    let addr = inet(&server);

    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = rustls_client(&cert.cert).connect(name, tcp).await.unwrap();
    let mut tls = BufReader::new(tls);
    tls.get_mut().write_all(b"over tls\r\n").await.unwrap();
    let mut line = String::new();
    tokio::time::timeout(WAIT, tls.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(line, "over tls\n");
    // A big message crosses many TLS records.
    let big = "x".repeat(300_000);
    tls.get_mut()
        .write_all(format!("{big}\n").as_bytes())
        .await
        .unwrap();
    line.clear();
    tokio::time::timeout(WAIT, tls.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(line.len(), big.len() + 1);

    let (ev, mut log) = events();
    let conn = AsyncTcpConnection::new(format!("text://{addr}"), Printer(ev))
        .tls(ClientTlsConfig::with_root_pem_file(&cert.cert).unwrap())
        .start()
        .unwrap();
    // Queued until the handshake is done.
    assert!(conn.send("queued before the handshake").is_ok());
    assert_eq!(log.next().await, "queued before the handshake");
    assert_eq!(conn.send("after").unwrap(), SendStatus::Queued);
    assert_eq!(log.next().await, "after");
    conn.close(None);
    assert_eq!(log.next().await, "close");
    server.shutdown().await;
}

struct Printer(Events);

#[async_trait]
impl Service for Printer {
    type Protocol = Text;
    async fn on_message(&self, _conn: &Connection<Text>, msg: Payload) {
        self.0.push(format!("{msg}"));
    }
    async fn on_error(&self, _conn: &Connection<Text>, err: &ConnectionError) {
        self.0.push(format!("error {}", err.code()));
    }
    async fn on_close(&self, _conn: &Connection<Text>) {
        self.0.push("close");
    }
}

#[tokio::test]
async fn untrusted_server_certificate_fails_the_connect() {
    let cert = Cert::new("untrusted");
    let other = Cert::new("other-root");
    let server = tls_server(&cert, Duration::from_secs(10));
    let (ev, mut log) = events();
    let err = AsyncTcpConnection::new(format!("text://{}", inet(&server)), Printer(ev))
        .tls(ClientTlsConfig::with_root_pem_file(&other.cert).unwrap())
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, workerman::Error::Connect { .. }), "{err}");
    assert_eq!(log.next().await, "error 1");
    assert_eq!(log.next().await, "close");
    server.shutdown().await;
}

#[test]
#[cfg_attr(
    not(feature = "interop"),
    ignore = "needs openssl: `cargo test --features interop` after .ci/install-tools.sh"
)]
fn openssl_s_client_interop() {
    let cert = Cert::new("openssl");
    let server = tls_server(&cert, Duration::from_secs(10));
    let addr = inet(&server);
    let mut child = Command::new("openssl")
        .args(["s_client", "-quiet", "-verify_return_error", "-connect"])
        .arg(addr.to_string())
        .arg("-CAfile")
        .arg(&cert.cert)
        .args(["-servername", "localhost"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl is installed (run `bash .ci/install-tools.sh`)");
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"from openssl\n")
        .unwrap();
    let mut out = StdBufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = out.read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(WAIT).expect("openssl answered");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(line, "from openssl\n");
    server.shutdown_blocking();
}

#[tokio::test]
async fn failed_or_stalled_handshakes_close_only_that_connection() {
    let cert = Cert::new("stall");
    let server = tls_server(&cert, Duration::from_millis(300));
    let addr = inet(&server);
    // Stalled: connects, never speaks TLS: closed after the timeout.
    let mut stalled = LineClient::connect(addr).await;
    // Garbage: plaintext where a ClientHello belongs.
    let mut garbage = LineClient::connect(addr).await;
    garbage.send(b"GET / HTTP/1.0\r\n\r\n").await;
    // Meanwhile a proper client is served.
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = rustls_client(&cert.cert).connect(name, tcp).await.unwrap();
    tls.write_all(b"fine\n").await.unwrap();
    let mut buf = [0u8; 5];
    tokio::time::timeout(WAIT, tls.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"fine\n");
    let _ = garbage.read_to_end().await;
    stalled.expect_closed().await;
    assert_eq!(server.stats().total_connections, 1);
    server.shutdown().await;
}

#[test]
fn bad_certificate_files_give_clear_errors() {
    let cert = Cert::new("bad");
    let missing = cert.dir.join("missing.pem");
    let err = TlsConfig::from_pem_files(&missing, &cert.key).unwrap_err();
    assert!(matches!(err, TlsConfigError::Read { .. }), "{err}");
    assert!(err.to_string().contains("missing.pem"));
    // A key where the certificate belongs, and the other way round.
    let err = TlsConfig::from_pem_files(&cert.key, &cert.key).unwrap_err();
    assert!(matches!(err, TlsConfigError::NoCertificate(_)), "{err}");
    let err = TlsConfig::from_pem_files(&cert.cert, &cert.cert).unwrap_err();
    assert!(matches!(err, TlsConfigError::NoPrivateKey(_)), "{err}");
    // A key that does not belong to the certificate.
    let other = Cert::new("bad-other");
    let err = TlsConfig::from_pem_files(&cert.cert, &other.key).unwrap_err();
    assert!(matches!(err, TlsConfigError::Rustls(_)), "{err}");
    // TLS over a unix socket is refused at start.
    let tls = TlsConfig::from_pem_files(&cert.cert, &cert.key).unwrap();
    let err = Worker::new(format!("text://{}/s.sock", cert.dir.display()), Echo)
        .transport(Transport::Tls(tls))
        .spawn()
        .unwrap_err();
    assert!(
        matches!(err, workerman::Error::InvalidAddress { .. }),
        "{err}"
    );
}
