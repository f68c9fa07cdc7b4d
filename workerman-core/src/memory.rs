//! Giving memory back to the operating system after a burst.
//!
//! A worker's buffers grow only as data arrives, and are freed when a
//! connection goes idle or closes. Freed is not returned, though: glibc's
//! allocator keeps freed memory inside its heaps for reuse, and after a
//! burst of large or hostile messages a worker measured 14–59 MiB above
//! its starting RSS with every connection closed (frame, http and
//! websocket examples, 480 connections announcing 9 MiB each and sending
//! up to 3 MiB of it). A worker process therefore runs a trimmer: once a
//! second at most, when enough memory was released since the last trim,
//! it asks the allocator to return its free pages (`malloc_trim(0)` on
//! glibc, which also releases free pages in the middle of its heaps).
//! After the same burst the worker is back within 1 MiB of its start.
//!
//! "Released" is counted where the framework frees memory a peer made it
//! take: a read buffer that grew past [`LARGE`] (counted by its size) and
//! every closed connection (counted as [`CLOSE_WEIGHT`], for what its
//! codec and state held). With another global allocator (jemalloc,
//! mimalloc) the trim is a cheap no-op on glibc's empty heaps; on other
//! C libraries it does nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Buffers at least this large are counted when freed; smaller ones are
/// reused by the allocator without growing the process.
pub(crate) const LARGE: usize = 64 * 1024;

/// What one closed connection counts for.
pub(crate) const CLOSE_WEIGHT: usize = 16 * 1024;

/// A trim happens once this much was released since the last one.
const TRIM_AFTER: usize = 1024 * 1024;

/// How often the trimmer looks.
const PERIOD: Duration = Duration::from_secs(1);

static RELEASED: AtomicUsize = AtomicUsize::new(0);

/// Notes that a buffer of `capacity` bytes is being freed.
pub(crate) fn released(capacity: usize) {
    if capacity >= LARGE {
        RELEASED.fetch_add(capacity, Ordering::Relaxed);
    }
}

/// Notes that a connection closed.
pub(crate) fn connection_closed() {
    RELEASED.fetch_add(CLOSE_WEIGHT, Ordering::Relaxed);
}

/// Runs for the life of a worker process: trims the allocator's heaps
/// when enough was released.
pub(crate) async fn trimmer() {
    let mut tick = tokio::time::interval(PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if RELEASED.load(Ordering::Relaxed) >= TRIM_AFTER {
            RELEASED.store(0, Ordering::Relaxed);
            // A trim walks every heap and returns pages with madvise
            // (measured 0.5–6.5 ms after a burst): off the event loop.
            let _ = tokio::task::spawn_blocking(trim).await;
        }
    }
}

/// Returns the allocator's free pages to the operating system.
#[allow(unsafe_code)]
fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let started = std::time::Instant::now();
        // SAFETY: malloc_trim takes no pointers and may be called at any
        // time from any thread; it only walks the allocator's own lists.
        let returned = unsafe { libc::malloc_trim(0) };
        tracing::debug!(
            returned = returned != 0,
            took_us = started.elapsed().as_micros() as u64,
            "returned free memory to the OS"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_buffers_are_not_counted_large_ones_and_closes_are() {
        // One test touches the process-wide counter, so no other test
        // races it.
        RELEASED.store(0, Ordering::Relaxed);
        released(LARGE - 1);
        assert_eq!(RELEASED.load(Ordering::Relaxed), 0);
        released(LARGE);
        connection_closed();
        assert_eq!(RELEASED.load(Ordering::Relaxed), LARGE + CLOSE_WEIGHT);
        trim();
    }
}
