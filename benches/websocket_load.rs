//! End-to-end WebSocket echo load: our `websocket://` worker against a
//! tokio-tungstenite echo server built here, same runtime shape (one
//! thread, current-thread runtime, TCP_NODELAY).
//!
//! `WS_CONNS` connections (default 64) each do the opening handshake, then
//! loop "send one masked 32-byte text message, await its echo" for
//! `WS_SECS` seconds (default 5) after a 1 s warm-up. With `WS_DEPTH=16`
//! each connection writes 16 messages at once and awaits their 16 echoes
//! (pipelined load, the figure `compare.sh` calls `ws-echo-p16`). The same raw load
//! generator drives both servers. Targets run interleaved for `WS_ROUNDS`
//! rounds (default 2); the medians and the ratio are printed with the
//! server thread's CPU time per message.
//!
//! Then a broadcast fan-out: `WS_FANOUT` clients (default 10,000; the
//! soft fd limit is raised to the hard one) are connected to a worker that
//! broadcasts one text message to all of them when one client asks; the
//! time from the ask until every client has read the message is printed.
//!
//! Run: `cargo bench --bench websocket_load`. Without `--bench` (under
//! `cargo test --benches`) it makes one short smoke round per target and a
//! 200-client fan-out.

mod common;
use common::{cpu_secs, env_parse, raise_nofile, thread_stat_path};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use workerman::prelude::*;

const PAYLOAD: usize = 32;
const MASK: [u8; 4] = [0x12, 0x34, 0x56, 0x78];
const OURS_THREAD: &str = "ws_echo-0";
// At most 15 bytes: the kernel cuts thread names there.
const TUNGSTENITE_THREAD: &str = "tung-echo";

struct Echo;

#[async_trait]
impl Service for Echo {
    type Protocol = WebSocket;
    async fn on_message(&self, conn: &Connection<WebSocket>, msg: Message) {
        let _ = conn.send(msg);
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    Ours,
    Tungstenite,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Ours => "workerman",
            Target::Tungstenite => "tokio-tungstenite",
        }
    }
    fn thread(self) -> &'static str {
        match self {
            Target::Ours => OURS_THREAD,
            Target::Tungstenite => TUNGSTENITE_THREAD,
        }
    }
}

enum Server {
    Ours(ServerHandle),
    Tungstenite {
        stop: tokio::sync::oneshot::Sender<()>,
        thread: std::thread::JoinHandle<()>,
    },
}

impl Server {
    fn start(target: Target) -> (Server, SocketAddr) {
        match target {
            Target::Ours => {
                let h = Worker::new("websocket://127.0.0.1:0", Echo)
                    .name("ws_echo")
                    .count(1)
                    .spawn()
                    .expect("server starts");
                let addr = h.local_addr().as_inet().expect("inet");
                (Server::Ours(h), addr)
            }
            Target::Tungstenite => {
                let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                std_listener.set_nonblocking(true).expect("nonblocking");
                let addr = std_listener.local_addr().expect("addr");
                let (stop, stopped) = tokio::sync::oneshot::channel();
                let thread = std::thread::Builder::new()
                    .name(TUNGSTENITE_THREAD.to_owned())
                    .spawn(move || tungstenite_server(std_listener, stopped))
                    .expect("thread");
                (Server::Tungstenite { stop, thread }, addr)
            }
        }
    }

    fn stop(self) {
        match self {
            Server::Ours(h) => {
                h.shutdown_blocking();
            }
            Server::Tungstenite { stop, thread } => {
                // The server may have gone already; the join tells.
                let _ = stop.send(());
                thread.join().expect("tungstenite server thread");
            }
        }
    }
}

/// tokio-tungstenite's echo: accept, then `next` / `send` per message.
fn tungstenite_server(listener: std::net::TcpListener, stop: tokio::sync::oneshot::Receiver<()>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        let accept = async {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                        return;
                    };
                    while let Some(Ok(msg)) = ws.next().await {
                        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
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
}

async fn handshake(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await?;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(s.read_u8().await?);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        return Err(std::io::Error::other("no 101"));
    }
    Ok(s)
}

