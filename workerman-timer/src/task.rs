//! The task behind each timer: wait for the deadline or the cancel signal,
//! run the callback with panics caught, repeat.

use std::any::Any;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::oneshot;
use tokio::time::{self, Instant, MissedTickBehavior};

use crate::TimerId;

tokio::task_local! {
    /// The id of the timer whose task is running (for `Timer::current`).
    static CURRENT: TimerId;
}

/// The id of the timer whose callback is running on this task, if any.
pub(crate) fn current() -> Option<TimerId> {
    CURRENT.try_with(|id| *id).ok()
}

/// Runs `body` with [`current`] answering `id`.
pub(crate) fn scoped<F: Future>(id: TimerId, body: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(id, body)
}

/// What every timer task starts from.
#[derive(Debug)]
pub(crate) struct Schedule {
    pub(crate) id: TimerId,
    /// The interval, already checked and normalised.
    pub(crate) period: Duration,
    /// The first deadline: one period after `Timer::add` was called (not
    /// after the task's first poll, which on a busy runtime comes later).
    pub(crate) first: Instant,
    /// Resolves (with an error) when the registry drops the sender:
    /// `del`, `del_all`.
    pub(crate) cancel: oneshot::Receiver<()>,
}

/// A repeating timer: runs `callback` at `first`, `first + period`, ...
/// until cancelled.
///
/// The `Interval` is created here, synchronously, so that a runtime with
/// timers disabled panics in `Timer::add` (as `tokio::time::sleep` does)
/// and not, silently, inside a detached task.
pub(crate) fn repeating<F, Fut>(s: Schedule, mut callback: F) -> impl Future<Output = ()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let Schedule {
        id,
        period,
        first,
        mut cancel,
    } = s;
    let mut ticks = time::interval_at(first, period);
    // A tick that comes due while the previous run is still going runs
    // once, as soon as that run ends; then the original cadence resumes.
    // Never a burst of catch-up runs (Workerman never catches up either).
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    async move {
        loop {
            // biased: a timer deleted while a tick is also due does not run.
            tokio::select! {
                biased;
                _ = &mut cancel => return,
                _ = ticks.tick() => {}
            }
            run_guarded(id, &mut callback).await;
        }
    }
}

/// A one-shot timer: runs `callback` once at `first` unless cancelled
/// before.
pub(crate) fn once<F, Fut>(s: Schedule, callback: F) -> impl Future<Output = ()>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    let Schedule {
        id,
        first,
        mut cancel,
        ..
    } = s;
    let deadline = time::sleep_until(first);
    async move {
        tokio::select! {
            biased;
            _ = &mut cancel => return,
            _ = deadline => {}
        }
        run_guarded(id, callback).await;
    }
}

/// Calls `callback` and awaits its future, catching a panic in either.
///
/// `AssertUnwindSafe`: after a panic, a repeating timer calls the same
/// closure again, with its captured state as the panic left it; that is
/// the documented contract (a panic drops one tick, not the timer).
async fn run_guarded<F, Fut>(id: TimerId, callback: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    let run = match panic::catch_unwind(AssertUnwindSafe(callback)) {
        Ok(run) => run,
        Err(payload) => return report_panic(id, &*payload),
    };
    if let Err(payload) = AssertUnwindSafe(run).catch_unwind().await {
        report_panic(id, &*payload);
    }
}

fn report_panic(id: TimerId, payload: &(dyn Any + Send)) {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload");
    tracing::error!(timer = %id, panic = %message, "timer callback panicked; this run is dropped, the timer stays");
}
