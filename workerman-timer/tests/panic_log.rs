//! A panicking callback is logged at `error` with the timer id and the
//! panic message.
//!
//! Alone in its own test binary: with a single scoped subscriber
//! registered, `tracing` computes a callsite's interest from the default
//! subscriber of whichever thread first hits it, and caches it for all
//! threads. A test on another thread (with no subscriber) panicking in a
//! timer first would make the `error!` callsite "never" for this one too.

mod common;

use std::io;
use std::sync::{Arc, Mutex};

use common::ms;
use workerman_timer::Timer;

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn panic_is_logged_with_timer_id_and_message() {
    let logs = Arc::new(Mutex::new(Vec::new()));
    let sink = Sink(Arc::clone(&logs));
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    // The runtime of a current-thread test runs the timer tasks on this
    // thread, so a thread-scoped subscriber sees their events.
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut runs = 0;
    let id = Timer::add(ms(100), move || {
        runs += 1;
        if runs == 2 {
            panic!("boom on run 2");
        }
    })
    .unwrap();
    tokio::time::sleep(ms(350)).await;

    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("timer callback panicked"))
        .collect();
    assert_eq!(lines.len(), 1, "{logs}");
    assert!(lines[0].contains("ERROR"), "{logs}");
    assert!(lines[0].contains("boom on run 2"), "{logs}");
    assert!(lines[0].contains(&format!("timer={id}")), "{logs}");
}
