//! `count` instances: each runs on_worker_start with its own id; with and
//! without `reuse_port` they share the port.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{events, inet, Events, LineClient};
use workerman::prelude::*;

struct Id(Events);

#[async_trait]
impl Service for Id {
    type Protocol = Text;
    async fn on_worker_start(&self, w: &WorkerContext<Text>) {
        self.0
            .push(format!("start {} of {} {}", w.id(), w.count(), w.name()));
        if w.id() == 1 {
            panic!("a panicking on_worker_start is logged; the instance still serves");
        }
    }
    async fn on_message(&self, conn: &Connection<Text>, _msg: Payload) {
        let _ = conn.send(format!("{}", conn.worker().unwrap().id()));
    }
}

async fn served_by(server: &ServerHandle, clients: usize) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut open = Vec::new();
    for _ in 0..clients {
        let mut c = LineClient::connect(inet(server)).await;
        c.send(b"who\n").await;
        ids.insert(c.line().await.trim().to_owned());
        open.push(c);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_starts_instances_with_ids_and_reuse_port_spreads_load() {
    for reuse in [false, true] {
        let (ev, mut log) = events();
        let server = Worker::new("text://127.0.0.1:0", Id(ev))
            .name("pool")
            .count(4)
            .reuse_port(reuse)
            .spawn()
            .unwrap();
        let mut starts: Vec<String> = Vec::new();
        for _ in 0..4 {
            starts.push(log.next().await);
        }
        starts.sort();
        // The panic in instance 1 is counted once its hook has run (printing
        // a backtrace can take a while in a debug build).
        let mut waited = 0;
        while server.stats().callback_panics == 0 {
            waited += 1;
            assert!(waited < 1000, "the on_worker_start panic was not counted");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(
            starts,
            [
                "start 0 of 4 pool",
                "start 1 of 4 pool",
                "start 2 of 4 pool",
                "start 3 of 4 pool"
            ]
        );
        let ids = served_by(&server, 200).await;
        assert!(ids
            .iter()
            .all(|i| ["0", "1", "2", "3"].contains(&i.as_str())));
        if reuse {
            // The kernel spreads connections over the four sockets.
            assert!(ids.len() >= 2, "reuse_port: only {ids:?} served");
        }
        assert_eq!(server.worker_stats("pool").len(), 4);
        assert_eq!(server.stats().callback_panics, 1);
        assert_eq!(server.stats().total_requests, 200);
        server.shutdown().await;
    }
}

#[test]
fn count_zero_means_one() {
    let (ev, _log) = events();
    let server = Worker::new("text://127.0.0.1:0", Id(ev))
        .count(0)
        .spawn()
        .unwrap();
    assert_eq!(server.worker_stats("none").len(), 1);
    server.shutdown_blocking();
}

/// The trait objects and handles users move between tasks are Send + Sync.
#[test]
fn handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Connection<Text>>();
    assert_send_sync::<WorkerContext<Text>>();
    assert_send_sync::<Arc<Id>>();
    assert_send_sync::<workerman::Error>();
    assert_send_sync::<workerman::ConnectionError>();
    fn assert_send<T: Send>(_: T) {}
    assert_send(Worker::new("text://127.0.0.1:0", Id(events().0)));
    assert_send(Server::new());
}
