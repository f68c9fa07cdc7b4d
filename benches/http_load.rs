//! End-to-end HTTP load: `examples/http_hello.rs` against a plain hyper
//! 1.x server with the same response, on the same machine, in one run.
//!
//! `N` keep-alive client connections each loop "send a request, read the
//! response" (mode `keepalive`), or "send `DEPTH` requests at once, read
//! the `DEPTH` responses" (mode `pipeline`), for `D` seconds after a
//! warm-up, against
//!
//! * `workerman`: `Worker::new("http://127.0.0.1:0", Hello)` with count 1,
//!   the service of `examples/http_hello.rs` (one thread, current-thread
//!   runtime), and
//! * `hyper`: hyper 1.x `http1::Builder` serving the same `Hello World`
//!   text/plain response (one thread, current-thread runtime,
//!   TCP_NODELAY) with `pipeline_flush(true)`, which writes the responses
//!   to pipelined requests in one go, and
//! * `hyper-default` (pipeline mode only): the same with hyper's default
//!   `pipeline_flush(false)`, and
//! * `actix-web` and `may_minihttp`: the plaintext servers of
//!   `../shared/bench/peers` (`actix-hello`, `may-hello`, `--threads 1`),
//!   started as processes from `HTTP_PEERS_DIR` (default
//!   `target/bench-tools/release`, where `../shared/bench/compare.sh`
//!   builds them; build them alone with
//!   `CARGO_TARGET_DIR=target/bench-tools cargo build --release
//!   --manifest-path ../shared/bench/peers/Cargo.toml`). Their CPU time is
//!   the whole process's. Missing binaries are reported and skipped.
//!
//! Targets run back to back, interleaved, per mode; the best round of each
//! is reported with requests/s, the ratio workerman/hyper, and the server
//! thread's CPU time per request. The load generator runs on one thread of
//! its own (the machine has two cores: one for the server, one for the
//! client).
//!
//! Run: `cargo bench --bench http_load`
//!
//! Environment:
//! * `HTTP_CONNS` connections (default 64);
//! * `HTTP_SECS` measured seconds per round (default 5);
//! * `HTTP_WARMUP_MS` warm-up per round (default 1000);
//! * `HTTP_ROUNDS` rounds per target and mode (default 2);
//! * `HTTP_DEPTH` pipelined requests per batch in `pipeline` mode
//!   (default 16);
//! * `HTTP_MODE` `keepalive`, `pipeline` or `both` (default);
//! * `HTTP_TARGET` `workerman`, `hyper` (both hyper set-ups), `peers`
//!   (actix-web and may_minihttp) or `all` (default);
//! * `HTTP_PEERS_DIR` where `actix-hello` and `may-hello` are.
//!
//! Without `--bench` on the command line (as under `cargo test --benches`)
//! it makes one short smoke round per target and mode.

mod common;
use common::{cpu_secs, env_parse, thread_stat_path};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use workerman::http::{Request, Response};
use workerman::prelude::*;

