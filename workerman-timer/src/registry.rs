//! The live timers of every runtime, keyed by tokio's runtime id.
//!
//! A timer is registered from `Timer::add` until it is deleted or its task
//! ends (a one-shot that has run, or a task dropped with its runtime). The
//! entry holds the sending half of a oneshot channel that is never sent
//! on: dropping it is how a timer is cancelled.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use tokio::runtime;
use tokio::sync::oneshot;

use crate::TimerId;

/// Dropping it cancels the timer: its task sees the channel close.
pub(crate) type Cancel = oneshot::Sender<()>;

type Timers = HashMap<TimerId, Cancel>;

/// One map per runtime that has live timers; a runtime's map is removed
/// when its last timer goes, so runtimes that come and go (tests, a
/// restarted worker thread) leave nothing behind.
///
/// A std mutex: it is held only for a map operation, never across an
/// await and never while a callback runs or a task is dropped (a `Cancel`
/// taken out of the map is dropped after the guard). It is taken on add,
/// del, del_all, count and when a timer ends, never on a tick. With one
/// worker runtime per process it is uncontended.
static REGISTRY: LazyLock<Mutex<HashMap<runtime::Id, Timers>>> = LazyLock::new(Default::default);

fn lock() -> MutexGuard<'static, HashMap<runtime::Id, Timers>> {
    // Nothing panics while the lock is held, but if something ever did,
    // the maps are still consistent: recover rather than poison every
    // worker's timers.
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Registers a timer of runtime `rt`.
pub(crate) fn insert(rt: runtime::Id, id: TimerId, cancel: Cancel) {
    lock().entry(rt).or_default().insert(id, cancel);
}

/// Unregisters one timer of `rt`; the caller drops the returned `Cancel`
/// (after the lock is released) to stop the task.
pub(crate) fn remove(rt: runtime::Id, id: TimerId) -> Option<Cancel> {
    let mut all = lock();
    let timers = all.get_mut(&rt)?;
    let cancel = timers.remove(&id);
    if timers.is_empty() {
        all.remove(&rt);
    }
    cancel
}

/// Unregisters every timer of `rt`.
pub(crate) fn remove_all(rt: runtime::Id) -> Timers {
    lock().remove(&rt).unwrap_or_default()
}

/// The number of live timers of `rt`.
pub(crate) fn count(rt: runtime::Id) -> usize {
    lock().get(&rt).map_or(0, HashMap::len)
}

/// Whether `rt` has an entry at all (tests check that a dropped runtime
/// leaves none).
#[cfg(test)]
pub(crate) fn has_runtime(rt: runtime::Id) -> bool {
    lock().contains_key(&rt)
}

/// Owned by a timer's task: unregisters the timer when the task ends for
/// any reason (cancelled, finished, or dropped with its runtime), so
/// `count` never lists a timer that cannot fire any more.
#[derive(Debug)]
pub(crate) struct Registration {
    pub(crate) rt: runtime::Id,
    pub(crate) id: TimerId,
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Already gone after `del`; otherwise dropped here, after the
        // lock has been released.
        drop(remove(self.rt, self.id));
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::time::Duration;

    use super::*;
    use crate::Timer;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }

    /// Dropping a runtime with live timers (pending, mid-run, never polled)
    /// leaves no entry behind.
    #[test]
    fn dropped_runtime_leaves_no_entry() {
        let rt = runtime();
        let id = rt.handle().id();
        rt.block_on(async {
            Timer::add(Duration::from_millis(10), || {}).unwrap();
            Timer::add_async(Duration::from_millis(10), || {
                tokio::time::sleep(Duration::from_secs(60))
            })
            .unwrap();
            tokio::time::sleep(Duration::from_millis(15)).await;
            // Never polled before the runtime goes.
            Timer::once(Duration::from_secs(1), || {}).unwrap();
            assert_eq!(Timer::count(), 3);
        });
        assert!(has_runtime(id));
        drop(rt);
        assert!(!has_runtime(id));
    }

    /// The last `del` of a runtime removes its entry.
    #[test]
    fn last_del_removes_the_entry() {
        let rt = runtime();
        let rt_id = rt.handle().id();
        rt.block_on(async {
            let a = Timer::add(Duration::from_millis(10), || {}).unwrap();
            let b = Timer::once(Duration::from_millis(10), || {}).unwrap();
            assert!(Timer::del(a));
            assert!(has_runtime(rt_id));
            assert!(Timer::del(b));
            assert!(!has_runtime(rt_id));
        });
    }

    /// A runtime without timers makes `add` panic as `tokio::time::sleep`
    /// does, with nothing registered.
    #[test]
    fn runtime_without_time_panics_in_add_and_registers_nothing() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let rt_id = rt.handle().id();
        rt.block_on(async {
            let added = catch_unwind(AssertUnwindSafe(|| {
                Timer::add(Duration::from_millis(10), || {})
            }));
            assert!(added.is_err());
            assert_eq!(Timer::count(), 0);
        });
        assert!(!has_runtime(rt_id));
    }
}