/// One connection's closed loop: `depth` messages written at once, then
/// their echoes read and checked in order; counts echoed messages inside
/// the window.
async fn client(
    mut s: TcpStream,
    id: usize,
    start: Instant,
    end: Instant,
    depth: usize,
) -> std::io::Result<u64> {
    const FRAME: usize = 6 + PAYLOAD;
    const ECHO: usize = 2 + PAYLOAD;
    let mut frames = vec![0u8; FRAME * depth];
    let mut echoes = vec![0u8; ECHO * depth];
    let mut texts = Vec::with_capacity(depth);
    let mut n = 0;
    let mut seq = 0u64;
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            return Ok(n);
        }
        texts.clear();
        for frame in frames.chunks_exact_mut(FRAME) {
            let text = format!("{id:08x}{seq:024x}");
            frame[0] = 0x81;
            frame[1] = 0x80 | PAYLOAD as u8;
            frame[2..6].copy_from_slice(&MASK);
            for (i, b) in text.bytes().enumerate() {
                frame[6 + i] = b ^ MASK[i % 4];
            }
            texts.push(text);
            seq += 1;
        }
        s.write_all(&frames).await?;
        s.read_exact(&mut echoes).await?;
        for (echo, text) in echoes.chunks_exact(ECHO).zip(&texts) {
            if echo[0] != 0x81 || echo[1] as usize != PAYLOAD || &echo[2..] != text.as_bytes() {
                return Err(std::io::Error::other(format!("bad echo {echo:?}")));
            }
        }
        if t0 >= start && Instant::now() <= end {
            n += depth as u64;
        }
    }
}

struct Round {
    msgs_per_sec: f64,
    cpu_us_per_msg: Option<f64>,
}

