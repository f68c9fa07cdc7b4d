//! Per-message cost of the closure form (`Worker::handlers`) against the
//! trait form (`impl Service`), with the same handler.
//!
//! Both workers run in this process (`count(1)`: one thread each, with a
//! current-thread runtime), started once. The handler answers a line that
//! starts with `!` by echoing it and drops any other line. Each criterion
//! iteration is one message: for `iters` messages, `CONNS` loopback
//! connections each send their share as 33-byte lines (32 bytes + LF),
//! `BATCH` lines per write, and wait for the answers before the next batch.
//! So the time per iteration is the time per message, for both forms in
//! one run, in two scenarios:
//!
//! * `echo`: every line is marked and echoed. One `send` (one write to the
//!   socket) per message, as in `examples/text_echo.rs`.
//! * `consume`: only the last line of each batch is marked. The server
//!   decodes and dispatches every line but writes once per batch, so the
//!   figure is mostly the framework's per-message path: decoding and the
//!   callback call, where the two forms differ.
//!
//! Criterion measures one form after the other; on a shared machine a
//! change in background load between the two skews the comparison. So the
//! bench then also runs both forms *interleaved* (`ROUNDS` alternating
//! rounds per scenario) and prints, for each form, the median wall time per
//! message and the server thread's CPU time per message (from
//! `/proc/self/task/*/stat`, the steadier figure), and the ratios.
//!
//! Run: `cargo bench --bench closures` (about 1 minute).
//!
//! Without `--bench` (for example `cargo test --benches`), criterion runs
//! each function once as a smoke test and the interleaved rounds are
//! skipped.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{criterion_main, Criterion, Throughput};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use workerman::prelude::*;

/// Client connections per form.
const CONNS: usize = 16;
/// Lines per write, per connection; the answers are awaited before the
/// next write. At most `BATCH * LINE` bytes are in flight per connection,
/// far below the send buffer limit, so no answer is ever refused.
const BATCH: usize = 64;
/// Line length with its LF.
const LINE: usize = 33;
/// Alternating rounds per scenario in the interleaved comparison.
const ROUNDS: usize = 40;
/// The first byte of a line the server answers.
const MARK: u8 = b'!';

/// The trait form.
struct Answer;

#[async_trait]
impl Service for Answer {
    type Protocol = Text;

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        if msg.first() == Some(&MARK) {
            let _ = conn.send(msg);
        }
    }
}

/// The closure form of the same handler.
fn closure_answer() -> Worker<FnService<Text>> {
    Worker::handlers::<Text>("text://127.0.0.1:0").on_message(|conn, msg| async move {
        if msg.first() == Some(&MARK) {
            let _ = conn.send(msg);
        }
    })
}

#[derive(Clone, Copy, Debug)]
enum Scenario {
    /// Every line answered.
    Echo,
    /// The last line of each batch answered.
    Consume,
}

/// One client connection and its buffers.
struct Client {
    stream: TcpStream,
    out: Vec<u8>,
    back: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr, id: usize) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let mut out = Vec::with_capacity(BATCH * LINE);
        for i in 0..BATCH {
            // `.` + 31 hex digits + LF: unmarked until a scenario marks it.
            out.extend_from_slice(format!(".{id:07x}{i:024x}\n").as_bytes());
        }
        assert_eq!(out.len(), BATCH * LINE);
        Client {
            stream,
            out,
            back: vec![0; BATCH * LINE],
        }
    }

    /// Sends `n` lines, `BATCH` at a time, and checks the answers.
    async fn exchange(&mut self, mut n: usize, scenario: Scenario) {
        while n > 0 {
            let k = n.min(BATCH);
            let answered = match scenario {
                Scenario::Echo => 0..k,
                Scenario::Consume => k - 1..k,
            };
            for i in answered.clone() {
                self.out[i * LINE] = MARK;
            }
            let bytes = answered.start * LINE..answered.end * LINE;
            self.stream
                .write_all(&self.out[..k * LINE])
                .await
                .expect("write");
            let back = &mut self.back[..bytes.len()];
            self.stream.read_exact(back).await.expect("read answers");
            assert!(*back == self.out[bytes], "wrong answer");
            for i in answered {
                self.out[i * LINE] = b'.';
            }
            n -= k;
        }
    }
}

