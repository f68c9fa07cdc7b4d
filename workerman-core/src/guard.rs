//! The panic guard: every user callback (a connection's, a datagram's, a
//! worker's) runs through [`guard`], which catches a panic while the
//! callback's future is made or polled, logs it and counts it, and tells
//! the caller, which decides what the panic ends (a connection is closed;
//! a worker goes on).
//!
//! Two other `catch_unwind`s exist, and neither is a second guard:
//! `fn_service::invoke` catches a panic raised while a closure *makes* its
//! future and raises it again inside the future it returns, so that this
//! guard sees it like any other; `conn_set` wraps each whole connection
//! task, as the set's safety net (a panic there is a bug of ours, not a
//! callback's: the callbacks inside are already guarded).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use crate::stats::WorkerStats;

/// Runs a callback, catching a panic while its future is made or polled:
/// logs it, counts it, and tells the caller (`false` when it panicked).
///
/// `make` gives the callback's future (a `Service` method's boxed future),
/// so the wait costs the caller's future a pointer, not the callback's
/// state.
pub(crate) fn guard<'a, F: Future<Output = ()> + Unpin + 'a>(
    make: impl FnOnce() -> F,
    callback: &'static str,
    stats: Option<&'a WorkerStats>,
) -> Guarded<'a, F> {
    let fut = std::panic::catch_unwind(AssertUnwindSafe(make));
    Guarded {
        fut: fut.map_err(Some),
        callback,
        then: "closing the connection",
        stats,
        hook: None,
    }
}

/// Runs a callback that is not a connection's (a datagram's, a worker's
/// `on_worker_start` / `on_worker_stop`) through [`guard`]: a panic is
/// logged and counted, and the caller goes on. Returns `false` when it
/// panicked.
pub(crate) async fn run_guarded<F: Future<Output = ()>>(
    fut: F,
    callback: &'static str,
    stats: &WorkerStats,
) -> bool {
    let mut fut = std::pin::pin!(fut);
    let mut guarded = guard(|| fut.as_mut(), callback, Some(stats));
    guarded.then = "going on";
    guarded.await
}

/// Something to do around each poll of a guarded future: a connection
/// holds its sends while `on_message` runs and writes them whenever the
/// handler waits (see `connection::driver`).
pub(crate) trait PollHook: Sync {
    /// Before each poll; `on` is the flag the hook was set with.
    fn before_poll(&self, on: bool);
    /// After a poll that returned `Pending`.
    fn after_pending(&self);
}

/// The future of [`guard`]: `true` when the callback finished, `false`
/// when it panicked.
pub(crate) struct Guarded<'a, F> {
    /// The callback's future, or the panic its making raised.
    fut: Result<F, Option<Box<dyn std::any::Any + Send>>>,
    callback: &'static str,
    /// What happens after a panic, for the log line: a connection's
    /// callback closes it; a worker's or a datagram's lets the caller go on.
    then: &'static str,
    stats: Option<&'a WorkerStats>,
    hook: Option<(&'a dyn PollHook, bool)>,
}

impl<'a, F> Guarded<'a, F> {
    /// Runs `hook` around each poll (with `on`).
    pub(crate) fn with_hook(mut self, hook: &'a dyn PollHook, on: bool) -> Self {
        self.hook = Some((hook, on));
        self
    }
}

impl<F: Future<Output = ()> + Unpin> Future for Guarded<'_, F> {
    type Output = bool;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = self.get_mut();
        let payload = match &mut this.fut {
            Ok(fut) => {
                if let Some((hook, on)) = this.hook {
                    hook.before_poll(on);
                }
                let polled =
                    std::panic::catch_unwind(AssertUnwindSafe(|| std::pin::Pin::new(fut).poll(cx)));
                match polled {
                    Ok(Poll::Ready(())) => return Poll::Ready(true),
                    Ok(Poll::Pending) => {
                        if let Some((hook, _)) = this.hook {
                            hook.after_pending();
                        }
                        return Poll::Pending;
                    }
                    Err(payload) => payload,
                }
            }
            Err(payload) => payload.take().unwrap_or_else(|| Box::new("polled again")),
        };
        let message = panic_message(&*payload);
        let (callback, then) = (this.callback, this.then);
        tracing::error!(callback, panic = %message, "callback panicked; {then}");
        if let Some(s) = this.stats {
            s.callback_panics.fetch_add(1, Ordering::Relaxed);
        }
        Poll::Ready(false)
    }
}

/// The text a panic was raised with (`panic!("...")` or a formatted
/// one), for the log.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_caught_counted_and_reported() {
        let stats = WorkerStats::default();
        assert!(run_guarded(async {}, "on_ok", &stats).await);
        let panicked = run_guarded(async { panic!("boom {}", 1) }, "on_boom", &stats).await;
        assert!(!panicked);
        // A panic while the future is made, before any poll.
        let made = guard(
            || -> std::future::Ready<()> { panic!("while making") },
            "on_make",
            Some(&stats),
        )
        .await;
        assert!(!made);
        assert_eq!(stats.callback_panics.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn panic_messages_are_read_from_both_payload_kinds() {
        let s = std::panic::catch_unwind(|| panic!("plain")).unwrap_err();
        assert_eq!(panic_message(&*s), "plain");
        let f = std::panic::catch_unwind(|| panic!("formatted {}", 2)).unwrap_err();
        assert_eq!(panic_message(&*f), "formatted 2");
        let other = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(panic_message(&*other), "non-string panic payload");
    }

    /// Counts the hook's calls.
    #[derive(Default)]
    struct Count(
        std::sync::atomic::AtomicUsize,
        std::sync::atomic::AtomicUsize,
    );
    impl PollHook for Count {
        fn before_poll(&self, on: bool) {
            assert!(on);
            self.0.fetch_add(1, Ordering::Relaxed);
        }
        fn after_pending(&self) {
            self.1.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[tokio::test]
    async fn the_hook_runs_around_every_poll() {
        let hook = Count::default();
        let mut fut = std::pin::pin!(async { tokio::task::yield_now().await });
        let done = guard(|| fut.as_mut(), "on_hook", None)
            .with_hook(&hook, true)
            .await;
        assert!(done);
        assert_eq!(hook.0.load(Ordering::Relaxed), 2, "two polls");
        assert_eq!(hook.1.load(Ordering::Relaxed), 1, "one Pending");
    }
}
