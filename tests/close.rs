//! close() flushes then closes; destroy() drops the queue; both fire
//! on_close exactly once and are idempotent.

mod common;

use std::sync::{Arc, Mutex};

use common::{events, inet, Events, LineClient, WAIT};
use tokio::io::AsyncReadExt;
use workerman::prelude::*;

struct Closer {
    ev: Events,
    conn: Arc<Mutex<Option<Connection<Text>>>>,
}

#[async_trait]
impl Service for Closer {
    type Protocol = Text;
    async fn on_connect(&self, conn: &Connection<Text>) {
        *self.conn.lock().unwrap() = Some(conn.clone());
        self.ev.push("connect");
    }
    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        if msg == "quit" {
            conn.close(Some("goodbye".into()));
            // Idempotent: further close/destroy and sends change nothing.
            conn.close(Some("again".into()));
            self.ev
                .push(format!("send after close: {:?}", conn.send("x").err()));
        }
    }
    async fn on_close(&self, _conn: &Connection<Text>) {
        self.ev.push("close");
    }
}

fn start() -> (
    ServerHandle,
    common::EventLog,
    Arc<Mutex<Option<Connection<Text>>>>,
) {
    let (ev, log) = events();
    let slot = Arc::new(Mutex::new(None));
    let server = Worker::new(
        "text://127.0.0.1:0",
        Closer {
            ev,
            conn: slot.clone(),
        },
    )
    .max_send_buffer_size(1 << 20)
    .spawn()
    .unwrap();
    (server, log, slot)
}

#[tokio::test]
async fn close_with_message_delivers_it_before_fin() {
    let (server, mut log, _slot) = start();
    let mut c = LineClient::connect(inet(&server)).await;
    c.send(b"quit\n").await;
    // Exactly the last message, then EOF (not a reset: read_to_end is Ok).
    let mut rest = Vec::new();
    let n = tokio::time::timeout(WAIT, c.reader.read_to_end(&mut rest))
        .await
        .unwrap()
        .expect("clean EOF, not a reset");
    assert_eq!(n, 8);
    assert_eq!(rest, b"goodbye\n");
    assert_eq!(log.next().await, "connect");
    assert_eq!(log.next().await, "send after close: Some(Closed)");
    assert_eq!(log.next().await, "close");
    assert_eq!(
        log.next_within(std::time::Duration::from_millis(100)).await,
        None
    );
    server.shutdown().await;
}

#[tokio::test]
async fn close_flushes_everything_queued_to_a_slow_reader() {
    let (server, mut log, slot) = start();
    let mut c = LineClient::connect(inet(&server)).await;
    assert_eq!(log.next().await, "connect");
    let conn = slot.lock().unwrap().clone().unwrap();
    // Queue several MB while the client is not reading, then close.
    let line = Payload::from(vec![b'q'; 1023]);
    let mut sent = 0;
    while conn.send(line.clone()).is_ok() {
        sent += 1024;
    }
    assert!(conn.send_queue_bytes() > 0);
    conn.close(Some("end".into()));
    let got = c.read_to_end().await;
    // Everything accepted arrives; the refused "end" does not.
    assert_eq!(got.len(), sent);
    assert!(got
        .chunks(1024)
        .all(|l| l[..1023].iter().all(|&b| b == b'q') && l[1023] == b'\n'));
    assert_eq!(log.next().await, "close");
    server.shutdown().await;
}

#[tokio::test]
async fn destroy_drops_the_queue_and_closes_at_once() {
    let (server, mut log, slot) = start();
    let mut c = LineClient::connect(inet(&server)).await;
    assert_eq!(log.next().await, "connect");
    let conn = slot.lock().unwrap().clone().unwrap();
    let mut sent = 0;
    while conn.send(Payload::from(vec![b'd'; 4095])).is_ok() {
        sent += 4096;
    }
    let queued = conn.send_queue_bytes();
    assert!(queued > 0);
    conn.destroy();
    conn.destroy();
    conn.close(None);
    assert_eq!(conn.send_queue_bytes(), 0);
    assert!(!conn.is_open());
    assert_eq!(log.next().await, "close");
    let got = c.read_to_end().await;
    assert!(
        got.len() <= sent - queued,
        "queued data must not be written after destroy"
    );
    assert_eq!(
        log.next_within(std::time::Duration::from_millis(100)).await,
        None
    );
    server.shutdown().await;
}
