//! Every live connection of this process, accepted and outgoing, for the
//! `connections` command (Workerman's static `TcpConnection::$connections`).

use std::collections::BTreeMap;
use std::sync::{Mutex, Weak};

use crate::process::ConnectionRow;
use crate::sync::lock;

/// A connection that can describe itself.
pub(crate) trait ConnInfo: Send + Sync {
    fn row(&self) -> ConnectionRow;
}

/// Weak entries: the registry never keeps a connection alive. A std mutex,
/// touched once when a connection opens and once when it closes.
static REGISTRY: Mutex<BTreeMap<u64, Weak<dyn ConnInfo>>> = Mutex::new(BTreeMap::new());

pub(crate) fn add(id: u64, conn: Weak<dyn ConnInfo>) {
    lock(&REGISTRY).insert(id, conn);
}

pub(crate) fn remove(id: u64) {
    lock(&REGISTRY).remove(&id);
}

/// The number of live connections in this process.
pub(crate) fn count() -> usize {
    lock(&REGISTRY).len()
}

/// One row per live connection, by id.
pub(crate) fn rows() -> Vec<ConnectionRow> {
    let live: Vec<_> = lock(&REGISTRY).values().filter_map(Weak::upgrade).collect();
    live.iter().map(|c| c.row()).collect()
}