/// Sends `iters` messages spread over the clients; returns the time taken.
async fn round(clients: &mut [Client], iters: u64, scenario: Scenario) -> Duration {
    let iters = usize::try_from(iters).expect("iteration count fits usize");
    let per = iters / clients.len();
    let extra = iters % clients.len();
    let start = Instant::now();
    futures::future::join_all(
        clients
            .iter_mut()
            .enumerate()
            .map(|(i, c)| c.exchange(per + usize::from(i < extra), scenario)),
    )
    .await;
    start.elapsed()
}

fn per_message(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let trait_server = Worker::new("text://127.0.0.1:0", Answer)
        .name("trait")
        .spawn()
        .expect("trait worker starts");
    let closure_server = closure_answer()
        .name("closure")
        .spawn()
        .expect("closure worker starts");
    let connect = |server: &ServerHandle| {
        let addr = server.local_addr().as_inet().expect("an IP address");
        rt.block_on(futures::future::join_all(
            (0..CONNS).map(|id| Client::connect(addr, id)),
        ))
    };
    let mut trait_clients = connect(&trait_server);
    let mut closure_clients = connect(&closure_server);

    for (scenario, name) in [(Scenario::Echo, "echo"), (Scenario::Consume, "consume")] {
        let mut group = c.benchmark_group(name);
        group
            .throughput(Throughput::Elements(1))
            .sample_size(30)
            .warm_up_time(Duration::from_secs(2))
            .measurement_time(Duration::from_secs(8));
        for (form, clients) in [
            ("trait", &mut trait_clients),
            ("closure", &mut closure_clients),
        ] {
            group.bench_function(form, |b| {
                b.iter_custom(|iters| rt.block_on(round(clients, iters, scenario)));
            });
        }
        group.finish();
    }
    if std::env::args().any(|a| a == "--bench") {
        for (scenario, messages) in [(Scenario::Echo, 20_000), (Scenario::Consume, 200_000)] {
            let per_msg = |clients: &mut [Client]| {
                let t = rt.block_on(round(clients, messages, scenario));
                t.as_secs_f64() * 1e9 / messages as f64
            };
            let (mut t, mut c) = (Vec::new(), Vec::new());
            // Each server thread works only during its own rounds.
            let (cpu_t, cpu_c) = (server_cpu_secs("trait-0"), server_cpu_secs("closure-0"));
            for i in 0..ROUNDS {
                // Alternate which form goes first, too.
                if i % 2 == 0 {
                    t.push(per_msg(&mut trait_clients));
                    c.push(per_msg(&mut closure_clients));
                } else {
                    c.push(per_msg(&mut closure_clients));
                    t.push(per_msg(&mut trait_clients));
                }
            }
            let (t, c) = (median(t), median(c));
            println!(
                "interleaved {scenario:?}: {ROUNDS} rounds of {messages} messages per form: \
                 wall time per message (medians) trait {t:.1} ns, closure {c:.1} ns, \
                 closure/trait {:.3}",
                c / t
            );
            let total = (ROUNDS as u64 * messages) as f64;
            let cpu = |name: &str, before: Option<f64>| {
                Some((server_cpu_secs(name)? - before?) * 1e9 / total)
            };
            if let (Some(t), Some(c)) = (cpu("trait-0", cpu_t), cpu("closure-0", cpu_c)) {
                println!(
                    "interleaved {scenario:?}: server thread CPU per message \
                     trait {t:.1} ns, closure {c:.1} ns, closure/trait {:.3}",
                    c / t
                );
            }
        }
    }
    trait_server.shutdown_blocking();
    closure_server.shutdown_blocking();
}

/// The CPU time (user + system) of this process's thread named `name`,
/// in seconds, from `/proc` (clock ticks of 10 ms).
fn server_cpu_secs(name: &str) -> Option<f64> {
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
        if comm.trim_end() != name {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
        // Fields after the command name, which ends with the last ')':
        // utime and stime are the 12th and 13th.
        let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        return Some(ticks / 100.0);
    }
    None
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs the bench (what `criterion_group!` expands to, written out so it
/// can carry this doc comment); plots are off, as drawing them takes longer
/// than the bench.
fn benches() {
    let mut c = Criterion::default().without_plots().configure_from_args();
    per_message(&mut c);
    c.final_summary();
}

criterion_main!(benches);
