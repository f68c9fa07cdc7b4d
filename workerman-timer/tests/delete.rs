//! Deleting timers: `del` (from outside and from inside a callback),
//! `del_all`, unknown ids, `count`, id uniqueness.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use common::{ms, Recorder};
use workerman_timer::{Timer, TimerId};

/// A repeating timer deletes itself from its own callback, using
/// `Timer::current`: no run after that one.
#[tokio::test(start_paused = true)]
async fn del_from_own_callback_with_current() {
    let rec = Recorder::new();
    let r = rec.clone();
    let mut runs = 0;
    Timer::add(ms(100), move || {
        runs += 1;
        r.hit("run");
        if runs == 3 {
            let me = Timer::current().expect("inside a timer callback");
            assert!(Timer::del(me));
            // The run that deleted its timer still finishes.
            r.hit("after del");
        }
    })
    .unwrap();
    tokio::time::sleep(ms(1000)).await;
    assert_eq!(
        rec.events(),
        [("run", 100), ("run", 200), ("run", 300), ("after del", 300)]
    );
    assert_eq!(Timer::count(), 0);
}

/// The Workerman way: the callback holds its id, captured after `add`.
#[tokio::test(start_paused = true)]
async fn del_from_own_callback_with_captured_id() {
    let rec = Recorder::new();
    let r = rec.clone();
    let slot: Arc<Mutex<Option<TimerId>>> = Arc::default();
    let own = Arc::clone(&slot);
    let id = Timer::add(ms(100), move || {
        r.hit("run");
        let id = own.lock().unwrap().expect("set right after add");
        assert!(Timer::del(id));
    })
    .unwrap();
    *slot.lock().unwrap() = Some(id);
    tokio::time::sleep(ms(1000)).await;
    assert_eq!(rec.events(), [("run", 100)]);
    assert!(!Timer::del(id), "deleted twice");
}

/// A one-shot is live while its callback runs: deleting itself there
/// returns true (and changes nothing else).
#[tokio::test(start_paused = true)]
async fn once_deleting_itself_returns_true() {
    let seen = Arc::new(Mutex::new(None));
    let s = Arc::clone(&seen);
    let id = Timer::once(ms(100), move || {
        let count = Timer::count();
        let me = Timer::current().unwrap();
        *s.lock().unwrap() = Some((count, Timer::del(me), Timer::count()));
    })
    .unwrap();
    tokio::time::sleep(ms(500)).await;
    assert_eq!(*seen.lock().unwrap(), Some((1, true, 0)));
    assert!(!Timer::del(id));
}

/// `del` before the deadline cancels the run; a second `del` is false.
#[tokio::test(start_paused = true)]
async fn del_cancels_pending_runs() {
    let rec = Recorder::new();
    let once = Timer::once(ms(500), rec.callback("once")).unwrap();
    let every = Timer::add(ms(200), rec.callback("every")).unwrap();
    tokio::time::sleep(ms(450)).await;
    assert!(Timer::del(once));
    assert!(Timer::del(every));
    assert_eq!(Timer::count(), 0);
    tokio::time::sleep(ms(2000)).await;
    assert_eq!(rec.events(), [("every", 200), ("every", 400)]);
    assert!(!Timer::del(once));
    assert!(!Timer::del(every));
}

/// `del` on an id that is not live returns false: deleted, a one-shot that
/// has run.
#[tokio::test(start_paused = true)]
async fn del_of_unknown_id_is_false() {
    let deleted = Timer::add(ms(100), || {}).unwrap();
    assert!(Timer::del(deleted));
    assert!(!Timer::del(deleted));
    let ran = Timer::once(ms(100), || {}).unwrap();
    tokio::time::sleep(ms(200)).await;
    assert!(!Timer::del(ran));
    assert_eq!(Timer::count(), 0);
}

/// `del` does not interrupt an async run in progress: it finishes, and no
/// run starts after it.
#[tokio::test(start_paused = true)]
async fn del_lets_a_running_async_run_finish() {
    let rec = Recorder::new();
    let r = rec.clone();
    let id = Timer::add_async(ms(100), move || {
        let r = r.clone();
        async move {
            r.hit("start");
            tokio::time::sleep(ms(50)).await;
            r.hit("end");
        }
    })
    .unwrap();
    tokio::time::sleep(ms(120)).await; // inside the first run
    assert!(Timer::del(id));
    assert_eq!(Timer::count(), 0);
    tokio::time::sleep(ms(1000)).await;
    assert_eq!(rec.events(), [("start", 100), ("end", 150)]);
}

