//! A panicking callback is logged and drops that run only: the timer, the
//! other timers and the worker go on.

mod common;

use common::{ms, Recorder};
use workerman_timer::Timer;

/// A repeating timer whose second run panics runs again at the next
/// interval. (The log line is checked in `panic_log.rs`.)
#[tokio::test(start_paused = true)]
async fn panicking_run_does_not_stop_the_timer() {
    let rec = Recorder::new();
    let r = rec.clone();
    let mut runs = 0;
    Timer::add(ms(100), move || {
        runs += 1;
        r.hit("run");
        if runs == 2 {
            panic!("boom on run 2");
        }
    })
    .unwrap();
    tokio::time::sleep(ms(550)).await;
    assert_eq!(rec.times("run"), [100, 200, 300, 400, 500]);
    assert_eq!(Timer::count(), 1);
}

/// The same for a panic inside an async run, after an await.
#[tokio::test(start_paused = true)]
async fn panicking_async_run_does_not_stop_the_timer() {
    let rec = Recorder::new();
    let r = rec.clone();
    Timer::add_async(ms(100), move || {
        let r = r.clone();
        async move {
            tokio::time::sleep(ms(10)).await;
            r.hit("run");
            panic!("async boom");
        }
    })
    .unwrap();
    tokio::time::sleep(ms(350)).await;
    assert_eq!(rec.times("run"), [110, 210, 310]);
    assert_eq!(Timer::count(), 1);
}

/// A timer that panics on every run disturbs neither the other timers nor
/// the worker's own task.
#[tokio::test(start_paused = true)]
async fn panics_leave_other_timers_and_the_worker_alone() {
    let rec = Recorder::new();
    Timer::add(ms(50), || panic!("always")).unwrap();
    Timer::once(ms(75), || panic!("once, too")).unwrap();
    Timer::add(ms(100), rec.callback("healthy")).unwrap();
    tokio::time::sleep(ms(450)).await;
    assert_eq!(rec.times("healthy"), [100, 200, 300, 400]);
    // The one-shot is gone, the two repeating timers are live.
    assert_eq!(Timer::count(), 2);
    assert_eq!(Timer::del_all(), 2);
}
