//! WebSocket end to end over real sockets: our server against a raw TCP
//! client writing hand-made frames, and our `ws://` client against our
//! server (custom headers, subprotocols, pings, reconnect).

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{events, inet, Events, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use workerman::prelude::*;
use workerman::websocket::Settings;
use workerman::websocket::{CloseCode, WebSocketConfig, WebSocketError, WsClientCodec};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const MASK: [u8; 4] = [1, 2, 3, 4];

/// A client speaking raw bytes, every wait bounded by WAIT.
struct Raw(TcpStream);

impl Raw {
    async fn connect(server: &ServerHandle) -> Raw {
        let s = tokio::time::timeout(WAIT, TcpStream::connect(inet(server)))
            .await
            .unwrap()
            .unwrap();
        s.set_nodelay(true).unwrap();
        Raw(s)
    }

    /// Connects and completes the handshake; returns the 101 head.
    async fn open(server: &ServerHandle, path: &str, extra: &str) -> (Raw, String) {
        let mut c = Raw::connect(server).await;
        c.send(
            format!(
                "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
            )
            .as_bytes(),
        )
        .await;
        let head = c.head().await;
        assert!(
            head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{head}"
        );
        (c, head)
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).await.unwrap();
    }

    async fn send_frame(&mut self, b0: u8, payload: &[u8]) {
        self.send(&masked(b0, payload)).await;
    }

    async fn exact(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        tokio::time::timeout(WAIT, self.0.read_exact(&mut buf))
            .await
            .expect("timed out reading")
            .expect("read failed");
        buf
    }

    /// Reads an HTTP head through its blank line.
    async fn head(&mut self) -> String {
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.extend(self.exact(1).await);
        }
        String::from_utf8(head).unwrap()
    }

    /// Reads one unmasked server frame: (first byte, payload).
    async fn frame(&mut self) -> (u8, Vec<u8>) {
        let h = self.exact(2).await;
        assert_eq!(h[1] & 0x80, 0, "server frames are not masked");
        let len = match h[1] & 0x7f {
            126 => u16::from_be_bytes(self.exact(2).await.try_into().unwrap()) as usize,
            127 => u64::from_be_bytes(self.exact(8).await.try_into().unwrap()) as usize,
            n => n as usize,
        };
        (h[0], self.exact(len).await)
    }

    /// Expects a close frame with `code`, then the end of the stream.
    async fn expect_close(&mut self, code: u16) {
        let (b0, payload) = self.frame().await;
        assert_eq!(b0, 0x88, "expected a close frame, payload {payload:?}");
        assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), code);
        self.expect_eof().await;
    }

    async fn expect_eof(&mut self) {
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(WAIT, self.0.read_to_end(&mut rest))
            .await
            .expect("timed out waiting for EOF");
        assert!(rest.is_empty(), "unexpected bytes before EOF: {rest:?}");
    }

    async fn read_to_end(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(WAIT, self.0.read_to_end(&mut rest))
            .await
            .expect("timed out waiting for EOF");
        rest
    }
}

fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![b0];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= 0xffff => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&MASK);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    f
}

/// Echoes data messages; "bye" closes with 4000; greets on connect;
/// records callbacks.
struct Echo(Events);

#[async_trait]
impl Service for Echo {
    type Protocol = WebSocket;

    async fn on_connect(&self, conn: &Connection<WebSocket>) {
        // Before the handshake: held and written after the 101.
        let _ = conn.send("welcome");
    }

    async fn on_message(&self, conn: &Connection<WebSocket>, msg: Message) {
        self.0.push(format!("message {msg:?}"));
        if msg == Message::from("bye") {
            conn.close(Some(Message::close(CloseCode::from(4000), "bye")));
            return;
        }
        if msg == Message::from("quit") {
            conn.close(None);
            return;
        }
        let _ = conn.send(msg);
    }

    async fn on_error(&self, _conn: &Connection<WebSocket>, err: &ConnectionError) {
        let detail = err
            .protocol_error::<WebSocketError>()
            .map_or_else(|| err.to_string(), |e| format!("{e:?}"));
        self.0.push(format!("error {detail}"));
    }

    async fn on_close(&self, _conn: &Connection<WebSocket>) {
        self.0.push("close");
    }
}

