//! When timers run: first run, cadence, order, one-shots, sub-millisecond
//! intervals, missed and overrunning runs. All on tokio's paused clock.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{advance_ms, ms, settle, Recorder};
use workerman_timer::{seconds, Timer};

/// Two repeating timers interleave in time order, each on its own cadence.
#[tokio::test(start_paused = true)]
async fn repeating_timers_run_in_time_order() {
    let rec = Recorder::new();
    Timer::add(ms(300), rec.callback("a")).unwrap();
    Timer::add(ms(700), rec.callback("b")).unwrap();
    tokio::time::sleep(ms(1600)).await;
    assert_eq!(
        rec.events(),
        [
            ("a", 300),
            ("a", 600),
            ("b", 700),
            ("a", 900),
            ("a", 1200),
            ("b", 1400),
            ("a", 1500),
        ]
    );
}

/// The first run is one interval after `add`, not at once; then one run
/// per interval. Stepped with `time::advance`.
#[tokio::test(start_paused = true)]
async fn first_run_is_one_interval_after_add() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    Timer::add(Duration::from_secs(1), move || {
        counter.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    settle().await;
    assert_eq!(runs.load(Ordering::SeqCst), 0, "runs at once");
    advance_ms(999).await;
    assert_eq!(runs.load(Ordering::SeqCst), 0, "runs early");
    advance_ms(1).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    for expected in 2..=5 {
        advance_ms(1000).await;
        assert_eq!(runs.load(Ordering::SeqCst), expected);
    }
}

/// A one-shot runs once at its deadline, then is no longer live.
#[tokio::test(start_paused = true)]
async fn once_runs_once_then_removes_itself() {
    let rec = Recorder::new();
    Timer::once(ms(500), rec.callback("once")).unwrap();
    assert_eq!(Timer::count(), 1);
    tokio::time::sleep(ms(2000)).await;
    assert_eq!(rec.events(), [("once", 500)]);
    assert_eq!(Timer::count(), 0);
}

/// An async one-shot's future is awaited to its end.
#[tokio::test(start_paused = true)]
async fn once_async_runs_its_future_to_the_end() {
    let rec = Recorder::new();
    let r = rec.clone();
    Timer::once_async(ms(100), move || async move {
        r.hit("start");
        tokio::time::sleep(ms(250)).await;
        r.hit("end");
    })
    .unwrap();
    tokio::time::sleep(ms(1000)).await;
    assert_eq!(rec.events(), [("start", 100), ("end", 350)]);
}

/// A positive interval under 1 ms runs every millisecond, whether given as
/// a `Duration` or as Workerman-style seconds.
#[tokio::test(start_paused = true)]
async fn sub_millisecond_interval_runs_every_millisecond() {
    let rec = Recorder::new();
    Timer::add(Duration::from_micros(500), rec.callback("micros")).unwrap();
    Timer::add(seconds(0.0005).unwrap(), rec.callback("secs")).unwrap();
    tokio::time::sleep(Duration::from_micros(10_400)).await;
    let expected: Vec<u64> = (1..=10).collect();
    assert_eq!(rec.times("micros")[..10], expected[..]);
    assert_eq!(rec.times("secs")[..10], expected[..]);
}

/// A worker busy for several intervals gets one late run, not a burst,
/// and the cadence then resumes on the original grid.
#[tokio::test(start_paused = true)]
async fn missed_runs_are_not_caught_up() {
    let rec = Recorder::new();
    Timer::add(Duration::from_secs(1), rec.callback("tick")).unwrap();
    // The clock jumps 3.5 s while nothing runs: runs at 1, 2 and 3 s were
    // missed.
    advance_ms(3500).await;
    assert_eq!(rec.times("tick"), [3500]);
    tokio::time::sleep(ms(2100)).await;
    assert_eq!(rec.times("tick"), [3500, 4000, 5000]);
}

/// Runs of an async timer never overlap: a run that overruns the interval
/// delays the next, which starts as soon as it ends (MissedTickBehavior::
/// Skip), never two at once and never a catch-up burst.
#[tokio::test(start_paused = true)]
async fn overrunning_async_runs_never_overlap() {
    let rec = Recorder::new();
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (r, run, max) = (rec.clone(), Arc::clone(&running), Arc::clone(&most));
    Timer::add_async(Duration::from_secs(1), move || {
        let (r, run, max) = (r.clone(), Arc::clone(&run), Arc::clone(&max));
        async move {
            let now = run.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(now, Ordering::SeqCst);
            r.hit("start");
            tokio::time::sleep(ms(2500)).await;
            run.fetch_sub(1, Ordering::SeqCst);
        }
    })
    .unwrap();
    tokio::time::sleep(ms(9000)).await;
    assert_eq!(rec.times("start"), [1000, 3500, 6000, 8500]);
    assert_eq!(most.load(Ordering::SeqCst), 1);
}

/// One long run delays only the run due during it: that one starts when
/// the long run ends, and the next ones are back on the original grid
/// (Skip: not a burst of the missed runs, not a shifted cadence).
#[tokio::test(start_paused = true)]
async fn one_long_run_delays_only_the_next() {
    let rec = Recorder::new();
    let r = rec.clone();
    let mut first = true;
    Timer::add_async(Duration::from_secs(1), move || {
        let r = r.clone();
        let length = if std::mem::take(&mut first) {
            2500
        } else {
            100
        };
        async move {
            r.hit("start");
            tokio::time::sleep(ms(length)).await;
        }
    })
    .unwrap();
    tokio::time::sleep(ms(6500)).await;
    assert_eq!(rec.times("start"), [1000, 3500, 4000, 5000, 6000]);
}

/// A run shorter than the interval does not shift the cadence (no drift).
#[tokio::test(start_paused = true)]
async fn short_async_runs_keep_the_cadence() {
    let rec = Recorder::new();
    let r = rec.clone();
    Timer::add_async(Duration::from_secs(1), move || {
        let r = r.clone();
        async move {
            r.hit("start");
            tokio::time::sleep(ms(400)).await;
        }
    })
    .unwrap();
    tokio::time::sleep(ms(4500)).await;
    assert_eq!(rec.times("start"), [1000, 2000, 3000, 4000]);
}
