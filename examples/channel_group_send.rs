//! Group send (Workerman manual 1.15.2.4): browsers join groups; a message
//! sent to a group reaches its members in every worker process, through
//! the Channel.
//!
//! Run: `cargo run --release --example channel_group_send -- start` (add `-d` to
//! daemonize; then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: in two or more browser consoles,
//! `ws = new WebSocket("ws://127.0.0.1:4238"); ws.onmessage = e => console.log(e.data)`, then
//! `ws.send('{"cmd":"add_group","group_id":"123"}')` in each and
//! `ws.send('{"cmd":"send_to_group","group_id":"123","message":"hi"}')` in one.
//!
//! Listens on `websocket://127.0.0.1:4238` (`WORKERMAN_ADDR`) with
//! `WORKERS` processes (default 4; the manual uses 8), plus a Channel
//! server in the same program on `frame://127.0.0.1:2206` (`CHANNEL_ADDR`;
//! a `redis://` URL uses Redis pub/sub instead).
//!
//! Each process keeps its own `group → members` map of its own
//! connections. `add_group` is answered `joined <group> (worker <id>)`;
//! a connection that closes leaves all its groups.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workerman::channel::{ChannelClient, ChannelServer, DEFAULT_SERVER_ADDRESS};
use workerman::prelude::*;

/// What browsers send.
#[derive(Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
enum Command {
    AddGroup { group_id: String },
    SendToGroup { group_id: String, message: String },
}

/// The Channel event: a message for the members of a group.
#[derive(Serialize, Deserialize)]
struct ToGroup {
    group_id: String,
    message: String,
}

/// The groups a connection joined (a connection extension).
#[derive(Default)]
struct Joined(BTreeSet<String>);

/// One worker instance's groups and Channel client.
#[derive(Default)]
struct Local {
    groups: HashMap<String, HashMap<u64, Connection<WebSocket>>>,
    channel: Option<ChannelClient>,
}

/// State per worker instance (one per process under `run_all`; keyed by
/// worker id so the in-process mode works too). A std mutex: held only to
/// change or copy the maps, never across an await.
#[derive(Default, Clone)]
struct State(Arc<Mutex<HashMap<usize, Local>>>);

impl State {
    fn with<R>(&self, worker: usize, f: impl FnOnce(&mut Local) -> R) -> R {
        let mut all = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(all.entry(worker).or_default())
    }
}

struct Groups {
    state: State,
    channel_addr: String,
}

fn worker_id(conn: &Connection<WebSocket>) -> usize {
    conn.worker().map(|w| w.id()).unwrap_or(0)
}

#[async_trait]
impl Service for Groups {
    type Protocol = WebSocket;

    async fn on_worker_start(&self, worker: &WorkerContext<WebSocket>) {
        let channel = match ChannelClient::connect(&self.channel_addr) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "no channel client");
                return;
            }
        };
        // Every process handles every group message, for its own members.
        let state = self.state.clone();
        let id = worker.id();
        channel.on("send_to_group", move |m: ToGroup| {
            let members: Vec<Connection<WebSocket>> = state.with(id, |l| {
                l.groups
                    .get(&m.group_id)
                    .map(|g| g.values().cloned().collect())
                    .unwrap_or_default()
            });
            async move {
                for conn in members {
                    let _ = conn.send(m.message.as_str());
                }
            }
        });
        self.state.with(id, |l| l.channel = Some(channel.clone()));
        // Accept browsers once the subscription is in force (the Channel
        // server may still be starting: wait a little, not forever).
        if tokio::time::timeout(Duration::from_secs(5), channel.sync())
            .await
            .is_err()
        {
            tracing::warn!("channel not reachable yet; group messages may be missed until it is");
        }
    }

    async fn on_connect(&self, conn: &Connection<WebSocket>) {
        conn.insert_extension(Joined::default());
    }

    async fn on_message(&self, conn: &Connection<WebSocket>, msg: Message) {
        let Some(text) = msg.as_text() else { return };
        let cmd = match serde_json::from_str::<Command>(text) {
            Ok(cmd) => cmd,
            Err(e) => {
                let _ = conn.send(format!("bad command: {e}"));
                return;
            }
        };
        let id = worker_id(conn);
        match cmd {
            Command::AddGroup { group_id } => {
                conn.with_extension::<Joined, _>(|j| {
                    if let Some(j) = j {
                        j.0.insert(group_id.clone());
                    }
                });
                self.state.with(id, |l| {
                    l.groups
                        .entry(group_id.clone())
                        .or_default()
                        .insert(conn.id(), conn.clone())
                });
                let _ = conn.send(format!("joined {group_id} (worker {id})"));
            }
            Command::SendToGroup { group_id, message } => {
                let channel = self.state.with(id, |l| l.channel.clone());
                if let Some(channel) = channel {
                    if let Err(e) = channel.publish("send_to_group", &ToGroup { group_id, message })
                    {
                        tracing::warn!(error = %e, "not published");
                    }
                }
            }
        }
    }

    async fn on_close(&self, conn: &Connection<WebSocket>) {
        let joined = conn.remove_extension::<Joined>().unwrap_or_default();
        self.state.with(worker_id(conn), |l| {
            for g in joined.0 {
                if let Some(members) = l.groups.get_mut(&g) {
                    members.remove(&conn.id());
                    if members.is_empty() {
                        l.groups.remove(&g);
                    }
                }
            }
        });
    }

    async fn on_worker_stop(&self, worker: &WorkerContext<WebSocket>) {
        if let Some(c) = self.state.with(worker.id(), |l| l.channel.take()) {
            c.close();
        }
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let channel = std::env::var("CHANNEL_ADDR").unwrap_or_else(|_| DEFAULT_SERVER_ADDRESS.into());
    let addr =
        std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "websocket://127.0.0.1:4238".into());
    let count = std::env::var("WORKERS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(4);
    let mut server = Server::new();
    if channel.starts_with("frame://") {
        server = server.worker(ChannelServer::worker(channel.clone()));
    }
    server
        .worker(
            Worker::new(
                addr,
                Groups {
                    state: State::default(),
                    channel_addr: channel,
                },
            )
            .name("group_send")
            .count(count),
        )
        .run_all()
}
