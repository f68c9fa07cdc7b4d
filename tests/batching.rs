//! Batched writes: the replies to packages that were read together leave
//! in one write, for every protocol; a reply never waits for a handler's
//! later await; sends from other tasks meanwhile write directly; order and
//! the send buffer limit hold.

mod common;

use std::sync::{Arc, Mutex};

use common::{events, inet, EventLog, Events, LineClient, WAIT};
use tokio::io::AsyncReadExt;
use tokio::sync::Notify;
use workerman::http::Response;
use workerman::prelude::*;

/// The server side of the test's connections, to read their counters.
type Conns<P> = Arc<Mutex<Vec<Connection<P>>>>;

fn only<P: Protocol>(conns: &Conns<P>) -> Connection<P> {
    let conns = conns.lock().unwrap();
    assert_eq!(conns.len(), 1);
    conns[0].clone()
}

/// The connection's write count once it reaches `at_least` (the server
/// counts a write just after the system call, so the client may read the
/// bytes a moment before). All replies have arrived by then, so no other
/// write can follow: the value is final.
async fn writes(conn: &Connection<impl Protocol>, at_least: u64) -> u64 {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let n = conn.stats().writes;
        if n >= at_least || tokio::time::Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Echoes with any protocol whose messages can be sent back as they came,
/// recording each connection and what each send returned.
struct Echo<P: Protocol> {
    conns: Conns<P>,
    ev: Events,
}

macro_rules! echo_service {
    ($proto:ty, $conn:ident, $msg:ident => $reply:expr) => {
        #[async_trait]
        impl Service for Echo<$proto> {
            type Protocol = $proto;

            async fn on_connect(&self, conn: &Connection<$proto>) {
                self.conns.lock().unwrap().push(conn.clone());
            }

            async fn on_message(
                &self,
                $conn: &Connection<$proto>,
                $msg: <$proto as Protocol>::Inbound,
            ) {
                let sent = $conn.send($reply);
                self.ev.push(format!("{sent:?}"));
            }

            async fn on_error(&self, _conn: &Connection<$proto>, err: &ConnectionError) {
                self.ev.push(format!("error {err}"));
            }
        }
    };
}

echo_service!(Text, _c, msg => msg);
echo_service!(Frame, _c, msg => msg);
echo_service!(Http, _c, req => Response::new(200).with_body(req.path().to_owned()));
echo_service!(WebSocket, _c, msg => msg);

fn spawn<P: Protocol>(
    address: &str,
    max_send_buffer: Option<usize>,
) -> (ServerHandle, Conns<P>, EventLog)
where
    Echo<P>: Service<Protocol = P>,
{
    let (ev, log) = events();
    let conns: Conns<P> = Arc::default();
    let mut worker = Worker::new(
        address,
        Echo {
            conns: conns.clone(),
            ev,
        },
    );
    if let Some(limit) = max_send_buffer {
        worker = worker.max_send_buffer_size(limit);
    }
    (worker.spawn().expect("server starts"), conns, log)
}

/// Sends `request` in one write and reads exactly `len` bytes back.
async fn exchange(c: &mut LineClient, request: &[u8], len: usize) -> Vec<u8> {
    c.send(request).await;
    let mut back = vec![0u8; len];
    tokio::time::timeout(WAIT, c.reader.read_exact(&mut back))
        .await
        .expect("replies in time")
        .expect("replies");
    back
}

#[tokio::test]
async fn text_replies_to_a_batch_leave_in_one_write_in_order() {
    let (server, conns, mut log) = spawn::<Text>("text://127.0.0.1:0", None);
    let mut c = LineClient::connect(inet(&server)).await;
    // One package alone: written at once, as before.
    assert_eq!(exchange(&mut c, b"alone\n", 6).await, b"alone\n");
    assert_eq!(log.next().await, "Ok(Written)");
    let conn = only(&conns);
    assert_eq!(writes(&conn, 1).await, 1);
    // Sixteen in one write: sixteen replies in order, in one write.
    let batch: String = (0..16).map(|i| format!("line {i:02}\n")).collect();
    let back = exchange(&mut c, batch.as_bytes(), batch.len()).await;
    assert_eq!(String::from_utf8(back).unwrap(), batch);
    assert_eq!(
        writes(&conn, 2).await,
        2,
        "the batch's replies took one write"
    );
    // Every reply of the batch was only queued when `send` returned.
    for _ in 0..16 {
        assert_eq!(log.next().await, "Ok(Queued)");
    }
    assert_eq!(conn.stats().send_queue_bytes, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn frame_replies_to_a_batch_leave_in_one_write() {
    let (server, conns, _log) = spawn::<Frame>("frame://127.0.0.1:0", None);
    let mut c = LineClient::connect(inet(&server)).await;
    let mut batch = Vec::new();
    for i in 0..16u8 {
        batch.extend_from_slice(&[0, 0, 0, 7, b'f', b'r', i]);
    }
    assert_eq!(exchange(&mut c, &batch, batch.len()).await, batch);
    assert_eq!(writes(&only(&conns), 1).await, 1);
    server.shutdown().await;
}

#[tokio::test]
async fn pipelined_http_responses_leave_in_one_write() {
    let (server, conns, _log) = spawn::<Http>("http://127.0.0.1:0", None);
    let mut c = LineClient::connect(inet(&server)).await;
    let request = |i: usize| format!("GET /r{i:02} HTTP/1.1\r\nHost: x\r\n\r\n");
    let batch: String = (0..16).map(request).collect();
    c.send(batch.as_bytes()).await;
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let responses = |got: &[u8]| got.windows(12).filter(|w| w == b"HTTP/1.1 200").count();
    while responses(&got) < 16 || !got.ends_with(b"/r15") {
        let n = tokio::time::timeout(WAIT, c.reader.read(&mut buf))
            .await
            .expect("responses in time")
            .unwrap();
        assert!(n > 0, "closed");
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(got).unwrap();
    let bodies: Vec<&str> = text
        .split("HTTP/1.1 200 OK")
        .skip(1)
        .map(|r| r.rsplit("\r\n\r\n").next().unwrap())
        .collect();
    let want: Vec<String> = (0..16).map(|i| format!("/r{i:02}")).collect();
    assert_eq!(bodies, want);
    assert_eq!(writes(&only(&conns), 1).await, 1);
    server.shutdown().await;
}

/// A masked client text frame (mask key 0, so the payload reads as is).
fn client_text_frame(payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut f = vec![0x81, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    f.extend_from_slice(payload);
    f
}

#[tokio::test]
async fn websocket_replies_to_a_batch_leave_in_one_write() {
    let (server, conns, _log) = spawn::<WebSocket>("websocket://127.0.0.1:0", None);
    let mut c = LineClient::connect(inet(&server)).await;
    c.send(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        tokio::time::timeout(WAIT, c.reader.read_exact(&mut b))
            .await
            .unwrap()
            .unwrap();
        head.push(b[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    let before = writes(&only(&conns), 1).await;
    let mut batch = Vec::new();
    let mut want = Vec::new();
    for i in 0..16 {
        let text = format!("message {i:02}");
        batch.extend_from_slice(&client_text_frame(text.as_bytes()));
        want.extend_from_slice(&[0x81, text.len() as u8]);
        want.extend_from_slice(text.as_bytes());
    }
    assert_eq!(exchange(&mut c, &batch, want.len()).await, want);
    assert_eq!(writes(&only(&conns), before + 1).await, before + 1);
    server.shutdown().await;
}

#[tokio::test]
async fn held_replies_never_pass_the_send_buffer_limit() {
    // 16 replies of 100 bytes with a 256-byte limit: held replies are
    // written before they would reach it, so nothing is refused.
    let (server, _conns, mut log) = spawn::<Text>("text://127.0.0.1:0", Some(256));
    let mut c = LineClient::connect(inet(&server)).await;
    let batch: String = (0..16)
        .map(|i| format!("{i:02}{}\n", "x".repeat(97)))
        .collect();
    let back = exchange(&mut c, batch.as_bytes(), batch.len()).await;
    assert_eq!(String::from_utf8(back).unwrap(), batch);
    for _ in 0..16 {
        let e = log.next().await;
        assert!(e.starts_with("Ok("), "{e}");
    }
    server.shutdown().await;
}

/// On `wait`: replies `first`, then awaits the test's go-ahead, then
/// replies `after`. Other lines are echoed.
struct Waits {
    go: Arc<Notify>,
    conns: Conns<Text>,
}

#[async_trait]
impl Service for Waits {
    type Protocol = Text;

    async fn on_connect(&self, conn: &Connection<Text>) {
        self.conns.lock().unwrap().push(conn.clone());
    }

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        if msg.as_bytes() == b"wait" {
            let _ = conn.send("first");
            self.go.notified().await;
            let _ = conn.send("after");
        } else {
            let _ = conn.send(msg);
        }
    }
}

#[tokio::test]
async fn a_reply_is_never_held_behind_a_later_await() {
    let go = Arc::new(Notify::new());
    let conns: Conns<Text> = Arc::default();
    let server = Worker::new(
        "text://127.0.0.1:0",
        Waits {
            go: go.clone(),
            conns: conns.clone(),
        },
    )
    .spawn()
    .unwrap();
    let mut c = LineClient::connect(inet(&server)).await;
    // `wait` comes with more behind it, so its reply is held at first;
    // the handler then awaits, which must put `first` on the wire.
    c.send(b"echo 1\nwait\necho 2\n").await;
    assert_eq!(c.line().await, "echo 1\n");
    assert_eq!(c.line().await, "first\n");
    // While the handler waits, a send from another task is not held.
    let conn = only(&conns);
    assert!(matches!(conn.send("from outside"), Ok(SendStatus::Written)));
    assert_eq!(c.line().await, "from outside\n");
    go.notify_one();
    assert_eq!(c.line().await, "after\n");
    assert_eq!(c.line().await, "echo 2\n");
    server.shutdown().await;
}
