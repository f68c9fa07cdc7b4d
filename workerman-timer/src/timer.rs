//! [`Timer`]: Workerman's static `Timer` class.

use std::future::Future;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::Instrument;

use crate::interval::normalize;
use crate::registry::{self, Registration};
use crate::task::{self, Schedule};
use crate::{TimerError, TimerId};

/// Timers of the current worker: Workerman's `Timer::add`, `Timer::del`
/// and `Timer::delAll` as associated functions.
///
/// Every function acts on the timers of the tokio runtime it is called
/// from, that is of the worker it is called in (see the crate docs,
/// "Where timers live"). A timer is *live* from the moment it is added
/// until it is deleted or, for a one-shot, until its callback has
/// returned; [`count`](Timer::count) counts live timers and
/// [`del`](Timer::del) finds them.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use workerman_timer::Timer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), workerman_timer::TimerError> {
/// let every_second = Timer::add(Duration::from_secs(1), || println!("tick"))?;
/// let later = Timer::once(Duration::from_secs(30), || println!("once"))?;
/// assert_eq!(Timer::count(), 2);
/// assert!(Timer::del(every_second));
/// assert_eq!(Timer::del_all(), 1); // `later`
/// # let _ = later;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Timer(());

impl Timer {
    /// The shortest interval a timer runs at: 1 ms, tokio's timer
    /// resolution and Workerman's accuracy in practice. A shorter positive
    /// interval is raised to it; zero is refused.
    pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

    /// The longest interval accepted: one year (365 days). Longer is
    /// refused with [`TimerError::IntervalTooLong`]: it is almost surely a
    /// unit mistake, and the bound keeps deadline arithmetic from ever
    /// overflowing.
    pub const MAX_INTERVAL: Duration = Duration::from_secs(365 * 24 * 60 * 60);

    /// Runs `callback` every `interval`, first one `interval` from now,
    /// until [`del`](Timer::del) or [`del_all`](Timer::del_all) or the end
    /// of the worker. Workerman's `Timer::add($interval, $callback)`.
    ///
    /// The callback runs on the worker's event loop, between its other
    /// callbacks: keep it short and never block in it (use
    /// [`add_async`](Timer::add_async) to await I/O). A run that overruns
    /// the interval delays the next one; missed runs are skipped, not
    /// caught up. A panic is logged and skips that run only.
    ///
    /// `interval` below [`MIN_INTERVAL`](Timer::MIN_INTERVAL) (1 ms) is
    /// raised to it; use [`seconds`](crate::seconds) for Workerman-style
    /// `f64` seconds.
    ///
    /// # Errors
    ///
    /// [`TimerError::ZeroInterval`], [`TimerError::IntervalTooLong`], and
    /// [`TimerError::NoRuntime`] outside a tokio runtime. Nothing is
    /// scheduled then.
    ///
    /// # Panics
    ///
    /// If the current runtime was built without timers (no `enable_time`
    /// or `enable_all`), as `tokio::time::sleep` does. Worker runtimes
    /// always have them.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use workerman_timer::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workerman_timer::TimerError> {
    /// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    /// let mut n = 0;
    /// let id = Timer::add(Duration::from_millis(10), move || {
    ///     n += 1;
    ///     let _ = tx.send(n);
    /// })?;
    /// assert_eq!(rx.recv().await, Some(1));
    /// assert_eq!(rx.recv().await, Some(2));
    /// assert!(Timer::del(id));
    /// # Ok(())
    /// # }
    /// ```
    pub fn add<F>(interval: Duration, callback: F) -> Result<TimerId, TimerError>
    where
        F: FnMut() + Send + 'static,
    {
        let mut callback = callback;
        Timer::add_async(interval, move || {
            callback();
            std::future::ready(())
        })
    }

