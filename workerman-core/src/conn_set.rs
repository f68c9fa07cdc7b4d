//! [`ConnectionSet`]: a listener's connections, driven by one task.
//!
//! An accepted connection is one future ([`drive`](crate::connection::drive)).
//! Spawning it as a tokio task of its own costs more memory than the future:
//! tokio keeps every task in a cell aligned to 128 bytes (256 bytes for a
//! connection's), and glibc serves an aligned block out of a larger one,
//! giving back the ~176 bytes around it as fragments that the other
//! per-connection allocations rarely fit, so each task held ~450 bytes of
//! heap. Here the futures of one listener's plain connections live in one
//! [`FuturesUnordered`] polled by one task: a connection costs its future
//! plus a node of ~60 bytes, in an ordinary allocation: 10,000 idle
//! connections of `text_echo` measured 923 bytes each instead of 1,051
//! (docs/benchmarks.md, "Idle memory per connection").
//!
//! Nothing else changes for a connection: each one is woken and polled on
//! its own (the set polls only the futures that were woken), a panic in one
//! is caught and ends that one only, and the set's task is tracked like the
//! connections' tasks were, so a stop waits for it and a forced stop drops
//! it with the runtime. Connections whose debug span is enabled, TLS
//! connections (their handshake state is far larger than the set would
//! save) and those of a worker with `max_connections` (whose future also
//! carries a permit: measured, that larger node saved nothing) still get a
//! task of their own.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use futures::stream::FuturesUnordered;
use futures::task::AtomicWaker;
use futures::{FutureExt, StreamExt};
use tokio_util::task::TaskTracker;

use crate::guard::panic_message;
use crate::sync::lock;

/// Connections handed over but not yet taken by the set's task beyond
/// which the accept loop lets that task run first (it runs on the same
/// thread, so the hand-over queue never grows past one burst of accepts).
const MAX_INCOMING: usize = 256;

/// The handle of the accept loop: hands connections to the set's task.
/// Dropping it closes the set: its task ends once every connection in it
/// has ended.
pub(crate) struct ConnectionSet<F> {
    shared: Arc<Handover<F>>,
}

/// What the accept loop and the set's task share.
struct Handover<F> {
    /// Futures accepted since the set's task last ran.
    incoming: Mutex<Vec<F>>,
    /// `incoming` may hold some: the set's task, polled at every wake-up
    /// of any of its connections, takes the lock only then.
    handed_over: AtomicBool,
    /// The set's task, woken by a hand-over and by the close.
    waker: AtomicWaker,
    /// No more connections come (the accept loop has ended).
    closed: AtomicBool,
}

impl<F: Future<Output = ()> + Send + 'static> ConnectionSet<F> {
    /// Spawns the set's task on `tracker`.
    pub(crate) fn spawn(tracker: &TaskTracker) -> Self {
        let shared = Arc::new(Handover {
            incoming: Mutex::new(Vec::new()),
            handed_over: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            closed: AtomicBool::new(false),
        });
        tracker.spawn(run(Arc::clone(&shared)));
        ConnectionSet { shared }
    }

    /// Adds a connection's future; it is first polled when the set's task
    /// next runs.
    pub(crate) fn push(&self, fut: F) {
        lock(&self.shared.incoming).push(fut);
        self.shared.handed_over.store(true, Ordering::Release);
        self.shared.waker.wake();
    }

    /// Whether the accept loop should let the set's task run before it
    /// accepts more.
    pub(crate) fn is_backlogged(&self) -> bool {
        lock(&self.shared.incoming).len() >= MAX_INCOMING
    }
}

impl<F> Drop for ConnectionSet<F> {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.waker.wake();
    }
}

