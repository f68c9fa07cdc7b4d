//! Server memory per idle connection: RSS growth of the server process with
//! `IDLE_CONNS` (default 10,000) idle connections open, for the framework's
//! text echo server and for a plain tokio echo server, and for the
//! `text_echo` example as users run it (`text_echo start`: master and
//! worker processes, its `tracing` subscriber at `info`).
//!
//! The example is measured twice: with connections that never sent
//! anything, then after each sent one line and got its echo (summed RSS
//! of master and worker). It is built with `cargo build --release
//! --example text_echo` first. Goal (issue 12): at most 1,024 bytes per
//! connection in both states.
//!
//! The bench re-executes itself as the server (`IDLE_MEMORY_SERVER=framework`
//! or `1`, or `IDLE_MEMORY_SERVER=plain`), so the resident set measured is
//! the server's alone. The child prints its port on stdout and exits at
//! stdin EOF. The parent warms the server up with a few short-lived
//! connections, samples the child's `VmRSS` from `/proc/<pid>/status`, opens
//! the connections in batches (each sends one line and reads its echo, so
//! the server has surely accepted and served it), lets them idle for a
//! second, samples again and prints `(after - before) / N`. Goal: at most
//! 1,024 bytes per connection (issue 12), the same as for the example.
//!
//! Run: `cargo bench --bench idle_memory`
//!
//! Environment: `IDLE_CONNS` (default 10000), `IDLE_TARGET`
//! (`framework`, `plain`, `example`, or `all`, the default: the three).
//! Without `--bench` on the command line (`cargo test --benches`) it makes
//! a smoke run with 500 connections of `framework` and `plain` only.
//! Unknown command-line arguments are ignored.

mod common;
use common::{children, raise_nofile};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use workerman::prelude::*;

/// The per-connection budget for the framework in-process.
const TARGET_BYTES_PER_CONN: f64 = 1024.0;
/// The goal for the example as users run it (issue 12).
const EXAMPLE_GOAL_BYTES_PER_CONN: f64 = 1024.0;
/// Connections opened concurrently.
const BATCH: usize = 250;
/// Short-lived connections made before the first sample, so one-time
/// allocations and code pages touched on the first connection are not
/// counted per connection.
const WARMUP_CONNS: usize = 32;
/// The line each connection sends once.
const LINE: &[u8] = b"hello, idle connection\n";
/// The plain server's listen backlog (the framework asks for 102400; the
/// kernel caps both at net.core.somaxconn).
const PLAIN_BACKLOG: u32 = 4096;
/// A child server exits on its own after this long, whatever happens.
const CHILD_WATCHDOG: Duration = Duration::from_secs(600);

/// The service of `examples/text_echo.rs`.
struct Echo;

#[async_trait]
impl Service for Echo {
    type Protocol = Text;

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let _ = conn.send(msg);
    }
}

// ---------------------------------------------------------------------------
// Child: the servers

/// Blocks until stdin reaches EOF (the parent closed it or died), or the
/// watchdog fires, then exits the process.
fn wait_for_stdin_eof_then_exit() -> ! {
    std::thread::spawn(|| {
        std::thread::sleep(CHILD_WATCHDOG);
        eprintln!("idle_memory server: watchdog expired, exiting");
        std::process::exit(2);
    });
    let mut sink = [0u8; 64];
    let mut stdin = std::io::stdin().lock();
    loop {
        match stdin.read(&mut sink) {
            Ok(0) | Err(_) => std::process::exit(0),
            Ok(_) => {}
        }
    }
}

fn announce_port(port: u16) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{port}");
    let _ = out.flush();
}

fn framework_server() -> ! {
    raise_nofile();
    let handle = Worker::new("text://127.0.0.1:0", Echo)
        .name("text_echo")
        .count(1)
        .spawn()
        .expect("framework server starts");
    let port = handle.local_addr().port().expect("an inet address");
    announce_port(port);
    // The handle must stay alive: dropping it stops the server.
    let _keep = handle;
    wait_for_stdin_eof_then_exit()
}

