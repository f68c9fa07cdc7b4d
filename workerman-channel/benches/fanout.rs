//! Channel throughput and fan-out latency on loopback: a `ChannelServer`
//! in this process, subscribers each on their own thread and runtime (as
//! separate worker processes would be), one publisher.
//!
//! Run: `cargo bench -p workerman-channel --bench fanout`
//! (`FANOUT_SUBSCRIBERS`, `FANOUT_MESSAGES` change the sizes).
//!
//! * throughput: the publisher sends `FANOUT_MESSAGES` small events,
//!   waiting for `sync()` every 256 (so the bounded queue never drops);
//!   timed until every subscriber has received every event.
//! * latency: 2,000 events, one at a time, each carrying its send time;
//!   each subscriber records receive time minus send time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use workerman_channel::{ChannelClient, ChannelServer};

#[derive(Serialize, Deserialize)]
struct Event {
    seq: u64,
    /// Nanoseconds since the bench's epoch.
    sent: u64,
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Subscribers {
    received: Arc<AtomicU64>,
    latencies: Arc<Mutex<Vec<u64>>>,
    stop: Vec<tokio::sync::oneshot::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

fn subscribers(address: &str, n: u64, epoch: Instant) -> Subscribers {
    let received = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let mut stop = Vec::new();
    let mut threads = Vec::new();
    for _ in 0..n {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        stop.push(stop_tx);
        let (address, received, latencies, ready) = (
            address.to_owned(),
            received.clone(),
            latencies.clone(),
            ready_tx.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let c = ChannelClient::connect(address).unwrap();
                let r = received.clone();
                c.on("bulk", move |_: Event| {
                    r.fetch_add(1, Ordering::Relaxed);
                    async {}
                });
                c.on("timed", move |e: Event| {
                    let now = epoch.elapsed().as_nanos() as u64;
                    latencies.lock().unwrap().push(now - e.sent);
                    async {}
                });
                c.sync().await.unwrap();
                ready.send(()).unwrap();
                let _ = stop_rx.await;
                c.close();
            });
        }));
    }
    for _ in 0..n {
        ready_rx.recv().unwrap();
    }
    Subscribers {
        received,
        latencies,
        stop,
        threads,
    }
}

fn percentile(sorted: &[u64], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Duration::from_nanos(sorted[i])
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n_subs = env("FANOUT_SUBSCRIBERS", 4);
    let n_msgs = env("FANOUT_MESSAGES", 100_000);
    let server = ChannelServer::worker("frame://127.0.0.1:0")
        .spawn()
        .unwrap();
    let address = format!("frame://{}", server.local_addr());
    let epoch = Instant::now();
    let subs = subscribers(&address, n_subs, epoch);
    let publisher = ChannelClient::connect(&address).unwrap();
    publisher.sync().await.unwrap();

    // Throughput.
    let t0 = Instant::now();
    for seq in 0..n_msgs {
        publisher.publish("bulk", &Event { seq, sent: 0 }).unwrap();
        if seq % 256 == 255 {
            publisher.sync().await.unwrap();
        }
    }
    let want = n_msgs * n_subs;
    while subs.received.load(Ordering::Relaxed) < want {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let took = t0.elapsed();
    assert_eq!(publisher.stats().dropped, 0);
    println!(
        "throughput: {n_msgs} events to {n_subs} subscribers in {took:.2?}: \
         {:.0} publishes/s, {:.0} deliveries/s",
        n_msgs as f64 / took.as_secs_f64(),
        want as f64 / took.as_secs_f64()
    );

    // Latency, one event in flight at a time.
    let samples = 2_000;
    for seq in 0..samples {
        let sent = epoch.elapsed().as_nanos() as u64;
        publisher.publish("timed", &Event { seq, sent }).unwrap();
        let want = ((seq + 1) * n_subs) as usize;
        while subs.latencies.lock().unwrap().len() < want {
            tokio::task::yield_now().await;
        }
    }
    let mut lat = subs.latencies.lock().unwrap().clone();
    lat.sort_unstable();
    println!(
        "fan-out latency (publish → handler, {} samples): p50 {:.1?}, p99 {:.1?}, max {:.1?}",
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );

    for s in subs.stop {
        let _ = s.send(());
    }
    for t in subs.threads {
        t.join().unwrap();
    }
    publisher.close();
    server.shutdown().await;
}
