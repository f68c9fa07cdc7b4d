//! A bounded soak under faults (issue 15, item 5), on the examples as
//! users run them (`<example> start`: a master and its workers), loopback
//! only, every loop bounded.
//!
//! * `text_echo` (2 workers), `http_hello` and `websocket_echo` (1 each).
//! * `SOAK_LONG` (default 1,000) long-lived text connections echo a
//!   numbered line every 100 ms each for the whole run; every answer must be
//!   the line sent, in order. A connection the server closes reconnects.
//! * `SOAK_CYCLES` (default 200,000) short connections, 48 at a time,
//!   cycling through: a text echo, an HTTP request, a WebSocket echo, a
//!   reset in the middle of a line, a half-close (answer, then EOF), a
//!   WebSocket handshake that stalls and is dropped, a line dribbled byte by
//!   byte, and 200 pipelined HTTP requests never read.
//! * At a third of the cycles one `text_echo` worker is killed with -9
//!   (time until the master has a new worker process: "recovery"); at two
//!   thirds `text_echo` is reloaded (SIGUSR1).
//!
//! Pass means: no answer wrong or out of order on any connection; no
//! long-lived connection closed and no short connection failing outside the
//! two fault windows (the kill closes the killed worker's connections, the
//! reload closes every old worker's); the killed worker back within 1 s;
//! RSS and open descriptors of all the processes within 10 % of where they
//! started once the churn ends.
//!
//! Run: `cargo bench --bench soak` (about 2–4 minutes here). Without
//! `--bench` on the command line (`cargo test --benches`) it makes a smoke
//! run: 2,000 cycles, 50 long-lived connections.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{children, env_parse, raise_nofile};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A bound on every single wait of a client.
const WAIT: Duration = Duration::from_secs(10);

/// The examples' binaries, built for this bench's profile.
fn examples_dir() -> PathBuf {
    let release = !cfg!(debug_assertions);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut args = vec!["build", "--example", "text_echo"];
    args.extend(["--example", "http_hello", "--example", "websocket_echo"]);
    if release {
        args.push("--release");
    }
    let status = Command::new(cargo)
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cannot run cargo");
    assert!(status.success(), "cargo {}: {status}", args.join(" "));
    // This bench runs from target/<profile>/deps.
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(|d| d.parent())
        .expect("a target directory above the bench")
        .join("examples")
}

/// One example running as `<name> start` in a directory of its own.
struct Example {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Example {
    fn start(dir: &std::path::Path, name: &'static str, scheme: &str, count: usize) -> Example {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let run = std::env::temp_dir().join(format!("wm-soak-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&run);
        std::fs::create_dir_all(&run).expect("a run directory");
        let bin = run.join(name);
        std::fs::copy(dir.join(name), &bin).expect("copy the example");
        let child = Command::new(&bin)
            .arg("start")
            .env("WORKERMAN_ADDR", format!("{scheme}://127.0.0.1:{port}"))
            .env("WORKERMAN_COUNT", count.to_string())
            .env("RUST_LOG", "warn")
            .current_dir(&run)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the example");
        Example {
            name,
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir: run,
        }
    }

    fn master(&self) -> u32 {
        self.child.id()
    }

    /// The master's worker processes.
    fn workers(&self) -> Vec<u32> {
        children(self.master())
    }

    /// Summed RSS (KiB) and open descriptors of master and workers.
    fn usage(&self) -> (u64, u64) {
        let mut rss = 0;
        let mut fds = 0;
        for pid in std::iter::once(self.master()).chain(self.workers()) {
            rss += std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1))
                        .and_then(|v| v.parse::<u64>().ok())
                })
                .unwrap_or(0);
            fds += std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64);
        }
        (rss, fds)
    }

    fn signal(&self, pid: u32, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig);
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        self.signal(self.master(), nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_dir_all(&self.dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the clients saw.
#[derive(Default)]
struct Tally {
    /// Answers checked on long-lived connections.
    echoed: AtomicU64,
    /// An answer that was not the line sent (lost, reordered, garbled).
    wrong: AtomicU64,
    /// Long-lived connections closed by the server inside a fault window.
    closed_in_fault: AtomicU64,
    /// ... and outside one: errors.
    closed_outside: AtomicU64,
    /// Short connections completed as their kind expects.
    cycles_ok: AtomicU64,
    /// Short connections that failed inside a fault window (text only).
    cycles_failed_in_fault: AtomicU64,
    /// ... and outside one: errors.
    cycles_failed_outside: AtomicU64,
}

/// The fault windows: while one is open, closes on `text_echo` are
/// expected.
#[derive(Default)]
struct Faults {
    open: AtomicBool,
}

async fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let s = tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::other("connect timed out"))??;
    s.set_nodelay(true)?;
    Ok(s)
}

