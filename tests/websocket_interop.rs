//! WebSocket interop with clients nobody here wrote: Python `websockets`,
//! Node `ws`, and headless Chromium (Debian's, driven by `playwright-core`)
//! on the `websocket_chat` example's page. The client scripts live in
//! `tests/interop/`; `.ci/install-interop.sh` installs what they need.
//!
//! Compiled only with `--features interop` (see the README). A missing
//! interpreter, package or browser fails the test with a message naming
//! `.ci/install-interop.sh`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::inet;
use workerman::prelude::*;
use workerman::websocket::Settings;
use workerman::websocket::{CloseCode, WebSocketConfig};

/// How long one client script may run.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Whether `program args...` (run in tests/interop) exits 0.
fn probe(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .current_dir(interop_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Fails the test, naming the install script, unless `what` is available.
fn require(what: &str, available: bool) {
    assert!(
        available,
        "{what} is not installed: run `bash .ci/install-interop.sh`"
    );
}

/// Runs a client script with the port; fails the test with its output
/// unless it exits 0 and printed "all ok".
async fn run_script(program: &str, script: &str, port: u16) {
    run_script_with(program, script, port, &[]).await;
}

async fn run_script_with(program: &str, script: &str, port: u16, extra: &[&str]) {
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg(script)
        .arg(port.to_string())
        .args(extra)
        .current_dir(interop_dir())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(SCRIPT_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within {SCRIPT_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("cannot run {program} {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("--- {script} ---\n{stdout}{stderr}");
    assert!(
        out.status.success() && stdout.contains("all ok"),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// The server the Python and Node clients talk to: echo; "close CODE
/// REASON" closes with that code; /reject is refused with 403; speaks
/// subprotocol "chat"; permessage-deflate; messages up to 2 MiB.
struct InteropSettings;

impl Settings for InteropSettings {
    fn config() -> WebSocketConfig {
        WebSocketConfig::default()
            .handshake_messages(true)
            .protocols(["chat"])
            .deflate(true)
    }
}

type Ws = WebSocket<InteropSettings>;

struct Echo;

#[async_trait]
impl Service for Echo {
    type Protocol = Ws;

    async fn on_message(&self, conn: &Connection<Ws>, msg: Message) {
        match msg {
            Message::Handshake(hs) => {
                if hs.request().path() == "/reject" {
                    hs.reject(403);
                }
            }
            Message::Text(t) if t.starts_with("close ") => {
                let mut parts = t.splitn(3, ' ').skip(1);
                let code = parts.next().and_then(|c| c.parse().ok()).unwrap_or(1000);
                let reason = parts.next().unwrap_or("");
                conn.close(Some(Message::close(CloseCode::from(code), reason)));
            }
            other => {
                let _ = conn.send(other);
            }
        }
    }
}

fn echo_server() -> ServerHandle {
    Worker::new("websocket://127.0.0.1:0", Echo)
        .max_package_size(2 << 20)
        .spawn()
        .expect("server starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_client() {
    require(
        "python3 with the websockets package",
        probe("python3", &["-c", "import websockets.asyncio.client"]),
    );
    let server = echo_server();
    run_script("python3", "python_websockets.py", inet(&server).port()).await;
    let stats = server.stats();
    assert_eq!(stats.callback_panics, 0);
    server.shutdown().await;
}

/// The same server over the TLS transport (wss://), with a certificate
/// made at test time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_client_over_tls() {
    require(
        "python3 with the websockets package",
        probe("python3", &["-c", "import websockets.asyncio.client"]),
    );
    let dir = std::env::temp_dir().join(format!("wm-wss-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let c =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, c.cert.pem()).unwrap();
    std::fs::write(&key, c.signing_key.serialize_pem()).unwrap();
    let tls = workerman::TlsConfig::from_pem_files(&cert, &key).unwrap();
    let server = Worker::new("websocket://127.0.0.1:0", Echo)
        .max_package_size(2 << 20)
        .transport(workerman::Transport::Tls(tls))
        .spawn()
        .expect("server starts");
    let cert_arg = cert.to_string_lossy().into_owned();
    run_script_with(
        "python3",
        "python_websockets.py",
        inet(&server).port(),
        &["--wss", &cert_arg],
    )
    .await;
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_client() {
    require(
        "node with the ws package (npm ci in tests/interop)",
        probe("node", &["-e", "require('ws')"]),
    );
    let server = echo_server();
    run_script("node", "node_ws.js", inet(&server).port()).await;
    server.shutdown().await;
}

/// The websocket_chat example, started as a user would, on a free port.
struct ChatExample {
    child: std::process::Child,
    dir: PathBuf,
    port: u16,
}

impl ChatExample {
    fn start() -> ChatExample {
        let exe = std::env::current_exe().unwrap();
        let built = exe
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("examples/websocket_chat");
        assert!(
            built.exists(),
            "{} not built (cargo test builds examples)",
            built.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("wm-ws-chat-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("websocket_chat");
        std::fs::copy(&built, &bin).unwrap();
        let child = std::process::Command::new(&bin)
            .arg("start")
            .env("WORKERMAN_ADDR", format!("websocket://127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "websocket_chat did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        ChatExample { child, dir, port }
    }
}

impl Drop for ChatExample {
    fn drop(&mut self) {
        // Killing the master is enough: its worker processes stop when
        // their socket to the master closes.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_two_tabs_chat() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    require("Debian's chromium", Path::new(&chromium).exists());
    require(
        "node with playwright-core (npm ci in tests/interop)",
        probe("node", &["-e", "require('playwright-core')"]),
    );
    let chat = ChatExample::start();
    run_script("node", "chromium_chat.js", chat.port).await;
}
