//! AsyncTcpConnection: the same Service trait and protocols for outgoing
//! connections, against our own server and a plain tokio server.

mod common;

use std::time::Duration;

use common::{events, inet, Events, WAIT};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use workerman::prelude::*;

struct Echo;

#[async_trait]
impl Service for Echo {
    type Protocol = Frame;
    async fn on_message(&self, conn: &Connection<Frame>, msg: Payload) {
        let _ = conn.send(msg);
    }
}

struct Client(Events);

#[async_trait]
impl Service for Client {
    type Protocol = Frame;
    async fn on_connect(&self, conn: &Connection<Frame>) {
        #[derive(Clone)]
        struct Tag(&'static str);
        conn.insert_extension(Tag("client"));
        self.0
            .push(format!("connect {}", conn.extension::<Tag>().unwrap().0));
    }
    async fn on_message(&self, _conn: &Connection<Frame>, msg: Payload) {
        self.0.push(format!("message {msg}"));
    }
    async fn on_close(&self, _conn: &Connection<Frame>) {
        self.0.push("close");
    }
}

#[tokio::test]
async fn client_speaks_frames_with_our_server() {
    let server = Worker::new("frame://127.0.0.1:0", Echo).spawn().unwrap();
    let (ev, mut log) = events();
    let conn = AsyncTcpConnection::new(format!("frame://{}", inet(&server)), Client(ev))
        .connect()
        .await
        .unwrap();
    assert!(conn.worker().is_none());
    assert_eq!(conn.remote_addr().as_inet(), Some(inet(&server)));
    assert_eq!(log.next().await, "connect client");
    for m in ["one", "", "three"] {
        assert!(conn.send(m).is_ok());
    }
    assert_eq!(log.next().await, "message one");
    assert_eq!(log.next().await, "message ");
    assert_eq!(log.next().await, "message three");
    conn.close(None);
    assert_eq!(log.next().await, "close");
    server.shutdown().await;
}

struct Lines(Events);

#[async_trait]
impl Service for Lines {
    type Protocol = Text;
    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        self.0.push(format!("{msg}"));
        if msg == "bye" {
            conn.close(None);
        }
    }
    async fn on_close(&self, _conn: &Connection<Text>) {
        self.0.push("close");
    }
    async fn on_error(&self, _conn: &Connection<Text>, err: &ConnectionError) {
        self.0.push(format!("error {}", err.code()));
    }
}

#[tokio::test]
async fn client_against_a_plain_tokio_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let mut s = BufReader::new(s);
        let mut line = String::new();
        s.read_line(&mut line).await.unwrap();
        s.get_mut()
            .write_all(format!("got {}bye\n", line).as_bytes())
            .await
            .unwrap();
        let mut rest = String::new();
        // EOF once our client closes.
        assert_eq!(s.read_line(&mut rest).await.unwrap(), 0);
    });
    let (ev, mut log) = events();
    let conn = AsyncTcpConnection::new(format!("text://{addr}"), Lines(ev))
        .connect()
        .await
        .unwrap();
    assert_eq!(conn.send("hello").unwrap(), SendStatus::Written);
    assert_eq!(log.next().await, "got hello");
    assert_eq!(log.next().await, "bye");
    assert_eq!(log.next().await, "close");
    peer.await.unwrap();
}

#[tokio::test]
async fn connect_failures_reach_on_error_then_on_close() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let (ev, mut log) = events();
    let err = AsyncTcpConnection::new(format!("text://127.0.0.1:{port}"), Lines(ev.clone()))
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, workerman::Error::Connect { source, .. } if source.kind() == std::io::ErrorKind::ConnectionRefused),
        "{err}"
    );
    // Workerman: onError(CONNECT_FAIL) then onClose, never onConnect.
    assert_eq!(log.next().await, "error 1");
    assert_eq!(log.next().await, "close");
    let err = AsyncTcpConnection::new("frame://127.0.0.1:1", Lines(ev))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, workerman::Error::SchemeMismatch { .. }));
    assert!(log.drain().is_empty());
}

