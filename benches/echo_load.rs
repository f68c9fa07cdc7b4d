//! End-to-end echo load (`text://`, or `frame://` with `ECHO_PROTO=frame`):
//! the framework against a plain tokio server.
//!
//! `N` client connections each loop "send one 33-byte line (32 bytes +
//! LF), await its echo" for `D` seconds after a warm-up, against
//!
//! * `framework`: `Worker::new("text://127.0.0.1:0", Echo)` with count 1,
//!   the service of `examples/text_echo.rs` (one thread, current-thread
//!   runtime), and
//! * `plain`: a hand-written tokio echo server with the same behaviour (one
//!   thread, current-thread runtime, `BufReader::read_until` into a
//!   `BufWriter` flushed whenever no more input is buffered, so pipelined
//!   lines are answered in one write; TCP_NODELAY).
//!
//! The targets run back to back, interleaved (plain, framework, plain,
//! framework, ...), and the best round of each is reported with msgs/s,
//! p50/p99 round-trip latency, and the server thread's CPU time per message.
//!
//! Run: `cargo bench --bench echo_load`
//!
//! Environment:
//! * `ECHO_CONNS` connections (default 64);
//! * `ECHO_SECS` measured seconds per round (default 5);
//! * `ECHO_WARMUP_MS` warm-up per round (default 1000);
//! * `ECHO_ROUNDS` rounds per target (default 2);
//! * `ECHO_TARGET` `framework`, `plain` or `both` (default);
//! * `ECHO_CLIENT_THREADS` load generator worker threads (default 1: a
//!   current-thread runtime on the main thread);
//! * `ECHO_DEPTH` lines in flight per connection (default 1): each client
//!   writes that many lines at once and awaits all their echoes, as a
//!   pipelining client does (`ECHO_DEPTH=16`: the TechEmpower-style
//!   figure). Latency is then per round trip of a batch.
//! * `ECHO_PROTO` `text` (default) or `frame`: the framework runs the
//!   service of `examples/frame_echo.rs` on `frame://`, the plain server
//!   reads each 4-byte big-endian length (header included) and its body,
//!   and every message is a 36-byte frame (4 + 32).
//!
//! Without `--bench` on the command line (for example under
//! `cargo test --benches`) it makes one short smoke round per target.
//! Unknown command-line arguments are ignored.

mod common;
use common::{cpu_secs, env_parse, thread_stat_path};
use std::io::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use workerman::prelude::*;

/// Line payload length, without the LF.
const LINE: usize = 32;
/// The protocol spoken (`ECHO_PROTO`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Proto {
    Text,
    Frame,
}

impl Proto {
    /// Bytes of one message on the wire.
    fn msg_len(self) -> usize {
        match self {
            Proto::Text => LINE + 1,
            Proto::Frame => 4 + LINE,
        }
    }

    /// Writes message `seq` of connection `id` into `m` (`msg_len` bytes).
    fn fill(self, m: &mut [u8], id: usize, seq: u64) {
        let mut body = match self {
            Proto::Text => {
                m[LINE] = b'\n';
                &mut m[..LINE]
            }
            Proto::Frame => {
                let total = u32::try_from(4 + LINE).expect("small");
                m[..4].copy_from_slice(&total.to_be_bytes());
                &mut m[4..]
            }
        };
        write!(body, "{id:08x}{seq:024x}").expect("32 hex digits fit");
    }
}

/// The service of `examples/frame_echo.rs`.
struct FrameEcho;

#[async_trait]
impl Service for FrameEcho {
    type Protocol = Frame;

    async fn on_message(&self, conn: &Connection<Frame>, msg: Payload) {
        let _ = conn.send(msg);
    }
}
/// Thread name of the plain server.
const PLAIN_THREAD: &str = "plain-echo";

/// The service of `examples/text_echo.rs`.
struct Echo;

#[async_trait]
impl Service for Echo {
    type Protocol = Text;

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let _ = conn.send(msg);
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    Plain,
    Framework,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Plain => "plain",
            Target::Framework => "framework",
        }
    }

    /// The server thread (the framework's is its worker `name` + `-0`).
    fn thread(self, proto: Proto) -> &'static str {
        match (self, proto) {
            (Target::Plain, _) => PLAIN_THREAD,
            (Target::Framework, Proto::Text) => "text_echo-0",
            (Target::Framework, Proto::Frame) => "frame_echo-0",
        }
    }
}

