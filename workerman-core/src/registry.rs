//! Every live connection of this process, accepted and outgoing, for the
//! `connections` command (Workerman's static `TcpConnection::$connections`).
//!
//! A worker instance already keeps its connections (`Worker::connections`),
//! so it is listed here once, as a [`RowSource`]; only connections without
//! a worker (outgoing ones) have entries of their own. An accepted
//! connection thus costs one map entry, not two.

use std::collections::BTreeMap;
use std::sync::{Mutex, Weak};

use crate::process::ConnectionRow;
use crate::sync::lock;

/// A connection that can describe itself.
pub(crate) trait ConnInfo: Send + Sync {
    fn row(&self) -> ConnectionRow;
}

/// Many connections that can describe themselves (a worker instance's).
pub(crate) trait RowSource: Send + Sync {
    /// Appends one row per live connection.
    fn rows(&self, out: &mut Vec<ConnectionRow>);
    /// The number of live connections.
    fn count(&self) -> usize;
}

/// Weak entries: the registry never keeps a connection alive. A std mutex,
/// touched once when a connection without a worker opens and once when it
/// closes.
static REGISTRY: Mutex<BTreeMap<u64, Weak<dyn ConnInfo>>> = Mutex::new(BTreeMap::new());

/// The worker instances with connections, weak too.
static SOURCES: Mutex<Vec<Weak<dyn RowSource>>> = Mutex::new(Vec::new());

/// Lists a worker instance's connections (once per instance).
pub(crate) fn add_source(source: Weak<dyn RowSource>) {
    let mut sources = lock(&SOURCES);
    sources.retain(|s| s.strong_count() > 0);
    sources.push(source);
}

fn live_sources() -> Vec<std::sync::Arc<dyn RowSource>> {
    lock(&SOURCES).iter().filter_map(Weak::upgrade).collect()
}

pub(crate) fn add(id: u64, conn: Weak<dyn ConnInfo>) {
    lock(&REGISTRY).insert(id, conn);
}

pub(crate) fn remove(id: u64) {
    lock(&REGISTRY).remove(&id);
}

/// The number of live connections in this process.
pub(crate) fn count() -> usize {
    let own = lock(&REGISTRY).len();
    own + live_sources().iter().map(|s| s.count()).sum::<usize>()
}

/// One row per live connection, by id.
pub(crate) fn rows() -> Vec<ConnectionRow> {
    let live: Vec<_> = lock(&REGISTRY).values().filter_map(Weak::upgrade).collect();
    let mut rows: Vec<ConnectionRow> = live.iter().map(|c| c.row()).collect();
    for source in live_sources() {
        source.rows(&mut rows);
    }
    rows.sort_by_key(|r| r.id);
    rows
}