#[tokio::test]
async fn sends_before_the_connection_is_up_are_queued() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (ev, _log) = events();
    let conn = AsyncTcpConnection::new(format!("text://{addr}"), Lines(ev))
        .start()
        .unwrap();
    assert!(conn.is_connecting() || conn.is_open());
    assert_eq!(conn.send("first").unwrap(), SendStatus::Queued);
    assert!(conn.send("second").is_ok());
    let (s, _) = listener.accept().await.unwrap();
    let mut s = BufReader::new(s);
    let mut got = String::new();
    for _ in 0..2 {
        tokio::time::timeout(WAIT, s.read_line(&mut got))
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(got, "first\nsecond\n");
    assert!(!conn.is_connecting());
}

/// Reconnects from on_close, as Workerman's resilient clients do.
struct Resilient {
    ev: Events,
    attempts: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl Service for Resilient {
    type Protocol = Text;
    async fn on_connect(&self, conn: &Connection<Text>) {
        self.ev.push(format!("connect {}", conn.id()));
        let _ = conn.send("hello");
    }
    async fn on_message(&self, _conn: &Connection<Text>, msg: Payload) {
        self.ev.push(format!("message {msg}"));
    }
    async fn on_error(&self, conn: &Connection<Text>, err: &ConnectionError) {
        self.ev.push(format!("error {} {}", err.code(), conn.id()));
    }
    async fn on_close(&self, conn: &Connection<Text>) {
        self.ev.push("close");
        if self
            .attempts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            < 6
        {
            assert!(conn.reconnect(Duration::from_millis(50)));
        }
    }
}

#[tokio::test]
async fn reconnect_from_on_close_keeps_the_id_and_callbacks() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    let (ev, mut log) = events();
    let conn = AsyncTcpConnection::new(
        format!("text://{addr}"),
        Resilient {
            ev,
            attempts: Default::default(),
        },
    )
    .start()
    .unwrap();
    let id = conn.id();
    // Nobody listens yet: failed attempts, each followed by on_close.
    assert_eq!(log.next().await, format!("error 1 {id}"));
    assert_eq!(log.next().await, "close");
    assert_eq!(log.next().await, format!("error 1 {id}"));
    assert_eq!(log.next().await, "close");
    // A server appears: the next attempt connects, with the same id.
    let listener = TcpListener::bind(addr).await.unwrap();
    let mut seen = Vec::new();
    loop {
        let e = log.next().await;
        if e.starts_with("connect") {
            assert_eq!(e, format!("connect {id}"));
            break;
        }
        seen.push(e);
    }
    let (s, _) = listener.accept().await.unwrap();
    let mut s = BufReader::new(s);
    let mut line = String::new();
    tokio::time::timeout(WAIT, s.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(line, "hello\n");
    s.get_mut().write_all(b"welcome\n").await.unwrap();
    assert_eq!(log.next().await, "message welcome");
    // The server drops it: on_close, reconnect, connected again.
    drop(s);
    assert_eq!(log.next().await, "close");
    let (s2, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(log.next().await, format!("connect {id}"));
    drop(s2);
}

#[tokio::test]
async fn ipv6_client() {
    let server = Worker::new("frame://[::1]:0", Echo).spawn().unwrap();
    let (ev, mut log) = events();
    let conn = AsyncTcpConnection::new(format!("frame://{}", inet(&server)), Client(ev))
        .connect()
        .await
        .unwrap();
    assert_eq!(log.next().await, "connect client");
    let _ = conn.send("over v6");
    assert_eq!(log.next().await, "message over v6");
    assert_eq!(conn.remote_ip(), Some("::1".parse().unwrap()));
    server.shutdown().await;
}

#[tokio::test]
async fn connect_timeout() {
    // A listener whose accept queue is full (backlog 0, never accepting)
    // drops new SYNs, so a connect there hangs: on loopback, no other host.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    sock.listen(0).unwrap();
    let addr = sock.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    let mut hung = false;
    for _ in 0..16 {
        match tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(s)) => fillers.push(s),
            Ok(Err(e)) => panic!("filler connect failed: {e}"),
            Err(_) => {
                hung = true;
                break;
            }
        }
    }
    assert!(hung, "the accept queue never filled");
    let (ev, mut log) = events();
    let started = std::time::Instant::now();
    let err = AsyncTcpConnection::new(format!("text://{addr}"), Lines(ev))
        .connect_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, workerman::Error::Connect { source, .. } if source.kind() == std::io::ErrorKind::TimedOut),
        "{err}"
    );
    assert!(started.elapsed() < WAIT);
    assert_eq!(log.next().await, "error 1");
    assert_eq!(log.next().await, "close");
}