#[derive(Debug, Clone)]
struct Config {
    conns: usize,
    secs: f64,
    warmup: Duration,
    rounds: usize,
    targets: Vec<Target>,
    client_threads: usize,
    /// Lines in flight per connection.
    depth: usize,
    proto: Proto,
    /// `--bench` was passed (cargo bench); otherwise a smoke run.
    bench_mode: bool,
}

impl Config {
    fn from_env() -> Config {
        // cargo bench passes `--bench`; criterion-style benches run a short
        // smoke test without it (cargo test --benches).
        let bench_mode = std::env::args().skip(1).any(|a| a == "--bench");
        let secs_default = if bench_mode { 5.0 } else { 0.3 };
        let warmup_default = if bench_mode { 1000 } else { 100 };
        let rounds_default = if bench_mode { 2 } else { 1 };
        let targets = match std::env::var("ECHO_TARGET").as_deref() {
            Ok("framework") => vec![Target::Framework],
            Ok("plain") => vec![Target::Plain],
            Ok("both") | Err(_) => vec![Target::Plain, Target::Framework],
            Ok(other) => {
                eprintln!("echo_load: unknown ECHO_TARGET={other:?}; running both");
                vec![Target::Plain, Target::Framework]
            }
        };
        Config {
            conns: env_parse("ECHO_CONNS").unwrap_or(64usize).max(1),
            secs: env_parse("ECHO_SECS")
                .filter(|s: &f64| *s > 0.0 && s.is_finite())
                .unwrap_or(secs_default),
            warmup: Duration::from_millis(env_parse("ECHO_WARMUP_MS").unwrap_or(warmup_default)),
            rounds: env_parse("ECHO_ROUNDS").unwrap_or(rounds_default).max(1),
            targets,
            client_threads: env_parse("ECHO_CLIENT_THREADS").unwrap_or(1usize).max(1),
            depth: env_parse("ECHO_DEPTH").unwrap_or(1usize).clamp(1, 1024),
            proto: match std::env::var("ECHO_PROTO").as_deref() {
                Ok("frame") => Proto::Frame,
                Ok("text") | Err(_) => Proto::Text,
                Ok(other) => {
                    eprintln!("echo_load: unknown ECHO_PROTO={other:?}; using text");
                    Proto::Text
                }
            },
            bench_mode,
        }
    }
}

// ---------------------------------------------------------------------------
// Servers

/// A running server under test.
enum Server {
    Framework(ServerHandle),
    Plain {
        stop: tokio::sync::oneshot::Sender<()>,
        thread: std::thread::JoinHandle<()>,
    },
}

impl Server {
    fn start(target: Target, proto: Proto) -> (Server, SocketAddr) {
        match target {
            Target::Framework => {
                let handle = match proto {
                    Proto::Text => Worker::new("text://127.0.0.1:0", Echo)
                        .name("text_echo")
                        .count(1)
                        .spawn(),
                    Proto::Frame => Worker::new("frame://127.0.0.1:0", FrameEcho)
                        .name("frame_echo")
                        .count(1)
                        .spawn(),
                }
                .expect("framework server starts");
                let addr = handle.local_addr().as_inet().expect("an inet address");
                (Server::Framework(handle), addr)
            }
            Target::Plain => {
                // A TcpSocket, so that the backlog can be chosen (std's
                // TcpListener::bind listens with 128).
                let socket = tokio::net::TcpSocket::new_v4().expect("plain server socket");
                socket
                    .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                    .expect("plain server binds");
                let addr = socket.local_addr().expect("local addr");
                let (stop, stopped) = tokio::sync::oneshot::channel();
                let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
                let thread = std::thread::Builder::new()
                    .name(PLAIN_THREAD.to_owned())
                    .spawn(move || plain_server(socket, stopped, ready_tx, proto))
                    .expect("plain server thread starts");
                // Like Worker::spawn, return once the server listens (and
                // its thread carries its name, which the CPU accounting
                // looks up).
                ready_rx
                    .recv_timeout(Duration::from_secs(10))
                    .expect("plain server thread ready within 10 s");
                (Server::Plain { stop, thread }, addr)
            }
        }
    }

