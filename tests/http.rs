//! `http://` over real sockets: keep-alive, pipelining, bad input answered
//! and closed, deadlines, streams, files, static folders, sessions, client
//! addresses, uploads.

mod http_common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_common::{checksum, App, Client, Plain, Short, TempDir, WAIT};
use workerman::http::{FileStore, Http, HttpSettings, SessionStore, Sessions, TrustedProxies};
use workerman::prelude::*;

fn addr(h: &ServerHandle) -> SocketAddr {
    h.local_addr().as_inet().expect("an inet address")
}

fn start<S: HttpSettings>(app: App<S>) -> ServerHandle {
    Worker::new("http://127.0.0.1:0", app)
        .max_package_size(1024 * 1024)
        .max_send_buffer_size(64 * 1024)
        .spawn()
        .expect("server starts")
}

fn app<S: HttpSettings>(dir: &TempDir) -> App<S> {
    App::new(dir.0.clone())
}

#[tokio::test]
async fn keep_alive_and_pipelined_requests_in_order() {
    let dir = TempDir::new("pipe");
    let server = start(app::<Plain>(&dir));
    let mut c = Client::connect(addr(&server)).await;
    // One at a time on one connection.
    for i in 0..3 {
        c.send(format!("GET /echo?q={i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .await;
        let r = c.read(false).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), format!("GET /echo?q={i} HTTP/1.1 q={i} body=0"));
        assert_eq!(r.header("connection"), Some("keep-alive"));
    }
    // Fifty pipelined in one write, mixed with bodies: answered in order.
    let mut wire = Vec::new();
    for i in 0..50 {
        if i % 2 == 0 {
            wire.extend_from_slice(
                format!("GET /echo?q={i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
            );
        } else {
            wire.extend_from_slice(
                format!(
                    "POST /echo?q={i} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\
                     Content-Type: application/x-www-form-urlencoded\r\n\r\n3\r\na=1\r\n0\r\n\r\n"
                )
                .as_bytes(),
            );
        }
    }
    c.send(&wire).await;
    for i in 0..50 {
        let r = c.read(false).await;
        let want = if i % 2 == 0 {
            format!("GET /echo?q={i} HTTP/1.1 q={i} body=0")
        } else {
            format!("POST /echo?q={i} HTTP/1.1 q={i} body=3 a=1")
        };
        assert_eq!(r.text(), want);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn connection_close_and_http10() {
    let dir = TempDir::new("close");
    let server = start(app::<Plain>(&dir));
    // Connection: close: the answer says so and the server closes; the
    // request pipelined after it is not answered.
    let mut c = Client::connect(addr(&server)).await;
    c.send(
        b"GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /echo HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .await;
    let r = c.read(false).await;
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(c.read_to_end().await, b"");
    // HTTP/1.0 closes unless it asks for keep-alive.
    let mut c = Client::connect(addr(&server)).await;
    c.send(b"GET /echo HTTP/1.0\r\n\r\n").await;
    assert_eq!(c.read(false).await.header("connection"), Some("close"));
    assert_eq!(c.read_to_end().await, b"");
    let mut c = Client::connect(addr(&server)).await;
    c.send(b"GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .await;
    assert_eq!(c.read(false).await.header("connection"), Some("keep-alive"));
    c.send(b"GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .await;
    assert_eq!(c.read(false).await.status, 200);
    // The handler closing with a last response.
    let mut c = Client::connect(addr(&server)).await;
    c.send(b"GET /close HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(c.read(false).await.text(), "bye");
    assert_eq!(c.read_to_end().await, b"");
    server.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_answered_and_closed() {
    let dir = TempDir::new("bad");
    let server = start(app::<Plain>(&dir));
    let big_header = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"GET /\r\n\r\n".to_vec(), "400"),
        (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n".to_vec(), "400"),
        (b"GET / HTTP/1.1\r\n\r\n".to_vec(), "400"),
        (big_header.into_bytes(), "431"),
        (
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec(),
            "400",
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"
                .to_vec(),
            "400",
        ),
        (b"TRACE / HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), "501"),
        (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n".to_vec(), "505"),
    ];
    for (wire, status) in cases {
        let mut c = Client::connect(addr(&server)).await;
        // The server may answer and close before a large request is all
        // written; that is fine.
        let _ = c.try_send(&wire).await;
        let got = String::from_utf8_lossy(&c.read_to_end().await).into_owned();
        assert!(
            got.starts_with(&format!("HTTP/1.1 {status} ")),
            "{:?} -> {got:?}",
            String::from_utf8_lossy(&wire[..wire.len().min(60)])
        );
        assert!(got.contains("Connection: close\r\n"));
    }
    // 413 from the head alone: the 2 MB body is never sent, yet the answer
    // comes at once.
    let mut c = Client::connect(addr(&server)).await;
    c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n")
        .await;
    let t = Instant::now();
    let got = String::from_utf8_lossy(&c.read_to_end().await).into_owned();
    assert!(
        got.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{got}"
    );
    assert!(t.elapsed() < Duration::from_secs(2));
    // The worker goes on serving.
    let mut c = Client::connect(addr(&server)).await;
    c.send(b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(c.read(false).await.status, 200);
    assert!(server.stats().protocol_errors >= 9);
    server.shutdown().await;
}

#[tokio::test]
async fn slowloris_and_idle_connections_time_out() {
    let dir = TempDir::new("slow");
    let server = start(app::<Short>(&dir));
    // A head trickling in: 408 once 300 ms have passed since its first
    // byte, even though bytes keep coming.
    let mut c = Client::connect(addr(&server)).await;
    let t = Instant::now();
    c.send(b"GET / HTTP/1.1\r\n").await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if c.try_send(b"X-Slow: 1\r\n").await.is_err() {
            break;
        }
    }
    let got = String::from_utf8_lossy(&c.read_to_end().await).into_owned();
    assert!(got.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{got}");
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert!(t.elapsed() < Duration::from_secs(3));
    // A stalled body: 408 too.
    let mut c = Client::connect(addr(&server)).await;
    c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        .await;
    let got = String::from_utf8_lossy(&c.read_to_end().await).into_owned();
    assert!(got.starts_with("HTTP/1.1 408 "), "{got}");
    // An idle keep-alive connection is closed without an answer.
    let mut c = Client::connect(addr(&server)).await;
    c.send(b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(c.read(false).await.status, 200);
    let t = Instant::now();
    assert_eq!(c.read_to_end().await, b"");
    assert!(t.elapsed() >= Duration::from_millis(250));
    // No deadline while the handler works on a response.
    let mut c = Client::connect(addr(&server)).await;
    c.send(b"GET /slow?ms=700 HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    assert_eq!(c.read(false).await.text(), "slow");
    server.shutdown().await;
}

#[tokio::test]
async fn expect_100_continue_over_a_socket() {
    let dir = TempDir::new("expect");
    let server = start(app::<Plain>(&dir));
    let mut c = Client::connect(addr(&server)).await;
    c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        .await;
    let cont = c.read(true).await;
    assert_eq!(cont.status, 100);
    c.send(b"body").await;
    assert_eq!(
        c.read(false).await.text(),
        "POST /echo HTTP/1.1 q=- body=4 body="
    );
    server.shutdown().await;
}

#[tokio::test]
async fn chunked_and_event_streams() {
    let dir = TempDir::new("streams");
    let server = start(app::<Plain>(&dir));
    let mut c = Client::connect(addr(&server)).await;
    c.send(b"GET /chunked HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let r = c.read(false).await;
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.text(), "first,second,third");
    // A stream ended by another task, with a request pipelined behind it:
    // the second answer comes after the stream, without more bytes from us.
    c.send(b"GET /chunked-later HTTP/1.1\r\nHost: t\r\n\r\nGET /echo?q=after HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    assert_eq!(c.read(false).await.text(), "late");
    assert_eq!(
        c.read(false).await.text(),
        "GET /echo?q=after HTTP/1.1 q=after body=0"
    );
    // HTTP/1.0: no chunked coding, the body ends with the connection.
    let mut c = Client::connect(addr(&server)).await;
    c.send(b"GET /chunked HTTP/1.0\r\n\r\n").await;
    let r = c.read(false).await;
    assert!(r.header("transfer-encoding").is_none());
    assert_eq!(r.text(), "first,second,third");
    // Server-Sent Events.
    let mut c = Client::connect(addr(&server)).await;
    c.send(b"GET /events HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n")
        .await;
    let r = c.read(false).await;
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        r.text(),
        "id: 1\ndata: event 1\n\nid: 2\ndata: event 2\n\nid: 3\ndata: event 3\n\n"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn file_responses() {
    let dir = TempDir::new("files");
    std::fs::write(dir.0.join("small.txt"), b"0123456789").unwrap();
    let big: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.0.join("big.bin"), &big).unwrap();
    let server = start(app::<Plain>(&dir));
    let mut c = Client::connect(addr(&server)).await;

    c.send(b"GET /file/small.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    let r = c.read(false).await;
    assert_eq!((r.status, r.text().as_str()), (200, "0123456789"));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    let modified = r.header("last-modified").unwrap().to_owned();
    let etag = r.header("etag").unwrap().to_owned();

    c.send(
        format!("GET /file/small.txt HTTP/1.1\r\nHost: t\r\nIf-Modified-Since: {modified}\r\n\r\n")
            .as_bytes(),
    )
    .await;
    assert_eq!(c.read(false).await.status, 304);
    c.send(
        format!("GET /file/small.txt HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}\r\n\r\n")
            .as_bytes(),
    )
    .await;
    assert_eq!(c.read(false).await.status, 304);

    c.send(b"GET /file/small.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=2-5\r\n\r\n")
        .await;
    let r = c.read(false).await;
    assert_eq!((r.status, r.text().as_str()), (206, "2345"));
    assert_eq!(r.header("content-range"), Some("bytes 2-5/10"));
    c.send(b"GET /file/small.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=-3\r\n\r\n")
        .await;
    assert_eq!(c.read(false).await.text(), "789");
    c.send(b"GET /file/small.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=50-\r\n\r\n")
        .await;
    let r = c.read(false).await;
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */10"));

    c.send(b"HEAD /file/small.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    let r = c.read(true).await;
    assert_eq!(r.header("content-length"), Some("10"));

    c.send(b"GET /file/missing.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    let r = c.read(false).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (404, "<h3>404 Not Found</h3>")
    );

    // 5 MB through a 64 KiB send buffer: streamed, intact, no refusal.
    c.send(b"GET /file/big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    let r = c.read(false).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("5000000"));
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(r.body.len(), big.len());
    assert_eq!(checksum(&r.body), checksum(&big));
    // A large range of it, streamed too.
    c.send(b"GET /file/big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=1000000-3999999\r\n\r\n")
        .await;
    let r = c.read(false).await;
    assert_eq!(r.status, 206);
    assert_eq!(checksum(&r.body), checksum(&big[1_000_000..4_000_000]));
    // The connection is still good.
    c.send(b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(c.read(false).await.status, 200);
    assert_eq!(server.stats().send_fail, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn static_folder_cannot_be_left() {
    let outside = TempDir::new("outside");
    std::fs::write(outside.0.join("secret.txt"), b"secret").unwrap();
    let dir = TempDir::new("static");
    std::fs::write(dir.0.join("index.html"), b"<h1>home</h1>").unwrap();
    std::fs::create_dir(dir.0.join("sub")).unwrap();
    std::fs::write(dir.0.join("sub/index.html"), b"sub home").unwrap();
    std::fs::write(dir.0.join(".env"), b"PASSWORD=x").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.0.join("secret.txt"), dir.0.join("link.txt")).unwrap();
    let server = start(app::<Plain>(&dir));
    let mut c = Client::connect(addr(&server)).await;
    for (path, status, body) in [
        ("/static/", 200, Some("<h1>home</h1>")),
        ("/static/index.html", 200, Some("<h1>home</h1>")),
        ("/static/sub/", 200, Some("sub home")),
        ("/static/sub", 301, None),
        ("/static/../secret.txt", 404, None),
        ("/static/%2e%2e/secret.txt", 404, None),
        ("/static/sub/%2e%2e/%2e%2e/secret.txt", 404, None),
        ("/static/sub%2f..%2f..%2fsecret.txt", 404, None),
        ("/static/..%5csecret.txt", 404, None),
        ("/static/%00", 404, None),
        ("/static/.env", 404, None),
        ("/static/link.txt", 404, None),
        ("/static/nope.html", 404, None),
    ] {
        c.send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .await;
        let r = c.read(false).await;
        assert_eq!(r.status, status, "{path}: {}", r.text());
        if let Some(b) = body {
            assert_eq!(r.text(), b, "{path}");
        }
        assert!(!r.text().contains("secret") && !r.text().contains("PASSWORD"));
    }
    c.send(b"DELETE /static/index.html HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    let r = c.read(false).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    server.shutdown().await;
}

#[tokio::test]
async fn sessions_keep_a_counter_and_never_adopt_unknown_ids() {
    let dir = TempDir::new("sess");
    let mut app = app::<Plain>(&dir);
    let store_dir = TempDir::new("sess-store");
    app.sessions = Sessions::new(FileStore::new(&store_dir.0).unwrap());
    let server = start(app);
    let mut c = Client::connect(addr(&server)).await;

    c.send(b"GET /session HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let r = c.read(false).await;
    assert_eq!(r.text(), "1");
    let set = r
        .header("set-cookie")
        .expect("a new session sets its cookie")
        .to_owned();
    assert!(set.starts_with("PHPSID="), "{set}");
    assert!(set.contains("; Path=/") && set.contains("; HttpOnly") && set.contains("SameSite=Lax"));
    let id = set["PHPSID=".len()..set.find(';').unwrap()].to_owned();
    assert_eq!(id.len(), 32);
    assert!(store_dir.0.join(format!("session_{id}")).exists());

    for n in 2..=4 {
        c.send(
            format!("GET /session HTTP/1.1\r\nHost: t\r\nCookie: a=b; PHPSID={id}\r\n\r\n")
                .as_bytes(),
        )
        .await;
        let r = c.read(false).await;
        assert_eq!(r.text(), n.to_string());
        assert!(r.header("set-cookie").is_none(), "the cookie is set once");
    }
    // An id the store does not know is replaced (no session fixation).
    c.send(b"GET /session HTTP/1.1\r\nHost: t\r\nCookie: PHPSID=attackerchosenid0000000000000000\r\n\r\n")
        .await;
    let r = c.read(false).await;
    assert_eq!(r.text(), "1");
    assert!(!r.header("set-cookie").unwrap().contains("attackerchosenid"));
    // Logout: the data goes, the browser is told to drop the cookie.
    c.send(
        format!("GET /session?logout HTTP/1.1\r\nHost: t\r\nCookie: PHPSID={id}\r\n\r\n")
            .as_bytes(),
    )
    .await;
    let r = c.read(false).await;
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert!(!store_dir.0.join(format!("session_{id}")).exists());
    server.shutdown().await;
}

#[tokio::test]
async fn session_stores_expire_and_collect() {
    let dir = TempDir::new("stores");
    let file = FileStore::new(&dir.0).unwrap();
    let memory = workerman::http::MemoryStore::new();
    let stores: [&dyn SessionStore; 2] = [&file, &memory];
    for store in stores {
        store
            .write("abc", b"{\"n\":1}", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            store
                .read("abc", Duration::from_secs(60))
                .await
                .unwrap()
                .as_deref(),
            Some(&b"{\"n\":1}"[..])
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(
            store.read("abc", Duration::from_millis(500)).await.unwrap(),
            None
        );
        store.touch("abc", Duration::from_secs(60)).await.unwrap();
        assert!(store
            .read("abc", Duration::from_millis(500))
            .await
            .unwrap()
            .is_some());
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(store.gc(Duration::from_millis(500)).await.unwrap(), 1);
        assert_eq!(
            store.read("abc", Duration::from_secs(60)).await.unwrap(),
            None
        );
        store.destroy("abc").await.unwrap();
    }
}

#[tokio::test]
async fn client_ip_only_from_trusted_proxies() {
    let dir = TempDir::new("ip");
    let server = start(app::<Plain>(&dir));
    let mut c = Client::connect(addr(&server)).await;
    c.send(b"GET /ip HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 203.0.113.9, 127.0.0.1\r\n\r\n")
        .await;
    assert_eq!(c.read(false).await.text(), "203.0.113.9");
    c.send(b"GET /ip HTTP/1.1\r\nHost: t\r\nX-Real-IP: 198.51.100.4\r\n\r\n")
        .await;
    assert_eq!(c.read(false).await.text(), "198.51.100.4");
    c.send(b"GET /ip HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(c.read(false).await.text(), "127.0.0.1");
    server.shutdown().await;

    let mut untrusting = app::<Plain>(&dir);
    untrusting.proxies = TrustedProxies::none();
    let server = start(untrusting);
    let mut c = Client::connect(addr(&server)).await;
    c.send(b"GET /ip HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 203.0.113.9\r\nX-Real-IP: 1.2.3.4\r\n\r\n")
        .await;
    assert_eq!(c.read(false).await.text(), "127.0.0.1");
    server.shutdown().await;
}

#[tokio::test]
async fn multipart_uploads_and_temp_files() {
    let dir = TempDir::new("upload");
    let server = start(app::<Plain>(&dir));
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let mut body = Vec::new();
    body.extend_from_slice(
        b"--b0und\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhi there\r\n",
    );
    body.extend_from_slice(
        b"--b0und\r\nContent-Disposition: form-data; name=\"f\"; filename=\"data.bin\"\r\n\
          Content-Type: application/octet-stream\r\n\r\n",
    );
    body.extend_from_slice(&data);
    body.extend_from_slice(
        b"\r\n--b0und\r\nContent-Disposition: form-data; name=\"s\"; filename=\"small.txt\"\r\n\r\ntiny\r\n--b0und--\r\n",
    );
    let mut wire = format!(
        "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b0und\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    wire.extend_from_slice(&body);
    let mut c = Client::connect(addr(&server)).await;
    c.send(&wire).await;
    let r = c.read(false).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let mut lines = text.lines();
    // At 1 KiB and above: a temporary file; below: in memory.
    assert_eq!(lines.next(), Some("spooled data.bin 300000 file"));
    assert_eq!(lines.next(), Some("spooled small.txt 4 memory"));
    let file_line: Vec<&str> = lines.next().unwrap().split(' ').collect();
    assert_eq!(
        &file_line[..4],
        ["f", "data.bin", "application/octet-stream", "300000"]
    );
    assert_eq!(file_line[4], checksum(&data).to_string());
    // The temporary file is gone once the handler dropped it.
    assert!(!std::path::Path::new(file_line[5]).exists());
    assert!(lines
        .next()
        .unwrap()
        .starts_with("s small.txt text/plain 4 "));
    assert_eq!(lines.next(), Some("field title=hi there"));
    server.shutdown().await;
}

#[tokio::test]
async fn handler_panics_close_only_that_connection() {
    struct Panicky;
    #[async_trait]
    impl Service for Panicky {
        type Protocol = Http;
        async fn on_message(&self, conn: &Connection<Http>, req: workerman::http::Request) {
            if req.path() == "/panic" {
                panic!("boom");
            }
            let _ = conn.send("ok");
        }
    }
    let server = Worker::new("http://127.0.0.1:0", Panicky).spawn().unwrap();
    let mut a = Client::connect(addr(&server)).await;
    let mut b = Client::connect(addr(&server)).await;
    a.send(b"GET /panic HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(a.read_to_end().await, b"");
    b.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let r = b.read(false).await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    assert_eq!(r.header("content-type"), Some("text/html;charset=utf-8"));
    tokio::time::timeout(WAIT, server.shutdown()).await.unwrap();
}