/// A long-lived connection: a numbered line every 100 ms, checked, until
/// `stop`; reconnects when the server closes it.
async fn long_lived(
    id: usize,
    addr: SocketAddr,
    tally: Arc<Tally>,
    faults: Arc<Faults>,
    stop: Arc<AtomicBool>,
) {
    let mut seq = 0u64;
    // Spread the sends over the 100 ms.
    tokio::time::sleep(Duration::from_millis((id % 100) as u64)).await;
    while !stop.load(Ordering::Relaxed) {
        let Ok(s) = connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let mut s = BufReader::new(s);
        let mut line = String::new();
        while !stop.load(Ordering::Relaxed) {
            seq += 1;
            let sent = format!("{id} {seq}\n");
            let outcome = async {
                s.get_mut().write_all(sent.as_bytes()).await?;
                line.clear();
                let n = s.read_line(&mut line).await?;
                if n == 0 {
                    return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
                }
                Ok(())
            };
            match tokio::time::timeout(WAIT, outcome).await {
                Ok(Ok(())) if line == sent => {
                    tally.echoed.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Ok(())) => {
                    eprintln!("soak: long-lived {id} sent {sent:?}, got {line:?}");
                    tally.wrong.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                // Closed (or stalled past WAIT): expected only in a fault
                // window, then reconnect.
                _ => {
                    if faults.open.load(Ordering::Relaxed) {
                        tally.closed_in_fault.fetch_add(1, Ordering::Relaxed);
                    } else {
                        tally.closed_outside.fetch_add(1, Ordering::Relaxed);
                    }
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

const WS_HANDSHAKE: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

#[derive(Clone, Copy)]
struct Targets {
    text: SocketAddr,
    http: SocketAddr,
    ws: SocketAddr,
}

/// One short connection of kind `kind % 8`; Ok when it behaved as that
/// kind expects. Returns whether the kind talked to `text_echo` (whose
/// failures a fault window excuses).
async fn cycle(kind: u64, t: Targets) -> (bool, std::io::Result<()>) {
    match kind % 8 {
        // A text echo.
        0 => (
            true,
            async {
                let mut s = BufReader::new(connect(t.text).await?);
                s.get_mut().write_all(b"short\n").await?;
                let mut line = String::new();
                s.read_line(&mut line).await?;
                expect(line == "short\n", "text echo")
            }
            .await,
        ),
        // An HTTP request with Connection: close.
        1 => (
            false,
            async {
                let mut s = connect(t.http).await?;
                s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                    .await?;
                let mut got = Vec::new();
                s.read_to_end(&mut got).await?;
                expect(got.starts_with(b"HTTP/1.1 200 "), "http 200")
            }
            .await,
        ),
        // A WebSocket echo.
        2 => (
            false,
            async {
                let mut s = connect(t.ws).await?;
                s.write_all(WS_HANDSHAKE).await?;
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    s.read_exact(&mut b).await?;
                    head.push(b[0]);
                }
                expect(head.starts_with(b"HTTP/1.1 101 "), "ws 101")?;
                s.write_all(&[0x81, 0x82, 0, 0, 0, 0, b'h', b'i']).await?;
                let mut reply = [0u8; 4];
                s.read_exact(&mut reply).await?;
                expect(reply == [0x81, 2, b'h', b'i'], "ws echo")
            }
            .await,
        ),
        // A reset in the middle of a line.
        3 => (
            true,
            async {
                let s = connect(t.text).await?;
                let mut s = s;
                s.write_all(b"half a li").await?;
                socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO))?;
                drop(s);
                Ok(())
            }
            .await,
        ),
        // A half-close: the answer, then EOF.
        4 => (
            true,
            async {
                let mut s = connect(t.text).await?;
                s.write_all(b"bye\n").await?;
                s.shutdown().await?;
                let mut got = Vec::new();
                s.read_to_end(&mut got).await?;
                expect(got == b"bye\n", "half-close answer then EOF")
            }
            .await,
        ),
        // A WebSocket handshake that stalls, then is dropped.
        5 => (
            false,
            async {
                let mut s = connect(t.ws).await?;
                s.write_all(&WS_HANDSHAKE[..30]).await?;
                tokio::time::sleep(Duration::from_millis(50)).await;
                drop(s);
                Ok(())
            }
            .await,
        ),
        // A line dribbled byte by byte.
        6 => (
            true,
            async {
                let mut s = BufReader::new(connect(t.text).await?);
                for b in b"dribble\n" {
                    s.get_mut().write_all(&[*b]).await?;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let mut line = String::new();
                s.read_line(&mut line).await?;
                expect(line == "dribble\n", "dribbled line")
            }
            .await,
        ),
        // 200 pipelined requests, never read, then gone.
        _ => (
            false,
            async {
                let mut s = connect(t.http).await?;
                let many = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n".repeat(200);
                s.write_all(&many).await?;
                tokio::time::sleep(Duration::from_millis(20)).await;
                drop(s);
                Ok(())
            }
            .await,
        ),
    }
}

fn expect(ok: bool, what: &str) -> std::io::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("unexpected answer: {what}")))
    }
}

