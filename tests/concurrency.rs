//! 1,000 concurrent clients each get only their own echoes; sends from
//! other tasks and threads (broadcast, timers) reach the connections.

mod common;

use std::time::Duration;

use common::{events, inet, Events, LineClient};
use workerman::prelude::*;

struct Echo;

#[async_trait]
impl Service for Echo {
    type Protocol = Text;
    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let _ = conn.send(msg);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_clients_get_only_their_own_echoes() {
    // 1,000 clients and their accepted sockets live in this process.
    let (soft, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    if soft < 4096 {
        assert!(
            hard >= 4096,
            "this test needs an fd limit of at least 4096 (hard limit {hard})"
        );
        nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, 4096, hard)
            .unwrap();
    }
    let server = Worker::new("text://127.0.0.1:0", Echo)
        .count(2)
        .spawn()
        .unwrap();
    let addr = inet(&server);
    let mut clients = Vec::new();
    for id in 0..1000 {
        clients.push(tokio::spawn(async move {
            let mut c = LineClient::connect(addr).await;
            // Pipelined: ten lines in one write, then ten echoes in order.
            let mut batch = String::new();
            for j in 0..10 {
                batch.push_str(&format!("client {id} line {j}\n"));
            }
            c.send(batch.as_bytes()).await;
            for j in 0..10 {
                assert_eq!(c.line().await, format!("client {id} line {j}\n"));
            }
            c
        }));
    }
    let mut open = Vec::new();
    for c in clients {
        open.push(c.await.unwrap());
    }
    let stats = server.stats();
    assert_eq!(stats.total_connections, 1000);
    assert_eq!(stats.connections, 1000);
    assert_eq!(stats.total_requests, 10_000);
    // Both instances served some (they share one listening socket).
    let per_instance = server.worker_stats("none");
    assert_eq!(per_instance.len(), 2);
    drop(open);
    let report = server.shutdown().await;
    assert!(report.graceful);
}

struct Room(Events);

#[async_trait]
impl Service for Room {
    type Protocol = Text;
    async fn on_worker_start(&self, w: &WorkerContext<Text>) {
        // A "timer" on the worker's runtime pushing to every client.
        let w = w.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let mut n = 0u64;
            loop {
                tick.tick().await;
                if w.connection_count() > 0 {
                    n += 1;
                    w.broadcast(format!("tick {n}"));
                }
            }
        });
    }
    async fn on_connect(&self, conn: &Connection<Text>) {
        self.0.push(format!("{}", conn.id()));
    }
    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        // Broadcast from inside a handler: every client, this one included.
        let w = conn.worker().unwrap();
        assert_eq!(
            w.broadcast(format!("{}: {msg}", conn.id())),
            w.connection_count()
        );
    }
}

#[tokio::test]
async fn sends_from_other_tasks_and_threads_reach_clients() {
    let (ev, mut log) = events();
    let server = Worker::new("text://127.0.0.1:0", Room(ev)).spawn().unwrap();
    let mut a = LineClient::connect(inet(&server)).await;
    let mut b = LineClient::connect(inet(&server)).await;
    let a_id = log.next().await;
    let _b_id = log.next().await;
    // The worker's own timer task reaches both.
    assert!(a.line().await.starts_with("tick "));
    assert!(b.line().await.starts_with("tick "));
    a.send(b"hello\n").await;
    let want = format!("{a_id}: hello\n");
    for c in [&mut a, &mut b] {
        loop {
            let l = c.line().await;
            if l.starts_with("tick ") {
                continue;
            }
            assert_eq!(l, want);
            break;
        }
    }
    server.shutdown().await;
}
