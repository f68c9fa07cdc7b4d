//! `WorkerContext::listen`: a second worker served inside an instance,
//! sharing its memory (manual 1.8.4.3 / FAQ 1.16.17: push from outside).

mod common;

use std::sync::{Arc, Mutex};

use common::{events, inet, Events, LineClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use workerman::prelude::*;

/// The clients' worker: remembers its context for the pusher.
struct Clients {
    ev: Events,
    ctx: Arc<Mutex<Option<WorkerContext<Text>>>>,
}

#[async_trait]
impl Service for Clients {
    type Protocol = Text;
    async fn on_worker_start(&self, w: &WorkerContext<Text>) {
        *self.ctx.lock().unwrap() = Some(w.clone());
        let inner = Worker::new(
            "frame://127.0.0.1:0",
            Pusher {
                ctx: self.ctx.clone(),
            },
        );
        let addr = w.listen(inner).expect("inner worker listens");
        self.ev.push(format!("{}", addr.as_inet().unwrap()));
    }
    async fn on_message(&self, conn: &Connection<Text>, _msg: Payload) {
        let _ = conn.send("registered");
    }
}

/// The internal port: every frame is pushed to every client.
struct Pusher {
    ctx: Arc<Mutex<Option<WorkerContext<Text>>>>,
}

#[async_trait]
impl Service for Pusher {
    type Protocol = Frame;
    async fn on_message(&self, conn: &Connection<Frame>, msg: Payload) {
        let ctx = self.ctx.lock().unwrap().clone();
        let reached = ctx
            .map(|c| c.broadcast(format!("pushed: {msg}")))
            .unwrap_or(0);
        let _ = conn.send(if reached > 0 { "ok" } else { "fail" });
    }
}

#[tokio::test]
async fn inner_worker_pushes_to_the_outer_workers_clients() {
    let (ev, mut log) = events();
    let server = Worker::new(
        "text://127.0.0.1:0",
        Clients {
            ev,
            ctx: Arc::new(Mutex::new(None)),
        },
    )
    .spawn()
    .unwrap();
    let inner: std::net::SocketAddr = log.next().await.parse().unwrap();

    let mut pusher = LineClient::connect(inner).await;
    let frame = |s: &str| {
        let mut f = ((s.len() + 4) as u32).to_be_bytes().to_vec();
        f.extend_from_slice(s.as_bytes());
        f
    };
    // Nobody connected yet: "fail".
    pusher
        .reader
        .get_mut()
        .write_all(&frame("early"))
        .await
        .unwrap();
    let mut reply = [0u8; 8];
    pusher.reader.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply, b"\0\0\0\x08fail");

    let mut client = LineClient::connect(inet(&server)).await;
    client.send(b"hello\n").await;
    assert_eq!(client.line().await, "registered\n");
    pusher
        .reader
        .get_mut()
        .write_all(&frame("news"))
        .await
        .unwrap();
    let mut reply = [0u8; 6];
    pusher.reader.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply, b"\0\0\0\x06ok");
    assert_eq!(client.line().await, "pushed: news\n");

    // The inner worker stops with the instance.
    server.shutdown().await;
    pusher.expect_closed().await;
    assert!(tokio::net::TcpStream::connect(inner).await.is_err());
}
