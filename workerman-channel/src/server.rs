//! [`ChannelServer`]: the pub/sub server, a `frame://` worker.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use workerman_core::{async_trait, Connection, SendError, Service, Worker};
use workerman_protocols::{Frame, Payload};

use crate::wire::{self, Command};

/// Where the Channel server listens by default: loopback, port 2206.
///
/// Workerman's `Channel\Server` binds `0.0.0.0:2206`; we default to
/// loopback so that a server started with defaults is not reachable from
/// the network (the protocol has no authentication). Give
/// `frame://0.0.0.0:2206` to serve other machines, behind a firewall.
pub const DEFAULT_SERVER_ADDRESS: &str = "frame://127.0.0.1:2206";

/// How many channels one connection may subscribe to at once; a client
/// asking for more is closed (a guard against a peer growing the server's
/// memory without bound).
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 100_000;

/// The Channel server: a [`Service`] on `frame://` that records which
/// connection subscribed to which channel and forwards every published
/// event to the subscribers (Workerman's `Channel\Server`).
///
/// Run it as one worker process ([`ChannelServer::worker`] sets `count(1)`
/// and the name `ChannelServer`): subscriptions live in this process's
/// memory, so two instances would each know only half of them. It can run
/// in the same program as the workers that use it (add it to the same
/// `Server`), or alone on another machine.
///
/// Delivery is at most once: an event goes to the subscribers connected
/// when it arrives; nothing is stored. A subscriber whose send buffer is
/// full (it reads too slowly) misses the event, and a warning is logged.
///
/// # Examples
///
/// ```no_run
/// use workerman_channel::ChannelServer;
///
/// fn main() -> Result<(), workerman_core::Error> {
///     // `run` in-process; `workerman::run_all` gives it the command line.
///     ChannelServer::worker("frame://127.0.0.1:2206").run()
/// }
/// ```
#[derive(Debug, Default)]
pub struct ChannelServer {
    /// channel name → subscribed connections by id. A std mutex: held to
    /// look up or change the map, never across an await.
    channels: Mutex<HashMap<String, HashMap<u64, Connection<Frame>>>>,
    /// Events forwarded to a subscriber (one per subscriber).
    delivered: AtomicU64,
    /// Events a slow subscriber missed (its send buffer was full).
    missed: AtomicU64,
}

/// The channels one connection subscribed to (a connection extension), so
/// that closing it removes exactly its entries.
#[derive(Debug, Default)]
struct Subscribed(HashSet<String>);

impl ChannelServer {
    /// A server with no subscriptions.
    pub fn new() -> Self {
        Self::default()
    }

    /// The server as a [`Worker`] on `address` (see
    /// [`DEFAULT_SERVER_ADDRESS`]): `count(1)`, named `ChannelServer`.
    /// The address must be `frame://host:port` or `frame:///unix/path`.
    pub fn worker(address: impl Into<String>) -> Worker<ChannelServer> {
        Worker::new(address, ChannelServer::new())
            .name("ChannelServer")
            .count(1)
    }

    /// How many events were handed to subscribers so far (one per
    /// subscriber reached), and how many were missed because the
    /// subscriber's send buffer was full.
    pub fn counters(&self) -> (u64, u64) {
        (
            self.delivered.load(Ordering::Relaxed),
            self.missed.load(Ordering::Relaxed),
        )
    }

    /// Records the subscriptions; false when the connection would go over
    /// [`MAX_SUBSCRIPTIONS_PER_CONNECTION`].
    fn subscribe(&self, conn: &Connection<Frame>, channels: Vec<String>) -> bool {
        let fresh = conn.with_extension::<Subscribed, _>(|s| {
            let Some(s) = s else { return Some(Vec::new()) };
            let mut fresh = Vec::new();
            for c in channels {
                if s.0.len() >= MAX_SUBSCRIPTIONS_PER_CONNECTION {
                    return None;
                }
                if s.0.insert(c.clone()) {
                    fresh.push(c);
                }
            }
            Some(fresh)
        });
        let Some(fresh) = fresh else { return false };
        let mut map = lock(&self.channels);
        for c in fresh {
            tracing::debug!(conn_id = conn.id(), channel = %c, "subscribe");
            map.entry(c).or_default().insert(conn.id(), conn.clone());
        }
        true
    }

    fn unsubscribe(&self, conn: &Connection<Frame>, channels: &[String]) {
        conn.with_extension::<Subscribed, _>(|s| {
            if let Some(s) = s {
                for c in channels {
                    s.0.remove(c);
                }
            }
        });
        let mut map = lock(&self.channels);
        for c in channels {
            tracing::debug!(conn_id = conn.id(), channel = %c, "unsubscribe");
            if let Some(subs) = map.get_mut(c) {
                subs.remove(&conn.id());
                if subs.is_empty() {
                    map.remove(c);
                }
            }
        }
    }

    fn publish(&self, channels: &[String], data: &serde_json::value::RawValue) {
        for c in channels {
            // Copy the handles out: sends happen without the lock.
            let subs: Vec<Connection<Frame>> = match lock(&self.channels).get(c) {
                Some(subs) => subs.values().cloned().collect(),
                None => continue,
            };
            let event = Payload::from(wire::event(c, data));
            for sub in subs {
                match sub.send(event.clone()) {
                    Ok(_) => {
                        self.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(SendError::BufferFull) => {
                        self.missed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            conn_id = sub.id(),
                            channel = %c,
                            "channel: subscriber too slow, event dropped (send buffer full)"
                        );
                    }
                    // Closing: its on_close removes it.
                    Err(_) => {}
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding this lock cannot leave the map half-changed
    // in a way that matters (each change is one insert or remove).
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait]
impl Service for ChannelServer {
    type Protocol = Frame;

    async fn on_connect(&self, conn: &Connection<Frame>) {
        conn.insert_extension(Subscribed::default());
        tracing::debug!(conn_id = conn.id(), peer = %conn.remote_addr(), "channel client connected");
    }

    async fn on_message(&self, conn: &Connection<Frame>, msg: Payload) {
        if msg.is_empty() {
            // An empty frame is the clients' keep-alive.
            return;
        }
        let cmd = match wire::parse_command(&msg) {
            Ok(cmd) => cmd,
            Err(e) => {
                tracing::warn!(conn_id = conn.id(), error = %e, "channel: bad command, closing");
                conn.close(None);
                return;
            }
        };
        tracing::trace!(conn_id = conn.id(), ?cmd, "command");
        match cmd {
            Command::Subscribe { channels } => {
                if !self.subscribe(conn, channels) {
                    tracing::warn!(
                        conn_id = conn.id(),
                        max = MAX_SUBSCRIPTIONS_PER_CONNECTION,
                        "channel: too many subscriptions, closing"
                    );
                    conn.close(None);
                }
            }
            Command::Unsubscribe { channels } => self.unsubscribe(conn, &channels),
            Command::Publish { channels, data } => self.publish(&channels, &data),
            Command::Ping { id } => {
                if let Err(e) = conn.send(Payload::from(wire::pong(id))) {
                    tracing::debug!(conn_id = conn.id(), error = %e, "pong not sent");
                }
            }
        }
    }

    async fn on_close(&self, conn: &Connection<Frame>) {
        let channels: Vec<String> = conn
            .remove_extension::<Subscribed>()
            .map(|s| s.0.into_iter().collect())
            .unwrap_or_default();
        self.unsubscribe(conn, &channels);
        tracing::debug!(conn_id = conn.id(), "channel client gone");
    }
}
