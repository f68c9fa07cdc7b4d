//! Limits under abuse, over real sockets: `max_connections` holds new
//! clients in the listen backlog and resumes below the cap (logging once
//! each way), and every per-connection limit (package size, head size,
//! handshake, head, body and idle deadlines) closes only the connection that
//! hit it, with the protocol's answer, while a connection opened before it
//! goes on being served.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::{inet, LineClient, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use workerman::http::{HttpConfig, HttpSettings, Request, Response};
use workerman::prelude::*;
use workerman::websocket::Settings;
use workerman::websocket::WebSocketConfig;

/// Everything the framework logs in this test binary (a global subscriber:
/// workers run on threads of their own).
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buf);
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("workerman_core=info")
            .with_ansi(false)
            .with_writer(move || Sink(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        buf
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn count_in_logs(what: &str) -> usize {
    String::from_utf8_lossy(&logs().lock().unwrap())
        .matches(what)
        .count()
}

struct Echo;

#[async_trait]
impl Service for Echo {
    type Protocol = Text;
    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let _ = conn.send(msg);
    }
}

#[tokio::test]
async fn max_connections_holds_new_clients_in_the_backlog_and_resumes() {
    let logs = logs();
    let server = Worker::new("text://127.0.0.1:0", Echo)
        .max_connections(2)
        .spawn()
        .unwrap();
    let addr = inet(&server);
    let mut a = LineClient::connect(addr).await;
    let mut b = LineClient::connect(addr).await;
    a.send(b"a\n").await;
    assert_eq!(a.line().await, "a\n");
    b.send(b"b\n").await;
    assert_eq!(b.line().await, "b\n");
    // Two more clients: the kernel completes their handshakes (backlog),
    // but the worker does not take them while two are open.
    let mut c = LineClient::connect(addr).await;
    let mut d = LineClient::connect(addr).await;
    c.send(b"c\n").await;
    d.send(b"d\n").await;
    let mut buf = [0u8; 8];
    let early = tokio::time::timeout(Duration::from_millis(300), c.reader.read(&mut buf)).await;
    assert!(early.is_err(), "a third connection was served: {early:?}");
    assert_eq!(server.stats().connections, 2);
    assert_eq!(server.stats().total_connections, 2);
    // The open ones are served as before.
    a.send(b"a2\n").await;
    assert_eq!(a.line().await, "a2\n");
    // One closes: the worker accepts again, one at a time.
    drop(a);
    let first = tokio::select! {
        l = c.line() => (l, 'c'),
        l = d.line() => (l, 'd'),
    };
    assert!(
        first == ("c\n".to_owned(), 'c') || first == ("d\n".to_owned(), 'd'),
        "{first:?}"
    );
    let (mut served, mut waiting) = if first.1 == 'c' { (c, d) } else { (d, c) };
    let early =
        tokio::time::timeout(Duration::from_millis(300), waiting.reader.read(&mut buf)).await;
    assert!(early.is_err(), "over the cap after one close: {early:?}");
    drop(b);
    let last = waiting.line().await;
    assert!(last == "c\n" || last == "d\n", "{last:?}");
    served.send(b"x\n").await;
    assert_eq!(served.line().await, "x\n");
    server.shutdown().await;
    // Three crossings of the cap within a second: one warning, and one
    // note that accepting resumed.
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert_eq!(
        count_in_logs("connection limit reached"),
        1,
        "logs:\n{text}"
    );
    assert_eq!(count_in_logs("accepting again"), 1, "logs:\n{text}");
}

/// A raw client: bytes out, everything until EOF back.
async fn raw(addr: SocketAddr) -> TcpStream {
    tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect failed")
}

async fn read_to_end(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut out))
        .await
        .expect("timed out waiting for the server to close");
    out
}

// --- frame:// -------------------------------------------------------------

struct FrameEcho;

#[async_trait]
impl Service for FrameEcho {
    type Protocol = Frame;
    async fn on_message(&self, conn: &Connection<Frame>, msg: Payload) {
        let _ = conn.send(msg);
    }
}

#[tokio::test]
async fn an_oversized_frame_closes_only_its_connection() {
    let server = Worker::new("frame://127.0.0.1:0", FrameEcho)
        .max_package_size(1024)
        .spawn()
        .unwrap();
    let addr = inet(&server);
    let mut good = raw(addr).await;
    good.write_all(&[0, 0, 0, 6, b'h', b'i']).await.unwrap();
    let mut reply = [0u8; 6];
    good.read_exact(&mut reply).await.unwrap();
    // 1 KiB + 1 announced: closed from the header alone, no data needed.
    let mut bad = raw(addr).await;
    bad.write_all(&1025u32.to_be_bytes()).await.unwrap();
    assert_eq!(read_to_end(&mut bad).await, b"");
    good.write_all(&[0, 0, 0, 7, b'y', b'e', b's'])
        .await
        .unwrap();
    let mut reply = [0u8; 7];
    good.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply[4..], b"yes");
    assert_eq!(server.stats().protocol_errors, 1);
    server.shutdown().await;
}

