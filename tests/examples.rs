//! The examples, run as the processes a user starts (`<example> start`, in
//! the foreground: a master and its worker processes), at an address given
//! through `WORKERMAN_ADDR`, exercised by plain socket clients, and stopped
//! with SIGTERM to the master (which stops its workers and exits 0). Each
//! runs from a copy in its own directory, where its pid and log files go.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{LineClient, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn example_path(name: &str) -> PathBuf {
    // target/<profile>/deps/examples-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not built (cargo test builds examples)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Running {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

/// `<example> connections --json` of the example copied into `dir`.
fn connections_json(dir: &std::path::Path, name: &str) -> Vec<serde_json::Value> {
    let out = Command::new(dir.join(name))
        .args(["connections", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    rows.as_array().expect("an array of rows").clone()
}

impl Running {
    /// Copies the example `name` into a directory of its own and runs
    /// `<name> start` there with `WORKERMAN_ADDR=address`, without waiting
    /// for it to listen. `addr` is where a TCP or UDP client reaches it.
    fn launch(
        name: &str,
        address: &str,
        addr: SocketAddr,
        extra_env: &[(&str, String)],
    ) -> Running {
        let dir = std::env::temp_dir().join(format!(
            "wm-ex-{}-{name}-{}",
            std::process::id(),
            addr.port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join(name);
        std::fs::copy(example_path(name), &bin).unwrap();
        let mut cmd = Command::new(&bin);
        cmd.arg("start")
            .env("WORKERMAN_ADDR", address)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = spawn_retrying(&mut cmd);
        Running { child, addr, dir }
    }

    /// [`launch`](Running::launch) on a free TCP port with `scheme`, then
    /// waits until it accepts connections.
    fn start(name: &str, scheme: &str, extra_env: &[(&str, String)]) -> Running {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let running = Running::launch(name, &format!("{scheme}://{addr}"), addr, extra_env);
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "{name} did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
        running
    }

    /// SIGTERM, then the process must exit 0 within WAIT.
    fn stop(mut self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit status {status}");
                return;
            }
            assert!(Instant::now() < deadline, "did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Killing the master is enough: its worker processes stop when
        // their socket to the master closes.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn text_echo() {
    let ex = Running::start("text_echo", "text", &[]);
    let mut c = LineClient::connect(ex.addr).await;
    c.send(b"hello\r\nwor").await;
    c.send(b"ld\n").await;
    assert_eq!(c.line().await, "hello\n");
    assert_eq!(c.line().await, "world\n");
    drop(c);
    ex.stop();
}

#[tokio::test]
async fn frame_echo() {
    let ex = Running::start("frame_echo", "frame", &[]);
    let mut c = LineClient::connect(ex.addr).await;
    c.send(b"\x00\x00\x00\x09jhdxr\x00\x00\x00\x04").await;
    let mut back = [0u8; 13];
    tokio::time::timeout(WAIT, c.reader.read_exact(&mut back))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&back, b"\x00\x00\x00\x09jhdxr\x00\x00\x00\x04");
    drop(c);
    ex.stop();
}

#[tokio::test]
async fn tcp_echo_and_tcp_proxy() {
    let echo = Running::start("tcp_echo", "tcp", &[]);
    let proxy = Running::start(
        "tcp_proxy",
        "tcp",
        &[("UPSTREAM_ADDR", format!("tcp://{}", echo.addr))],
    );
    let payload: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let s = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let (mut rd, mut wr) = s.into_split();
    let sent = payload.clone();
    let writer = tokio::spawn(async move {
        wr.write_all(&sent).await.unwrap();
        wr.shutdown().await.unwrap();
    });
    let mut back = Vec::new();
    tokio::time::timeout(WAIT, rd.read_to_end(&mut back))
        .await
        .unwrap()
        .unwrap();
    writer.await.unwrap();
    assert_eq!(back.len(), payload.len());
    assert!(back == payload);
    proxy.stop();
    echo.stop();
}

/// The next chat line, skipping notices about connection 1: the readiness
/// probe of `Running::start` (the first connection of the process).
async fn chat_line(c: &mut LineClient) -> String {
    loop {
        let l = c.line().await;
        if !l.starts_with("[1] ") {
            return l;
        }
    }
}

#[tokio::test]
async fn broadcast_chat() {
    chat_session("broadcast_chat").await;
}

#[tokio::test]
async fn broadcast_chat_closures() {
    chat_session("broadcast_chat_closures").await;
}

/// Two clients talk through the chat example `name`; joins, lines and
/// leaves reach the others.
async fn chat_session(name: &str) {
    let ex = Running::start(name, "text", &[]);
    let mut a = LineClient::connect(ex.addr).await;
    let a_join = chat_line(&mut a).await;
    assert!(a_join.ends_with("] joined\n"), "{a_join}");
    let mut b = LineClient::connect(ex.addr).await;
    let b_join = chat_line(&mut b).await;
    assert_ne!(a_join, b_join);
    assert_eq!(chat_line(&mut a).await, b_join);
    let b_id = b_join.trim_end_matches(" joined\n").to_owned();
    b.send(b"hello all\n").await;
    assert_eq!(chat_line(&mut a).await, format!("{b_id} hello all\n"));
    assert_eq!(chat_line(&mut b).await, format!("{b_id} hello all\n"));
    drop(b);
    assert_eq!(chat_line(&mut a).await, format!("{b_id} left\n"));
    drop(a);
    ex.stop();
}

#[tokio::test]
async fn counter_closures() {
    let ex = Running::start("counter_closures", "text", &[]);
    // The readiness probe of `Running::start` sent nothing: the count is 0.
    let mut a = LineClient::connect(ex.addr).await;
    assert_eq!(a.line().await, "welcome: 0 lines so far\n");
    a.send(b"hi\n").await;
    assert_eq!(a.line().await, "1 hi\n");
    let mut b = LineClient::connect(ex.addr).await;
    assert_eq!(b.line().await, "welcome: 1 lines so far\n");
    b.send(b"yo\n").await;
    assert_eq!(b.line().await, "2 yo\n");
    a.send(b"again\n").await;
    assert_eq!(a.line().await, "3 again\n");
    drop((a, b));
    ex.stop();
}

#[tokio::test]
async fn json_protocol() {
    let ex = Running::start("json_protocol", "jsonl", &[]);
    let mut c = LineClient::connect(ex.addr).await;
    c.send(b"{\"op\":\"add\",\"a\":1,\"b\":2}\n").await;
    let reply: serde_json::Value = serde_json::from_str(&c.line().await).unwrap();
    assert_eq!(reply, serde_json::json!({"result": 3}));
    c.send(b"{\"op\":\"mul\"}\n").await;
    let reply: serde_json::Value = serde_json::from_str(&c.line().await).unwrap();
    assert!(reply.get("error").is_some(), "{reply}");
    // Not JSON: a protocol error, answered with an error, then closed.
    c.send(b"not json\n").await;
    let reply: serde_json::Value = serde_json::from_str(&c.line().await).unwrap();
    assert!(reply.get("error").is_some(), "{reply}");
    c.expect_closed().await;
    ex.stop();
}

/// Spawns `cmd`, retrying while the binary is "text file busy": a binary
/// just copied can be briefly held open for writing by a process another
/// test thread forked at that moment.
fn spawn_retrying(cmd: &mut Command) -> std::process::Child {
    for _ in 0..100 {
        match cmd.spawn() {
            Ok(c) => return c,
            Err(e) if e.raw_os_error() == Some(26) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("spawn failed: {e}"),
        }
    }
    panic!("the binary stayed busy");
}

#[test]
fn udp_echo_as_processes() {
    // Two worker processes share the master's UDP socket (fd passing).
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let ex = Running::launch("udp_echo", &format!("udp://{addr}"), addr, &[]);
    let c = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let mut buf = [0u8; 64];
    loop {
        c.send_to(b"datagram", ex.addr).unwrap();
        if let Ok((n, _)) = c.recv_from(&mut buf) {
            assert_eq!(&buf[..n], b"datagram");
            break;
        }
        assert!(Instant::now() < deadline, "udp_echo never answered");
    }
    ex.stop();
}

#[tokio::test]
async fn timers() {
    let ex = Running::start("timers", "text", &[]);
    let mut c = LineClient::connect(ex.addr).await;
    // The worker's repeating timer pushes the time every second.
    let first = c.line().await;
    assert!(first.starts_with("time "), "{first}");
    // The first line cancels the one-shot "auth timeout".
    c.send(b"me\n").await;
    loop {
        let l = c.line().await;
        if l.starts_with("time ") {
            continue;
        }
        assert_eq!(l, "welcome\n");
        break;
    }
    drop(c);
    ex.stop();
}

#[tokio::test]
async fn hex_protocol() {
    let ex = Running::start("hex_protocol", "tcp", &[]);
    let mut c = LineClient::connect(ex.addr).await;
    c.send(&[0x01, 0x02, 0xff]).await;
    let mut reply = [0u8; 6];
    tokio::time::timeout(WAIT, c.reader.read_exact(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply, [0xaa, 0x03, 0x01, 0x02, 0xff, 0x01 ^ 0x02 ^ 0xff]);
    drop(c);
    ex.stop();
}

#[tokio::test]
async fn flash_policy() {
    let ex = Running::start("flash_policy", "tcp", &[]);
    let mut c = LineClient::connect(ex.addr).await;
    c.send(b"<policy-file-request/>\0").await;
    let doc = c.read_to_end().await;
    assert_eq!(doc.last(), Some(&0u8));
    let text = String::from_utf8(doc[..doc.len() - 1].to_vec()).unwrap();
    assert!(text.contains("<cross-domain-policy>"), "{text}");
    assert!(text.contains("to-ports=\"*\""));
    // Anything else is closed without an answer.
    let mut other = LineClient::connect(ex.addr).await;
    other.send(b"GET / HTTP/1.0\r\n\r\n").await;
    assert!(other.read_to_end().await.is_empty());
    ex.stop();
}

#[tokio::test]
async fn websocket_echo_and_ws_client() {
    let echo = Running::start("websocket_echo", "websocket", &[]);
    // A browser-like handshake, then a masked text frame echoed back.
    let mut c = LineClient::connect(echo.addr).await;
    c.send(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(c.reader.read_u8().await.unwrap());
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    c.send(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]).await;
    let mut frame = [0u8; 4];
    tokio::time::timeout(WAIT, c.reader.read_exact(&mut frame))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&frame, b"\x81\x02hi");
    drop(c);

    // The client example: its greeting and a typed line come back.
    let client = Running::start(
        "ws_client",
        "text",
        &[("WS_URL", format!("ws://{}/", echo.addr))],
    );
    let mut console = LineClient::connect(client.addr).await;
    // The greeting's reply may reach the console before or after it
    // connected; the typed line's reply always follows.
    console.send(b"typed line\n").await;
    loop {
        let line = console.line().await;
        if line == "reply: typed line\n" {
            break;
        }
        assert_eq!(line, "reply: hello from ws_client\n");
    }
    drop(console);
    client.stop();
    echo.stop();
}

/// Sends one request (which should say `Connection: close`) and returns the
/// whole answer.
async fn http_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut c = LineClient::connect(addr).await;
    c.send(request).await;
    String::from_utf8_lossy(&c.read_to_end().await).into_owned()
}

#[tokio::test]
async fn http_hello() {
    let ex = Running::start("http_hello", "http", &[]);
    let got = http_exchange(
        ex.addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
    assert!(got.contains("Content-Type: text/plain\r\n"));
    assert!(got.ends_with("\r\n\r\nHello World"));
    ex.stop();
}

#[tokio::test]
async fn http_static_serves_its_folder_only() {
    let ex = Running::start("http_static", "http", &[]);
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let got = http_exchange(ex.addr, get("/").as_bytes()).await;
    assert!(
        got.starts_with("HTTP/1.1 200 OK\r\n") && got.contains("It works"),
        "{got}"
    );
    let got = http_exchange(ex.addr, get("/hello.txt").as_bytes()).await;
    assert!(got.ends_with("Hello from a static file.\n"), "{got}");
    for escape in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/docs/..%2f..%2fCargo.toml",
        "/..%5cCargo.toml",
    ] {
        let got = http_exchange(ex.addr, get(escape).as_bytes()).await;
        assert!(got.starts_with("HTTP/1.1 404 "), "{escape}: {got}");
        assert!(!got.contains("[workspace]"), "{escape}");
    }
    ex.stop();
}

#[tokio::test]
async fn http_forms_echoes_and_counts() {
    let ex = Running::start("http_forms", "http", &[]);
    let body = "--B\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n<b>Ann</b>\r\n\
                --B\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.txt\"\r\n\
                Content-Type: text/plain\r\n\r\nhello file\r\n--B--\r\n";
    let request = format!(
        "POST /submit HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let got = http_exchange(ex.addr, request.as_bytes()).await;
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
    assert!(
        got.contains("&lt;b&gt;Ann&lt;/b&gt;"),
        "the echo is escaped: {got}"
    );
    assert!(got.contains("a.txt (text/plain, 10 bytes)"));
    assert!(got.contains("visit number 1"));
    let cookie = got
        .lines()
        .find_map(|l| l.strip_prefix("Set-Cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let again =
        format!("GET / HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n");
    let got = http_exchange(ex.addr, again.as_bytes()).await;
    assert!(got.contains("visit number 2"), "{got}");
    ex.stop();
}

#[tokio::test]
async fn http_sse_streams_ticks() {
    let ex = Running::start("http_sse", "http", &[]);
    let page = http_exchange(
        ex.addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(page.contains("new EventSource('/events')"), "{page}");
    let mut c = LineClient::connect(ex.addr).await;
    c.send(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .await;
    assert_eq!(c.line().await, "HTTP/1.1 200 OK\r\n");
    let mut saw_type = false;
    loop {
        let line = c.line().await;
        saw_type |= line == "Content-Type: text/event-stream\r\n";
        if line == "event: tick\n" {
            break;
        }
    }
    assert!(saw_type);
    assert_eq!(c.line().await, "id: 1\n");
    assert!(c.line().await.starts_with("data: unix time "));
    drop(c);
    ex.stop();
}

#[tokio::test]
async fn websocket_chat_page_and_broadcast() {
    let ex = Running::start("websocket_chat", "websocket", &[]);
    // The page, from the same port.
    let mut page = LineClient::connect(ex.addr).await;
    page.send(b"GET /?name=x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await;
    let html = String::from_utf8(page.read_to_end().await).unwrap();
    assert!(html.starts_with("HTTP/1.1 200 OK\r\n"), "{html}");
    assert!(html.contains("new WebSocket("));

    // Two members: the second's message reaches both.
    async fn join(addr: SocketAddr, name: &str) -> LineClient {
        let mut c = LineClient::connect(addr).await;
        c.send(
            format!(
                "GET /ws?name={name} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
                 Upgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(c.reader.read_u8().await.unwrap());
        }
        assert!(head.starts_with(b"HTTP/1.1 101 "));
        c
    }
    async fn text(c: &mut LineClient) -> String {
        let mut h = [0u8; 2];
        tokio::time::timeout(WAIT, c.reader.read_exact(&mut h))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(h[0], 0x81, "an uncompressed text frame");
        let mut body = vec![0u8; usize::from(h[1])];
        c.reader.read_exact(&mut body).await.unwrap();
        String::from_utf8(body).unwrap()
    }
    let mut ann = join(ex.addr, "ann").await;
    assert_eq!(text(&mut ann).await, "* ann joined");
    let mut bob = join(ex.addr, "bob").await;
    assert_eq!(text(&mut ann).await, "* bob joined");
    assert_eq!(text(&mut bob).await, "* bob joined");
    let key = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | 2];
    frame.extend_from_slice(&key);
    frame.extend(b"hi".iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    bob.send(&frame).await;
    assert_eq!(text(&mut ann).await, "bob: hi");
    assert_eq!(text(&mut bob).await, "bob: hi");
    drop(bob);
    assert_eq!(text(&mut ann).await, "* bob left");
    // A page from another origin may not join.
    let mut evil = LineClient::connect(ex.addr).await;
    evil.send(
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\n\
          Upgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await;
    assert!(evil.read_to_end().await.starts_with(b"HTTP/1.1 403 "));
    drop(ann);
    ex.stop();
}

#[tokio::test]
async fn push_from_outside() {
    let push_port = free_port();
    let ex = Running::start(
        "push_from_outside",
        "websocket",
        &[("PUSH_ADDR", format!("text://127.0.0.1:{push_port}"))],
    );
    let push: SocketAddr = format!("127.0.0.1:{push_port}").parse().unwrap();
    // The push port opens in on_worker_start, just after the websocket one.
    let deadline = Instant::now() + WAIT;
    while std::net::TcpStream::connect(push).is_err() {
        assert!(Instant::now() < deadline, "push port never opened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A real WebSocket client identifies itself as u1.
    let (mut ws, _) = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::client_async(
            format!("ws://{}/", ex.addr),
            tokio::net::TcpStream::connect(ex.addr).await.unwrap(),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    use futures::{SinkExt, StreamExt};
    ws.send(tokio_tungstenite::tungstenite::Message::text("u1"))
        .await
        .unwrap();
    // Another program pushes: to a user that is not there, then to u1
    // (retrying until the id has been registered).
    let mut pusher = LineClient::connect(push).await;
    pusher.send(b"{\"uid\":\"nobody\",\"msg\":\"x\"}\n").await;
    assert_eq!(pusher.line().await, "fail\n");
    loop {
        pusher
            .send(b"{\"uid\":\"u1\",\"msg\":\"hello u1\"}\n")
            .await;
        if pusher.line().await == "ok\n" {
            break;
        }
        assert!(Instant::now() < deadline, "u1 never registered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got.into_text().unwrap().as_str(), "hello u1");
    pusher.send(b"not json\n").await;
    assert!(pusher.line().await.starts_with("fail"));
    drop(ws);
    ex.stop();
}

/// Starts a TLS example with its self-signed certificate written to a
/// folder of this test's own (`CERT_DIR`, named by `test`); returns it and
/// the folder.
fn start_with_certs(name: &str, scheme: &str, test: &str) -> (Running, PathBuf) {
    let certs = std::env::temp_dir().join(format!("wm-certs-{}-{test}", std::process::id()));
    let ex = Running::start(name, scheme, &[("CERT_DIR", certs.display().to_string())]);
    (ex, certs)
}

/// HTTPS with a TLS client nobody here wrote (rustls), the certificate
/// checked against the one the example wrote at start.
#[tokio::test]
async fn https_hello() {
    let (ex, certs) = start_with_certs("https_hello", "http", "https_hello");
    let reply = tls_exchange(
        ex.addr,
        &certs.join("cert.pem"),
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        None,
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert!(reply.ends_with("\r\n\r\nHello over TLS"), "{reply}");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = http_exchange(ex.addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(!plain.starts_with("HTTP/"), "{plain:?}");
    ex.stop();
    let _ = std::fs::remove_dir_all(&certs);
}

/// Connects with rustls trusting `ca`, writes `request`, and reads until
/// the server closes, or (with `until`) until the reply ends with it.
async fn tls_exchange(
    addr: SocketAddr,
    ca: &std::path::Path,
    request: &[u8],
    until: Option<&str>,
) -> String {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = tokio::time::timeout(WAIT, common::rustls_client(ca).connect(name, tcp))
        .await
        .expect("handshake in time")
        .expect("certificate accepted");
    tls.write_all(request).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(WAIT, tls.read(&mut buf))
            .await
            .expect("reply in time")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if until.is_some_and(|u| got.ends_with(u.as_bytes())) {
            break;
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
#[cfg_attr(
    not(feature = "interop"),
    ignore = "needs curl: `cargo test --features interop` after .ci/install-tools.sh"
)]
fn https_hello_with_curl() {
    let (ex, certs) = start_with_certs("https_hello", "http", "https_hello_with_curl");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(certs.join("cert.pem"))
        .arg(format!("https://127.0.0.1:{}/", ex.addr.port()))
        .output()
        .expect("curl is installed (run `bash .ci/install-tools.sh`)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello over TLS");
    // Plain HTTP on the TLS port is refused.
    let plain = Command::new("curl")
        .args(["-sS", "--max-time", "5"])
        .arg(format!("http://127.0.0.1:{}/", ex.addr.port()))
        .output()
        .unwrap();
    assert!(!plain.status.success());
    ex.stop();
    let _ = std::fs::remove_dir_all(&certs);
}

/// Reads from `c` until the server closes, returning what it said.
async fn said_before_close(c: &mut LineClient) -> String {
    String::from_utf8_lossy(&c.read_to_end().await).into_owned()
}

#[tokio::test]
async fn heartbeat_closes_silent_connections_only() {
    let ex = Running::start("heartbeat", "text", &[("HEARTBEAT_SECS", "1".into())]);
    let mut silent = LineClient::connect(ex.addr).await;
    let mut talker = LineClient::connect(ex.addr).await;
    // The talker speaks every 200 ms for three silences' worth of time;
    // the silent client is closed meanwhile.
    for i in 0..15 {
        talker.send(b"ping\n").await;
        assert_eq!(talker.line().await, "pong\n", "ping {i}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    talker.send(b"still here\n").await;
    assert_eq!(talker.line().await, "still here\n");
    assert_eq!(said_before_close(&mut silent).await, "heartbeat timeout\n");
    // Once the talker falls silent, it goes too.
    assert_eq!(said_before_close(&mut talker).await, "heartbeat timeout\n");
    ex.stop();
}

#[test]
fn heartbeat_refuses_a_bad_setting() {
    let port = free_port();
    let out = Command::new(example_path("heartbeat"))
        .arg("start")
        .env("WORKERMAN_ADDR", format!("text://127.0.0.1:{port}"))
        .env("HEARTBEAT_SECS", "soon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HEARTBEAT_SECS"), "{err}");
}

#[tokio::test]
async fn auth_timeout_closes_who_does_not_authenticate() {
    let ex = Running::start(
        "auth_timeout",
        "text",
        &[
            ("AUTH_TIMEOUT_SECS", "1".into()),
            ("AUTH_TOKEN", "t0ken".into()),
        ],
    );
    let mut anonymous = LineClient::connect(ex.addr).await;
    let mut wrong = LineClient::connect(ex.addr).await;
    let mut good = LineClient::connect(ex.addr).await;
    anonymous.send(b"hello\n").await;
    assert_eq!(anonymous.line().await, "auth required\n");
    wrong.send(b"auth nope\n").await;
    assert_eq!(wrong.line().await, "auth failed\n");
    good.send(b"auth t0ken\n").await;
    assert_eq!(good.line().await, "welcome\n");
    // Past the deadline: the two others are told and closed.
    assert_eq!(said_before_close(&mut anonymous).await, "auth timeout\n");
    assert_eq!(said_before_close(&mut wrong).await, "auth timeout\n");
    // The authenticated client stays and is served.
    tokio::time::sleep(Duration::from_millis(500)).await;
    good.send(b"echo me\n").await;
    assert_eq!(good.line().await, "echo me\n");
    ex.stop();
}

/// A text echo server nobody here wrote (plain tokio), on `port`, that
/// answers `n:<line>` where n counts its lives.
async fn plain_echo(port: u16, life: u32) -> tokio::task::JoinHandle<()> {
    let listener = loop {
        // The port of the previous life may take a moment to free.
        match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => break l,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => panic!("bind: {e}"),
        }
    };
    tokio::spawn(async move {
        let mut tasks = tokio::task::JoinSet::new();
        while let Ok((s, _)) = listener.accept().await {
            tasks.spawn(async move {
                let (r, mut w) = s.into_split();
                let mut lines = tokio::io::BufReader::new(r);
                let mut line = String::new();
                while tokio::io::AsyncBufReadExt::read_line(&mut lines, &mut line)
                    .await
                    .is_ok_and(|n| n > 0)
                {
                    let answer = format!("{life}:{line}");
                    if w.write_all(answer.as_bytes()).await.is_err() {
                        break;
                    }
                    line.clear();
                }
            });
        }
    })
}

/// Sends `line` on the console until `want` comes back (the client may be
/// between connections), within WAIT.
async fn console_until(console: &mut LineClient, line: &str, want: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        console.send(format!("{line}\n").as_bytes()).await;
        let until = tokio::time::Instant::now() + Duration::from_millis(300);
        while let Ok(got) = tokio::time::timeout_at(until, console.line()).await {
            if got == want {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{want:?} never came back");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_client_reconnects_after_the_server_restarts() {
    let server_port = free_port();
    let first = plain_echo(server_port, 1).await;
    let ex = Running::start(
        "tcp_client",
        "text",
        &[("SERVER_URL", format!("text://127.0.0.1:{server_port}"))],
    );
    let mut console = LineClient::connect(ex.addr).await;
    console_until(&mut console, "one", "reply: 1:one\n").await;
    // The server goes away (its connections with it) and comes back.
    first.abort();
    let _ = first.await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = plain_echo(server_port, 2).await;
    console_until(&mut console, "two", "reply: 2:two\n").await;
    // And it goes on working.
    console_until(&mut console, "three", "reply: 2:three\n").await;
    second.abort();
    drop(console);
    ex.stop();
}

#[tokio::test]
async fn text_echo_tls() {
    let (ex, certs) = start_with_certs("text_echo_tls", "text", "text_echo_tls");
    let reply = tls_exchange(
        ex.addr,
        &certs.join("cert.pem"),
        b"over tls\r\nsecond\n",
        Some("second\n"),
    )
    .await;
    assert_eq!(reply, "over tls\nsecond\n");
    // `connections` names the transport of a connection that is open.
    let tcp = tokio::net::TcpStream::connect(ex.addr).await.unwrap();
    let mine = tcp.local_addr().unwrap().to_string();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = common::rustls_client(&certs.join("cert.pem"))
        .connect(name, tcp)
        .await
        .unwrap();
    tls.write_all(b"hi\n").await.unwrap();
    let mut hi = [0u8; 3];
    tokio::time::timeout(WAIT, tls.read_exact(&mut hi))
        .await
        .unwrap()
        .unwrap();
    let rows = connections_json(&ex.dir, "text_echo_tls");
    let row = rows
        .iter()
        .find(|r| r["remote"] == mine.as_str())
        .unwrap_or_else(|| panic!("no row for {mine}: {rows:?}"));
    assert_eq!(row["transport"], "tls", "{row}");
    assert_eq!(row["protocol"], "text", "{row}");
    drop(tls);
    // Plain text on the TLS port is not echoed.
    let mut plain = LineClient::connect(ex.addr).await;
    plain.send(b"plain\n").await;
    assert!(!said_before_close(&mut plain).await.contains("plain"));
    ex.stop();
    let _ = std::fs::remove_dir_all(&certs);
}

/// `connections` names a Unix socket connection's transport `unix`.
#[test]
fn connections_name_unix_sockets() {
    let port = free_port(); // only names the example's directory
    let sock_dir = std::env::temp_dir().join(format!("wm-unix-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&sock_dir).unwrap();
    let path = sock_dir.join("echo.sock");
    let unused: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let ex = Running::launch(
        "text_echo",
        &format!("text://{}", path.display()),
        unused,
        &[],
    );
    let deadline = Instant::now() + WAIT;
    let mut s = loop {
        match std::os::unix::net::UnixStream::connect(&path) {
            Ok(s) => break s,
            Err(e) => {
                assert!(Instant::now() < deadline, "never listened: {e}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    s.set_read_timeout(Some(WAIT)).unwrap();
    std::io::Write::write_all(&mut s, b"unix\n").unwrap();
    let mut back = [0u8; 5];
    std::io::Read::read_exact(&mut s, &mut back).unwrap();
    assert_eq!(&back, b"unix\n");
    let rows = connections_json(&ex.dir, "text_echo");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["transport"], "unix");
    drop(s);
    ex.stop();
    let _ = std::fs::remove_dir_all(&sock_dir);
}

/// The default address in each example's code is the one the README's
/// table gives (the addresses are an interface).
#[test]
fn readme_addresses_match_the_examples() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut checked = 0;
    for row in readme.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`');
        let source = root.join("examples").join(format!("{name}.rs"));
        let Ok(code) = std::fs::read_to_string(&source) else {
            continue; // a row of another table
        };
        // Every address in the cell (odd pieces between backticks) is a
        // string literal of the code: its default.
        for addr in cells[2]
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|a| a.contains("://"))
        {
            assert!(
                code.contains(&format!("\"{addr}\"")),
                "{name}: README says {addr}, the code's default differs"
            );
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} examples checked");
}

/// The benchmarked examples take their process count from
/// `WORKERMAN_COUNT`, and refuse a bad one.
#[test]
fn benchmarked_examples_read_workerman_count() {
    for (name, scheme) in [
        ("text_echo", "text"),
        ("frame_echo", "frame"),
        ("websocket_echo", "websocket"),
        ("http_hello", "http"),
    ] {
        let ex = Running::start(name, scheme, &[("WORKERMAN_COUNT", "2".into())]);
        let deadline = Instant::now() + WAIT;
        loop {
            let out = Command::new(ex.dir.join(name))
                .args(["status", "--json"])
                .output()
                .unwrap();
            let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            let processes = status["processes"].as_array().map_or(0, Vec::len);
            if processes == 2 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: {processes} processes, not 2"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        ex.stop();

        let out = Command::new(example_path(name))
            .arg("start")
            .env(
                "WORKERMAN_ADDR",
                format!("{scheme}://127.0.0.1:{}", free_port()),
            )
            .env("WORKERMAN_COUNT", "zero")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("WORKERMAN_COUNT"));
    }
}