fn plain_server() -> ! {
    raise_nofile();
    // A tokio TcpSocket, so that the listen backlog can be chosen: std's
    // TcpListener::bind listens with a backlog of 128, which drops SYNs
    // while a batch of connections arrives and costs 1 s retransmits.
    let socket = tokio::net::TcpSocket::new_v4().expect("plain server socket");
    socket
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("plain server binds");
    let port = socket.local_addr().expect("local addr").port();
    let (listening_tx, listening_rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("plain-echo".to_owned())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("plain server runtime");
            rt.block_on(async move {
                let listener = socket.listen(PLAIN_BACKLOG).expect("plain server listens");
                let _ = listening_tx.send(());
                loop {
                    let (stream, _) = match listener.accept().await {
                        Ok(a) => a,
                        Err(e) => {
                            eprintln!("plain server: accept failed: {e}");
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(async move {
                        // BufReader with its default capacity (8 KiB).
                        let mut reader = tokio::io::BufReader::new(stream);
                        let mut line = Vec::new();
                        loop {
                            line.clear();
                            match reader.read_until(b'\n', &mut line).await {
                                Ok(0) | Err(_) => return,
                                Ok(_) => {}
                            }
                            if line.last() != Some(&b'\n') {
                                return;
                            }
                            if reader.get_mut().write_all(&line).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            });
        })
        .expect("plain server thread starts");
    // Announce the port only once it accepts connections.
    listening_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("plain server listening within 10 s");
    announce_port(port);
    wait_for_stdin_eof_then_exit()
}

// ---------------------------------------------------------------------------
// Parent: the measurement

/// Kills and reaps the child server however the parent leaves.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `kB` field of `/proc/<pid>/status`, in bytes.
fn status_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

#[derive(Debug, Clone, Copy)]
struct Mem {
    rss: u64,
    anon: Option<u64>,
    fds: Option<usize>,
}

fn sample(pid: u32) -> Result<Mem, String> {
    Ok(Mem {
        rss: status_field(pid, "VmRSS:").ok_or("cannot read the child's VmRSS")?,
        anon: status_field(pid, "RssAnon:"),
        fds: std::fs::read_dir(format!("/proc/{pid}/fd"))
            .ok()
            .map(|d| d.count()),
    })
}

/// Connects, sends one line and reads its echo.
async fn open_one(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    s.write_all(LINE).await?;
    let mut echo = [0u8; LINE.len()];
    s.read_exact(&mut echo).await?;
    if echo != LINE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("bad echo {:?}", String::from_utf8_lossy(&echo)),
        ));
    }
    Ok(s)
}

/// Opens `n` connections, `BATCH` at a time, each within 10 s.
async fn open_many(addr: SocketAddr, n: usize) -> Result<Vec<TcpStream>, String> {
    let mut conns = Vec::with_capacity(n);
    while conns.len() < n {
        let batch = BATCH.min(n - conns.len());
        let opened = futures::future::try_join_all((0..batch).map(|_| async move {
            tokio::time::timeout(Duration::from_secs(10), open_one(addr))
                .await
                .map_err(|_| "connect + echo timed out after 10 s".to_owned())?
                .map_err(|e| e.to_string())
        }))
        .await
        .map_err(|e| format!("after {} connections: {e}", conns.len()))?;
        conns.extend(opened);
    }
    Ok(conns)
}

#[derive(Debug, Clone)]
struct Outcome {
    kind: &'static str,
    per_conn: f64,
    per_conn_anon: Option<f64>,
}

fn measure(kind: &'static str, n: usize, rt: &tokio::runtime::Runtime) -> Result<Outcome, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let child = Command::new(exe)
        .env("IDLE_MEMORY_SERVER", kind)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the {kind} server: {e}"))?;
    let mut child = ChildGuard(child);
    let pid = child.0.id();

    // The port, with a deadline.
    let stdout = child.0.stdout.take().ok_or("no child stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| format!("the {kind} server did not report its port within 10 s"))?;
    let port: u16 = line
        .trim()
        .parse()
        .map_err(|_| format!("the {kind} server printed {line:?}, not a port"))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    let started = Instant::now();
    let (before, after, conns) = rt.block_on(async {
        // Warm-up: a few connections opened, used and closed.
        let warm = open_many(addr, WARMUP_CONNS).await?;
        drop(warm);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = sample(pid)?;
        let conns = tokio::time::timeout(Duration::from_secs(120), open_many(addr, n))
            .await
            .map_err(|_| format!("opening {n} connections took more than 120 s"))??;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = sample(pid)?;
        Ok::<_, String>((before, after, conns))
    })?;
    let elapsed = started.elapsed();

    let per_conn = (after.rss as f64 - before.rss as f64) / n as f64;
    let per_conn_anon = match (before.anon, after.anon) {
        (Some(b), Some(a)) => Some((a as f64 - b as f64) / n as f64),
        _ => None,
    };
    println!("{kind} server (pid {pid}), {n} idle connections, opened in {elapsed:.2?}:");
    println!(
        "  VmRSS   before {:>8.1} KiB  after {:>8.1} KiB  growth {:>8.1} KiB  => {:>7.0} bytes/conn",
        before.rss as f64 / 1024.0,
        after.rss as f64 / 1024.0,
        (after.rss as f64 - before.rss as f64) / 1024.0,
        per_conn
    );
    if let (Some(b), Some(a), Some(p)) = (before.anon, after.anon, per_conn_anon) {
        println!(
            "  RssAnon before {:>8.1} KiB  after {:>8.1} KiB  growth {:>8.1} KiB  => {:>7.0} bytes/conn",
            b as f64 / 1024.0,
            a as f64 / 1024.0,
            (a as f64 - b as f64) / 1024.0,
            p
        );
    }
    if let (Some(b), Some(a)) = (before.fds, after.fds) {
        let held = a.saturating_sub(b);
        println!(
            "  server fds: {b} before, {a} after ({held} new; {})",
            if held == n {
                "every connection held"
            } else {
                "MISMATCH"
            }
        );
    }

    // Kill the server first (so it does not spend time closing 10,000
    // connections), then drop the client ends.
    drop(child);
    drop(conns);
    Ok(Outcome {
        kind,
        per_conn,
        per_conn_anon,
    })
}

// ---------------------------------------------------------------------------
// The example as users run it

/// `target/<profile>/examples/text_echo`, built now (cargo is quick when it
/// is up to date).
fn build_example() -> Result<std::path::PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["build", "--release", "--example", "text_echo"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build --example text_echo: {status}"));
    }
    // This bench runs from target/release/deps.
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let release = exe
        .parent()
        .and_then(|d| d.parent())
        .ok_or("no target directory above the bench")?;
    let example = release.join("examples").join("text_echo");
    if example.is_file() {
        Ok(example)
    } else {
        Err(format!("{} was not built", example.display()))
    }
}

/// The pids of `root` and its children (the master and its workers).
fn process_tree(root: u32) -> Vec<u32> {
    let mut pids = vec![root];
    pids.extend(children(root));
    pids
}

/// Summed VmRSS of the tree, once it changes by less than 64 KiB over
/// five samples 200 ms apart (at most 15 s).
fn settled_tree_rss(root: u32) -> u64 {
    let total = || {
        process_tree(root)
            .iter()
            .filter_map(|p| status_field(*p, "VmRSS:"))
            .sum::<u64>()
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = total();
    let mut steady = 0;
    while steady < 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        let now = total();
        if now.abs_diff(last) < 64 * 1024 {
            steady += 1;
        } else {
            steady = 0;
        }
        last = now;
    }
    last
}

/// Stops `text_echo start` as a user does (SIGTERM to the master), and
/// kills it if it is still there after 10 s.
struct ExampleGuard(Child);

impl Drop for ExampleGuard {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `text_echo start` with `n` connections that never sent anything, then
/// after each sent one line: bytes per connection in both states.
fn measure_example(n: usize, rt: &tokio::runtime::Runtime) -> Result<(f64, f64), String> {
    let exe = build_example()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let child = Command::new(&exe)
        .arg("start")
        .env("WORKERMAN_ADDR", format!("text://{addr}"))
        .env("WORKERMAN_COUNT", "1")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let guard = ExampleGuard(child);
    let master = guard.0.id();

    let (before, fresh, after) = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).await.is_err() {
            if Instant::now() > deadline {
                return Err("text_echo did not listen within 10 s".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let warm = open_many(addr, WARMUP_CONNS).await?;
        drop(warm);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = settled_tree_rss(master);
        let mut conns = Vec::with_capacity(n);
        while conns.len() < n {
            let batch = BATCH.min(n - conns.len());
            let opened = futures::future::try_join_all((0..batch).map(|_| async move {
                tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr))
                    .await
                    .map_err(|_| "connect timed out after 10 s".to_owned())?
                    .map_err(|e| e.to_string())
            }))
            .await?;
            conns.extend(opened);
        }
        let fresh = settled_tree_rss(master);
        for chunk in conns.chunks_mut(BATCH) {
            futures::future::try_join_all(chunk.iter_mut().map(|s| async move {
                let exchange = async {
                    s.write_all(LINE).await?;
                    let mut echo = [0u8; LINE.len()];
                    s.read_exact(&mut echo).await
                };
                tokio::time::timeout(Duration::from_secs(10), exchange)
                    .await
                    .map_err(|_| "echo timed out after 10 s".to_owned())?
                    .map_err(|e| e.to_string())
            }))
            .await?;
        }
        let after = settled_tree_rss(master);
        drop(conns);
        Ok::<_, String>((before, fresh, after))
    })?;
    drop(guard);
    let per = |x: u64| (x as f64 - before as f64) / n as f64;
    println!(
        "example text_echo start (master pid {master}), {n} connections: RSS before {:.1} KiB, \
         never sent {:.1} KiB ({:.0} bytes/conn), after one line each {:.1} KiB ({:.0} bytes/conn)",
        before as f64 / 1024.0,
        fresh as f64 / 1024.0,
        per(fresh),
        after as f64 / 1024.0,
        per(after)
    );
    Ok((per(fresh), per(after)))
}

fn main() {
    match std::env::var("IDLE_MEMORY_SERVER").as_deref() {
        Ok("1") | Ok("framework") => framework_server(),
        Ok("plain") => plain_server(),
        _ => {}
    }

    let bench_mode = std::env::args().skip(1).any(|a| a == "--bench");
    let requested: usize = std::env::var("IDLE_CONNS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(if bench_mode { 10_000 } else { 500 })
        .max(1);
    let kinds: Vec<&'static str> = match std::env::var("IDLE_TARGET").as_deref() {
        Ok("framework") => vec!["framework"],
        Ok("plain") => vec!["plain"],
        Ok("example") => vec!["example"],
        _ if bench_mode => vec!["framework", "plain", "example"],
        _ => vec!["framework", "plain"],
    };

    // This process holds the client ends: N descriptors and a few more.
    let limit = raise_nofile();
    let room = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(WARMUP_CONNS + 64);
    let n = if requested > room {
        eprintln!(
            "idle_memory: RLIMIT_NOFILE is {limit}; measuring {room} connections, not {requested}"
        );
        room
    } else {
        requested
    };
    if !bench_mode {
        println!(
            "idle_memory: smoke run (no --bench argument); figures with few connections are noisy"
        );
    }
    println!(
        "idle_memory: server RSS growth per idle connection, {n} connections, target <= {} bytes/conn for the framework",
        TARGET_BYTES_PER_CONN
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let mut outcomes = Vec::new();
    let mut example = None;
    for kind in kinds {
        if kind == "example" {
            match measure_example(n, &rt) {
                Ok(e) => example = Some(e),
                Err(e) => {
                    eprintln!("idle_memory: example: {e}");
                    std::process::exit(1);
                }
            }
            continue;
        }
        match measure(kind, n, &rt) {
            Ok(o) => outcomes.push(o),
            Err(e) => {
                eprintln!("idle_memory: {kind}: {e}");
                std::process::exit(1);
            }
        }
    }

    println!("summary (VmRSS growth / connections):");
    for o in &outcomes {
        let anon = o
            .per_conn_anon
            .map_or(String::new(), |a| format!(" (RssAnon: {a:.0})"));
        if o.kind == "framework" {
            let verdict = if o.per_conn <= TARGET_BYTES_PER_CONN {
                "MET"
            } else {
                "NOT MET"
            };
            println!(
                "  {:<9} {:>7.0} bytes/conn{anon}  target <= {TARGET_BYTES_PER_CONN} bytes: {verdict}",
                o.kind, o.per_conn
            );
        } else {
            println!("  {:<9} {:>7.0} bytes/conn{anon}", o.kind, o.per_conn);
        }
    }
    if let Some((fresh, after)) = example {
        for (state, v) in [("never sent", fresh), ("after 1 msg", after)] {
            let verdict = if v <= EXAMPLE_GOAL_BYTES_PER_CONN {
                "MET"
            } else {
                "NOT MET"
            };
            println!(
                "  example   {v:>7.0} bytes/conn ({state})  goal <= {EXAMPLE_GOAL_BYTES_PER_CONN} bytes: {verdict}"
            );
        }
    }
}