// --- http:// --------------------------------------------------------------

/// Short head deadline, long keep-alive (so the bystander stays open).
struct Tight;

impl HttpSettings for Tight {
    fn config() -> HttpConfig {
        HttpConfig::default()
            .max_head_size(2048)
            .head_timeout(Duration::from_millis(300))
            .body_timeout(Duration::from_millis(300))
            .keep_alive_timeout(Some(Duration::from_secs(60)))
            .date_header(false)
    }
}

/// Idle keep-alive connections closed after 300 ms.
struct Idle;

impl HttpSettings for Idle {
    fn config() -> HttpConfig {
        HttpConfig::default()
            .keep_alive_timeout(Some(Duration::from_millis(300)))
            .date_header(false)
    }
}

struct Hello<S>(std::marker::PhantomData<S>);

#[async_trait]
impl<S: HttpSettings> Service for Hello<S> {
    type Protocol = Http<S>;
    async fn on_message(&self, conn: &Connection<Http<S>>, _req: Request) {
        let _ = conn.send(Response::text("ok"));
    }
}

fn http_server<S: HttpSettings>() -> ServerHandle {
    Worker::new("http://127.0.0.1:0", Hello::<S>(std::marker::PhantomData))
        .max_package_size(4096)
        .spawn()
        .unwrap()
}

/// One keep-alive request on `s`; the response's bytes.
async fn get(s: &mut TcpStream) -> String {
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"ok") {
        let n = tokio::time::timeout(WAIT, s.read(&mut buf))
            .await
            .expect("timed out waiting for a response")
            .unwrap();
        assert!(n > 0, "closed; got {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(got).unwrap()
}

#[tokio::test]
async fn each_http_limit_closes_only_its_connection() {
    let server = http_server::<Tight>();
    let addr = inet(&server);
    let mut bystander = raw(addr).await;
    assert!(get(&mut bystander).await.starts_with("HTTP/1.1 200 OK\r\n"));
    let head_too_large = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(3000)
    );
    let cases: [(&[u8], &str); 4] = [
        // A body over max_package_size, refused from the head alone.
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n",
            "413",
        ),
        // A chunk size over the limit.
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n",
            "413",
        ),
        // A head over max_head_size.
        (head_too_large.as_bytes(), "431"),
        // A head that never ends: the head deadline.
        (b"GET / HTTP/1.1\r\nHost: t\r\n", "408"),
    ];
    for (wire, status) in cases {
        let mut bad = raw(addr).await;
        // The server may answer and close before all is written.
        let _ = bad.write_all(wire).await;
        let got = String::from_utf8_lossy(&read_to_end(&mut bad).await).into_owned();
        assert!(
            got.starts_with(&format!("HTTP/1.1 {status} ")),
            "{:?} -> {got:?}",
            String::from_utf8_lossy(&wire[..wire.len().min(60)])
        );
        assert!(got.contains("Connection: close\r\n"), "{got}");
        // The connection opened before goes on, on the same socket.
        assert!(get(&mut bystander).await.starts_with("HTTP/1.1 200 OK\r\n"));
    }
    // A body that stalls: the body deadline.
    let mut bad = raw(addr).await;
    bad.write_all(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        .await
        .unwrap();
    let got = String::from_utf8_lossy(&read_to_end(&mut bad).await).into_owned();
    assert!(got.starts_with("HTTP/1.1 408 "), "{got}");
    assert!(get(&mut bystander).await.starts_with("HTTP/1.1 200 OK\r\n"));
    // (The deadlines are not protocol errors: the peer said nothing wrong.)
    assert_eq!(server.stats().protocol_errors, 3);
    server.shutdown().await;
}

#[tokio::test]
async fn an_idle_http_connection_is_closed_alone() {
    let server = http_server::<Idle>();
    let addr = inet(&server);
    let mut idle = raw(addr).await;
    assert!(get(&mut idle).await.starts_with("HTTP/1.1 200 OK\r\n"));
    // A busy connection keeps asking while the idle one waits out its
    // keep-alive deadline.
    let mut busy = raw(addr).await;
    let closed = async { read_to_end(&mut idle).await };
    let keep_asking = async {
        loop {
            assert!(get(&mut busy).await.starts_with("HTTP/1.1 200 OK\r\n"));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let rest = tokio::select! {
        rest = closed => rest,
        () = keep_asking => unreachable!(),
    };
    // Closed without an answer (nothing was asked).
    assert_eq!(rest, b"");
    assert!(get(&mut busy).await.starts_with("HTTP/1.1 200 OK\r\n"));
    server.shutdown().await;
}

// --- websocket:// ---------------------------------------------------------

struct QuickHandshake;

impl Settings for QuickHandshake {
    fn config() -> WebSocketConfig {
        WebSocketConfig::default().handshake_timeout(Some(Duration::from_millis(300)))
    }
}

struct WsEcho;

#[async_trait]
impl Service for WsEcho {
    type Protocol = WebSocket<QuickHandshake>;
    async fn on_message(&self, conn: &Connection<WebSocket<QuickHandshake>>, msg: Message) {
        let _ = conn.send(msg);
    }
}

const HANDSHAKE: &[u8] =
    b"GET / HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// Opens a WebSocket connection (handshake done, 101 read).
async fn ws_open(addr: SocketAddr) -> TcpStream {
    let mut s = raw(addr).await;
    s.write_all(HANDSHAKE).await.unwrap();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).await.unwrap();
        got.push(byte[0]);
    }
    assert!(got.starts_with(b"HTTP/1.1 101 "), "{got:?}");
    s
}

