//! Cluster push (Workerman manual 1.15.2.3): browsers connect to any of
//! several WebSocket worker processes; a message published once on the
//! Channel reaches every browser in every process, or one chosen browser.
//!
//! Run: `cargo run --release --example channel_cluster_push -- start` (add `-d` to
//! daemonize; then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: connect browsers (console: `ws = new WebSocket("ws://127.0.0.1:4236");
//! ws.onmessage = e => console.log(e.data)`); each is told
//! `workerID:<id> connectionID:<cid> connected`. Then push to all of them with
//! `curl 'http://127.0.0.1:4237/?content=hello'`, or to one with
//! `curl 'http://127.0.0.1:4237/?content=hi&to_worker_id=1&to_connection_id=3'`.
//!
//! Workers (one program; on several machines, run the Channel server once
//! and point every pusher and publisher at it with `CHANNEL_ADDR`):
//!
//! * `ChannelServer` on `frame://127.0.0.1:2206` (`CHANNEL_ADDR`; a
//!   `redis://` URL there uses Redis pub/sub instead, and no Channel
//!   server is started);
//! * `pusher` on `websocket://127.0.0.1:4236` (`WORKERMAN_ADDR`),
//!   `WORKERS` processes (default 2): each subscribes to the event named
//!   after its worker id (targeted pushes) and to `broadcast`;
//! * `publisher` on `http://127.0.0.1:4237` (`PUBLISHER_ADDR`): answers
//!   `ok` and publishes.
//!
//! As the manual notes, worker ids repeat across machines: a targeted
//! push by worker id alone is ambiguous in a multi-machine cluster (name
//! the events after a machine too, there).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workerman::channel::{ChannelClient, ChannelServer, DEFAULT_SERVER_ADDRESS};
use workerman::http::{Request, Response};
use workerman::prelude::*;

/// A push to one connection of one worker process.
#[derive(Serialize, Deserialize)]
struct Targeted {
    to_connection_id: u64,
    content: String,
}

/// One Channel client per worker instance (one per process under
/// `run_all`; keyed by worker id so the in-process mode works too).
#[derive(Default)]
struct Clients(Mutex<HashMap<usize, ChannelClient>>);

impl Clients {
    fn connect(&self, id: usize, address: &str) -> Option<ChannelClient> {
        match ChannelClient::connect(address) {
            Ok(c) => {
                lock(&self.0).insert(id, c.clone());
                Some(c)
            }
            Err(e) => {
                tracing::error!(error = %e, "no channel client");
                None
            }
        }
    }

    fn get(&self, id: usize) -> Option<ChannelClient> {
        lock(&self.0).get(&id).cloned()
    }

    fn close(&self, id: usize) {
        if let Some(c) = lock(&self.0).remove(&id) {
            c.close();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The WebSocket workers the browsers connect to.
struct Pusher {
    channel: String,
    clients: Clients,
}

#[async_trait]
impl Service for Pusher {
    type Protocol = WebSocket;

    async fn on_worker_start(&self, worker: &WorkerContext<WebSocket>) {
        let Some(channel) = self.clients.connect(worker.id(), &self.channel) else {
            return;
        };
        // Targeted pushes: the event named after this worker's id.
        let local = worker.clone();
        channel.on(worker.id().to_string(), move |push: Targeted| {
            let local = local.clone();
            async move {
                match local.connection(push.to_connection_id) {
                    Some(conn) => {
                        let _ = conn.send(push.content);
                    }
                    None => tracing::info!(id = push.to_connection_id, "connection not exists"),
                }
            }
        });
        // Everyone: every connection of this process.
        let local = worker.clone();
        channel.on("broadcast", move |content: String| {
            let local = local.clone();
            async move {
                local.broadcast(content);
            }
        });
        // Accept browsers once the subscriptions are in force (the Channel
        // server may still be starting: wait a little, not forever).
        if tokio::time::timeout(Duration::from_secs(5), channel.sync())
            .await
            .is_err()
        {
            tracing::warn!("channel not reachable yet; pushes may be missed until it is");
        }
    }

    async fn on_connect(&self, conn: &Connection<WebSocket>) {
        let worker = conn.worker().map(|w| w.id()).unwrap_or(0);
        let _ = conn.send(format!(
            "workerID:{worker} connectionID:{} connected",
            conn.id()
        ));
    }

    async fn on_message(&self, _conn: &Connection<WebSocket>, _msg: Message) {}

    async fn on_worker_stop(&self, worker: &WorkerContext<WebSocket>) {
        self.clients.close(worker.id());
    }
}

/// The HTTP endpoint that pushes.
struct Publisher {
    channel: String,
    clients: Clients,
}

#[async_trait]
impl Service for Publisher {
    type Protocol = Http;

    async fn on_worker_start(&self, worker: &WorkerContext<Http>) {
        self.clients.connect(worker.id(), &self.channel);
    }

    async fn on_message(&self, conn: &Connection<Http>, req: Request) {
        let worker = conn.worker().map(|w| w.id()).unwrap_or(0);
        let (Some(channel), Some(content)) = (self.clients.get(worker), req.get("content")) else {
            let _ = conn.send(Response::new(400).with_body("content missing"));
            return;
        };
        let target = req
            .get("to_worker_id")
            .zip(req.get("to_connection_id").and_then(|c| c.parse().ok()));
        let sent = match target {
            Some((to_worker, to_connection_id)) => channel.publish(
                to_worker,
                &Targeted {
                    to_connection_id,
                    content: content.to_owned(),
                },
            ),
            None => channel.publish("broadcast", content),
        };
        let answer = match sent {
            Ok(()) => Response::new(200).with_body("ok"),
            Err(e) => Response::new(500).with_body(e.to_string()),
        };
        let _ = conn.send(answer);
    }

    async fn on_worker_stop(&self, worker: &WorkerContext<Http>) {
        self.clients.close(worker.id());
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let channel = env_or("CHANNEL_ADDR", DEFAULT_SERVER_ADDRESS);
    let count = env_or("WORKERS", "2").parse().unwrap_or(2);
    let mut server = Server::new();
    if channel.starts_with("frame://") {
        server = server.worker(ChannelServer::worker(channel.clone()));
    }
    server
        .worker(
            Worker::new(
                env_or("WORKERMAN_ADDR", "websocket://127.0.0.1:4236"),
                Pusher {
                    channel: channel.clone(),
                    clients: Clients::default(),
                },
            )
            .name("pusher")
            .count(count),
        )
        .worker(
            Worker::new(
                env_or("PUBLISHER_ADDR", "http://127.0.0.1:4237"),
                Publisher {
                    channel,
                    clients: Clients::default(),
                },
            )
            .name("publisher"),
        )
        .run_all()
}
