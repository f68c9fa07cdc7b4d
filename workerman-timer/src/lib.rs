//! Timers for workerman-rs: Workerman's `Timer` class on tokio time.
//!
//! [`Timer::add`] runs a callback every interval, [`Timer::once`] runs one
//! once; both return a [`TimerId`] for [`Timer::del`]. [`Timer::del_all`]
//! clears the worker's timers and [`Timer::count`] counts them (the
//! `timers` column of `status`). Callbacks are plain closures, or async
//! with [`Timer::add_async`] and [`Timer::once_async`].
//!
//! ```
//! use std::time::Duration;
//! use workerman_timer::{Timer, TimerError};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), TimerError> {
//!     // Every 10 ms, until deleted.
//!     let (tick_tx, mut ticks) = tokio::sync::mpsc::unbounded_channel();
//!     let ticker = Timer::add(Duration::from_millis(10), move || {
//!         let _ = tick_tx.send("tick");
//!     })?;
//!     // Once, 25 ms from now.
//!     let (once_tx, once) = tokio::sync::oneshot::channel();
//!     Timer::once(Duration::from_millis(25), move || {
//!         let _ = once_tx.send("once");
//!     })?;
//!
//!     assert_eq!(ticks.recv().await, Some("tick"));
//!     assert_eq!(ticks.recv().await, Some("tick"));
//!     assert_eq!(once.await, Ok("once"));
//!     assert!(Timer::del(ticker));
//!     assert_eq!(Timer::count(), 0);
//!     Ok(())
//! }
//! ```
//!
//! In a worker, add process-wide timers in `on_worker_start` and
//! per-connection timers in `on_connect`, and delete the latter in
//! `on_close` (otherwise they pile up: Workerman's classic timer leak).
//! `examples/timers.rs` at the repository root shows both.
//!
//! # Where timers live
//!
//! A timer belongs to the tokio runtime that is current when it is added
//! ([`tokio::runtime::Handle::try_current`]): it is a task spawned on that
//! runtime and an entry in a registry keyed by the runtime's id
//! ([`Handle::id`](tokio::runtime::Handle::id)). Every workerman-rs worker
//! instance runs its own runtime, so a timer belongs to the worker it was
//! created in:
//!
//! * its callbacks run on that worker's event loop, between its
//!   connections' callbacks (never in parallel with them on the usual
//!   current-thread runtime);
//! * [`Timer::del`], [`Timer::del_all`] and [`Timer::count`] see only the
//!   current runtime's timers: one worker cannot delete another's, and
//!   `del_all` in one leaves the others alone;
//! * when the runtime is dropped its tasks are dropped, and with them the
//!   timers and their registry entries: a timer dies with its worker.
//!
//! Outside any runtime, `add` and its siblings return
//! [`TimerError::NoRuntime`] (Workerman 5 throws "Timer can only be used in
//! workerman running environment"), `del` returns `false`, `del_all` and
//! `count` return 0. Timers created in the master's runtime belong to the
//! master: worker processes are started by re-executing the binary, so
//! they start with no timers, as Workerman's children do after deleting
//! what they inherited through `fork`.
//!
//! Multi-thread runtimes work too: the timers belong to the runtime as a
//! whole, and callbacks of different timers may then run in parallel.
//!
//! Why the runtime id and not a thread-local registry: a runtime's tasks
//! are not tied to one thread. A `spawn_blocking` thread has the runtime's
//! context, a current-thread `Runtime` may be driven from another thread
//! than the one that built it, and a multi-thread runtime moves tasks
//! between threads; a thread-local registry would misfile timers in each
//! case. The runtime id names exactly what a timer's task lives and dies
//! with. The cost is one process-wide mutex, taken on add, del, del_all,
//! count and when a timer ends, never on a tick; with one worker runtime
//! per process it is uncontended. (`Handle::id` is stable since tokio
//! 1.49.)
//!
//! # Intervals
//!
//! Intervals are [`Duration`](std::time::Duration)s; [`seconds`] converts
//! Workerman-style `f64` seconds with Workerman 4's rule (any positive
//! number; NaN, infinities, zero and negatives refused).
//!
//! | interval                                   | result                               |
//! |--------------------------------------------|--------------------------------------|
//! | zero                                       | [`TimerError::ZeroInterval`] (Workerman 4: "bad time_interval"; 5.x allows 0) |
//! | more than zero, under 1 ms (e.g. 0.5 ms)   | runs every 1 ms ([`Timer::MIN_INTERVAL`]) |
//! | 1 ms to one year                           | as given                             |
//! | more than one year                         | [`TimerError::IntervalTooLong`]      |
//!
//! Accuracy is about 1 ms, tokio's timer resolution, as in Workerman.
//! Deadlines use tokio's monotonic clock, so changing the system time does
//! not disturb timers (Workerman uses the wall clock and advises a restart
//! after a clock change).
//!
//! # Schedule
//!
//! The first run is one interval after `add`; then one every interval, on
//! the original cadence (no drift). Runs of one timer never overlap, and
//! missed runs are never caught up: if a run (or the whole worker) is busy
//! when the next run is due, that run starts as soon as possible and the
//! cadence resumes after it, as described on [`Timer::add_async`]
//! (tokio's [`MissedTickBehavior::Skip`](tokio::time::MissedTickBehavior::Skip)).
//! Timers due at the same millisecond run in no specified order.
//!
//! # Deleting
//!
//! After [`Timer::del`] (or [`Timer::del_all`]) returns, no new run of the
//! timer starts. A run in progress is not interrupted: a callback that
//! deletes its own timer ([`Timer::current`] gives its id) runs to its
//! end, and so does an async run that another callback deletes. A
//! one-shot removes itself once its callback has returned.
//!
//! # Panics in callbacks
//!
//! A panic in a callback (or in the future of an async callback) is
//! caught and logged with `tracing` at `error`, with the timer id and the
//! panic message. It drops that one run: a repeating timer keeps its
//! schedule and runs again at the next interval, and the worker and its
//! other timers go on. (Workerman exits the worker process with code 250.)
//!
//! # Differences from Workerman
//!
//! * A panic drops one run instead of killing the process (above).
//! * Monotonic clock instead of wall clock.
//! * `del` returns whether the timer was live (Workerman 5), not always
//!   `true` (4.2).
//! * Interval 0 is refused (4.x), and intervals over a year too.
//! * No `args` parameter: closures capture what they need.
//! * Ids are unique per process rather than per event loop (the same
//!   thing when each worker is its own process).
//!
//! # Layout
//!
//! * `timer`: [`Timer`], its functions and the spawning of a timer task.
//! * `task`: what a timer task does: wait, run the callback with panics
//!   caught, repeat.
//! * `registry`: the live timers of each runtime.
//! * `interval`: the interval rules and [`seconds`].
//! * `id`, `error`: [`TimerId`], [`TimerError`].
#![doc(test(attr(deny(warnings))))]

mod error;
mod id;
mod interval;
mod registry;
mod task;
mod timer;

pub use error::TimerError;
pub use id::TimerId;
pub use interval::seconds;
pub use timer::Timer;
