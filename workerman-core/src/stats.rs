//! Counters kept per worker instance and per connection, for `status` and
//! `connections`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Live counters of one worker instance (one thread or process of a
/// Worker). Read them with [`snapshot`](WorkerStats::snapshot).
///
/// All counters are monotonic except `connections`, the number open now.
#[derive(Debug, Default)]
pub struct WorkerStats {
    pub(crate) connections: AtomicU64,
    pub(crate) total_connections: AtomicU64,
    pub(crate) total_requests: AtomicU64,
    pub(crate) send_fail: AtomicU64,
    pub(crate) bytes_read: AtomicU64,
    pub(crate) bytes_written: AtomicU64,
    pub(crate) callback_panics: AtomicU64,
    pub(crate) protocol_errors: AtomicU64,
    pub(crate) accept_errors: AtomicU64,
}

/// A copy of [`WorkerStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Connections open now.
    pub connections: u64,
    /// Connections accepted since start.
    pub total_connections: u64,
    /// Packages received (Workerman's `total_request`).
    pub total_requests: u64,
    /// Refused or failed sends (Workerman's `send_fail`).
    pub send_fail: u64,
    /// Bytes read from all connections.
    pub bytes_read: u64,
    /// Bytes written to all connections.
    pub bytes_written: u64,
    /// Panics caught in callbacks.
    pub callback_panics: u64,
    /// Connections closed for breaking the protocol.
    pub protocol_errors: u64,
    /// Failed `accept` calls (for example out of file descriptors).
    pub accept_errors: u64,
}

impl WorkerStats {
    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            connections: self.connections.load(Relaxed),
            total_connections: self.total_connections.load(Relaxed),
            total_requests: self.total_requests.load(Relaxed),
            send_fail: self.send_fail.load(Relaxed),
            bytes_read: self.bytes_read.load(Relaxed),
            bytes_written: self.bytes_written.load(Relaxed),
            callback_panics: self.callback_panics.load(Relaxed),
            protocol_errors: self.protocol_errors.load(Relaxed),
            accept_errors: self.accept_errors.load(Relaxed),
        }
    }
}

impl std::ops::Add for StatsSnapshot {
    type Output = StatsSnapshot;
    fn add(self, o: StatsSnapshot) -> StatsSnapshot {
        StatsSnapshot {
            connections: self.connections + o.connections,
            total_connections: self.total_connections + o.total_connections,
            total_requests: self.total_requests + o.total_requests,
            send_fail: self.send_fail + o.send_fail,
            bytes_read: self.bytes_read + o.bytes_read,
            bytes_written: self.bytes_written + o.bytes_written,
            callback_panics: self.callback_panics + o.callback_panics,
            protocol_errors: self.protocol_errors + o.protocol_errors,
            accept_errors: self.accept_errors + o.accept_errors,
        }
    }
}

/// Counters of one connection.
#[derive(Debug, Default)]
pub(crate) struct ConnCounters {
    /// Written by the connection's task alone (see [`add_own`](Self::add_own)).
    pub(crate) bytes_read: AtomicU64,
    /// Written only under the connection's send lock (`Shared::add_written`).
    pub(crate) bytes_written: AtomicU64,
    /// Written by the connection's task alone.
    pub(crate) messages: AtomicU64,
    /// Written only under the connection's send lock.
    pub(crate) writes: AtomicU64,
}

impl ConnCounters {
    /// Adds `n` to a counter that one writer at a time updates (the
    /// connection's own task, or whoever holds its send lock): a load and
    /// a store, not a read-modify-write (readers on other threads see the
    /// value a moment late, which a statistic allows).
    pub(crate) fn add_own(counter: &AtomicU64, n: u64) {
        counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
    }
}

/// A copy of one connection's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionStats {
    /// Bytes read from the peer.
    pub bytes_read: u64,
    /// Bytes written to the peer.
    pub bytes_written: u64,
    /// Writes that sent bytes (system calls; for TLS, batches handed to
    /// rustls). Replies to packages read together leave in one write, so
    /// under pipelined load this grows more slowly than `messages`.
    pub writes: u64,
    /// Packages received.
    pub messages: u64,
    /// Bytes queued in the application send buffer now.
    pub send_queue_bytes: usize,
}
