//! `http://` against clients nobody here wrote: curl, Python's `requests`,
//! and hyper's client. The server runs in-process on an ephemeral port.
//!
//! Compiled only with `--features interop` (see the README): curl, python3
//! and `requests` must be installed (`.ci/install-http.sh`); a missing one
//! fails the test with a message naming that script.

mod http_common;

use std::net::SocketAddr;
use std::process::Output;

use http_common::{checksum, App, Plain, TempDir};
use workerman::http::HttpSettings;
use workerman::prelude::*;

fn start<S: HttpSettings>(dir: &TempDir) -> (ServerHandle, SocketAddr) {
    let server = Worker::new("http://127.0.0.1:0", App::<S>::new(dir.0.clone()))
        .max_package_size(1024 * 1024)
        .spawn()
        .expect("server starts");
    let addr = server.local_addr().as_inet().expect("inet");
    (server, addr)
}

/// Fails the test, naming the install script, unless `program args...`
/// runs and exits 0.
async fn require(what: &str, program: &str, args: &[&str]) {
    let ok = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{what} is required by this test but is not available; install it with \
         `bash .ci/install-http.sh`"
    );
}

async fn curl(args: &[&str]) -> Output {
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .args(args)
        .output()
        .await
        .expect("curl runs");
    assert!(
        out.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn curl_interop() {
    require("curl", "curl", &["--version"]).await;
    let dir = TempDir::new("curl");
    std::fs::write(dir.0.join("small.txt"), b"0123456789").unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(dir.0.join("big.bin"), &big).unwrap();
    let upload: Vec<u8> = (0..200_000u32).map(|i| (i % 7) as u8 + b'a').collect();
    let upload_path = dir.0.join("upload.txt");
    std::fs::write(&upload_path, &upload).unwrap();
    let (server, addr) = start::<Plain>(&dir);
    let base = format!("http://{addr}");

    // Keep-alive: three URLs, one connection.
    let o = curl(&[
        "-w",
        "%{http_code} %{num_connects}\\n",
        "-o",
        "/dev/null",
        &format!("{base}/echo"),
        "-o",
        "/dev/null",
        &format!("{base}/echo?q=2"),
        "-o",
        "/dev/null",
        &format!("{base}/echo?q=3"),
    ])
    .await;
    assert_eq!(text(&o), "200 1\n200 0\n200 0\n");

    // HTTP/1.0: answered and closed.
    let o = curl(&["--http1.0", "-i", &format!("{base}/echo")]).await;
    let t = text(&o);
    assert!(t.starts_with("HTTP/1.1 200 OK\r\n"), "{t}");
    assert!(t.contains("Connection: close\r\n"));
    assert!(t.ends_with("GET /echo HTTP/1.0 q=- body=0"));

    // Chunked upload.
    let o = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "-H",
        "Content-Type: application/octet-stream",
        "--data-binary",
        &format!("@{}", upload_path.display()),
        &format!("{base}/echo"),
    ])
    .await;
    assert_eq!(text(&o), "POST /echo HTTP/1.1 q=- body=200000");

    // Multipart upload with -F.
    let o = curl(&[
        "-F",
        "title=from curl",
        "-F",
        &format!("doc=@{};type=text/plain", upload_path.display()),
        &format!("{base}/upload"),
    ])
    .await;
    let t = text(&o);
    assert_eq!(t.lines().next(), Some("spooled upload.txt 200000 file"));
    let first: Vec<&str> = t.lines().nth(1).unwrap().split(' ').collect();
    assert_eq!(
        &first[..4],
        ["doc", "upload.txt", "text/plain", "200000"],
        "{t}"
    );
    assert_eq!(first[4], checksum(&upload).to_string());
    assert!(t.contains("field title=from curl"));

    // Range request.
    let o = curl(&[
        "-r",
        "2-5",
        "-w",
        " %{http_code}",
        &format!("{base}/file/small.txt"),
    ])
    .await;
    assert_eq!(text(&o), "2345 206");

    // A 3 MB file (streamed by the server).
    let got = dir.0.join("got.bin");
    curl(&["-o", got.to_str().unwrap(), &format!("{base}/file/big.bin")]).await;
    let got = std::fs::read(&got).unwrap();
    assert_eq!((got.len(), checksum(&got)), (big.len(), checksum(&big)));

    // Conditional request with curl's -z (If-Modified-Since from a file).
    let o = curl(&[
        "-z",
        dir.0.join("small.txt").to_str().unwrap(),
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("{base}/file/small.txt"),
    ])
    .await;
    assert_eq!(text(&o), "304");

    // Server-Sent Events.
    let o = curl(&["-N", &format!("{base}/events")]).await;
    assert!(
        text(&o).starts_with("id: 1\ndata: event 1\n\n"),
        "{}",
        text(&o)
    );

    // Bad input, as curl sends it.
    let huge = format!("X-Big: {}", "a".repeat(20_000));
    let o = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        &huge,
        &format!("{base}/echo"),
    ])
    .await;
    assert_eq!(text(&o), "431");
    let too_big = dir.0.join("too-big.bin");
    std::fs::write(&too_big, vec![b'x'; 2 * 1024 * 1024]).unwrap();
    let o = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--data-binary",
        &format!("@{}", too_big.display()),
        &format!("{base}/echo"),
    ])
    .await;
    assert_eq!(text(&o), "413");
    let o = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "TRACE",
        &format!("{base}/echo"),
    ])
    .await;
    assert_eq!(text(&o), "501");
    server.shutdown().await;
}