    /// [`add`](Timer::add) for an async callback: every `interval`,
    /// `callback()` is called and its future awaited.
    ///
    /// Runs of one timer never overlap: the next run starts only after the
    /// previous future has completed. If a run is still going when the
    /// next one is due, that next run starts as soon as it ends, and the
    /// runs after it keep the original cadence (tokio's
    /// [`MissedTickBehavior::Skip`](tokio::time::MissedTickBehavior::Skip)).
    /// With a 1 s interval and runs that take 2.5 s:
    ///
    /// ```text
    /// time (s)   0    1    2    3    4    5    6    7    8    9
    /// due             |    |    |    |    |    |    |    |    |
    /// runs            [=== 1 ====][=== 2 ====][=== 3 ====][== 4
    /// starts at       1          3.5         6          8.5
    /// ```
    ///
    /// [`del`](Timer::del) does not interrupt a run in progress: it
    /// finishes, and no further run starts.
    ///
    /// # Errors
    ///
    /// As [`add`](Timer::add).
    ///
    /// # Panics
    ///
    /// As [`add`](Timer::add).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use workerman_timer::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workerman_timer::TimerError> {
    /// let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    /// let id = Timer::add_async(Duration::from_millis(10), move || {
    ///     let tx = tx.clone();
    ///     async move {
    ///         // Await I/O here: a database query, an HTTP request, ...
    ///         let _ = tx.send("checked").await;
    ///     }
    /// })?;
    /// assert_eq!(rx.recv().await, Some("checked"));
    /// Timer::del(id);
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_async<F, Fut>(interval: Duration, callback: F) -> Result<TimerId, TimerError>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        spawn(interval, |s| task::repeating(s, callback))
    }

    /// Runs `callback` once, `delay` from now, unless deleted before.
    /// Workerman's `Timer::add($delay, $callback, [], false)` (5.x
    /// `Timer::delay`).
    ///
    /// The timer stays live (counted, and [`del`](Timer::del) returns
    /// `true`) until its callback has returned; then it removes itself.
    /// The delay rules are those of [`add`](Timer::add).
    ///
    /// # Errors
    ///
    /// As [`add`](Timer::add).
    ///
    /// # Panics
    ///
    /// As [`add`](Timer::add).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use workerman_timer::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workerman_timer::TimerError> {
    /// let (tx, rx) = tokio::sync::oneshot::channel();
    /// Timer::once(Duration::from_millis(10), move || {
    ///     let _ = tx.send("fired");
    /// })?;
    /// assert_eq!(rx.await, Ok("fired"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn once<F>(delay: Duration, callback: F) -> Result<TimerId, TimerError>
    where
        F: FnOnce() + Send + 'static,
    {
        Timer::once_async(delay, move || {
            callback();
            std::future::ready(())
        })
    }

    /// [`once`](Timer::once) for an async callback: `delay` from now,
    /// `callback()` is called and its future awaited. The timer is live
    /// until that future completes.
    ///
    /// # Errors
    ///
    /// As [`add`](Timer::add).
    ///
    /// # Panics
    ///
    /// As [`add`](Timer::add).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use workerman_timer::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workerman_timer::TimerError> {
    /// let (tx, rx) = tokio::sync::oneshot::channel();
    /// Timer::once_async(Duration::from_millis(10), move || async move {
    ///     tokio::task::yield_now().await;
    ///     let _ = tx.send(Timer::count());
    /// })?;
    /// // Still live while its callback runs.
    /// assert_eq!(rx.await, Ok(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn once_async<F, Fut>(delay: Duration, callback: F) -> Result<TimerId, TimerError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        spawn(delay, |s| task::once(s, callback))
    }

    /// Deletes a timer of the current worker; returns whether it was live.
    /// Workerman 5's `Timer::del` (4.2 returned `true` even for unknown
    /// ids).
    ///
    /// No run starts after `del` returns. A run already in progress (the
    /// caller's own, when a callback deletes its timer, or an async run
    /// awaiting something) is not interrupted: it finishes.
    ///
    /// Returns `false` for an id that is not live here: already deleted, a
    /// one-shot that has run, a timer of another worker (another runtime),
    /// or any id outside a runtime.
    ///
    /// # Examples
    ///
    /// A timer that deletes itself after three runs:
    ///
    /// ```
    /// use std::time::Duration;
    /// use workerman_timer::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workerman_timer::TimerError> {
    /// let (done_tx, done) = tokio::sync::oneshot::channel();
    /// let mut done_tx = Some(done_tx);
    /// let mut left = 3;
    /// Timer::add(Duration::from_millis(5), move || {
    ///     left -= 1;
    ///     if left == 0 {
    ///         let me = Timer::current().expect("inside a timer callback");
    ///         let deleted = Timer::del(me);
    ///         if let Some(tx) = done_tx.take() {
    ///             let _ = tx.send(deleted);
    ///         }
    ///     }
    /// })?;
    /// assert_eq!(done.await, Ok(true));
    /// assert_eq!(Timer::count(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn del(id: TimerId) -> bool {
        let Ok(handle) = Handle::try_current() else {
            return false;
        };
        // Dropping the `Cancel` (outside the registry lock) stops the task.
        let deleted = registry::remove(handle.id(), id).is_some();
        if deleted {
            tracing::trace!(timer = %id, "timer deleted");
        }
        deleted
    }

    /// Deletes every timer of the current worker; returns how many were
    /// live. Workerman's `Timer::delAll()`. Runs in progress finish, as
    /// with [`del`](Timer::del). Outside a runtime there is nothing to
    /// delete: returns 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use workerman_timer::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workerman_timer::TimerError> {
    /// Timer::add(Duration::from_secs(1), || {})?;
    /// Timer::once(Duration::from_secs(1), || {})?;
    /// assert_eq!(Timer::del_all(), 2);
    /// assert_eq!(Timer::count(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn del_all() -> usize {
        let Ok(handle) = Handle::try_current() else {
            return 0;
        };
        let deleted = registry::remove_all(handle.id()).len();
        if deleted > 0 {
            tracing::debug!(timers = deleted, "all timers deleted");
        }
        deleted
    }

    /// The number of live timers of the current worker (the `timers`
    /// column of `status`); 0 outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use workerman_timer::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workerman_timer::TimerError> {
    /// assert_eq!(Timer::count(), 0);
    /// let id = Timer::add(Duration::from_secs(1), || {})?;
    /// assert_eq!(Timer::count(), 1);
    /// Timer::del(id);
    /// assert_eq!(Timer::count(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn count() -> usize {
        Handle::try_current().map_or(0, |h| registry::count(h.id()))
    }

    /// The id of the timer whose callback is running, so that a callback
    /// can delete its own timer (Workerman passes the id in by reference);
    /// `None` anywhere else.
    ///
    /// It is set for the whole of a callback run, async parts included,
    /// but not inside tasks the callback spawns.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use workerman_timer::Timer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workerman_timer::TimerError> {
    /// assert_eq!(Timer::current(), None);
    /// let (tx, rx) = tokio::sync::oneshot::channel();
    /// let id = Timer::once(Duration::from_millis(1), move || {
    ///     let _ = tx.send(Timer::current());
    /// })?;
    /// assert_eq!(rx.await, Ok(Some(id)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn current() -> Option<TimerId> {
        task::current()
    }
}

