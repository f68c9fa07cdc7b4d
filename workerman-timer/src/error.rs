//! [`TimerError`]: why a timer could not be created.

/// Why [`Timer::add`](crate::Timer::add) (or one of its siblings) or
/// [`seconds`](crate::seconds) refused a timer.
///
/// Nothing is scheduled when an error is returned.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use workerman_timer::{Timer, TimerError};
///
/// // Outside any tokio runtime there is no worker to own the timer.
/// let err = Timer::add(Duration::from_secs(1), || {}).unwrap_err();
/// assert_eq!(err, TimerError::NoRuntime);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TimerError {
    /// Called outside a tokio runtime: a timer must belong to a worker,
    /// so create it from a worker's callbacks (`on_worker_start`,
    /// `on_connect`, ...). Workerman 5 throws "Timer can only be used in
    /// workerman running environment" in the same situation.
    #[error(
        "timers need a tokio runtime: create them inside a worker (on_worker_start, on_connect, ...)"
    )]
    NoRuntime,
    /// The interval was [`Duration::ZERO`](std::time::Duration::ZERO).
    /// Workerman 4 rejects an interval `<= 0` ("bad time_interval").
    #[error("timer interval must be greater than zero")]
    ZeroInterval,
    /// The interval in seconds given to [`seconds`](crate::seconds) was
    /// NaN, infinite, zero or negative (Workerman's "bad time_interval").
    #[error("timer interval must be a finite number of seconds > 0, got {0}")]
    InvalidSeconds(f64),
    /// The interval was longer than [`Timer::MAX_INTERVAL`](crate::Timer::MAX_INTERVAL)
    /// (one year), which is almost surely a unit mistake.
    #[error("timer interval is longer than the maximum of one year")]
    IntervalTooLong,
}
