//! Timers belong to the runtime (the worker) they were created in: no
//! runtime, two workers side by side, a worker that ends, a multi-thread
//! runtime.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::time::Duration;

use common::ms;
use tokio::runtime::{Builder, Runtime};
use workerman_timer::{Timer, TimerError, TimerId};

/// A worker instance's runtime: current-thread, paused clock.
fn worker_runtime() -> Runtime {
    Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

/// A repeating timer that counts its runs in `runs`.
fn counting(interval: Duration, runs: &Arc<AtomicUsize>) -> TimerId {
    let runs = Arc::clone(runs);
    Timer::add(interval, move || {
        runs.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap()
}

/// Outside any runtime: adding is a clear error (never a panic) and there
/// is nothing to count or delete.
#[test]
fn outside_a_runtime() {
    let foreign = worker_runtime().block_on(async { Timer::add(ms(10), || {}).unwrap() });
    assert_eq!(Timer::add(ms(10), || {}), Err(TimerError::NoRuntime));
    assert_eq!(Timer::once(ms(10), || {}), Err(TimerError::NoRuntime));
    assert_eq!(
        Timer::add_async(ms(10), || async {}),
        Err(TimerError::NoRuntime)
    );
    assert_eq!(
        Timer::once_async(ms(10), || async {}),
        Err(TimerError::NoRuntime)
    );
    assert_eq!(Timer::count(), 0);
    assert_eq!(Timer::del_all(), 0);
    assert!(!Timer::del(foreign));
    assert_eq!(Timer::current(), None);
}

/// Bad intervals are refused before the runtime is even looked at.
#[tokio::test]
async fn bad_intervals_are_refused() {
    assert_eq!(
        Timer::add(Duration::ZERO, || {}),
        Err(TimerError::ZeroInterval)
    );
    assert_eq!(
        Timer::once(Duration::ZERO, || {}),
        Err(TimerError::ZeroInterval)
    );
    assert_eq!(
        Timer::add(Duration::MAX, || {}),
        Err(TimerError::IntervalTooLong)
    );
    assert_eq!(
        Timer::once(Timer::MAX_INTERVAL + ms(1), || {}),
        Err(TimerError::IntervalTooLong)
    );
    assert_eq!(Timer::count(), 0);
    // The longest interval is accepted.
    assert!(Timer::once(Timer::MAX_INTERVAL, || {}).is_ok());
    assert_eq!(Timer::del_all(), 1);
}

/// Two worker instances (two threads, each with its own current-thread
/// runtime) have separate timers: separate counts, `del_all` in one
/// leaves the other's running, one cannot delete the other's timers, and
/// ids never collide.
#[test]
fn two_worker_runtimes_are_independent() {
    let both_added = Arc::new(Barrier::new(2));
    let a_cleared = Arc::new(Barrier::new(2));
    let (ids_tx, ids_rx) = mpsc::channel::<Vec<TimerId>>();
    let a_runs = Arc::new(AtomicUsize::new(0));
    let b_runs = Arc::new(AtomicUsize::new(0));

    let a = {
        let (both_added, a_cleared, runs) = (
            Arc::clone(&both_added),
            Arc::clone(&a_cleared),
            Arc::clone(&a_runs),
        );
        std::thread::spawn(move || {
            let rt = worker_runtime();
            let ids = rt.block_on(async {
                let ids: Vec<_> = (0..3).map(|_| counting(ms(100), &runs)).collect();
                assert_eq!(Timer::count(), 3);
                ids
            });
            ids_tx.send(ids).unwrap();
            both_added.wait();
            rt.block_on(async {
                assert_eq!(Timer::count(), 3, "sees only its own timers");
                assert_eq!(Timer::del_all(), 3);
                assert_eq!(Timer::count(), 0);
                tokio::time::sleep(ms(1000)).await;
            });
            a_cleared.wait();
        })
    };
    let b = {
        let runs = Arc::clone(&b_runs);
        std::thread::spawn(move || {
            let rt = worker_runtime();
            let own = rt.block_on(async {
                let own: Vec<_> = (0..2).map(|_| counting(ms(100), &runs)).collect();
                assert_eq!(Timer::count(), 2);
                own
            });
            let theirs = ids_rx.recv().unwrap();
            both_added.wait();
            a_cleared.wait();
            rt.block_on(async {
                assert_eq!(Timer::count(), 2, "untouched by the other's del_all");
                for id in &theirs {
                    assert!(!Timer::del(*id), "deleted another worker's timer");
                }
                tokio::time::sleep(ms(1050)).await;
            });
            (own, theirs)
        })
    };
    a.join().unwrap();
    let (own, theirs) = b.join().unwrap();
    assert_eq!(a_runs.load(Ordering::SeqCst), 0, "deleted timers ran");
    assert_eq!(b_runs.load(Ordering::SeqCst), 2 * 10);
    assert!(own.iter().all(|id| !theirs.contains(id)), "ids collided");
}

/// Dropping a worker's runtime ends its timers: they never run again and
/// their callbacks (and everything they captured) are dropped.
#[test]
fn timers_die_with_their_runtime() {
    let runs = Arc::new(AtomicUsize::new(0));
    let captured = Arc::new(());
    let rt = worker_runtime();
    rt.block_on(async {
        counting(ms(100), &runs);
        let held = Arc::clone(&captured);
        Timer::once(Duration::from_secs(60), move || drop(held)).unwrap();
        let held = Arc::clone(&captured);
        Timer::add_async(ms(100), move || {
            let held = Arc::clone(&held);
            async move {
                // Parked mid-run when the runtime goes.
                tokio::time::sleep(Duration::from_secs(3600)).await;
                drop(held);
            }
        })
        .unwrap();
        tokio::time::sleep(ms(250)).await;
        assert_eq!(Timer::count(), 3);
    });
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    drop(rt);
    assert_eq!(
        Arc::strong_count(&captured),
        1,
        "callbacks outlived the runtime"
    );
    // A new runtime on this thread starts with no timers.
    worker_runtime().block_on(async {
        assert_eq!(Timer::count(), 0);
        tokio::time::sleep(ms(1000)).await;
    });
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

/// A multi-thread runtime owns its timers as a whole: they run, are
/// counted and deleted from any of its threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_runtime_is_supported() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let id = Timer::add(ms(5), move || {
        let _ = tx.send(());
    })
    .unwrap();
    for _ in 0..3 {
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("timer did not run")
            .unwrap();
    }
    let count = tokio::spawn(async { Timer::count() }).await.unwrap();
    assert_eq!(count, 1);
    assert!(tokio::spawn(async move { Timer::del(id) }).await.unwrap());
    assert_eq!(Timer::count(), 0);
}

/// A timer added from a `spawn_blocking` thread belongs to the runtime
/// that thread serves.
#[tokio::test(start_paused = true)]
async fn spawn_blocking_adds_to_the_runtime() {
    let id = tokio::task::spawn_blocking(|| Timer::add(ms(100), || {}).unwrap())
        .await
        .unwrap();
    assert_eq!(Timer::count(), 1);
    assert!(Timer::del(id));
}
