//! What one worker instance shares with its connections: its identity,
//! counters, stop state and the map of its live connections.
//!
//! Generic over the connection's shared state `C` (`connection::Shared<P>`,
//! named there as `WorkerShared<P>`), so this module sits below the
//! connection module instead of in a circle with it: a connection points to
//! its instance, the instance lists its connections, and neither module
//! imports the other.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::addr::SocketAddress;
use crate::process::ConnectionRow;
use crate::registry::{self, ConnInfo, RowSource};
use crate::stats::WorkerStats;
use crate::sync::lock;

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

/// One worker instance as its connections and its context see it.
pub(crate) struct InstanceShared<C> {
    /// The instance's id within its Worker (`0..count`).
    pub(crate) id: usize,
    /// How many instances the Worker runs.
    pub(crate) count: usize,
    /// The Worker's name, shared by every connection's log lines and rows.
    pub(crate) name: Arc<str>,
    /// The bound address (with the real port when bound to port 0); `None`
    /// for a worker that does not listen.
    pub(crate) listen_addr: Option<SocketAddress>,
    /// The instance's counters, also read by the server handle and the
    /// status command.
    pub(crate) stats: Arc<WorkerStats>,
    /// Cancelled when this instance starts shutting down (stops
    /// accepting); `stop_mode` says how it then treats its connections.
    pub(crate) shutdown: CancellationToken,
    /// Set with `shutdown` (see [`InstanceShared::stop`]).
    pub(crate) stop_mode: Mutex<StopMode>,
    /// Notified when the last connection is removed (graceful drains wait
    /// on it).
    pub(crate) emptied: Notify,
    /// Packages after which this instance retires (`max_requests`).
    pub(crate) max_requests: Option<u64>,
    /// Notified once when `max_requests` is reached.
    pub(crate) retire: Notify,
    /// The live connections of this instance. A std mutex: it is held only
    /// to insert, remove or clone handles, never across an await.
    connections: Mutex<HashMap<u64, Arc<C>>>,
    /// Listed in the process's connection registry (on the first
    /// connection).
    listed: AtomicBool,
}

impl<C: ConnInfo> RowSource for InstanceShared<C> {
    fn rows(&self, out: &mut Vec<ConnectionRow>) {
        // Handles cloned under the lock, rows made without it.
        let conns = self.snapshot();
        out.extend(conns.iter().map(|c| c.row()));
    }

    fn count(&self) -> usize {
        self.len()
    }
}

impl<C> InstanceShared<C> {
    pub(crate) fn new(
        id: usize,
        count: usize,
        name: Arc<str>,
        listen_addr: Option<SocketAddress>,
        stats: Arc<WorkerStats>,
        shutdown: CancellationToken,
    ) -> Self {
        InstanceShared {
            id,
            count,
            name,
            listen_addr,
            stats,
            shutdown,
            stop_mode: Mutex::new(StopMode::Close),
            emptied: Notify::new(),
            max_requests: None,
            retire: Notify::new(),
            connections: Mutex::new(HashMap::new()),
            listed: AtomicBool::new(false),
        }
    }

    /// Keeps `conn` among this instance's connections, and lists the
    /// instance in the process's registry when this is its first.
    pub(crate) fn register(self: &Arc<Self>, id: u64, conn: &Arc<C>)
    where
        C: ConnInfo + 'static,
    {
        if !self.listed.swap(true, Ordering::AcqRel) {
            let weak = Arc::downgrade(self) as Weak<dyn RowSource>;
            registry::add_source(weak);
        }
        lock(&self.connections).insert(id, Arc::clone(conn));
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        self.stats.total_connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn unregister(&self, id: u64) {
        let mut map = lock(&self.connections);
        if map.remove(&id).is_some() {
            self.stats.connections.fetch_sub(1, Ordering::Relaxed);
            if map.is_empty() {
                self.emptied.notify_waiters();
            }
        }
    }

    /// Stops accepting; `mode` says what happens to open connections.
    pub(crate) fn stop(&self, mode: StopMode) {
        *lock(&self.stop_mode) = mode;
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

    /// The live connections, cloned under the lock.
    pub(crate) fn snapshot(&self) -> Vec<Arc<C>> {
        lock(&self.connections).values().cloned().collect()
    }

    /// The live connection with this id.
    pub(crate) fn get(&self, id: u64) -> Option<Arc<C>> {
        lock(&self.connections).get(&id).cloned()
    }

    /// The number of live connections.
    pub(crate) fn len(&self) -> usize {
        lock(&self.connections).len()
    }
}
