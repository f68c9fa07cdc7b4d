//! The components as processes: the Channel, GlobalData and FileMonitor
//! examples are copied into fresh directories, started with `start -d`
//! (a master and its worker processes), and checked from outside with
//! WebSocket, HTTP and line clients, `status --json` and the log. Every
//! wait is bounded.
//!
//! The Redis variants need a Redis server (`.ci/install-services.sh`):
//! they run with `--features interop` (ignored without it), and fail with
//! a clear message when the server is not reachable.

#[path = "common/program.rs"]
mod program;

use std::collections::{BTreeSet, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use program::{example, free_port, redis_url, request, request_when_up, Program, WAIT};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A plain HTTP GET; returns the body.
fn http_get(addr: SocketAddr, path: &str) -> String {
    let deadline = Instant::now() + WAIT;
    let mut s = loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(s) => break s,
            Err(e) => {
                assert!(Instant::now() < deadline, "{addr}: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    resp.split("\r\n\r\n").nth(1).unwrap_or("").to_owned()
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn ws_connect(addr: SocketAddr) -> Ws {
    let tcp = tokio::time::timeout(WAIT, tokio::net::TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect failed");
    let (ws, _) = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::client_async(format!("ws://{addr}/"), tcp),
    )
    .await
    .expect("handshake timed out")
    .expect("handshake failed");
    ws
}

async fn ws_next(ws: &mut Ws) -> String {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("timed out waiting for a message")
            .expect("connection closed")
            .expect("websocket error");
        match msg {
            WsMessage::Text(t) => return t.as_str().to_owned(),
            WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn ws_send(ws: &mut Ws, text: &str) {
    ws.send(WsMessage::text(text)).await.unwrap();
}

/// Runs blocking process helpers from an async test.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    tokio::task::block_in_place(f)
}

// ---------------------------------------------------------------------
// Channel

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_cluster_push_reaches_every_browser_in_every_process() {
    let (ws_port, http_port, ch_port) = (free_port(), free_port(), free_port());
    let p = Program::new(
        "channel_cluster_push",
        "push",
        &[
            ("WORKERMAN_ADDR", format!("websocket://127.0.0.1:{ws_port}")),
            ("PUBLISHER_ADDR", format!("http://127.0.0.1:{http_port}")),
            ("CHANNEL_ADDR", format!("frame://127.0.0.1:{ch_port}")),
            ("WORKERS", "2".into()),
        ],
    );
    blocking(|| p.start());
    let ws_addr: SocketAddr = format!("127.0.0.1:{ws_port}").parse().unwrap();
    let http_addr: SocketAddr = format!("127.0.0.1:{http_port}").parse().unwrap();
    let pushers = blocking(|| p.pids("pusher"));
    assert_eq!(pushers.len(), 2);

    // Browsers, until both worker processes have some (the kernel picks
    // the process for each connection).
    let mut browsers: Vec<(u64, u64, Ws)> = Vec::new();
    let mut workers = HashSet::new();
    while browsers.len() < 4 || workers.len() < 2 {
        assert!(browsers.len() < 60, "every connection went to one process");
        let mut ws = ws_connect(ws_addr).await;
        let hello = ws_next(&mut ws).await;
        // "workerID:<id> connectionID:<cid> connected"
        let nums: Vec<u64> = hello
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        assert!(hello.ends_with(" connected"), "{hello}");
        workers.insert(nums[0]);
        browsers.push((nums[0], nums[1], ws));
    }

    // Published once, through the HTTP publisher process: every browser
    // in every process gets it.
    assert_eq!(blocking(|| http_get(http_addr, "/?content=hello")), "ok");
    for (_, _, ws) in &mut browsers {
        assert_eq!(ws_next(ws).await, "hello");
    }

    // Targeted: only the chosen browser, in its process.
    let (tw, tc) = (browsers[1].0, browsers[1].1);
    let path = format!("/?content=only-you&to_worker_id={tw}&to_connection_id={tc}");
    assert_eq!(blocking(|| http_get(http_addr, &path)), "ok");
    assert_eq!(blocking(|| http_get(http_addr, "/?content=after")), "ok");
    for (i, (_, _, ws)) in browsers.iter_mut().enumerate() {
        if i == 1 {
            assert_eq!(ws_next(ws).await, "only-you");
        }
        assert_eq!(ws_next(ws).await, "after", "browser {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_group_send_reaches_the_group_in_every_process_and_no_one_else() {
    let (ws_port, ch_port) = (free_port(), free_port());
    let p = Program::new(
        "channel_group_send",
        "group",
        &[
            ("WORKERMAN_ADDR", format!("websocket://127.0.0.1:{ws_port}")),
            ("CHANNEL_ADDR", format!("frame://127.0.0.1:{ch_port}")),
            ("WORKERS", "2".into()),
        ],
    );
    blocking(|| p.start());
    let addr: SocketAddr = format!("127.0.0.1:{ws_port}").parse().unwrap();

    // Members of group 123, until both processes have some.
    let mut members = Vec::new();
    let mut workers = BTreeSet::new();
    while members.len() < 3 || workers.len() < 2 {
        assert!(members.len() < 60, "every connection went to one process");
        let mut ws = ws_connect(addr).await;
        ws_send(&mut ws, r#"{"cmd":"add_group","group_id":"123"}"#).await;
        let ack = ws_next(&mut ws).await;
        assert!(ack.starts_with("joined 123 (worker "), "{ack}");
        workers.insert(ack);
        members.push(ws);
    }
    let mut outsider = ws_connect(addr).await;
    ws_send(&mut outsider, r#"{"cmd":"add_group","group_id":"456"}"#).await;
    assert!(ws_next(&mut outsider).await.starts_with("joined 456"));

    ws_send(
        &mut members[0],
        r#"{"cmd":"send_to_group","group_id":"123","message":"hello 123"}"#,
    )
    .await;
    for ws in &mut members {
        assert_eq!(ws_next(ws).await, "hello 123");
    }
    // The outsider's next message is its own group's: it never got 123's.
    ws_send(
        &mut members[0],
        r#"{"cmd":"send_to_group","group_id":"456","message":"hello 456"}"#,
    )
    .await;
    assert_eq!(ws_next(&mut outsider).await, "hello 456");

    // A member that leaves is forgotten; the others still get messages.
    let gone = members.pop().unwrap();
    drop(gone);
    ws_send(
        &mut members[0],
        r#"{"cmd":"send_to_group","group_id":"123","message":"still here"}"#,
    )
    .await;
    for ws in &mut members {
        assert_eq!(ws_next(ws).await, "still here");
    }
}

// ---------------------------------------------------------------------
// GlobalData: N processes × M increments

/// Runs `global_data_counter` with `n` processes doing `m` increments
/// each, against `global` (a GlobalData server address or a Redis URL).
fn counter_processes(test: &str, global: String, prefix: Option<String>, n: u64, m: u64) {
    let port = free_port();
    let mut env = vec![
        ("WORKERMAN_ADDR", format!("text://127.0.0.1:{port}")),
        ("GLOBAL_DATA_ADDR", global),
        ("WORKERS", n.to_string()),
        ("INCREMENTS", m.to_string()),
    ];
    if let Some(p) = prefix {
        env.push(("GLOBAL_DATA_PREFIX", p));
    }
    let p = Program::new("global_data_counter", test, &env);
    p.start();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let counters = p.pids("counter");
    assert_eq!(counters.len() as u64, n, "{n} separate processes");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = request_when_up(addr, "get done");
        if done == n.to_string() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {done} of {n} processes finished; log:\n{}",
            p.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let total = (n * m).to_string();
    assert_eq!(
        request(addr, "get hits").unwrap(),
        total,
        "increment lost updates"
    );
    assert_eq!(
        request(addr, "get cas_hits").unwrap(),
        total,
        "cas lost updates"
    );
    // The same processes did it all: none died and was restarted.
    assert_eq!(p.pids("counter"), counters);
    let conflicts = request(addr, "get cas_conflicts").unwrap();
    eprintln!(
        "{n} processes × {m} increments = {total}, and {total} by cas \
         ({conflicts} cas conflicts retried)"
    );
}

#[test]
fn global_data_n_processes_times_m_increments_lose_nothing() {
    let port = free_port();
    counter_processes(
        "gd-frame",
        format!("frame://127.0.0.1:{port}"),
        None,
        4,
        500,
    );
}

#[test]
#[cfg_attr(
    not(feature = "interop"),
    ignore = "needs Redis: `cargo test --features interop` after .ci/install-services.sh"
)]
fn global_data_on_redis_n_processes_times_m_increments_lose_nothing() {
    let url = redis_url();
    let prefix = format!("wmtest:{}:gd-redis:", std::process::id());
    counter_processes("gd-redis", url, Some(prefix), 4, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(feature = "interop"),
    ignore = "needs Redis: `cargo test --features interop` after .ci/install-services.sh"
)]
async fn channel_cluster_push_on_redis() {
    let url = blocking(redis_url);
    let (ws_port, http_port) = (free_port(), free_port());
    let p = Program::new(
        "channel_cluster_push",
        "push-redis",
        &[
            ("WORKERMAN_ADDR", format!("websocket://127.0.0.1:{ws_port}")),
            ("PUBLISHER_ADDR", format!("http://127.0.0.1:{http_port}")),
            ("CHANNEL_ADDR", url),
            ("WORKERS", "2".into()),
        ],
    );
    blocking(|| p.start());
    let ws_addr: SocketAddr = format!("127.0.0.1:{ws_port}").parse().unwrap();
    let http_addr: SocketAddr = format!("127.0.0.1:{http_port}").parse().unwrap();
    let mut browsers = Vec::new();
    for _ in 0..4 {
        let mut ws = ws_connect(ws_addr).await;
        assert!(ws_next(&mut ws).await.ends_with(" connected"));
        browsers.push(ws);
    }
    assert_eq!(
        blocking(|| http_get(http_addr, "/?content=via-redis")),
        "ok"
    );
    for ws in &mut browsers {
        assert_eq!(ws_next(ws).await, "via-redis");
    }
}

// ---------------------------------------------------------------------
// FileMonitor

fn file_monitor_program(test: &str) -> (Program, PathBuf, SocketAddr) {
    let port = free_port();
    let conf_dir = std::env::temp_dir().join(format!("wm-comp-{}-{test}-conf", std::process::id()));
    let _ = std::fs::remove_dir_all(&conf_dir);
    std::fs::create_dir_all(&conf_dir).unwrap();
    let conf = conf_dir.join("app.conf");
    std::fs::write(&conf, "v1\n").unwrap();
    let p = Program::new(
        "file_monitor",
        test,
        &[
            ("WORKERMAN_ADDR", format!("text://127.0.0.1:{port}")),
            ("WORKERS", "2".into()),
            ("CONFIG", conf.display().to_string()),
        ],
    );
    (p, conf, format!("127.0.0.1:{port}").parse().unwrap())
}

/// Waits for an answer from worker 0: it accepts only once its
/// `on_worker_start` (which starts the monitor and its inotify watches)
/// has returned.
fn wait_for_worker_0(p: &Program, addr: SocketAddr) {
    p.wait_for("an answer from worker 0", |_| {
        request(addr, "who").is_ok_and(|r| r.contains(" id=0 "))
    });
}

fn all_replaced(p: &Program, before: &[u64]) -> bool {
    if p.phase() != "running" {
        return false;
    }
    let now = p.pids("file_monitor");
    now.len() == before.len() && before.iter().all(|pid| !now.contains(pid))
}

#[test]
fn file_monitor_touching_a_watched_file_reloads_every_process_once() {
    let (p, conf, addr) = file_monitor_program("fm-touch");
    p.start();
    assert!(request_when_up(addr, "hi").ends_with("greeting=v1"));
    let before = p.pids("file_monitor");
    assert_eq!(before.len(), 2);
    wait_for_worker_0(&p, addr);

    std::fs::write(&conf, "v2\n").unwrap();
    p.wait_for("every worker process replaced", |p| {
        all_replaced(p, &before)
    });
    assert!(request(addr, "hi").unwrap().ends_with("greeting=v2"));
    // Exactly one reload: none more after the debounce and the restart.
    let after = p.pids("file_monitor");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(p.pids("file_monitor"), after, "a second reload happened");
    let reloads = p.log().matches("reloading").count();
    assert_eq!(reloads, 1, "log:\n{}", p.log());
    let _ = std::fs::remove_dir_all(conf.parent().unwrap());
}

#[test]
fn file_monitor_a_rebuilt_binary_is_picked_up() {
    let (p, conf, addr) = file_monitor_program("fm-binary");
    p.start();
    assert!(request_when_up(addr, "hi").starts_with("pid="));
    wait_for_worker_0(&p, addr);
    // "cargo build": a new binary appears at the path (a new file renamed
    // over it, as cargo's hard link does), here another program speaking
    // the same protocol on the same address.
    let tmp = p.dir.join("file_monitor.new");
    std::fs::copy(example("text_echo"), &tmp).unwrap();
    std::fs::rename(&tmp, &p.bin).unwrap();
    p.wait_for("the new binary's answers", |_| {
        request(addr, "new code?").is_ok_and(|r| r == "new code?")
    });
    assert_eq!(p.log().matches("reloading").count(), 1, "log:\n{}", p.log());
    let _ = std::fs::remove_dir_all(conf.parent().unwrap());
}