const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: http_load\r\nAccept: */*\r\n\r\n";
const BODY: &[u8] = b"Hello World";
const WORKERMAN_THREAD: &str = "http_hello-0";
const HYPER_THREAD: &str = "hyper-hello";

/// The service of `examples/http_hello.rs`.
struct Hello;

#[async_trait]
impl Service for Hello {
    type Protocol = Http;

    async fn on_message(&self, conn: &Connection<Http>, _req: Request) {
        let _ = conn.send(
            Response::new(200)
                .with_header("Content-Type", "text/plain")
                .with_body("Hello World"),
        );
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    Workerman,
    /// hyper with `pipeline_flush(true)`: pipelined responses leave in
    /// one write.
    Hyper,
    /// hyper as `http1::Builder::new()` leaves it (`pipeline_flush` off).
    HyperDefault,
    /// `actix-hello` of the shared bench peers, a process of its own.
    Actix,
    /// `may-hello` of the shared bench peers, a process of its own.
    May,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Workerman => "workerman",
            Target::Hyper => "hyper",
            Target::HyperDefault => "hyper-default",
            Target::Actix => "actix-web",
            Target::May => "may_minihttp",
        }
    }

    /// The program of a peer that runs as a process of its own.
    fn program(self) -> Option<&'static str> {
        match self {
            Target::Actix => Some("actix-hello"),
            Target::May => Some("may-hello"),
            _ => None,
        }
    }

    /// The body its `GET /` answers with.
    fn body(self) -> &'static [u8] {
        match self {
            Target::Actix | Target::May => b"Hello, World!",
            _ => BODY,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    KeepAlive,
    Pipeline,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::KeepAlive => "keepalive",
            Mode::Pipeline => "pipeline",
        }
    }
}

#[derive(Debug, Clone)]
struct Config {
    conns: usize,
    secs: f64,
    warmup: Duration,
    rounds: usize,
    depth: usize,
    modes: Vec<Mode>,
    targets: Vec<Target>,
    peers_dir: std::path::PathBuf,
}

impl Config {
    fn from_env() -> Config {
        let bench = std::env::args().skip(1).any(|a| a == "--bench");
        let peers_dir = std::env::var_os("HTTP_PEERS_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-tools/release")
            });
        let all = [
            Target::Hyper,
            Target::HyperDefault,
            Target::Actix,
            Target::May,
            Target::Workerman,
        ];
        let wanted: Vec<Target> = match std::env::var("HTTP_TARGET").as_deref() {
            Ok("workerman") => vec![Target::Workerman],
            Ok("hyper") => vec![Target::Hyper, Target::HyperDefault],
            Ok("peers") => vec![Target::Actix, Target::May],
            _ => all.to_vec(),
        };
        let targets = wanted
            .into_iter()
            .filter(|t| match t.program() {
                Some(program) if !peers_dir.join(program).is_file() => {
                    println!(
                        "{}: not measured, no {} in {} (see the header of benches/http_load.rs)",
                        t.name(),
                        program,
                        peers_dir.display()
                    );
                    false
                }
                _ => true,
            })
            .collect();
        let modes = match std::env::var("HTTP_MODE").as_deref() {
            Ok("keepalive") => vec![Mode::KeepAlive],
            Ok("pipeline") => vec![Mode::Pipeline],
            _ => vec![Mode::KeepAlive, Mode::Pipeline],
        };
        Config {
            conns: env_parse("HTTP_CONNS").unwrap_or(64usize).max(1),
            secs: env_parse("HTTP_SECS")
                .filter(|s: &f64| *s > 0.0 && s.is_finite())
                .unwrap_or(if bench { 5.0 } else { 0.3 }),
            warmup: Duration::from_millis(env_parse("HTTP_WARMUP_MS").unwrap_or(if bench {
                1000
            } else {
                100
            })),
            rounds: env_parse("HTTP_ROUNDS")
                .unwrap_or(if bench { 2 } else { 1 })
                .max(1),
            depth: env_parse("HTTP_DEPTH").unwrap_or(16usize).max(1),
            modes,
            targets,
            peers_dir,
        }
    }
}

// ---------------------------------------------------------------------------
// Servers

enum Server {
    Workerman(ServerHandle),
    Hyper {
        stop: tokio::sync::oneshot::Sender<()>,
        thread: std::thread::JoinHandle<()>,
    },
    Process(std::process::Child),
}

impl Server {
    fn start(target: Target, cfg: &Config) -> (Server, SocketAddr) {
        match target {
            Target::Actix | Target::May => {
                // A free port: bound and let go (loopback, so nobody else
                // is expected to take it meanwhile).
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .expect("a free port")
                    .port();
                let program = cfg
                    .peers_dir
                    .join(target.program().expect("a peer program"));
                let mut child = std::process::Command::new(&program)
                    .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                    .args(["--threads", "1"])
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap_or_else(|e| panic!("{} starts: {e}", program.display()));
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                let deadline = Instant::now() + Duration::from_secs(10);
                while std::net::TcpStream::connect(addr).is_err() {
                    if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
                        let _ = child.kill();
                        panic!("{} did not listen on {addr} within 10 s", target.name());
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                (Server::Process(child), addr)
            }
            Target::Workerman => {
                let handle = Worker::new("http://127.0.0.1:0", Hello)
                    .name("http_hello")
                    .count(1)
                    .spawn()
                    .expect("workerman server starts");
                let addr = handle.local_addr().as_inet().expect("an inet address");
                (Server::Workerman(handle), addr)
            }
            Target::Hyper | Target::HyperDefault => {
                let flush = target == Target::Hyper;
                let socket = tokio::net::TcpSocket::new_v4().expect("socket");
                socket
                    .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                    .expect("hyper binds");
                let addr = socket.local_addr().expect("local addr");
                let (stop, stopped) = tokio::sync::oneshot::channel();
                let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
                let thread = std::thread::Builder::new()
                    .name(HYPER_THREAD.to_owned())
                    .spawn(move || hyper_server(socket, flush, stopped, ready_tx))
                    .expect("hyper thread starts");
                ready_rx
                    .recv_timeout(Duration::from_secs(10))
                    .expect("hyper ready within 10 s");
                (Server::Hyper { stop, thread }, addr)
            }
        }
    }

    fn stop(self) {
        match self {
            Server::Workerman(h) => {
                h.shutdown_blocking();
            }
            Server::Hyper { stop, thread } => {
                // The thread may have ended already; then nobody listens.
                let _ = stop.send(());
                let _ = thread.join();
            }
            Server::Process(mut child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// The /proc stat file whose CPU time is the server's: its thread, or
    /// the whole process of a peer started as one.
    fn stat_path(&self, target: Target) -> Option<String> {
        match self {
            Server::Workerman(_) => thread_stat_path(WORKERMAN_THREAD),
            Server::Hyper { .. } => thread_stat_path(HYPER_THREAD),
            Server::Process(child) => Some(format!("/proc/{}/stat", child.id())),
        }
        .or_else(|| {
            eprintln!("no CPU figure for {}", target.name());
            None
        })
    }
}

async fn hello(
    _req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<bytes::Bytes>>, Infallible> {
    Ok(hyper::Response::builder()
        .header("Server", "hyper")
        .header("Content-Type", "text/plain")
        .body(Full::new(bytes::Bytes::from_static(BODY)))
        .expect("a valid response"))
}

fn hyper_server(
    socket: tokio::net::TcpSocket,
    pipeline_flush: bool,
    stop: tokio::sync::oneshot::Receiver<()>,
    ready: std::sync::mpsc::SyncSender<()>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("hyper runtime");
    rt.block_on(async move {
        let listener = socket.listen(4096).expect("hyper listens");
        let _ = ready.send(());
        let accept = async {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .pipeline_flush(pipeline_flush)
                        .serve_connection(io, hyper::service::service_fn(hello))
                        .await;
                });
            }
        };
        tokio::select! {
            _ = stop => {}
            () = accept => {}
        }
    });
}

// ---------------------------------------------------------------------------
// CPU accounting from /proc (clock ticks of USER_HZ = 100)

// ---------------------------------------------------------------------------
// Load generator

/// Reads responses from `buf`/`stream` until `n` complete ones arrived,
/// checking each is `200` with the hello body.
async fn read_responses(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    n: usize,
    body: &[u8],
) -> std::io::Result<()> {
    let mut done = 0;
    loop {
        while done < n {
            let Some(head_end) = memchr::memmem::find(buf, b"\r\n\r\n") else {
                break;
            };
            let head = &buf[..head_end];
            if !head.starts_with(b"HTTP/1.1 200 ") {
                return Err(std::io::Error::other(format!(
                    "unexpected response: {:?}",
                    String::from_utf8_lossy(head)
                )));
            }
            let len =
                content_length(head).ok_or_else(|| std::io::Error::other("no Content-Length"))?;
            let total = head_end + 4 + len;
            if buf.len() < total {
                break;
            }
            if &buf[head_end + 4..total] != body {
                return Err(std::io::Error::other("wrong body"));
            }
            buf.advance(total);
            done += 1;
        }
        if done == n {
            return Ok(());
        }
        buf.reserve(16 * 1024);
        if stream.read_buf(buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
}

fn content_length(head: &[u8]) -> Option<usize> {
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > 15 && line[..15].eq_ignore_ascii_case(b"content-length:") {
            return std::str::from_utf8(&line[15..]).ok()?.trim().parse().ok();
        }
    }
    None
}

/// One connection's loop; returns the responses completed inside the
/// window.
async fn client(
    mut stream: TcpStream,
    depth: usize,
    body: &'static [u8],
    start: Instant,
    end: Instant,
) -> std::io::Result<u64> {
    let batch: Vec<u8> = REQUEST.repeat(depth);
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut counted = 0u64;
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            return Ok(counted);
        }
        stream.write_all(&batch).await?;
        read_responses(&mut stream, &mut buf, depth, body).await?;
        let t1 = Instant::now();
        if t0 >= start && t1 <= end {
            counted += depth as u64;
        }
    }
}

struct RoundResult {
    rps: f64,
    cpu_us_per_req: Option<f64>,
}

async fn run_round(
    cfg: &Config,
    target: Target,
    mode: Mode,
    addr: SocketAddr,
    stat: Option<String>,
) -> Result<RoundResult, String> {
    let depth = match mode {
        Mode::KeepAlive => 1,
        Mode::Pipeline => cfg.depth,
    };
    let mut streams = Vec::with_capacity(cfg.conns);
    for _ in 0..cfg.conns {
        let s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        streams.push(s);
    }
    let start = Instant::now() + cfg.warmup;
    let end = start + Duration::from_secs_f64(cfg.secs);
    let sampler = tokio::spawn({
        let stat = stat.clone();
        async move {
            tokio::time::sleep_until(start.into()).await;
            let a = stat.as_deref().and_then(cpu_secs);
            tokio::time::sleep_until(end.into()).await;
            let b = stat.as_deref().and_then(cpu_secs);
            a.zip(b).map(|(a, b)| b - a)
        }
    });
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|s| tokio::spawn(client(s, depth, target.body(), start, end)))
        .collect();
    let mut total = 0u64;
    for t in tasks {
        total += t
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("{}: {e}", target.name()))?;
    }
    let cpu = sampler.await.map_err(|e| e.to_string())?;
    let rps = total as f64 / cfg.secs;
    Ok(RoundResult {
        rps,
        cpu_us_per_req: cpu.filter(|_| total > 0).map(|c| c * 1e6 / total as f64),
    })
}

fn main() {
    let cfg = Config::from_env();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    println!(
        "http_load: {} connections, {:.1} s per round after {} ms warm-up, {} round(s), pipeline depth {}",
        cfg.conns,
        cfg.secs,
        cfg.warmup.as_millis(),
        cfg.rounds,
        cfg.depth
    );
    let mut failed = false;
    for &mode in &cfg.modes {
        // Without pipelining, pipeline_flush changes nothing: one hyper.
        let mut best: Vec<(Target, Option<RoundResult>)> = cfg
            .targets
            .iter()
            .filter(|&&t| mode == Mode::Pipeline || t != Target::HyperDefault)
            .map(|&t| (t, None))
            .collect();
        for round in 0..cfg.rounds {
            for (target, slot) in best.iter_mut() {
                let (server, addr) = Server::start(*target, &cfg);
                let stat = server.stat_path(*target);
                let r = rt.block_on(run_round(&cfg, *target, mode, addr, stat));
                server.stop();
                match r {
                    Ok(r) => {
                        println!(
                            "  {:<9} {:<13} round {}: {:>10.0} req/s, server CPU {}",
                            mode.name(),
                            target.name(),
                            round + 1,
                            r.rps,
                            r.cpu_us_per_req
                                .map_or("n/a".to_owned(), |c| format!("{c:.2} µs/req"))
                        );
                        if slot.as_ref().is_none_or(|b| r.rps > b.rps) {
                            *slot = Some(r);
                        }
                    }
                    Err(e) => {
                        eprintln!("  {} {}: {e}", mode.name(), target.name());
                        failed = true;
                    }
                }
            }
        }
        let get = |t: Target| {
            best.iter()
                .find(|(x, _)| *x == t)
                .and_then(|(_, r)| r.as_ref())
        };
        let Some(w) = get(Target::Workerman) else {
            continue;
        };
        for other in [
            Target::Hyper,
            Target::HyperDefault,
            Target::Actix,
            Target::May,
        ] {
            let Some(h) = get(other) else {
                continue;
            };
            println!(
                "{}: workerman {:.0} req/s, {} {:.0} req/s, ratio {:.2}{}",
                mode.name(),
                w.rps,
                other.name(),
                h.rps,
                w.rps / h.rps,
                match (w.cpu_us_per_req, h.cpu_us_per_req) {
                    (Some(a), Some(b)) => format!(
                        "; server CPU/req {a:.2} µs vs {b:.2} µs (ratio {:.2})",
                        a / b
                    ),
                    _ => String::new(),
                }
            );
        }
    }
    if failed {
        std::process::exit(1);
    }
}
