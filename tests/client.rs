//! AsyncTcpConnection: the same Service trait and protocols for outgoing
//! connections, against our own server and a plain tokio server.

mod common;

use common::{events, inet, Events};
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
async fn connect_failures_are_errors_with_no_callbacks() {
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
    let err = AsyncTcpConnection::new("frame://127.0.0.1:1", Lines(ev))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, workerman::Error::SchemeMismatch { .. }));
    assert!(log.drain().is_empty());
}
