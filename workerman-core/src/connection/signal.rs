//! [`Signal`]: the wake-up a connection's task waits on.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures::task::AtomicWaker;

/// A wake-up for one waiting task, with a stored permit: what
/// `tokio::sync::Notify`'s `notify_one` and `notified` give when a single
/// task waits, at a fraction of the size. Every connection has two, and a
/// wait is a plain `poll` (no waiter node in the task's future), which
/// keeps an idle connection small.
#[derive(Default)]
pub(crate) struct Signal {
    waker: AtomicWaker,
    set: AtomicBool,
}

impl Signal {
    /// Wakes the waiting task, or lets its next wait return at once.
    pub(crate) fn notify(&self) {
        self.set.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Ready (and the permit used) if notified since the last wait;
    /// otherwise registers the task to be woken.
    pub(crate) fn poll_wait(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.set.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        if self.set.swap(false, Ordering::AcqRel) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Waits for [`notify`](Self::notify). Only one task may wait on a
    /// signal at a time (the connection's own task does).
    pub(crate) fn wait(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| self.poll_wait(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn a_notify_before_the_wait_is_kept_once() {
        let s = Signal::default();
        s.notify();
        s.notify();
        s.wait().await;
        let second = tokio::time::timeout(Duration::from_millis(50), s.wait()).await;
        assert!(second.is_err(), "two notifies leave one permit");
    }

    #[tokio::test]
    async fn a_notify_from_another_thread_wakes_the_waiter() {
        let s = Arc::new(Signal::default());
        let t = {
            let s = s.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                s.notify();
            })
        };
        tokio::time::timeout(Duration::from_secs(10), s.wait())
            .await
            .expect("woken");
        t.join().unwrap();
    }
}