/// The set's task: polls the connections that were woken, takes new ones,
/// and ends once the set is closed and empty.
async fn run<F: Future<Output = ()> + Send + 'static>(shared: Arc<Handover<F>>) {
    let mut set = FuturesUnordered::new();
    std::future::poll_fn(|cx| {
        shared.waker.register(cx.waker());
        let closed = shared.closed.load(Ordering::Acquire);
        if shared.handed_over.load(Ordering::Acquire)
            && shared.handed_over.swap(false, Ordering::AcqRel)
        {
            // Taken whole, so a burst of accepts leaves no buffer behind.
            let incoming = std::mem::take(&mut *lock(&shared.incoming));
            for fut in incoming {
                set.push(AssertUnwindSafe(fut).catch_unwind());
            }
        }
        loop {
            match set.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(()))) => {}
                Poll::Ready(Some(Err(payload))) => {
                    let message = panic_message(&*payload);
                    tracing::error!(panic = %message, "a connection's task panicked; it is dropped");
                }
                // Empty: done once closed (`closed` was read before the
                // last hand-over was taken, so none can be left behind).
                Poll::Ready(None) if closed => return Poll::Ready(()),
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// Waits (bounded) for every task of `tracker` to end.
    async fn ends(tracker: &TaskTracker, why: &str) {
        tokio::time::timeout(Duration::from_secs(10), tracker.wait())
            .await
            .expect(why);
    }

    #[tokio::test]
    async fn runs_every_future_and_ends_after_the_close() {
        let tracker = TaskTracker::new();
        let done = Arc::new(AtomicUsize::new(0));
        let set = ConnectionSet::spawn(&tracker);
        let (tx, rx) = tokio::sync::watch::channel(false);
        for _ in 0..10 {
            let done = Arc::clone(&done);
            let mut rx = rx.clone();
            set.push(async move {
                let _ = rx.wait_for(|go| *go).await;
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        tracker.close();
        // Open: the futures wait, and so does the tracker.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(done.load(Ordering::SeqCst), 0);
        assert!(!tracker.is_empty());
        tx.send(true).unwrap();
        drop(set);
        ends(
            &tracker,
            "the set's task ends once its futures did and it is closed",
        )
        .await;
        assert_eq!(done.load(Ordering::SeqCst), 10);
    }

    #[tokio::test]
    async fn a_closed_set_waits_for_its_futures() {
        let tracker = TaskTracker::new();
        let set = ConnectionSet::spawn(&tracker);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        set.push(async move {
            let _ = rx.await;
        });
        drop(set);
        tracker.close();
        let early = tokio::time::timeout(Duration::from_millis(50), tracker.wait()).await;
        assert!(early.is_err(), "a future still runs");
        tx.send(()).unwrap();
        ends(&tracker, "ends after its last future").await;
    }

    #[tokio::test]
    async fn a_panic_ends_only_its_own_future() {
        let tracker = TaskTracker::new();
        let set = ConnectionSet::spawn(&tracker);
        let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        set.push(Box::pin(async move {
            panic!("boom");
        })
            as std::pin::Pin<Box<dyn Future<Output = ()> + Send>>);
        set.push(Box::pin(async move {
            let _ = go_rx.await;
            let _ = tx.send(7);
        }));
        tokio::time::sleep(Duration::from_millis(20)).await;
        go_tx.send(()).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .expect("the other future still runs")
            .unwrap();
        assert_eq!(got, 7);
        drop(set);
        tracker.close();
        ends(&tracker, "ends").await;
    }

    #[tokio::test]
    async fn an_empty_open_set_stays_until_closed() {
        let tracker = TaskTracker::new();
        let set: ConnectionSet<std::future::Ready<()>> = ConnectionSet::spawn(&tracker);
        tracker.close();
        let early = tokio::time::timeout(Duration::from_millis(50), tracker.wait()).await;
        assert!(early.is_err(), "open: more connections may come");
        set.push(std::future::ready(()));
        assert!(!set.is_backlogged());
        drop(set);
        ends(&tracker, "closed and empty: ends").await;
    }
}
