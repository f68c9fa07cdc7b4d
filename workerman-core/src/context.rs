//! [`WorkerContext`]: one worker instance, as its callbacks see it.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use workerman_protocols::Protocol;

use crate::connection::Connection;
use crate::stats::{StatsSnapshot, WorkerStats};
use crate::SocketAddress;

/// How a stopping instance treats its open connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopMode {
    /// `on_worker_stop`, then close every connection (flushing what is
    /// queued) within the stop timeout.
    Close,
    /// Let connections finish on their own for up to this long, then
    /// `on_worker_stop` and close the rest.
    Drain(std::time::Duration),
}

/// What one worker instance shares with its connections.
pub(crate) struct WorkerShared<P: Protocol> {
    pub(crate) id: usize,
    pub(crate) count: usize,
    pub(crate) name: Arc<str>,
    pub(crate) listen_addr: Option<SocketAddress>,
    pub(crate) stats: Arc<WorkerStats>,
    /// Cancelled when this instance starts shutting down (stops
    /// accepting); `stop_mode` says how it then treats its connections.
    pub(crate) shutdown: tokio_util::sync::CancellationToken,
    pub(crate) stop_mode: Mutex<StopMode>,
    /// Notified when the last connection is removed (graceful drains wait
    /// on it).
    pub(crate) emptied: tokio::sync::Notify,
    /// Packages after which this instance retires (`max_requests`).
    pub(crate) max_requests: Option<u64>,
    /// Notified once when `max_requests` is reached.
    pub(crate) retire: tokio::sync::Notify,
    /// The live connections of this instance. A std mutex: it is held only
    /// to insert, remove or clone handles, never across an await.
    connections: Mutex<HashMap<u64, Connection<P>>>,
    /// Listed in the process's connection registry (on the first
    /// connection).
    listed: std::sync::atomic::AtomicBool,
}

impl<P: Protocol> crate::registry::RowSource for WorkerShared<P> {
    fn rows(&self, out: &mut Vec<crate::process::ConnectionRow>) {
        // Handles cloned under the lock, rows made without it.
        let conns: Vec<Connection<P>> = crate::sync::lock(&self.connections)
            .values()
            .cloned()
            .collect();
        out.extend(conns.iter().map(Connection::row));
    }

    fn count(&self) -> usize {
        crate::sync::lock(&self.connections).len()
    }
}

