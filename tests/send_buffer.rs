//! The three outcomes of `send`, and the buffer-full / drain callbacks, for
//! real: a client that stops reading fills the send buffer.

mod common;

use std::sync::{Arc, Mutex};

use common::{events, inet, EventLog, Events, LineClient, WAIT};
use tokio::io::AsyncReadExt;
use workerman::prelude::*;

const LIMIT: usize = 64 * 1024;
const CHUNK: usize = 16 * 1024;

struct Flood {
    ev: Events,
    conn: Arc<Mutex<Option<Connection<Tcp>>>>,
}

#[async_trait]
impl Service for Flood {
    type Protocol = Tcp;

    async fn on_connect(&self, conn: &Connection<Tcp>) {
        *self.conn.lock().unwrap() = Some(conn.clone());
        self.ev.push("connect");
    }
    async fn on_message(&self, _conn: &Connection<Tcp>, _msg: Payload) {}
    async fn on_buffer_full(&self, conn: &Connection<Tcp>) {
        self.ev
            .push(format!("full {}", conn.send_queue_bytes() >= LIMIT));
    }
    async fn on_buffer_drain(&self, conn: &Connection<Tcp>) {
        self.ev.push(format!("drain {}", conn.send_queue_bytes()));
    }
    async fn on_error(&self, _conn: &Connection<Tcp>, err: &ConnectionError) {
        let kind = match err {
            ConnectionError::SendBufferFull => "buffer_full",
            ConnectionError::SendClosed(_) => "send_closed",
            _ => "other",
        };
        self.ev.push(format!("error {} {kind}", err.code()));
    }
    async fn on_close(&self, _conn: &Connection<Tcp>) {
        self.ev.push("close");
    }
}

async fn start() -> (ServerHandle, EventLog, Arc<Mutex<Option<Connection<Tcp>>>>) {
    let (ev, log) = events();
    let slot = Arc::new(Mutex::new(None));
    let server = Worker::new(
        "tcp://127.0.0.1:0",
        Flood {
            ev,
            conn: slot.clone(),
        },
    )
    .max_send_buffer_size(LIMIT)
    .spawn()
    .unwrap();
    (server, log, slot)
}

#[tokio::test]
async fn written_queued_refused_then_full_once_then_drain() {
    let (server, mut log, slot) = start().await;
    let mut client = LineClient::connect(inet(&server)).await;
    assert_eq!(log.next().await, "connect");
    let conn = slot.lock().unwrap().clone().unwrap();

    // Outcome 1: a small send goes straight to the kernel.
    assert_eq!(conn.send(vec![b'a'; 10]).unwrap(), SendStatus::Written);

    // The client does not read: the kernel buffers fill, then ours.
    let mut accepted = 10usize;
    let mut outcomes = Vec::new();
    let refused = loop {
        match conn.send(vec![b'b'; CHUNK]) {
            Ok(s) => {
                accepted += CHUNK;
                if outcomes.last() != Some(&s) {
                    outcomes.push(s);
                }
            }
            Err(e) => break e,
        }
        assert!(accepted < 512 * 1024 * 1024, "the send buffer never filled");
    };
    // Outcome 2 then 3: queued in our buffer, then refused as full.
    assert_eq!(outcomes.last(), Some(&SendStatus::Queued));
    assert!(matches!(refused, SendError::BufferFull), "{refused:?}");
    assert!(conn.send_queue_bytes() >= LIMIT);
    assert!(
        conn.send_queue_bytes() < LIMIT + CHUNK,
        "one send over the limit at most"
    );
    // A second refused send: another on_error, but no second buffer-full.
    assert!(matches!(
        conn.send(vec![b'c'; 1]),
        Err(SendError::BufferFull)
    ));

    assert_eq!(log.next().await, "full true");
    assert_eq!(log.next().await, "error 2 buffer_full");
    assert_eq!(log.next().await, "error 2 buffer_full");
    assert_eq!(
        log.next_within(std::time::Duration::from_millis(100)).await,
        None
    );
    assert!(server.stats().send_fail >= 2);

    // The client reads everything: the buffer drains, nothing was lost.
    let mut got = 0usize;
    let mut buf = vec![0u8; 256 * 1024];
    while got < accepted {
        let n = tokio::time::timeout(WAIT, client.reader.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        got += n;
    }
    assert_eq!(got, accepted);
    assert_eq!(log.next().await, "drain 0");
    assert_eq!(conn.send_queue_bytes(), 0);
    // Room again: sends are accepted.
    assert!(conn.send(vec![b'd'; 10]).is_ok());

    // Outcome 3 for a closed connection: refused, no on_error.
    conn.close(None);
    assert!(matches!(conn.send("late"), Err(SendError::Closed)));
    client.expect_closed().await;
    assert_eq!(log.next().await, "close");
    server.shutdown().await;
}

#[tokio::test]
async fn buffer_full_fires_once_per_crossing() {
    let (server, mut log, slot) = start().await;
    let mut client = LineClient::connect(inet(&server)).await;
    assert_eq!(log.next().await, "connect");
    let conn = slot.lock().unwrap().clone().unwrap();
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    for round in 0..3 {
        while conn.send(vec![b'x'; CHUNK]).is_ok() {
            total += CHUNK;
        }
        assert_eq!(log.next().await, "full true", "round {round}");
        assert_eq!(log.next().await, "error 2 buffer_full", "round {round}");
        // Read until the server's queue is empty again.
        let mut drained = false;
        while !drained {
            let n = tokio::time::timeout(WAIT, client.reader.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            total -= n;
            if total == 0 {
                drained = true;
            }
        }
        assert_eq!(log.next().await, "drain 0", "round {round}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn send_to_vanished_peer_reports_client_closed_then_close() {
    let (server, mut log, slot) = start().await;
    let client = LineClient::connect(inet(&server)).await;
    assert_eq!(log.next().await, "connect");
    let conn = slot.lock().unwrap().clone().unwrap();
    // With reading paused only a write can discover that the peer is gone.
    conn.pause_recv();
    // Close with SO_LINGER 0: the peer resets the connection.
    let std = client.reader.into_inner().into_std().unwrap();
    socket2::SockRef::from(&std)
        .set_linger(Some(std::time::Duration::ZERO))
        .unwrap();
    drop(std);
    let mut sends = 0;
    let err = loop {
        match conn.send(vec![b'z'; 1024]) {
            Ok(_) => {
                sends += 1;
                assert!(sends < 100_000, "the reset never reached the server");
                tokio::task::yield_now().await;
            }
            Err(e) => break e,
        }
    };
    assert!(matches!(err, SendError::Closed), "{err:?}");
    // Workerman: onError(2, "client closed") immediately followed by onClose.
    assert_eq!(log.next().await, "error 2 send_closed");
    assert_eq!(log.next().await, "close");
    assert!(matches!(conn.send("x"), Err(SendError::Closed)));
    server.shutdown().await;
}