    fn stop(self) -> String {
        match self {
            Server::Framework(handle) => {
                let report = handle.shutdown_blocking();
                format!(
                    "graceful={} forced={}",
                    report.graceful, report.forced_connections
                )
            }
            Server::Plain { stop, thread } => {
                let _ = stop.send(());
                match thread.join() {
                    Ok(()) => "stopped".to_owned(),
                    Err(_) => "server thread panicked".to_owned(),
                }
            }
        }
    }
}

/// The plain tokio echo server: one thread, a current-thread runtime, one
/// task per connection echoing each line (or frame).
fn plain_server(
    socket: tokio::net::TcpSocket,
    stop: tokio::sync::oneshot::Receiver<()>,
    ready: std::sync::mpsc::SyncSender<()>,
    proto: Proto,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("plain server runtime");
    rt.block_on(async move {
        let listener = socket.listen(4096).expect("plain server listens");
        let _ = ready.send(());
        let accept = async {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let (r, w) = stream.into_split();
                    let mut reader = BufReader::new(r);
                    let mut writer = BufWriter::new(w);
                    let mut line = Vec::with_capacity(64);
                    loop {
                        line.clear();
                        if proto == Proto::Frame {
                            let mut header = [0u8; 4];
                            if reader.read_exact(&mut header).await.is_err() {
                                return;
                            }
                            let total = u32::from_be_bytes(header) as usize;
                            if !(4..=1 << 20).contains(&total) {
                                return;
                            }
                            line.extend_from_slice(&header);
                            line.resize(total, 0);
                            if reader.read_exact(&mut line[4..]).await.is_err() {
                                return;
                            }
                        } else {
                            match reader.read_until(b'\n', &mut line).await {
                                Ok(0) | Err(_) => return,
                                Ok(_) => {}
                            }
                            // An unterminated last line is dropped, as
                            // `text://` does.
                            if line.last() != Some(&b'\n') {
                                return;
                            }
                        }
                        if writer.write_all(&line).await.is_err() {
                            return;
                        }
                        // Flush once the lines read together are answered.
                        if reader.buffer().is_empty() && writer.flush().await.is_err() {
                            return;
                        }
                    }
                });
            }
        };
        tokio::select! {
            _ = stop => {}
            () = accept => {}
        }
    });
    // Dropping the runtime cancels the connection tasks still running.
}

// ---------------------------------------------------------------------------
// CPU accounting from /proc (clock ticks of USER_HZ = 100 on Linux)

#[derive(Debug, Clone, Copy)]
struct CpuSample {
    server: Option<f64>,
    process: Option<f64>,
}

fn sample_cpu(server_stat: Option<&str>) -> CpuSample {
    CpuSample {
        server: server_stat.and_then(cpu_secs),
        process: cpu_secs("/proc/self/stat"),
    }
}

// ---------------------------------------------------------------------------
// Load generator

/// What one client connection measured inside the window.
struct ConnResult {
    messages: u64,
    /// Round-trip times in nanoseconds.
    latencies: Vec<u32>,
}

/// One connection: send `depth` lines in one write, read their echoes,
/// check them, repeat until `end`; count and time the round trips that lie
/// wholly in `[start, end]` (each counts `depth` messages).
async fn client_loop(
    mut stream: TcpStream,
    id: usize,
    depth: usize,
    proto: Proto,
    start: Instant,
    end: Instant,
) -> std::io::Result<ConnResult> {
    let msg = proto.msg_len();
    let mut msgs = vec![0u8; msg * depth];
    let mut echo = vec![0u8; msg * depth];
    let mut seq: u64 = 0;
    let mut result = ConnResult {
        messages: 0,
        latencies: Vec::with_capacity(16 * 1024),
    };
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            return Ok(result);
        }
        for m in msgs.chunks_mut(msg) {
            proto.fill(m, id, seq);
            seq += 1;
        }
        stream.write_all(&msgs).await?;
        stream.read_exact(&mut echo).await?;
        let t1 = Instant::now();
        if echo != msgs {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "connection {id}: sent {:?}, got back {:?}",
                    String::from_utf8_lossy(&msgs),
                    String::from_utf8_lossy(&echo)
                ),
            ));
        }
        if t0 >= start && t1 <= end {
            result.messages += depth as u64;
            let ns = (t1 - t0).as_nanos();
            result.latencies.push(u32::try_from(ns).unwrap_or(u32::MAX));
        }
    }
}

