//! The Protocol hooks a conversational protocol (WebSocket, HTTP) drives a
//! connection with: output of its own, its own close, error answers, read
//! deadlines; and `wait_for_room` for large bodies.

mod common;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::{events, inet, Events, LineClient, WAIT};
use tokio::io::AsyncReadExt;
use tokio_util::codec::{Decoder, Encoder};
use workerman::prelude::*;
use workerman::TextCodec;

/// A toy protocol: the server greets first; `ping` is answered by the
/// protocol itself; `quit` ends the conversation; `bad` is a protocol
/// error; a line left unfinished for 300 ms times out.
struct Toy;

struct ToyCodec {
    lines: TextCodec,
    out: BytesMut,
    greeted: bool,
    quitting: bool,
    partial: bool,
}

#[derive(Debug, thiserror::Error)]
enum ToyError {
    #[error("bad line")]
    Bad,
    #[error(transparent)]
    Text(#[from] workerman::TextCodecError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Decoder for ToyCodec {
    type Item = Payload;
    type Error = ToyError;
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Payload>, ToyError> {
        loop {
            let line = self.lines.decode(src)?;
            self.partial = line.is_none() && !src.is_empty();
            match line {
                Some(l) if l == "ping" => self.out.extend_from_slice(b"pong\n"),
                Some(l) if l == "quit" => {
                    self.out.extend_from_slice(b"bye\n");
                    self.quitting = true;
                    return Ok(None);
                }
                Some(l) if l == "bad" => return Err(ToyError::Bad),
                other => return Ok(other),
            }
        }
    }
}

impl Encoder<Payload> for ToyCodec {
    type Error = ToyError;
    fn encode(&mut self, item: Payload, dst: &mut BytesMut) -> Result<(), ToyError> {
        Ok(self.lines.encode(item, dst)?)
    }
}

impl Protocol for Toy {
    const SCHEME: &'static str = "toy";
    type Inbound = Payload;
    type Outbound = Payload;
    type Error = ToyError;
    type Codec = ToyCodec;
    fn codec(max: usize) -> ToyCodec {
        ToyCodec {
            lines: TextCodec::new(max),
            out: BytesMut::new(),
            greeted: false,
            quitting: false,
            partial: false,
        }
    }
    fn poll_output(codec: &mut ToyCodec, dst: &mut BytesMut) {
        if !codec.greeted {
            codec.greeted = true;
            dst.extend_from_slice(b"welcome\n");
        }
        dst.extend_from_slice(&codec.out.split());
    }
    fn should_close(codec: &ToyCodec) -> bool {
        codec.quitting
    }
    fn error_response(_codec: &mut ToyCodec, err: &ToyError) -> Option<Bytes> {
        Some(Bytes::from(format!("error: {err}\n")))
    }
    fn read_timeout(codec: &ToyCodec) -> Option<Duration> {
        codec.partial.then_some(Duration::from_millis(300))
    }
    fn timeout_response(_codec: &mut ToyCodec) -> Option<Bytes> {
        Some(Bytes::from_static(b"timeout\n"))
    }
}

struct Svc(Events);

#[async_trait]
impl Service for Svc {
    type Protocol = Toy;
    async fn on_message(&self, conn: &Connection<Toy>, msg: Payload) {
        self.0.push(format!("message {msg}"));
        let _ = conn.send(msg);
    }
    async fn on_error(&self, _conn: &Connection<Toy>, err: &ConnectionError) {
        self.0.push(format!("error {}", err.code()));
    }
    async fn on_close(&self, _conn: &Connection<Toy>) {
        self.0.push("close");
    }
}

#[tokio::test]
async fn protocol_output_close_error_and_timeout() {
    let (ev, mut log) = events();
    let server = Worker::new("toy://127.0.0.1:0", Svc(ev)).spawn().unwrap();

    // Greeting first; ping answered by the protocol, not the handler.
    let mut c = LineClient::connect(inet(&server)).await;
    assert_eq!(c.line().await, "welcome\n");
    c.send(b"ping\nhello\n").await;
    assert_eq!(c.line().await, "pong\n");
    assert_eq!(c.line().await, "hello\n");
    assert_eq!(log.next().await, "message hello");
    // The protocol's own close: its answer, then FIN.
    c.send(b"quit\n").await;
    assert_eq!(c.read_to_end().await, b"bye\n");
    assert_eq!(log.next().await, "close");

    // A protocol error: the protocol's answer, on_error, close.
    let mut c = LineClient::connect(inet(&server)).await;
    assert_eq!(c.line().await, "welcome\n");
    c.send(b"bad\n").await;
    assert_eq!(c.read_to_end().await, b"error: bad line\n");
    assert_eq!(log.next().await, "error 3");
    assert_eq!(log.next().await, "close");

    // A line left unfinished: the read deadline.
    let mut c = LineClient::connect(inet(&server)).await;
    assert_eq!(c.line().await, "welcome\n");
    c.send(b"half a li").await;
    assert_eq!(c.read_to_end().await, b"timeout\n");
    assert_eq!(log.next().await, "error 5");
    assert_eq!(log.next().await, "close");

    // Without a partial line there is no deadline.
    let mut c = LineClient::connect(inet(&server)).await;
    assert_eq!(c.line().await, "welcome\n");
    tokio::time::sleep(Duration::from_millis(600)).await;
    c.send(b"still\n").await;
    assert_eq!(c.line().await, "still\n");
    server.shutdown().await;
}

struct Big;

#[async_trait]
impl Service for Big {
    type Protocol = Tcp;
    async fn on_message(&self, conn: &Connection<Tcp>, _msg: Payload) {
        // Send 8 MB through a 64 KiB buffer without a refusal.
        let chunk = Payload::from(vec![7u8; 16 * 1024]);
        for _ in 0..512 {
            conn.wait_for_room().await;
            let sent = conn.send(chunk.clone());
            assert!(sent.is_ok(), "room was waited for: {sent:?}");
        }
        conn.close(None);
    }
}

#[tokio::test]
async fn wait_for_room_sends_large_bodies_without_refusals() {
    let server = Worker::new("tcp://127.0.0.1:0", Big)
        .max_send_buffer_size(64 * 1024)
        .spawn()
        .unwrap();
    let mut c = LineClient::connect(inet(&server)).await;
    c.send(b"go").await;
    let mut got = Vec::new();
    tokio::time::timeout(WAIT, c.reader.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.len(), 512 * 16 * 1024);
    assert!(got.iter().all(|&b| b == 7));
    assert_eq!(server.stats().send_fail, 0);
    server.shutdown().await;
}