impl<P: Protocol> WorkerShared<P> {
    pub(crate) fn new(
        id: usize,
        count: usize,
        name: Arc<str>,
        listen_addr: Option<SocketAddress>,
        stats: Arc<WorkerStats>,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Self {
        WorkerShared {
            id,
            count,
            name,
            listen_addr,
            stats,
            shutdown,
            stop_mode: Mutex::new(StopMode::Close),
            emptied: tokio::sync::Notify::new(),
            max_requests: None,
            retire: tokio::sync::Notify::new(),
            connections: Mutex::new(HashMap::new()),
            listed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Keeps `conn` among this instance's connections, and lists the
    /// instance in the process's registry when this is its first.
    pub(crate) fn register(self: &Arc<Self>, conn: &Connection<P>) {
        if !self.listed.swap(true, Ordering::AcqRel) {
            let weak = Arc::downgrade(self) as std::sync::Weak<dyn crate::registry::RowSource>;
            crate::registry::add_source(weak);
        }
        crate::sync::lock(&self.connections).insert(conn.id(), conn.clone());
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        self.stats.total_connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn unregister(&self, id: u64) {
        let mut map = crate::sync::lock(&self.connections);
        if map.remove(&id).is_some() {
            self.stats.connections.fetch_sub(1, Ordering::Relaxed);
            if map.is_empty() {
                self.emptied.notify_waiters();
            }
        }
    }

    /// Stops accepting; `mode` says what happens to open connections.
    pub(crate) fn stop(&self, mode: StopMode) {
        *crate::sync::lock(&self.stop_mode) = mode;
        self.shutdown.cancel();
    }

    /// Counts one package against `max_requests`; true exactly once, when
    /// the limit is reached.
    pub(crate) fn count_request(&self) -> bool {
        let n = self.stats.total_requests.fetch_add(1, Ordering::Relaxed) + 1;
        match self.max_requests {
            Some(max) if n == max => {
                self.retire.notify_one();
                true
            }
            _ => false,
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<Connection<P>> {
        crate::sync::lock(&self.connections)
            .values()
            .cloned()
            .collect()
    }
}

/// One worker instance (one of the `count` threads or processes of a
/// [`Worker`](crate::Worker)), as `on_worker_start`, `on_worker_stop` and
/// [`Connection::worker`] see it: its identity and its live connections.
///
/// Cheap to clone. Connections are those *this instance* accepted: with
/// `count > 1`, a broadcast reaches this instance's clients only, as in
/// Workerman.
pub struct WorkerContext<P: Protocol> {
    shared: Arc<WorkerShared<P>>,
}

impl<P: Protocol> Clone for WorkerContext<P> {
    fn clone(&self) -> Self {
        WorkerContext {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<P: Protocol> fmt::Debug for WorkerContext<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerContext")
            .field("name", &self.shared.name)
            .field("id", &self.shared.id)
            .field("count", &self.shared.count)
            .finish()
    }
}

impl<P: Protocol> WorkerContext<P> {
    pub(crate) fn from_shared(shared: Arc<WorkerShared<P>>) -> Self {
        WorkerContext { shared }
    }

    /// This instance's id: `0..count`, unique within the Worker.
    pub fn id(&self) -> usize {
        self.shared.id
    }

    /// How many instances the Worker runs.
    pub fn count(&self) -> usize {
        self.shared.count
    }

    /// The Worker's name (default `"none"`).
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The address this worker listens on (with the real port when it was
    /// bound to port 0).
    pub fn listen_addr(&self) -> Option<&SocketAddress> {
        self.shared.listen_addr.as_ref()
    }

    /// A snapshot of this instance's live connections, for broadcast or
    /// heartbeat sweeps. A connection stays listed during its `on_close`.
    pub fn connections(&self) -> Vec<Connection<P>> {
        self.shared.snapshot()
    }

    /// The live connection with this id, to push to one client.
    pub fn connection(&self, id: u64) -> Option<Connection<P>> {
        crate::sync::lock(&self.shared.connections)
            .get(&id)
            .cloned()
    }

    /// The number of live connections.
    pub fn connection_count(&self) -> usize {
        crate::sync::lock(&self.shared.connections).len()
    }

    /// Sends `msg` to every live connection of this instance; returns how
    /// many accepted it (written or queued). Refusals are reported as
    /// [`Connection::send`] reports them.
    pub fn broadcast(&self, msg: impl Into<P::Outbound>) -> usize
    where
        P::Outbound: Clone,
    {
        let msg = msg.into();
        self.connections()
            .iter()
            .filter(|c| c.send(msg.clone()).is_ok())
            .count()
    }

    /// This instance's counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// Starts another worker inside this instance (Workerman's `listen()`
    /// for a Worker created in `onWorkerStart`): it binds `worker`'s address
    /// now and serves it on this instance's event loop, so both workers'
    /// services share this process's memory (the classic use: a websocket
    /// worker with an internal `text://` port that other programs push to).
    /// It stops with this instance. Call it from `on_worker_start`.
    ///
    /// With `count > 1` each instance binds the address: give the inner
    /// worker `reuse_port(true)`, or the second instance fails with
    /// "address in use" (as in Workerman). Unlike Workerman, the inner
    /// worker's `on_worker_start` and `on_worker_stop` do run.
    ///
    /// # Errors
    ///
    /// A bad address or scheme, or a bind failure.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (it spawns on the current one).
    pub fn listen<S: crate::Service>(
        &self,
        worker: crate::Worker<S>,
    ) -> Result<SocketAddress, crate::Error> {
        crate::server::listen_inner(worker, self.shared.id, &self.shared.shutdown)
    }
}
