//! `pipe` moves 100 MB through a proxy with back-pressure: the bytes and
//! their checksum arrive intact and the queues never grow past their limits.

mod common;

use std::hash::Hasher;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::inet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use workerman::prelude::*;

const TOTAL: usize = 100 * 1024 * 1024;
const LIMIT: usize = 256 * 1024;
/// What one read can add on top of a full queue.
const SLACK: usize = 64 * 1024;

#[derive(Default)]
struct Seen {
    upstream_full: AtomicUsize,
    upstream_drain: AtomicUsize,
    conns: Mutex<Vec<Connection<Tcp>>>,
}

struct Upstream(Arc<Seen>);

#[async_trait]
impl Service for Upstream {
    type Protocol = Tcp;
    async fn on_message(&self, _conn: &Connection<Tcp>, _msg: Payload) {
        unreachable!("piped connections do not call on_message");
    }
    async fn on_buffer_full(&self, _conn: &Connection<Tcp>) {
        self.0.upstream_full.fetch_add(1, Ordering::Relaxed);
    }
    async fn on_buffer_drain(&self, _conn: &Connection<Tcp>) {
        self.0.upstream_drain.fetch_add(1, Ordering::Relaxed);
    }
}

struct Proxy {
    upstream: SocketAddr,
    seen: Arc<Seen>,
}

#[async_trait]
impl Service for Proxy {
    type Protocol = Tcp;
    async fn on_connect(&self, client: &Connection<Tcp>) {
        client.pause_recv();
        let up = AsyncTcpConnection::new(
            format!("tcp://{}", self.upstream),
            Upstream(self.seen.clone()),
        )
        .max_send_buffer_size(LIMIT)
        .pause_recv(true)
        .connect()
        .await
        .expect("upstream reachable");
        client.pipe(&up);
        up.pipe(client);
        self.seen
            .conns
            .lock()
            .unwrap()
            .extend([client.clone(), up.clone()]);
        client.resume_recv();
        up.resume_recv();
    }
    async fn on_message(&self, _conn: &Connection<Tcp>, _msg: Payload) {
        unreachable!("piped connections do not call on_message");
    }
}

fn chunk(block: &[u8], i: usize) -> Vec<u8> {
    let r = (i * 7919) % block.len();
    [&block[r..], &block[..r]].concat()
}

/// A slow sink: reads everything, hashing it, then answers "len hash\n".
async fn slow_sink(listener: TcpListener) {
    let (mut s, _) = listener.accept().await.unwrap();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut len = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    let mut reads = 0u64;
    // Read nothing at first: the kernel's buffers on the way (a few MB)
    // fill, so the proxy's upstream queue must reach its limit and
    // back-pressure engages whatever the relative speeds (a fast sink
    // alone sometimes kept up with a debug build, and the queue never
    // filled).
    tokio::time::sleep(Duration::from_millis(300)).await;
    loop {
        let n = s.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        hasher.write(&buf[..n]);
        len += n;
        reads += 1;
        if reads.is_multiple_of(64) {
            // Slower than the client writes: the proxy must hold back.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    s.write_all(format!("{len} {}\n", hasher.finish()).as_bytes())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_moves_100mb_with_bounded_queues() {
    let sink = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = sink.local_addr().unwrap();
    let sink_task = tokio::spawn(slow_sink(sink));
    let seen = Arc::new(Seen::default());
    let server = Worker::new(
        "tcp://127.0.0.1:0",
        Proxy {
            upstream,
            seen: seen.clone(),
        },
    )
    .max_send_buffer_size(LIMIT)
    .spawn()
    .unwrap();

    // Watch the proxy's two queues while the data flows.
    let max_queue = Arc::new(AtomicUsize::new(0));
    let watch = {
        let (seen, max_queue) = (seen.clone(), max_queue.clone());
        tokio::spawn(async move {
            loop {
                for c in seen.conns.lock().unwrap().iter() {
                    max_queue.fetch_max(c.send_queue_bytes(), Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_micros(500)).await;
            }
        })
    };

    let mut block = vec![0u8; 1 << 20];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for b in block.iter_mut() {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *b = (x >> 56) as u8;
    }
    let client = TcpStream::connect(inet(&server)).await.unwrap();
    let (mut rd, mut wr) = client.into_split();
    let writer = tokio::spawn(async move {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for i in 0..TOTAL / block.len() {
            let c = chunk(&block, i);
            hasher.write(&c);
            wr.write_all(&c).await.unwrap();
        }
        wr.shutdown().await.unwrap();
        hasher.finish()
    });
    let mut reply = String::new();
    tokio::time::timeout(Duration::from_secs(120), rd.read_to_string(&mut reply))
        .await
        .expect("proxy transfer timed out")
        .unwrap();
    let sent_hash = writer.await.unwrap();
    sink_task.await.unwrap();
    watch.abort();

    assert_eq!(reply, format!("{TOTAL} {sent_hash}\n"));
    let max = max_queue.load(Ordering::Relaxed);
    assert!(max <= LIMIT + SLACK, "a queue grew to {max} bytes");
    // Back-pressure really engaged: the upstream filled and drained.
    assert!(seen.upstream_full.load(Ordering::Relaxed) >= 1);
    assert!(seen.upstream_drain.load(Ordering::Relaxed) >= 1);
    let stats = server.stats();
    assert_eq!(stats.bytes_read as usize, TOTAL);
    server.shutdown().await;
}
