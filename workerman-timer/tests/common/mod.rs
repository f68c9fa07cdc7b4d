//! Helpers shared by the timer tests.
#![allow(dead_code)] // each test file uses a different subset

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Records `(label, milliseconds since the recorder was made)` for every
/// callback run, on tokio's (usually paused) clock.
#[derive(Clone)]
pub(crate) struct Recorder {
    start: Instant,
    events: Arc<Mutex<Vec<(&'static str, u64)>>>,
}

impl Recorder {
    pub(crate) fn new() -> Recorder {
        Recorder {
            start: Instant::now(),
            events: Arc::default(),
        }
    }

    /// Records `label` now.
    pub(crate) fn hit(&self, label: &'static str) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.events.lock().unwrap().push((label, ms));
    }

    /// A callback that records `label` each time it runs.
    pub(crate) fn callback(&self, label: &'static str) -> impl FnMut() + Send + 'static {
        let me = self.clone();
        move || me.hit(label)
    }

    /// Everything recorded so far.
    pub(crate) fn events(&self) -> Vec<(&'static str, u64)> {
        self.events.lock().unwrap().clone()
    }

    /// The times at which `label` was recorded.
    pub(crate) fn times(&self, label: &str) -> Vec<u64> {
        self.events()
            .into_iter()
            .filter(|(l, _)| *l == label)
            .map(|(_, t)| t)
            .collect()
    }
}

/// Lets every task that is ready (timer tasks woken by `advance`) run,
/// without moving the clock.
pub(crate) async fn settle() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

/// Moves the paused clock forward by `ms` and lets the timers due by then
/// run.
pub(crate) async fn advance_ms(ms: u64) {
    tokio::time::advance(Duration::from_millis(ms)).await;
    settle().await;
}

pub(crate) fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}
