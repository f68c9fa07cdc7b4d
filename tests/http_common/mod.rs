//! Shared by the HTTP integration tests: a test application covering every
//! helper, and a raw HTTP/1.1 client that reads responses byte-exactly.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use workerman::http::{
    client_ip, ChunkedBody, EventStream, FileResponse, Http, HttpConfig, HttpSettings, Request,
    Response, ServerSentEvent, Sessions, StaticDir, TempUpload, TrustedProxies, Upload,
};
use workerman::prelude::*;

/// How long a test waits for anything before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// Short deadlines, so timeout tests run in well under a second.
pub struct Short;

impl HttpSettings for Short {
    fn config() -> HttpConfig {
        HttpConfig::default()
            .head_timeout(Duration::from_millis(300))
            .body_timeout(Duration::from_millis(300))
            .keep_alive_timeout(Some(Duration::from_millis(300)))
            .date_header(false)
    }
}

/// Default settings without the `Date` header (responses are comparable).
pub struct Plain;

impl HttpSettings for Plain {
    fn config() -> HttpConfig {
        HttpConfig::default().date_header(false)
    }
}

/// One service exercising every helper, routed by path.
pub struct App<S: HttpSettings> {
    pub files: PathBuf,
    pub static_dir: Option<StaticDir>,
    pub sessions: Sessions,
    pub proxies: TrustedProxies,
    pub _settings: PhantomData<fn() -> S>,
}

impl<S: HttpSettings> App<S> {
    pub fn new(files: PathBuf) -> Self {
        App {
            static_dir: StaticDir::new(&files).ok(),
            files,
            sessions: Sessions::memory(),
            proxies: TrustedProxies::loopback(),
            _settings: PhantomData,
        }
    }
}

#[async_trait]
impl<S: HttpSettings> Service for App<S> {
    type Protocol = Http<S>;

    async fn on_message(&self, conn: &Connection<Http<S>>, req: Request) {
        let path = req.path().to_owned();
        match path.as_str() {
            "/echo" => {
                let mut text = format!(
                    "{} {} {} q={} body={}",
                    req.method(),
                    req.uri(),
                    req.version(),
                    req.get("q").unwrap_or("-"),
                    req.body().len()
                );
                for (k, v) in req.form().iter() {
                    text.push_str(&format!(" {k}={v}"));
                }
                if let Some(t) = req.trailer("x-trailer") {
                    text.push_str(&format!(" trailer={}", String::from_utf8_lossy(t)));
                }
                let _ = conn.send(Response::text(text));
            }
            "/slow" => {
                let ms = req.get("ms").and_then(|v| v.parse().ok()).unwrap_or(100);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                let _ = conn.send(Response::text("slow"));
            }
            "/close" => conn.close(Some(Response::text("bye").into())),
            "/chunked" => {
                let Ok(body) = ChunkedBody::start(conn, Response::text("first,")).await else {
                    return;
                };
                for part in ["second,", "third"] {
                    if body.send(part).await.is_err() {
                        return;
                    }
                }
                let _ = body.finish().await;
            }
            "/chunked-later" => {
                // Ended from another task after on_message returned.
                let Ok(body) = ChunkedBody::start(conn, Response::text("")).await else {
                    return;
                };
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let _ = body.send("late").await;
                    let _ = body.finish().await;
                });
            }
            "/events" => {
                let Ok(events) = EventStream::start(conn).await else {
                    return;
                };
                for i in 1..=3 {
                    let e = ServerSentEvent::new(format!("event {i}")).id(i.to_string());
                    if events.send(e).await.is_err() {
                        return;
                    }
                }
                events.close();
            }
            "/session" => {
                let Ok(mut s) = self.sessions.load(&req).await else {
                    let _ = conn.send(Response::new(500));
                    return;
                };
                let n = s.get::<u64>("n").unwrap_or(0) + 1;
                s.set("n", n);
                if req.get("logout").is_some() {
                    s.destroy();
                }
                match self.sessions.save(s, Response::text(n.to_string())).await {
                    Ok(r) => drop(conn.send(r)),
                    Err(_) => drop(conn.send(Response::new(500))),
                }
            }
            "/ip" => {
                let ip = client_ip(conn, &req, &self.proxies)
                    .map_or("none".to_owned(), |ip| ip.to_string());
                let _ = conn.send(Response::text(ip));
            }
            "/upload" => {
                // Files of 1 KiB or more go to temporary files first.
                let spooled = match TempUpload::spool(&req, 1024, None).await {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = conn.send(Response::new(500).with_body(e.to_string()));
                        return;
                    }
                };
                let mut text = String::new();
                for u in &spooled {
                    let kind = match u {
                        Upload::Memory(_) => "memory",
                        Upload::File(t) if t.path().exists() => "file",
                        Upload::File(_) => "missing",
                    };
                    text.push_str(&format!("spooled {} {} {kind}\n", u.file_name(), u.size()));
                }
                drop(spooled);
                for f in req.files() {
                    let tmp = match TempUpload::create(f, None).await {
                        Ok(t) => t,
                        Err(e) => {
                            let _ = conn.send(Response::new(500).with_body(e.to_string()));
                            return;
                        }
                    };
                    let on_disk = tokio::fs::read(tmp.path()).await.unwrap_or_default();
                    text.push_str(&format!(
                        "{} {} {} {} {} {}\n",
                        f.field_name(),
                        f.file_name(),
                        f.content_type(),
                        f.size(),
                        checksum(f.data()),
                        tmp.path().display()
                    ));
                    assert_eq!(&on_disk[..], &f.data()[..]);
                }
                for (k, v) in req.form().iter() {
                    text.push_str(&format!("field {k}={v}\n"));
                }
                let _ = conn.send(Response::text(text));
            }
            p if p.starts_with("/file/") => {
                let file = self.files.join(&p["/file/".len()..]);
                let _ = FileResponse::new(file).send(conn, &req).await;
            }
            p if p.starts_with("/static/") || p == "/static" => {
                let Some(dir) = &self.static_dir else {
                    let _ = conn.send(Response::new(500));
                    return;
                };
                // Serve below /static: strip the prefix from the target.
                let rest = &req.uri()["/static".len()..];
                let inner = Request::parse(
                    format!(
                        "{} {} HTTP/1.1\r\nHost: x\r\n\r\n",
                        req.method(),
                        if rest.is_empty() { "/" } else { rest }
                    )
                    .as_bytes(),
                );
                match inner {
                    Ok(inner) => drop(dir.serve(conn, &inner).await),
                    Err(_) => drop(conn.send(Response::new(404))),
                }
            }
            _ => {
                let _ = conn.send(Response::new(404).with_body("not found"));
            }
        }
    }
}