#[derive(Debug, Clone)]
struct RoundResult {
    target: Target,
    msgs_per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    /// Server thread CPU per message, microseconds.
    server_cpu_us_per_msg: Option<f64>,
    /// Server thread CPU utilisation over the window (1.0 = one core).
    server_util: Option<f64>,
    /// Whole-process CPU minus the server thread, utilisation.
    client_util: Option<f64>,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[idx.min(sorted.len() - 1)]) / 1000.0
}

async fn run_load(cfg: &Config, target: Target, addr: SocketAddr) -> Result<RoundResult, String> {
    // Connect everything first, so connection setup is not measured.
    let mut streams = Vec::with_capacity(cfg.conns);
    for _ in 0..cfg.conns {
        let s = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
            .await
            .map_err(|_| "connect timed out".to_owned())?
            .map_err(|e| format!("connect failed: {e}"))?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        streams.push(s);
    }
    let server_stat = thread_stat_path(target.thread(cfg.proto));
    let start = Instant::now() + cfg.warmup;
    let window = Duration::from_secs_f64(cfg.secs);
    let end = start + window;

    // Samples the CPU counters at the window's edges.
    let sampler = tokio::spawn({
        let server_stat = server_stat.clone();
        async move {
            tokio::time::sleep_until(start.into()).await;
            let a = sample_cpu(server_stat.as_deref());
            tokio::time::sleep_until(end.into()).await;
            let b = sample_cpu(server_stat.as_deref());
            (a, b)
        }
    });

    let tasks: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(id, s)| tokio::spawn(client_loop(s, id, cfg.depth, cfg.proto, start, end)))
        .collect();
    let deadline = end + Duration::from_secs(10);
    let mut messages = 0u64;
    let mut latencies = Vec::new();
    for t in tasks {
        let joined = tokio::time::timeout_at(deadline.into(), t)
            .await
            .map_err(|_| "a client did not finish within 10 s of the window's end".to_owned())?
            .map_err(|e| format!("client task failed: {e}"))?
            .map_err(|e| format!("client error: {e}"))?;
        messages += joined.messages;
        latencies.extend_from_slice(&joined.latencies);
    }
    let (a, b) = sampler.await.map_err(|e| e.to_string())?;
    latencies.sort_unstable();
    let secs = window.as_secs_f64();
    let server_cpu = match (a.server, b.server) {
        (Some(x), Some(y)) => Some(y - x),
        _ => None,
    };
    let process_cpu = match (a.process, b.process) {
        (Some(x), Some(y)) => Some(y - x),
        _ => None,
    };
    Ok(RoundResult {
        target,
        msgs_per_sec: messages as f64 / secs,
        p50_us: percentile(&latencies, 0.50),
        p99_us: percentile(&latencies, 0.99),
        max_us: latencies
            .last()
            .map_or(f64::NAN, |&l| f64::from(l) / 1000.0),
        server_cpu_us_per_msg: server_cpu
            .filter(|_| messages > 0)
            .map(|c| c * 1e6 / messages as f64),
        server_util: server_cpu.map(|c| c / secs),
        client_util: match (process_cpu, server_cpu) {
            (Some(p), Some(s)) => Some((p - s) / secs),
            _ => None,
        },
    })
}

fn fmt_opt(v: Option<f64>, scale: f64, unit: &str, prec: usize) -> String {
    match v {
        Some(x) => format!("{:.*}{unit}", prec, x * scale),
        None => "n/a".to_owned(),
    }
}

fn print_round(label: &str, r: &RoundResult) {
    println!(
        "{label:<14} {:<9} {:>10.0} msgs/s  p50 {:>7.1} us  p99 {:>7.1} us  max {:>8.1} us  \
         server CPU {:>4} ({} /msg)  load gen CPU {:>4}",
        r.target.name(),
        r.msgs_per_sec,
        r.p50_us,
        r.p99_us,
        r.max_us,
        fmt_opt(r.server_util, 100.0, "%", 0),
        fmt_opt(r.server_cpu_us_per_msg, 1.0, " us", 2),
        fmt_opt(r.client_util, 100.0, "%", 0),
    );
}

