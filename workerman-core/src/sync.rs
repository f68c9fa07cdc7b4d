//! Small synchronisation helpers.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks a std mutex, ignoring poisoning. Callbacks never run under these
/// locks; a panic while holding one can only come from our own code between
/// two consistent states, so carrying on is better than cascading the panic
/// to every other connection of the worker.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