/// Waits (bounded) until `ex` has `n` workers none of which is in `old`
/// (the killed one, or all of them for a reload); how long it took.
fn wait_for_new_workers(ex: &Example, old: &[u32], n: usize) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(30) {
        let now = ex.workers();
        if now.len() == n && now.iter().all(|p| !old.contains(p)) {
            return Some(t.elapsed());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    eprintln!(
        "soak: {} workers are {:?} 30 s after replacing {old:?}",
        ex.name,
        ex.workers()
    );
    None
}

fn main() {
    let bench_mode = std::env::args().skip(1).any(|a| a == "--bench");
    let cycles: u64 = env_parse("SOAK_CYCLES").unwrap_or(if bench_mode { 200_000 } else { 2_000 });
    let long: usize = env_parse("SOAK_LONG").unwrap_or(if bench_mode { 1_000 } else { 50 });
    raise_nofile();
    let dir = examples_dir();
    let text = Example::start(&dir, "text_echo", "text", 2);
    let http = Example::start(&dir, "http_hello", "http", 1);
    let ws = Example::start(&dir, "websocket_echo", "websocket", 1);
    let targets = Targets {
        text: text.addr,
        http: http.addr,
        ws: ws.addr,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    // Up, and warmed with a few of each kind.
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        for kind in 0..8 {
            loop {
                match cycle(kind, targets).await.1 {
                    Ok(()) => break,
                    Err(e) => {
                        assert!(
                            Instant::now() < deadline,
                            "the examples did not come up: {e}"
                        );
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
        for kind in 0..400 {
            let _ = cycle(kind, targets).await;
        }
    });
    let tally = Arc::new(Tally::default());
    let faults = Arc::new(Faults::default());
    let stop = Arc::new(AtomicBool::new(false));
    let long_tasks: Vec<_> = (0..long)
        .map(|id| {
            rt.spawn(long_lived(
                id,
                targets.text,
                Arc::clone(&tally),
                Arc::clone(&faults),
                Arc::clone(&stop),
            ))
        })
        .collect();
    // Let every long-lived connection open and echo once.
    let warm = Instant::now();
    while tally.echoed.load(Ordering::Relaxed) < long as u64 && warm.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(2));
    let all = [&text, &http, &ws];
    let usage = |all: &[&Example; 3]| {
        all.iter()
            .map(|e| e.usage())
            .fold((0, 0), |a, u| (a.0 + u.0, a.1 + u.1))
    };
    let before = usage(&all);
    eprintln!(
        "soak: {long} long-lived connections up; RSS {} KiB, {} fds (all processes)",
        before.0, before.1
    );

    // The churn, with the faults at a third and two thirds.
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let recovery: Arc<Mutex<Option<Duration>>> = Arc::default();
    let reload_took: Arc<Mutex<Option<Duration>>> = Arc::default();
    let churners: Vec<_> = (0..48)
        .map(|_| {
            let next = Arc::clone(&next);
            let tally = Arc::clone(&tally);
            let faults = Arc::clone(&faults);
            rt.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= cycles {
                        return;
                    }
                    let (on_text, r) = match tokio::time::timeout(WAIT, cycle(i, targets)).await {
                        Ok(r) => r,
                        Err(_) => (
                            matches!(i % 8, 0 | 3 | 4 | 6),
                            Err(std::io::Error::other("cycle timed out")),
                        ),
                    };
                    match r {
                        Ok(()) => {
                            tally.cycles_ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) if on_text && faults.open.load(Ordering::Relaxed) => {
                            tally.cycles_failed_in_fault.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            if tally.cycles_failed_outside.fetch_add(1, Ordering::Relaxed) < 5 {
                                eprintln!("soak: cycle {i} (kind {}) failed: {e}", i % 8);
                            }
                        }
                    }
                }
            })
        })
        .collect();
    let mut killed = false;
    let mut reloaded = false;
    while churners.iter().any(|c| !c.is_finished()) || !killed || !reloaded {
        let done = next.load(Ordering::Relaxed);
        if !killed && done >= cycles / 3 {
            killed = true;
            let old = text.workers();
            faults.open.store(true, Ordering::Relaxed);
            text.signal(old[0], nix::sys::signal::Signal::SIGKILL);
            let back = wait_for_new_workers(&text, &old[..1], old.len());
            *recovery.lock().unwrap() = back;
            std::thread::sleep(Duration::from_secs(1));
            faults.open.store(false, Ordering::Relaxed);
        }
        if !reloaded && done >= 2 * cycles / 3 {
            reloaded = true;
            let old = text.workers();
            faults.open.store(true, Ordering::Relaxed);
            text.signal(text.master(), nix::sys::signal::Signal::SIGUSR1);
            *reload_took.lock().unwrap() = wait_for_new_workers(&text, &old, old.len());
            // The old workers finish their connections (2 s drain).
            std::thread::sleep(Duration::from_secs(3));
            faults.open.store(false, Ordering::Relaxed);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let churn_secs = started.elapsed().as_secs_f64();
    // The long-lived ones echo on a little longer, on the new workers.
    std::thread::sleep(Duration::from_secs(3));
    // Settle: closed connections gone, memory given back (the trimmer).
    let mut after = usage(&all);
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_secs(15)
        && (after.0 > before.0 * 11 / 10 || after.1 > before.1 * 11 / 10)
    {
        std::thread::sleep(Duration::from_millis(500));
        after = usage(&all);
    }
    stop.store(true, Ordering::Relaxed);
    rt.block_on(async {
        for t in long_tasks {
            let _ = tokio::time::timeout(WAIT, t).await;
        }
    });

    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let recovery = *recovery.lock().unwrap();
    let reload_took = *reload_took.lock().unwrap();
    println!(
        "soak: {cycles} short connections in {churn_secs:.1} s ({:.0}/s), {long} long-lived",
        cycles as f64 / churn_secs
    );
    println!(
        "  short: {} as expected, {} failed in the fault windows, {} failed outside (errors)",
        get(&tally.cycles_ok),
        get(&tally.cycles_failed_in_fault),
        get(&tally.cycles_failed_outside)
    );
    println!(
        "  long-lived: {} answers checked, {} wrong, {} closed by the kill/reload (reconnected), {} closed outside them (errors)",
        get(&tally.echoed),
        get(&tally.wrong),
        get(&tally.closed_in_fault),
        get(&tally.closed_outside)
    );
    println!("  kill -9 of a text_echo worker: back in {recovery:?}; reload: new workers in {reload_took:?}");
    println!(
        "  RSS {} -> {} KiB ({:+.1} %), fds {} -> {} ({:+.1} %)",
        before.0,
        after.0,
        (after.0 as f64 / before.0 as f64 - 1.0) * 100.0,
        before.1,
        after.1,
        (after.1 as f64 / before.1 as f64 - 1.0) * 100.0
    );
    let pass = get(&tally.wrong) == 0
        && get(&tally.closed_outside) == 0
        && get(&tally.cycles_failed_outside) == 0
        && recovery.is_some_and(|d| d <= Duration::from_secs(1))
        && reload_took.is_some()
        && after.0 <= before.0 * 11 / 10
        && after.1 <= before.1 * 11 / 10;
    println!("  {}", if pass { "PASS" } else { "FAIL" });
    // Stop the examples (SIGTERM to each master) before exiting.
    drop((text, http, ws));
    if !pass {
        std::process::exit(1);
    }
}