/// Sends a masked text frame (mask key 0) and reads the unmasked echo.
async fn ws_echo(s: &mut TcpStream, text: &[u8]) {
    let mut frame = vec![0x81, 0x80 | text.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(text);
    s.write_all(&frame).await.unwrap();
    let mut reply = vec![0u8; 2 + text.len()];
    tokio::time::timeout(WAIT, s.read_exact(&mut reply))
        .await
        .expect("timed out waiting for the echo")
        .unwrap();
    assert_eq!(reply[..2], [0x81, text.len() as u8]);
    assert_eq!(&reply[2..], text);
}

#[tokio::test]
async fn each_websocket_limit_closes_only_its_connection() {
    let server = Worker::new("websocket://127.0.0.1:0", WsEcho)
        .max_package_size(1024)
        .spawn()
        .unwrap();
    let addr = inet(&server);
    let mut bystander = ws_open(addr).await;
    ws_echo(&mut bystander, b"first").await;
    // A message over the limit: close 1009 from the frame header alone.
    let mut bad = ws_open(addr).await;
    let mut head = vec![0x82, 0x80 | 127];
    head.extend_from_slice(&(9u64 << 20).to_be_bytes());
    head.extend_from_slice(&[0; 4]);
    bad.write_all(&head).await.unwrap();
    let got = read_to_end(&mut bad).await;
    // A close frame with code 1009 (and a reason).
    assert_eq!([got[0], got[2], got[3]], [0x88, 0x03, 0xf1], "{got:?}");
    ws_echo(&mut bystander, b"after 1009").await;
    // A handshake that never ends: 408 once the deadline passes.
    let mut slow = raw(addr).await;
    slow.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let got = String::from_utf8_lossy(&read_to_end(&mut slow).await).into_owned();
    assert!(got.starts_with("HTTP/1.1 408 "), "{got}");
    ws_echo(&mut bystander, b"after 408").await;
    // Not a WebSocket request at all: 400.
    let mut wrong = raw(addr).await;
    wrong
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let got = String::from_utf8_lossy(&read_to_end(&mut wrong).await).into_owned();
    assert!(got.starts_with("HTTP/1.1 400 "), "{got}");
    ws_echo(&mut bystander, b"after 400").await;
    // A handshake head over max_head_size (16 KiB): 431.
    let mut big = raw(addr).await;
    let head = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let _ = big.write_all(head.as_bytes()).await;
    let got = String::from_utf8_lossy(&read_to_end(&mut big).await).into_owned();
    assert!(got.starts_with("HTTP/1.1 431 "), "{got}");
    ws_echo(&mut bystander, b"after 431").await;
    server.shutdown().await;
}

/// Connections silent for 300 ms are closed (1001).
struct IdleWs;

impl Settings for IdleWs {
    fn config() -> WebSocketConfig {
        WebSocketConfig::default().idle_timeout(Some(Duration::from_millis(300)))
    }
}

struct IdleWsEcho;

#[async_trait]
impl Service for IdleWsEcho {
    type Protocol = WebSocket<IdleWs>;
    async fn on_message(&self, conn: &Connection<WebSocket<IdleWs>>, msg: Message) {
        let _ = conn.send(msg);
    }
}

#[tokio::test]
async fn an_idle_websocket_connection_is_closed_alone() {
    let server = Worker::new("websocket://127.0.0.1:0", IdleWsEcho)
        .spawn()
        .unwrap();
    let addr = inet(&server);
    let mut idle = ws_open(addr).await;
    let mut busy = ws_open(addr).await;
    let closed = async { read_to_end(&mut idle).await };
    let keep_talking = async {
        loop {
            ws_echo(&mut busy, b"busy").await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let got = tokio::select! {
        got = closed => got,
        () = keep_talking => unreachable!(),
    };
    // A close frame with code 1001 (going away).
    assert_eq!([got[0], got[2], got[3]], [0x88, 0x03, 0xe9], "{got:?}");
    ws_echo(&mut busy, b"still here").await;
    server.shutdown().await;
}