const PYTHON_CLIENT: &str = r#"
import sys, requests
base = sys.argv[1]
s = requests.Session()
for n in (1, 2, 3):
    r = s.get(base + "/session")
    assert r.status_code == 200 and r.text == str(n), (n, r.status_code, r.text)
assert "PHPSID" in s.cookies
r = s.post(base + "/upload", data={"title": "py"},
           files={"f": ("a.bin", b"\x00\x01" * 50000, "application/octet-stream")})
assert r.status_code == 200, r.text
assert r.text.startswith("spooled a.bin 100000 file\nf a.bin application/octet-stream 100000 "), r.text
assert "field title=py" in r.text, r.text
def gen():
    for _ in range(10):
        yield b"x" * 1000
r = s.post(base + "/echo", data=gen(), headers={"Content-Type": "application/octet-stream"})
assert r.text == "POST /echo HTTP/1.1 q=- body=10000", r.text
r = s.post(base + "/echo?q=form", data={"a": "1 2", "b": "&"})
assert r.text == "POST /echo?q=form HTTP/1.1 q=form body=11 a=1 2 b=&", r.text
r = s.get(base + "/file/small.txt", headers={"Range": "bytes=2-5"})
assert r.status_code == 206 and r.text == "2345", (r.status_code, r.text)
r = s.get(base + "/chunked")
assert r.headers.get("Transfer-Encoding") == "chunked" and r.text == "first,second,third"
r = s.get(base + "/events", stream=True)
lines = [l for l in r.iter_lines(decode_unicode=True) if l]
assert lines == ["id: 1", "data: event 1", "id: 2", "data: event 2", "id: 3", "data: event 3"], lines
r = s.head(base + "/file/small.txt")
assert r.headers["Content-Length"] == "10" and r.content == b""
r = s.get(base + "/nope")
assert r.status_code == 404
print("ok")
"#;

#[tokio::test]
async fn python_requests_interop() {
    require(
        "python3 with the requests package",
        "python3",
        &["-c", "import requests"],
    )
    .await;
    let dir = TempDir::new("py");
    std::fs::write(dir.0.join("small.txt"), b"0123456789").unwrap();
    let (server, addr) = start::<Plain>(&dir);
    let out = tokio::process::Command::new("python3")
        .args(["-c", PYTHON_CLIENT, &format!("http://{addr}")])
        .output()
        .await
        .expect("python3 runs");
    assert!(
        out.status.success() && out.stdout.starts_with(b"ok"),
        "python client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn hyper_client_interop() {
    use http_body_util::{BodyExt, Full};
    let dir = TempDir::new("hyper");
    std::fs::write(dir.0.join("small.txt"), b"0123456789").unwrap();
    let (server, addr) = start::<Plain>(&dir);
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    let driver = tokio::spawn(conn);
    // Several requests over the one connection.
    for (method, path, body, want) in [
        ("GET", "/echo?q=1", "", "GET /echo?q=1 HTTP/1.1 q=1 body=0"),
        (
            "POST",
            "/echo",
            "abc",
            "POST /echo HTTP/1.1 q=- body=3 abc=",
        ),
        ("GET", "/chunked", "", "first,second,third"),
        ("GET", "/file/small.txt", "", "0123456789"),
    ] {
        let req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("Host", "t")
            .body(Full::new(bytes::Bytes::from(body)))
            .unwrap();
        let resp = send.send_request(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        let got = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(got, want.as_bytes());
    }
    drop(send);
    let _ = driver.await;
    server.shutdown().await;
}
