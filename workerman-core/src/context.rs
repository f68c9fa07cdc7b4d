//! [`WorkerContext`]: one worker instance, as its callbacks see it.

use std::fmt;
use std::sync::Arc;

use workerman_protocols::Protocol;

use crate::addr::SocketAddress;
use crate::connection::{Connection, WorkerShared};
use crate::stats::StatsSnapshot;

/// One worker instance (one of the `count` threads or processes of a
/// [`Worker`](crate::Worker)), as `on_worker_start`, `on_worker_stop` and
/// [`Connection::worker`] see it: its identity and its live connections.
///
/// Cheap to clone. Connections are those *this instance* accepted: with
/// `count > 1`, a broadcast reaches this instance's clients only, as in
/// Workerman.
pub struct WorkerContext<P: Protocol> {
    pub(crate) shared: Arc<WorkerShared<P>>,
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
        self.shared
            .snapshot()
            .into_iter()
            .map(Connection::from_shared)
            .collect()
    }

    /// The live connection with this id, to push to one client.
    pub fn connection(&self, id: u64) -> Option<Connection<P>> {
        self.shared.get(id).map(Connection::from_shared)
    }

    /// The number of live connections.
    pub fn connection_count(&self) -> usize {
        self.shared.len()
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
}

impl<P: Protocol> Connection<P> {
    /// The worker instance that accepted this connection; `None` for an
    /// outgoing connection.
    pub fn worker(&self) -> Option<WorkerContext<P>> {
        self.worker_shared().map(WorkerContext::from_shared)
    }
}
