//! [`TimerId`]: the handle [`Timer::add`](crate::Timer::add) returns.

use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// The next id to hand out. Process-wide, so an id is never reused within
/// the process: a stale id kept after its timer ended can never delete a
/// newer timer.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Identifies one timer; returned by [`Timer::add`](crate::Timer::add) and
/// its siblings and passed to [`Timer::del`](crate::Timer::del).
///
/// Ids are positive, start at 1 and only grow. They are unique within the
/// process, never reused; ids of different processes collide, as in
/// Workerman. (Workerman numbers per event loop; here, with several worker
/// instances as threads of one process, they share one sequence. In the
/// one-worker-per-process model the two are the same.)
///
/// An id is plain data (`Copy`, `Send`, `Sync`): keep it in a connection
/// extension or a struct field to delete the timer later.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use workerman_timer::Timer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), workerman_timer::TimerError> {
/// let id = Timer::once(Duration::from_secs(30), || println!("too late"))?;
/// println!("timer {id} ({id:?}) has number {}", id.as_u64());
/// assert!(Timer::del(id));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(NonZeroU64);

impl TimerId {
    /// A fresh id, never handed out before in this process.
    pub(crate) fn next() -> TimerId {
        // Relaxed: only uniqueness matters, which fetch_add gives in any
        // ordering. 2^64 ids cannot run out.
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        TimerId(NonZeroU64::new(n).unwrap_or(NonZeroU64::MIN))
    }

    /// The id as a number (what Workerman's `Timer::add` returns), for logs
    /// and status output.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use workerman_timer::Timer;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workerman_timer::TimerError> {
    /// let id = Timer::once(Duration::from_secs(1), || {})?;
    /// assert!(id.as_u64() >= 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

/// Prints the number alone (`7`), as Workerman shows timer ids.
impl fmt::Display for TimerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
