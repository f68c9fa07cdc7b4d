//! [`Signals`]: the wake-ups a connection's task waits on.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures::task::AtomicWaker;

/// The two wake-ups of a connection's task, one for its reader half and
/// one for its writer half, each with a stored permit: what
/// `tokio::sync::Notify`'s `notify_one` and `notified` give when a single
/// task waits, at a fraction of the size. Both halves run in the same task
/// (the writer is polled beside the reader), so one registered waker
/// serves both; a wait is a plain `poll`
/// (no waiter node in the task's future), which keeps an idle connection
/// small.
#[derive(Default)]
pub(crate) struct Signals {
    waker: AtomicWaker,
    reader: AtomicBool,
    writer: AtomicBool,
}

impl Signals {
    /// The reader half's wake-up.
    pub(crate) fn reader(&self) -> Signal<'_> {
        Signal {
            waker: &self.waker,
            set: &self.reader,
        }
    }

    /// The writer half's wake-up.
    pub(crate) fn writer(&self) -> Signal<'_> {
        Signal {
            waker: &self.waker,
            set: &self.writer,
        }
    }
}

/// One of a task's [`Signals`].
#[derive(Clone, Copy)]
pub(crate) struct Signal<'a> {
    waker: &'a AtomicWaker,
    set: &'a AtomicBool,
}

impl<'a> Signal<'a> {
    /// Wakes the waiting task, or lets its next wait return at once.
    pub(crate) fn notify(self) {
        self.set.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Ready (and the permit used) if notified since the last wait;
    /// otherwise registers the task to be woken.
    pub(crate) fn poll_wait(self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_wait_registered(cx, false)
    }

    /// [`poll_wait`](Self::poll_wait), told whether the other signal of the
    /// pair already registered this task in the same poll: both share one
    /// waker, so a second registration (two read-modify-writes) is not
    /// needed.
    pub(crate) fn poll_wait_registered(self, cx: &mut Context<'_>, registered: bool) -> Poll<()> {
        if self.take() {
            return Poll::Ready(());
        }
        if registered {
            return Poll::Pending;
        }
        self.waker.register(cx.waker());
        if self.take() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Uses the permit if there is one. A plain load first: the task polls
    /// its signals at every wake-up and they are nearly always unset, and
    /// a read-modify-write costs several times a load.
    fn take(self) -> bool {
        self.set.load(Ordering::Acquire) && self.set.swap(false, Ordering::AcqRel)
    }

    /// Waits for [`notify`](Self::notify). Only one task may wait on a
    /// connection's signals (the connection's own task does).
    pub(crate) fn wait(self) -> impl Future<Output = ()> + 'a {
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
        let s = Signals::default();
        s.reader().notify();
        s.reader().notify();
        s.reader().wait().await;
        let second = tokio::time::timeout(Duration::from_millis(50), s.reader().wait()).await;
        assert!(second.is_err(), "two notifies leave one permit");
        let writer = tokio::time::timeout(Duration::from_millis(50), s.writer().wait()).await;
        assert!(writer.is_err(), "the reader's permit is not the writer's");
    }

    #[tokio::test]
    async fn a_notify_from_another_thread_wakes_the_waiter() {
        let s = Arc::new(Signals::default());
        let t = {
            let s = s.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                s.writer().notify();
            })
        };
        // Both halves wait in one task, as a connection's do: the writer's
        // notify wakes it, and only the writer's wait completes.
        let both = async {
            tokio::select! {
                () = s.reader().wait() => "reader",
                () = s.writer().wait() => "writer",
            }
        };
        let woke = tokio::time::timeout(Duration::from_secs(10), both)
            .await
            .expect("woken");
        assert_eq!(woke, "writer");
        t.join().unwrap();
    }
}