fn echo_server(ev: Events, max: usize) -> ServerHandle {
    Worker::new("websocket://127.0.0.1:0", Echo(ev))
        .max_package_size(max)
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn echo_with_held_greeting_ping_and_close_handshake() {
    let (ev, mut log) = events();
    let server = echo_server(ev, 1024);
    let (mut c, _) = Raw::open(&server, "/", "").await;
    // The greeting sent from on_connect follows the 101.
    assert_eq!(c.frame().await, (0x81, b"welcome".to_vec()));
    c.send_frame(0x81, b"hello").await;
    assert_eq!(c.frame().await, (0x81, b"hello".to_vec()));
    c.send_frame(0x82, &[0, 255]).await;
    assert_eq!(c.frame().await, (0x82, vec![0, 255]));
    // Fragments with a ping between them.
    c.send_frame(0x01, b"frag").await;
    c.send_frame(0x89, b"are you there").await;
    assert_eq!(c.frame().await, (0x8a, b"are you there".to_vec()));
    c.send_frame(0x80, b"ment").await;
    assert_eq!(c.frame().await, (0x81, b"fragment".to_vec()));
    // The peer's close: echoed (88 02 03 E8), then the server closes.
    c.send_frame(0x88, &1000u16.to_be_bytes()).await;
    assert_eq!(c.read_to_end().await, b"\x88\x02\x03\xe8");
    log.until("close").await;
    server.shutdown().await;
}

#[tokio::test]
async fn close_with_a_close_message_sends_the_frame() {
    let (ev, mut log) = events();
    let server = echo_server(ev, 1024);
    let (mut c, _) = Raw::open(&server, "/", "").await;
    c.frame().await;
    c.send_frame(0x81, b"bye").await;
    c.expect_close(4000).await;
    log.until("close").await;
    server.shutdown().await;
}

#[tokio::test]
async fn plain_close_sends_1000_and_shutdown_sends_1001() {
    let (ev, mut log) = events();
    let server = echo_server(ev, 1024);
    let (mut c, _) = Raw::open(&server, "/", "").await;
    c.frame().await;
    c.send_frame(0x81, b"quit").await;
    c.expect_close(1000).await;
    log.until("close").await;

    let (mut c, _) = Raw::open(&server, "/", "").await;
    c.frame().await;
    let stop = tokio::spawn(server.shutdown());
    c.expect_close(1001).await;
    stop.await.unwrap();
}

#[tokio::test]
async fn bad_handshake_gets_400_and_on_error() {
    let (ev, mut log) = events();
    let server = echo_server(ev, 1024);
    let mut c = Raw::connect(&server).await;
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let answer = String::from_utf8(c.read_to_end().await).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert_eq!(log.next().await, "error Handshake(NotUpgrade)");
    assert_eq!(log.next().await, "close");
    assert_eq!(server.stats().protocol_errors, 1);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_frames_get_their_close_codes() {
    let (ev, mut log) = events();
    let server = echo_server(ev, 64);
    // Unmasked: 1002.
    let (mut c, _) = Raw::open(&server, "/", "").await;
    c.frame().await;
    c.send(b"\x81\x02hi").await;
    c.expect_close(1002).await;
    assert_eq!(log.next().await, "error Protocol(UnmaskedFrame)");
    assert_eq!(log.next().await, "close");
    // Invalid UTF-8: 1007.
    let (mut c, _) = Raw::open(&server, "/", "").await;
    c.frame().await;
    c.send_frame(0x81, &[0xc3, 0x28]).await;
    c.expect_close(1007).await;
    assert_eq!(log.next().await, "error InvalidUtf8");
    assert_eq!(log.next().await, "close");
    // Over max_package_size: 1009, from the header alone.
    let (mut c, _) = Raw::open(&server, "/", "").await;
    c.frame().await;
    c.send(&masked(0x82, &[0; 65])[..8]).await;
    c.expect_close(1009).await;
    assert_eq!(log.next().await, "error MessageTooLarge { max: 64 }");
    assert_eq!(log.next().await, "close");
    // The worker goes on.
    let (mut c, _) = Raw::open(&server, "/", "").await;
    c.frame().await;
    c.send_frame(0x81, b"still here").await;
    assert_eq!(c.frame().await, (0x81, b"still here".to_vec()));
    assert_eq!(server.stats().protocol_errors, 3);
    server.shutdown().await;
}

/// A handshake timeout of 200 ms.
struct Quick;

impl Settings for Quick {
    fn config() -> WebSocketConfig {
        WebSocketConfig::default().handshake_timeout(Some(Duration::from_millis(200)))
    }
}

struct Nothing;

#[async_trait]
impl Service for Nothing {
    type Protocol = WebSocket<Quick>;
    async fn on_message(&self, _conn: &Connection<WebSocket<Quick>>, _msg: Message) {}
}

#[tokio::test]
async fn slow_handshake_gets_408() {
    let server = Worker::new("websocket://127.0.0.1:0", Nothing)
        .spawn()
        .unwrap();
    let mut c = Raw::connect(&server).await;
    c.send(b"GET / HTTP/1.1\r\nHost:").await;
    let answer = String::from_utf8(c.read_to_end().await).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    server.shutdown().await;
}

// ------------------------------------------------------------ handshake hook

struct Hooked;

impl Settings for Hooked {
    fn config() -> WebSocketConfig {
        WebSocketConfig::default()
            .handshake_messages(true)
            .control_messages(true)
            .protocols(["chat"])
    }
}

type HookedWs = WebSocket<Hooked>;

#[derive(Clone)]
struct User(String);

/// Accepts /chat?user=NAME with the right token header; greets by name.
struct Gate(Events);

#[async_trait]
impl Service for Gate {
    type Protocol = HookedWs;

    async fn on_message(&self, conn: &Connection<HookedWs>, msg: Message) {
        match msg {
            Message::Handshake(hs) => {
                let req = hs.request();
                self.0.push(format!(
                    "handshake {} cookie={:?} protocol={:?}",
                    req.uri(),
                    req.cookie("sid"),
                    hs.protocol()
                ));
                if req.header("x-token") != Some("secret") {
                    return hs.reject(401);
                }
                let user = req.query_param("user").unwrap_or_default().into_owned();
                conn.insert_extension(User(user.clone()));
                let _ = conn.send(format!("hello {user}"));
            }
            Message::Text(t) => {
                let user = conn.extension::<User>().map(|u| u.0).unwrap_or_default();
                let _ = conn.send(format!("{user}: {t}"));
            }
            Message::Ping(_) | Message::Pong(_) => self.0.push(format!("{msg:?}")),
            other => self.0.push(format!("{other:?}")),
        }
    }

    async fn on_close(&self, _conn: &Connection<HookedWs>) {
        self.0.push("close");
    }
}

#[tokio::test]
async fn handshake_hook_sees_the_request_and_decides() {
    let (ev, mut log) = events();
    let server = Worker::new("websocket://127.0.0.1:0", Gate(ev))
        .spawn()
        .unwrap();
    let (mut c, head) = Raw::open(
        &server,
        "/chat?user=ann",
        "X-Token: secret\r\nCookie: sid=7\r\nSec-WebSocket-Protocol: chat\r\n",
    )
    .await;
    assert!(head.contains("Sec-WebSocket-Protocol: chat\r\n"), "{head}");
    assert_eq!(
        log.next().await,
        r#"handshake /chat?user=ann cookie=Some("7") protocol=Some("chat")"#
    );
    assert_eq!(c.frame().await, (0x81, b"hello ann".to_vec()));
    c.send_frame(0x81, b"hi").await;
    assert_eq!(c.frame().await, (0x81, b"ann: hi".to_vec()));
    c.send_frame(0x89, b"p").await;
    assert_eq!(c.frame().await, (0x8a, b"p".to_vec()));
    assert_eq!(log.next().await, "Ping(b\"p\")");

    // No token: 401 and closed, no 101.
    let mut c = Raw::connect(&server).await;
    c.send(
        format!(
            "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    let answer = String::from_utf8(c.read_to_end().await).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
        "{answer}"
    );
    log.until("close").await;
    server.shutdown().await;
}

// ------------------------------------------------------------ ws:// client

/// Records what the client gets.
struct Recorder(Events);

#[async_trait]
impl Service for Recorder {
    type Protocol = WsClient;

    async fn on_connect(&self, _conn: &Connection<WsClient>) {
        self.0.push("connect");
    }

    async fn on_message(&self, _conn: &Connection<WsClient>, msg: Message) {
        self.0.push(format!("{msg:?}"));
    }

    async fn on_error(&self, _conn: &Connection<WsClient>, err: &ConnectionError) {
        self.0.push(format!("error {err}"));
    }

    async fn on_close(&self, _conn: &Connection<WsClient>) {
        self.0.push("close");
    }
}

#[tokio::test]
async fn our_client_with_headers_and_subprotocol_against_our_server() {
    let (sev, mut slog) = events();
    let server = Worker::new("websocket://127.0.0.1:0", Gate(sev))
        .spawn()
        .unwrap();
    let url = format!("ws://{}/chat?user=bob", inet(&server));
    let codec = WsClientCodec::builder()
        .header("X-Token", "secret")
        .header("Cookie", "sid=9")
        .protocol("chat")
        .config(
            WebSocketConfig::default()
                .control_messages(true)
                .protocols(["chat"]),
        )
        .build_url(&url)
        .unwrap();
    let (ev, mut log) = events();
    let conn = AsyncTcpConnection::new(url, Recorder(ev))
        .codec(codec)
        .connect()
        .await
        .unwrap();
    assert_eq!(log.next().await, "connect");
    // Sent at once: held by the codec until the 101.
    assert!(conn.send("first").is_ok());
    assert!(conn.send(Message::Ping(Bytes::from_static(b"hb"))).is_ok());
    assert_eq!(
        slog.next().await,
        r#"handshake /chat?user=bob cookie=Some("9") protocol=Some("chat")"#
    );
    assert_eq!(log.next().await, "Text(\"hello bob\")");
    assert_eq!(log.next().await, "Text(\"bob: first\")");
    assert_eq!(log.next().await, "Pong(b\"hb\")");
    assert_eq!(slog.next().await, "Ping(b\"hb\")");
    assert!(conn.send(vec![1u8, 2]).is_ok());
    assert_eq!(slog.next().await, "Binary(b\"\\x01\\x02\")");
    conn.close(Some(Message::close(CloseCode::Normal, "done")));
    assert_eq!(log.next().await, "close");
    // The server saw our close frame, code and reason.
    assert_eq!(
        slog.until("close").await,
        [r#"Close(Some(CloseFrame { code: Normal, reason: "done" }))"#]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn client_fails_on_a_server_that_is_not_websocket() {
    // A plain HTTP answer instead of a 101.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .await;
        let _ = s.read(&mut buf).await;
    });
    let (ev, mut log) = events();
    let _conn = AsyncTcpConnection::new(format!("ws://{addr}/"), Recorder(ev))
        .connect()
        .await
        .unwrap();
    assert_eq!(log.next().await, "connect");
    let err = log.next().await;
    assert!(err.contains("status 200 instead of 101"), "{err}");
    assert_eq!(log.next().await, "close");
}

/// Closes every connection right after its first message.
struct Kicker;

#[async_trait]
impl Service for Kicker {
    type Protocol = WebSocket;
    async fn on_message(&self, conn: &Connection<WebSocket>, msg: Message) {
        let _ = conn.send(msg);
        conn.close(Some(Message::close(CloseCode::Away, "again")));
    }
}

/// Sends "n" on every (re)connection; reconnects on close, 3 times.
struct Reconnecting(Events);

#[async_trait]
impl Service for Reconnecting {
    type Protocol = WsClient;
    async fn on_connect(&self, conn: &Connection<WsClient>) {
        let _ = conn.send("n");
    }
    async fn on_message(&self, _conn: &Connection<WsClient>, msg: Message) {
        self.0.push(format!("{msg:?}"));
    }
    async fn on_close(&self, conn: &Connection<WsClient>) {
        self.0.push("close");
        #[derive(Clone)]
        struct Round(u32);
        let round = conn.extension::<Round>().map_or(1, |r| r.0);
        if round < 3 {
            conn.insert_extension(Round(round + 1));
            conn.reconnect(Duration::from_millis(50));
        }
    }
}

#[tokio::test]
async fn client_reconnects_with_a_fresh_handshake() {
    let server = Worker::new("websocket://127.0.0.1:0", Kicker)
        .spawn()
        .unwrap();
    let (ev, mut log) = events();
    let _conn = AsyncTcpConnection::new(format!("ws://{}/", inet(&server)), Reconnecting(ev))
        .connect()
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(log.next().await, "Text(\"n\")");
        assert_eq!(log.next().await, "close");
    }
    assert_eq!(log.next_within(Duration::from_millis(300)).await, None);
    server.shutdown().await;
}

// ------------------------------------------------------------------ wss://

/// A self-signed certificate for 127.0.0.1, as PEM files.
struct Cert {
    dir: std::path::PathBuf,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

impl Cert {
    fn new(name: &str) -> Cert {
        let dir = std::env::temp_dir().join(format!("wm-wss-{}-{name}", std::process::id()));
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

/// wss: `websocket://` over the TLS transport, and our `ws://` client with
/// `.tls(..)`; messages sent before both handshakes wait for them.
#[tokio::test]
async fn wss_server_and_client() {
    let cert = Cert::new("pair");
    let tls = workerman::TlsConfig::from_pem_files(&cert.cert, &cert.key).unwrap();
    let (sev, mut slog) = events();
    let server = Worker::new("websocket://127.0.0.1:0", Echo(sev))
        .transport(workerman::Transport::Tls(tls))
        .spawn()
        .unwrap();
    let (ev, mut log) = events();
    let conn = AsyncTcpConnection::new(format!("ws://{}/", inet(&server)), Recorder(ev))
        .tls(workerman::ClientTlsConfig::with_root_pem_file(&cert.cert).unwrap())
        .start()
        .unwrap();
    assert!(conn.send("over tls").is_ok());
    assert_eq!(log.next().await, "connect");
    assert_eq!(log.next().await, "Text(\"welcome\")");
    assert_eq!(log.next().await, "Text(\"over tls\")");
    assert_eq!(slog.next().await, "message Text(\"over tls\")");
    let big = vec![9u8; 300_000];
    assert!(conn.send(big.clone()).is_ok());
    let echoed = log.next().await;
    assert!(echoed.starts_with("Binary(b\"\\t\\t"), "{}", &echoed[..40]);
    conn.close(None);
    assert_eq!(log.next().await, "close");
    // Our close(None) is a close frame 1000, echoed by the server.
    assert_eq!(slog.until("close").await.len(), 1);
    server.shutdown().await;
}