/// A simple content checksum (FNV-1a), to compare large bodies.
pub fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// A parsed response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A raw HTTP/1.1 client over one TCP connection.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect failed");
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Sends, ignoring a failure (the server may already have closed).
    pub async fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    async fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 16 * 1024];
        let n = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
            .await
            .expect("timed out reading")
            .unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    /// Reads one response (`head_only`: the answer to HEAD).
    pub async fn read(&mut self, head_only: bool) -> Reply {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            assert!(
                self.fill().await > 0,
                "closed before a response: {:?}",
                self.text()
            );
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).unwrap();
        self.buf.drain(..head_end);
        let status: u16 = head[9..12].parse().unwrap();
        let mut reply = Reply {
            status,
            head,
            body: Vec::new(),
        };
        if head_only || status == 304 || status == 204 || status < 200 {
            return reply;
        }
        if let Some(len) = reply.header("content-length") {
            let len: usize = len.parse().unwrap();
            while self.buf.len() < len {
                assert!(self.fill().await > 0, "closed inside a body");
            }
            reply.body = self.buf.drain(..len).collect();
        } else if reply
            .header("transfer-encoding")
            .is_some_and(|v| v.contains("chunked"))
        {
            loop {
                let line_end = loop {
                    if let Some(i) = find(&self.buf, b"\r\n") {
                        break i;
                    }
                    assert!(self.fill().await > 0, "closed inside a chunk");
                };
                let size = usize::from_str_radix(
                    std::str::from_utf8(&self.buf[..line_end]).unwrap().trim(),
                    16,
                )
                .unwrap();
                self.buf.drain(..line_end + 2);
                while self.buf.len() < size + 2 {
                    assert!(self.fill().await > 0, "closed inside a chunk");
                }
                reply.body.extend(self.buf.drain(..size));
                self.buf.drain(..2);
                if size == 0 {
                    break;
                }
            }
        } else {
            while self.fill().await > 0 {}
            reply.body = std::mem::take(&mut self.buf);
        }
        reply
    }

    /// Reads until the server closes; returns what came.
    pub async fn read_to_end(&mut self) -> Vec<u8> {
        while self.fill().await > 0 {}
        std::mem::take(&mut self.buf)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A fresh temporary folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "wm-http-{tag}-{}-{:x}",
            std::process::id(),
            rand_u64()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish()
}
