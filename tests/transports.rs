//! IPv4, IPv6 and Unix sockets; addresses; clear errors at start.

mod common;

use std::path::PathBuf;

use common::{events, inet, Events, LineClient, WAIT};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use workerman::prelude::*;
use workerman::{Error, SocketAddress};

struct Who(Events);

#[async_trait]
impl Service for Who {
    type Protocol = Text;
    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        self.0.push(format!(
            "{:?} {:?} {}",
            conn.remote_ip(),
            conn.remote_port().is_some(),
            conn.local_addr()
        ));
        let _ = conn.send(msg);
    }
}

struct Raw;

#[async_trait]
impl Service for Raw {
    type Protocol = Tcp;
    async fn on_message(&self, conn: &Connection<Tcp>, msg: Payload) {
        let _ = conn.send(msg);
    }
}

#[tokio::test]
async fn ipv6_loopback() {
    let (ev, mut log) = events();
    let server = Worker::new("text://[::1]:0", Who(ev)).spawn().unwrap();
    let addr = inet(&server);
    assert!(addr.is_ipv6());
    let mut c = LineClient::connect(addr).await;
    c.send(b"v6\n").await;
    assert_eq!(c.line().await, "v6\n");
    // The IP comes without brackets.
    assert_eq!(
        log.next().await,
        format!("Some(::1) true [::1]:{}", addr.port())
    );
    server.shutdown().await;
}

fn temp_socket(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("workerman-test-{}-{name}.sock", std::process::id()))
}

#[tokio::test]
async fn unix_sockets_raw_and_text() {
    let raw_path = temp_socket("raw");
    let text_path = temp_socket("text");
    let (ev, mut log) = events();
    let server = Server::new()
        .worker(Worker::new(format!("unix://{}", raw_path.display()), Raw))
        .worker(Worker::new(
            format!("text://{}", text_path.display()),
            Who(ev),
        ))
        .spawn()
        .unwrap();
    let addrs = server.local_addrs();
    assert_eq!(addrs[0].1, &SocketAddress::Unix(Some(raw_path.clone())));

    let mut raw = tokio::net::UnixStream::connect(&raw_path).await.unwrap();
    raw.write_all(b"raw bytes").await.unwrap();
    let mut buf = [0u8; 9];
    tokio::time::timeout(
        WAIT,
        tokio::io::AsyncReadExt::read_exact(&mut raw, &mut buf),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(&buf, b"raw bytes");

    let text = tokio::net::UnixStream::connect(&text_path).await.unwrap();
    let mut text = BufReader::new(text);
    text.get_mut().write_all(b"over unix\r\n").await.unwrap();
    let mut line = String::new();
    tokio::time::timeout(WAIT, text.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(line, "over unix\n");
    assert_eq!(
        log.next().await,
        format!("None false unix:{}", text_path.display())
    );

    server.shutdown().await;
    // The socket files are removed on shutdown.
    assert!(!raw_path.exists());
    assert!(!text_path.exists());
}

#[tokio::test]
async fn stale_unix_socket_file_is_replaced_but_a_live_one_is_not() {
    let path = temp_socket("stale");
    // A socket file nobody listens on.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let first = Worker::new(format!("unix://{}", path.display()), Raw)
        .spawn()
        .unwrap();
    // Now somebody listens: a second server is refused.
    let err = Worker::new(format!("unix://{}", path.display()), Raw)
        .spawn()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Bind { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse),
        "{err}"
    );
    first.shutdown().await;
}

#[test]
fn start_errors_are_clear() {
    let err = Worker::new("frame://127.0.0.1:0", Raw).spawn().unwrap_err();
    assert!(matches!(
        err,
        Error::SchemeMismatch {
            expected: "tcp",
            ..
        }
    ));
    assert!(err.to_string().contains("frame"), "{err}");

    let err = Worker::new("127.0.0.1:80", Raw).spawn().unwrap_err();
    assert!(matches!(err, Error::InvalidAddress { .. }), "{err}");

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let err = Worker::new(format!("tcp://127.0.0.1:{port}"), Raw)
        .spawn()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Bind { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse),
        "{err}"
    );

    // Not a local address.
    let err = Worker::new("tcp://192.0.2.1:0", Raw).spawn().unwrap_err();
    assert!(matches!(err, Error::Bind { .. }), "{err}");
}

#[test]
fn a_failed_worker_stops_the_ones_started_before_it() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free = first.local_addr().unwrap().port();
    drop(first);
    let err = Server::new()
        .worker(Worker::new(format!("tcp://127.0.0.1:{free}"), Raw))
        .worker(Worker::new(format!("tcp://127.0.0.1:{port}"), Raw))
        .spawn()
        .unwrap_err();
    assert!(matches!(err, Error::Bind { .. }));
    // The first worker was stopped before the error was returned: its port
    // can be bound again at once.
    std::net::TcpListener::bind(("127.0.0.1", free)).expect("port released");
}
