//! A peer breaking the protocol, or a panicking handler, closes only that
//! connection; the worker and the other connections go on.

mod common;

use common::{events, inet, Events, LineClient};
use tokio::io::AsyncWriteExt;
use workerman::prelude::*;
use workerman::{FrameCodecError, TextCodecError};

struct Guarded(Events);

#[async_trait]
impl Service for Guarded {
    type Protocol = Text;
    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        if msg == "panic" {
            panic!("handler bug");
        }
        let _ = conn.send(msg);
    }
    async fn on_error(&self, _conn: &Connection<Text>, err: &ConnectionError) {
        let too_large = matches!(
            err.protocol_error::<TextCodecError>(),
            Some(TextCodecError::PackageTooLarge { max: 16 })
        );
        self.0
            .push(format!("error {} too_large={too_large}", err.code()));
    }
    async fn on_close(&self, _conn: &Connection<Text>) {
        self.0.push("close");
    }
}

#[tokio::test]
async fn oversize_line_closes_only_that_connection() {
    let (ev, mut log) = events();
    let server = Worker::new("text://127.0.0.1:0", Guarded(ev))
        .max_package_size(16)
        .spawn()
        .unwrap();
    let mut good = LineClient::connect(inet(&server)).await;
    let mut bad = LineClient::connect(inet(&server)).await;
    // Exactly at the limit (LF counted) is fine.
    bad.send(b"123456789012345\n").await;
    assert_eq!(bad.line().await, "123456789012345\n");
    // One byte more, without even a newline yet: a protocol error.
    bad.send(b"1234567890123456").await;
    bad.expect_closed().await;
    assert_eq!(log.next().await, "error 3 too_large=true");
    assert_eq!(log.next().await, "close");
    good.send(b"still here\n").await;
    assert_eq!(good.line().await, "still here\n");
    assert_eq!(server.stats().protocol_errors, 1);
    server.shutdown().await;
}

#[tokio::test]
async fn panicking_handler_closes_its_connection_only() {
    let (ev, mut log) = events();
    let server = Worker::new("text://127.0.0.1:0", Guarded(ev))
        .spawn()
        .unwrap();
    let mut good = LineClient::connect(inet(&server)).await;
    let mut bad = LineClient::connect(inet(&server)).await;
    bad.send(b"panic\n").await;
    bad.expect_closed().await;
    assert_eq!(log.next().await, "close");
    good.send(b"alive\n").await;
    assert_eq!(good.line().await, "alive\n");
    // The worker still accepts.
    let mut third = LineClient::connect(inet(&server)).await;
    third.send(b"new\n").await;
    assert_eq!(third.line().await, "new\n");
    assert_eq!(server.stats().callback_panics, 1);
    server.shutdown().await;
}

struct FrameEcho(Events);

#[async_trait]
impl Service for FrameEcho {
    type Protocol = Frame;
    async fn on_message(&self, conn: &Connection<Frame>, msg: Payload) {
        let _ = conn.send(msg);
    }
    async fn on_error(&self, _conn: &Connection<Frame>, err: &ConnectionError) {
        let kind = match err.protocol_error::<FrameCodecError>() {
            Some(FrameCodecError::LengthTooSmall) => "too_small",
            Some(FrameCodecError::PackageTooLarge { .. }) => "too_large",
            _ => "other",
        };
        self.0.push(kind);
    }
}

#[tokio::test]
async fn bad_frame_headers_are_protocol_errors() {
    let (ev, mut log) = events();
    let server = Worker::new("frame://127.0.0.1:0", FrameEcho(ev))
        .max_package_size(1024)
        .spawn()
        .unwrap();
    let addr = inet(&server);
    // A good frame round-trips byte-exactly.
    let mut c = LineClient::connect(addr).await;
    c.send(b"\x00\x00\x00\x09jhdxr").await;
    let mut back = [0u8; 9];
    tokio::io::AsyncReadExt::read_exact(&mut c.reader, &mut back)
        .await
        .unwrap();
    assert_eq!(&back, b"\x00\x00\x00\x09jhdxr");

    for (header, want) in [
        (&b"\x00\x00\x00\x00"[..], "too_small"),
        (&b"\x00\x00\x00\x03"[..], "too_small"),
        (&b"\x00\x00\x04\x01"[..], "too_large"),
        (&b"\xff\xff\xff\xff"[..], "too_large"),
    ] {
        let mut c = LineClient::connect(addr).await;
        c.reader.get_mut().write_all(header).await.unwrap();
        c.expect_closed().await;
        assert_eq!(log.next().await, want, "header {header:?}");
    }
    server.shutdown().await;
}