async fn round(
    target: Target,
    addr: SocketAddr,
    conns: usize,
    secs: f64,
    warmup: Duration,
    depth: usize,
) -> Round {
    let mut streams = Vec::new();
    for _ in 0..conns {
        streams.push(handshake(addr).await.expect("handshake"));
    }
    let stat = thread_stat_path(target.thread());
    let start = Instant::now() + warmup;
    let end = start + Duration::from_secs_f64(secs);
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
        .enumerate()
        .map(|(id, s)| tokio::spawn(client(s, id, start, end, depth)))
        .collect();
    let mut messages = 0;
    for t in tasks {
        messages += t.await.expect("client task").expect("client");
    }
    let cpu = sampler.await.expect("sampler");
    Round {
        msgs_per_sec: messages as f64 / secs,
        cpu_us_per_msg: cpu
            .filter(|_| messages > 0)
            .map(|c| c * 1e6 / messages as f64),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Broadcasts "news" to every connection when one sends "go".
struct Fanout;

#[async_trait]
impl Service for Fanout {
    type Protocol = WebSocket;
    async fn on_message(&self, conn: &Connection<WebSocket>, msg: Message) {
        if msg == Message::from("go") {
            if let Some(w) = conn.worker() {
                w.broadcast("news");
            }
        }
    }
}

/// Connects `clients` WebSocket clients to a broadcasting worker, asks for
/// one broadcast, and returns the time until all of them have it.
async fn fanout(clients: usize) -> std::io::Result<Duration> {
    let server = Worker::new("websocket://127.0.0.1:0", Fanout)
        .name("ws_fanout")
        .spawn()
        .map_err(std::io::Error::other)?;
    let addr = server.local_addr().as_inet().expect("inet");
    let mut streams = Vec::with_capacity(clients);
    for _ in 0..clients {
        streams.push(handshake(addr).await?);
    }
    // Each 101 came back, so every connection was accepted; wait until the
    // worker has counted them all.
    while server.stats().connections < clients as u64 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut trigger = streams.pop().expect("at least one client");
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                let mut frame = [0u8; 6];
                s.read_exact(&mut frame).await?;
                if &frame != b"\x81\x04news" {
                    return Err(std::io::Error::other("bad broadcast frame"));
                }
                Ok::<_, std::io::Error>(s)
            })
        })
        .collect();
    let t0 = Instant::now();
    let mut go = vec![0x81, 0x82];
    go.extend_from_slice(&MASK);
    go.extend(b"go".iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    trigger.write_all(&go).await?;
    let mut frame = [0u8; 6];
    trigger.read_exact(&mut frame).await?;
    for r in readers {
        r.await.map_err(std::io::Error::other)??;
    }
    let elapsed = t0.elapsed();
    server.shutdown().await;
    Ok(elapsed)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let conns: usize = env_parse("WS_CONNS").unwrap_or(64);
    let secs: f64 = env_parse("WS_SECS").unwrap_or(if bench { 5.0 } else { 0.3 });
    let rounds: usize = env_parse("WS_ROUNDS").unwrap_or(if bench { 2 } else { 1 });
    let warmup = Duration::from_millis(if bench { 1000 } else { 100 });
    let depth: usize = env_parse("WS_DEPTH").unwrap_or(1usize).max(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("load generator runtime");
    println!(
        "websocket_load: {conns} connections, {PAYLOAD}-byte text messages, {depth} in flight per \
         connection, {secs:.1} s per round, {rounds} round(s) per target, interleaved; {} cores \
         shared by the load generator (one thread) and the server (one thread)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let targets = [Target::Tungstenite, Target::Ours];
    let mut results: Vec<(Target, Round)> = Vec::new();
    for r in 1..=rounds {
        for &t in &targets {
            let (server, addr) = Server::start(t);
            let res = rt.block_on(round(t, addr, conns, secs, warmup, depth));
            server.stop();
            println!(
                "round {r} {:<18} {:>10.0} msgs/s  server CPU {}",
                t.name(),
                res.msgs_per_sec,
                res.cpu_us_per_msg
                    .map_or("n/a".into(), |c| format!("{c:.2} us/msg"))
            );
            results.push((t, res));
        }
    }
    let med = |t: Target, f: fn(&Round) -> f64| {
        median(
            results
                .iter()
                .filter(|(x, _)| *x == t)
                .map(|(_, r)| f(r))
                .collect(),
        )
    };
    for &t in &targets {
        println!(
            "median {:<18} {:>10.0} msgs/s  server CPU {:.2} us/msg",
            t.name(),
            med(t, |r| r.msgs_per_sec),
            med(t, |r| r.cpu_us_per_msg.unwrap_or(f64::NAN))
        );
    }
    println!(
        "workerman / tokio-tungstenite: {:.3}x msgs/s, {:.3}x server CPU per message",
        med(Target::Ours, |r| r.msgs_per_sec) / med(Target::Tungstenite, |r| r.msgs_per_sec),
        med(Target::Ours, |r| r.cpu_us_per_msg.unwrap_or(f64::NAN))
            / med(Target::Tungstenite, |r| r
                .cpu_us_per_msg
                .unwrap_or(f64::NAN)),
    );

    let wanted: usize = env_parse("WS_FANOUT").unwrap_or(if bench { 10_000 } else { 200 });
    if wanted > 0 {
        let limit = raise_nofile();
        // Two fds per client (ours and the server's), plus some slack.
        let clients = wanted.min(usize::try_from(limit.saturating_sub(64) / 2).unwrap_or(wanted));
        match rt.block_on(fanout(clients)) {
            Ok(t) => println!(
                "fan-out: one broadcast to {clients} clients, all received in {:.1} ms",
                t.as_secs_f64() * 1e3
            ),
            Err(e) => println!("fan-out to {clients} clients failed: {e}"),
        }
    }
}