/// Prints the system load average: other processes compete for the same
/// two cores and make rounds noisy.
fn print_loadavg(when: &str) {
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        let l: Vec<&str> = l.split_whitespace().take(3).collect();
        println!(
            "load average {when}: {} (anything well above 2 here means other processes took CPU \
             from this bench; server CPU per message is the steadier figure)",
            l.join(" ")
        );
    }
}

fn main() {
    let cfg = Config::from_env();
    let client_rt = if cfg.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cfg.client_threads)
            .enable_all()
            .build()
    }
    .expect("load generator runtime");

    if !cfg.bench_mode {
        println!(
            "echo_load: smoke run (no --bench argument): short rounds, figures not meaningful"
        );
    }
    println!(
        "echo_load: {:?}, {} connections, {} message(s) in flight each, {}-byte messages, \
         {:.1} s warm-up + {:.1} s measured, {} round(s) per target, interleaved",
        cfg.proto,
        cfg.conns,
        cfg.depth,
        cfg.proto.msg_len(),
        cfg.warmup.as_secs_f64(),
        cfg.secs,
        cfg.rounds,
    );
    println!(
        "note: this machine has {} CPU core(s), SHARED by the load generator ({}) and the server \
         under test (one thread, current-thread runtime); msgs/s is a closed-loop figure bounded \
         by both.",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if cfg.client_threads <= 1 {
            "current-thread runtime on the main thread".to_owned()
        } else {
            format!("multi-thread runtime, {} workers", cfg.client_threads)
        },
    );

    print_loadavg("before");
    let mut results: Vec<RoundResult> = Vec::new();
    for round in 1..=cfg.rounds {
        for &target in &cfg.targets {
            let (server, addr) = Server::start(target, cfg.proto);
            let outcome = client_rt.block_on(run_load(&cfg, target, addr));
            let stopped = server.stop();
            match outcome {
                Ok(r) => {
                    print_round(&format!("round {round}"), &r);
                    results.push(r);
                }
                Err(e) => {
                    eprintln!(
                        "echo_load: round {round} against {} failed: {e} (server: {stopped})",
                        target.name()
                    );
                    std::process::exit(1);
                }
            }
        }
    }

    print_loadavg("after");
    println!("best round per target (highest msgs/s):");
    let best = |t: Target| {
        results
            .iter()
            .filter(|r| r.target == t)
            .max_by(|a, b| a.msgs_per_sec.total_cmp(&b.msgs_per_sec))
            .cloned()
    };
    let plain = best(Target::Plain);
    let framework = best(Target::Framework);
    for r in [&plain, &framework].into_iter().flatten() {
        print_round("  best", r);
    }
    let median = |t: Target, f: fn(&RoundResult) -> f64| {
        let mut v: Vec<f64> = results.iter().filter(|r| r.target == t).map(f).collect();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    };
    println!("median over rounds:");
    for &t in &cfg.targets {
        println!(
            "  {:<9} {:>10.0} msgs/s  p50 {:>7.1} us  p99 {:>7.1} us  server CPU {:.2} us/msg",
            t.name(),
            median(t, |r| r.msgs_per_sec),
            median(t, |r| r.p50_us),
            median(t, |r| r.p99_us),
            median(t, |r| r.server_cpu_us_per_msg.unwrap_or(f64::NAN)),
        );
    }
    if cfg.targets.len() == 2 {
        println!(
            "framework/plain msgs/s ratio (medians): {:.3}",
            median(Target::Framework, |r| r.msgs_per_sec)
                / median(Target::Plain, |r| r.msgs_per_sec)
        );
    }
    if let (Some(p), Some(f)) = (&plain, &framework) {
        println!(
            "framework/plain msgs/s ratio (best rounds): {:.3}  (p50 latency ratio {:.3}, p99 {:.3})",
            f.msgs_per_sec / p.msgs_per_sec,
            f.p50_us / p.p50_us,
            f.p99_us / p.p99_us,
        );
        if let (Some(fc), Some(pc)) = (f.server_cpu_us_per_msg, p.server_cpu_us_per_msg) {
            println!(
                "server CPU per message: framework {fc:.2} us, plain {pc:.2} us (ratio {:.2})",
                fc / pc
            );
        }
    }
}
