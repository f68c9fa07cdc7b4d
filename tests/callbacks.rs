//! Every callback fires, once, in the documented order.

mod common;

use common::{events, inet, Events, LineClient};
use workerman::prelude::*;

struct Ordered(Events);

#[async_trait]
impl Service for Ordered {
    type Protocol = Text;

    async fn on_worker_start(&self, w: &WorkerContext<Text>) {
        self.0.push(format!(
            "worker_start {} {} {}",
            w.id(),
            w.count(),
            w.name()
        ));
    }
    async fn on_connect(&self, conn: &Connection<Text>) {
        let ip = conn.remote_ip().unwrap();
        self.0.push(format!("connect {ip}"));
    }
    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        self.0.push(format!("message {msg}"));
        match msg.as_str() {
            Ok("close") => conn.close(Some("bye".into())),
            Ok("destroy") => conn.destroy(),
            _ => {
                let _ = conn.send(msg);
            }
        }
    }
    async fn on_close(&self, conn: &Connection<Text>) {
        let listed = conn.worker().unwrap().connection(conn.id()).is_some();
        self.0.push(format!("close listed={listed}"));
    }
    async fn on_error(&self, _conn: &Connection<Text>, err: &ConnectionError) {
        self.0.push(format!("error {}", err.code()));
    }
    async fn on_worker_stop(&self, w: &WorkerContext<Text>) {
        self.0.push(format!("worker_stop {}", w.connection_count()));
    }
}

#[tokio::test]
async fn callbacks_fire_in_documented_order() {
    let (tx, mut log) = events();
    let server = Worker::new("text://127.0.0.1:0", Ordered(tx))
        .name("ordered")
        .spawn()
        .unwrap();
    assert_eq!(log.next().await, "worker_start 0 1 ordered");

    let mut c = LineClient::connect(inet(&server)).await;
    c.send(b"one\ntwo\r\n").await;
    assert_eq!(c.line().await, "one\n");
    assert_eq!(c.line().await, "two\n");
    c.send(b"close\n").await;
    assert_eq!(c.line().await, "bye\n");
    c.expect_closed().await;
    assert_eq!(log.next().await, "connect 127.0.0.1");
    assert_eq!(log.next().await, "message one");
    assert_eq!(log.next().await, "message two");
    assert_eq!(log.next().await, "message close");
    assert_eq!(log.next().await, "close listed=true");

    // destroy, and a peer that just goes away: on_close exactly once each.
    let mut d = LineClient::connect(inet(&server)).await;
    d.send(b"destroy\n").await;
    d.expect_closed().await;
    assert_eq!(log.next().await, "connect 127.0.0.1");
    assert_eq!(log.next().await, "message destroy");
    assert_eq!(log.next().await, "close listed=true");

    let e = LineClient::connect(inet(&server)).await;
    assert_eq!(log.next().await, "connect 127.0.0.1");
    drop(e);
    assert_eq!(log.next().await, "close listed=true");

    // A connection open at shutdown: on_worker_stop sees it, then it closes.
    let mut f = LineClient::connect(inet(&server)).await;
    f.send(b"ping\n").await;
    assert_eq!(f.line().await, "ping\n");
    let report = server.shutdown().await;
    assert!(report.graceful);
    f.expect_closed().await;
    assert_eq!(log.next().await, "connect 127.0.0.1");
    assert_eq!(log.next().await, "message ping");
    assert_eq!(log.next().await, "worker_stop 1");
    assert_eq!(log.next().await, "close listed=true");
    assert!(log.drain().is_empty());
}

#[tokio::test]
async fn messages_before_close_are_all_delivered_in_order() {
    let (tx, mut log) = events();
    let server = Worker::new("text://127.0.0.1:0", Ordered(tx))
        .spawn()
        .unwrap();
    log.next().await; // worker_start
    let mut c = LineClient::connect(inet(&server)).await;
    let mut batch = Vec::new();
    for i in 0..500 {
        batch.extend_from_slice(format!("m{i}\n").as_bytes());
    }
    c.send(&batch).await;
    c.reader.get_mut().shutdown().await.unwrap();
    // Everything sent before the FIN is echoed before we see EOF.
    let echoed = c.read_to_end().await;
    assert_eq!(echoed, batch);
    assert_eq!(log.next().await, "connect 127.0.0.1");
    for i in 0..500 {
        assert_eq!(log.next().await, format!("message m{i}"));
    }
    assert_eq!(log.next().await, "close listed=true");
    server.shutdown().await;
}

use tokio::io::AsyncWriteExt;