/// One timer deletes another from its callback.
#[tokio::test(start_paused = true)]
async fn del_from_another_timer() {
    let rec = Recorder::new();
    let victim = Timer::add(ms(100), rec.callback("victim")).unwrap();
    let r = rec.clone();
    Timer::once(ms(250), move || {
        r.hit("killer");
        assert!(Timer::del(victim));
    })
    .unwrap();
    tokio::time::sleep(ms(1000)).await;
    assert_eq!(
        rec.events(),
        [("victim", 100), ("victim", 200), ("killer", 250)]
    );
}

/// `del_all` deletes every timer of the worker, repeating and one-shot,
/// and says how many.
#[tokio::test(start_paused = true)]
async fn del_all_deletes_every_timer() {
    let rec = Recorder::new();
    let mut ids = vec![
        Timer::add(ms(100), rec.callback("a")).unwrap(),
        Timer::add(ms(150), rec.callback("b")).unwrap(),
        Timer::add_async(ms(200), || async {}).unwrap(),
    ];
    ids.push(Timer::once(ms(300), rec.callback("c")).unwrap());
    ids.push(Timer::once_async(ms(300), || async {}).unwrap());
    assert_eq!(Timer::count(), 5);
    tokio::time::sleep(ms(120)).await;
    assert_eq!(Timer::del_all(), 5);
    assert_eq!(Timer::count(), 0);
    assert_eq!(Timer::del_all(), 0);
    tokio::time::sleep(ms(2000)).await;
    assert_eq!(rec.events(), [("a", 100)]);
    for id in ids {
        assert!(!Timer::del(id));
    }
    // The worker can add timers again afterwards.
    Timer::once(ms(10), rec.callback("again")).unwrap();
    tokio::time::sleep(ms(20)).await;
    assert_eq!(rec.times("again").len(), 1);
}

/// `del_all` from inside a callback deletes its own timer too.
#[tokio::test(start_paused = true)]
async fn del_all_from_a_callback() {
    let rec = Recorder::new();
    Timer::add(ms(100), rec.callback("other")).unwrap();
    let r = rec.clone();
    Timer::add(ms(250), move || {
        r.hit("sweeper");
        assert_eq!(Timer::del_all(), 2);
    })
    .unwrap();
    tokio::time::sleep(ms(1000)).await;
    assert_eq!(
        rec.events(),
        [("other", 100), ("other", 200), ("sweeper", 250)]
    );
    assert_eq!(Timer::count(), 0);
}

/// `count` follows adds, one-shots running, `del` and `del_all`.
#[tokio::test(start_paused = true)]
async fn count_tracks_live_timers() {
    assert_eq!(Timer::count(), 0);
    let a = Timer::add(ms(100), || {}).unwrap();
    Timer::add(ms(100), || {}).unwrap();
    Timer::once(ms(150), || {}).unwrap();
    Timer::once(ms(1000), || {}).unwrap();
    assert_eq!(Timer::count(), 4);
    tokio::time::sleep(ms(200)).await; // the 150 ms one-shot has run
    assert_eq!(Timer::count(), 3);
    assert!(Timer::del(a));
    assert_eq!(Timer::count(), 2);
    assert!(!Timer::del(a));
    assert_eq!(Timer::count(), 2);
    assert_eq!(Timer::del_all(), 2);
    assert_eq!(Timer::count(), 0);
}

/// Ids are unique and only grow.
#[tokio::test(start_paused = true)]
async fn ids_are_unique_and_growing() {
    let mut ids = Vec::new();
    for i in 0..500 {
        let id = if i % 2 == 0 {
            Timer::add(ms(100), || {}).unwrap()
        } else {
            Timer::once(ms(100), || {}).unwrap()
        };
        ids.push(id);
    }
    // Deleting and adding again never reuses an id.
    assert_eq!(Timer::del_all(), 500);
    ids.push(Timer::add(ms(100), || {}).unwrap());
    let unique: HashSet<TimerId> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len());
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert!(ids.iter().all(|id| id.as_u64() >= 1));
    assert_eq!(ids[0].to_string(), ids[0].as_u64().to_string());
}