/// Registers a timer on the current runtime and spawns its task, built by
/// `body` from the checked schedule.
fn spawn<T>(interval: Duration, body: impl FnOnce(Schedule) -> T) -> Result<TimerId, TimerError>
where
    T: Future<Output = ()> + Send + 'static,
{
    let period = normalize(interval)?;
    let handle = Handle::try_current().map_err(|_| TimerError::NoRuntime)?;
    let rt = handle.id();
    let id = TimerId::next();
    let (cancel, cancelled) = oneshot::channel();
    // Built before anything is registered: if the runtime has no timers
    // this panics with nothing left behind.
    let run = body(Schedule {
        id,
        period,
        first: Instant::now() + period,
        cancel: cancelled,
    });
    registry::insert(rt, id, cancel);
    // Owned by the task, so the timer is unregistered however the task
    // ends, even if it is dropped unpolled with its runtime.
    let registration = Registration { rt, id };
    let span = tracing::debug_span!("timer", id = %id);
    tracing::trace!(timer = %id, ?period, "timer added");
    // Detached on purpose: the registry is the handle (del, del_all,
    // count), and the runtime's end drops the task.
    drop(
        handle.spawn(
            task::scoped(id, async move {
                let _registration = registration;
                run.await;
            })
            .instrument(span),
        ),
    );
    Ok(id)
}
