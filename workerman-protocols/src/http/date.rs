//! The `Date` header, formatted once per second per thread.

use std::cell::RefCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, BytesMut};

/// An IMF-fixdate is always 29 bytes: `Sun, 06 Nov 1994 08:49:37 GMT`.
const DATE_LEN: usize = 29;

thread_local! {
    /// (second it was made for, the text). Every worker instance runs on
    /// its own thread, so there is nothing to share or lock.
    static CACHED: RefCell<(u64, [u8; DATE_LEN])> = const { RefCell::new((u64::MAX, [0; DATE_LEN])) };
}

/// Appends the current time as an HTTP date.
pub(crate) fn put_date(dst: &mut BytesMut) {
    let secs = now_secs();
    CACHED.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            let text = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs));
            if text.len() == DATE_LEN {
                c.1.copy_from_slice(text.as_bytes());
                c.0 = secs;
            } else {
                // Only years past 9999 are longer; write them uncached.
                dst.put_slice(text.as_bytes());
                return;
            }
        }
        dst.put_slice(&c.1);
    });
}

/// Seconds since the Unix epoch. This runs once per response, so on Linux
/// it reads the coarse real-time clock: a few milliseconds behind at most
/// (nothing at the header's one-second resolution) and several times
/// cheaper than the precise clock, which showed as 3 % of a pipelined
/// HTTP server's time.
fn now_secs() -> u64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Ok(ts) = nix::time::clock_gettime(nix::time::ClockId::CLOCK_REALTIME_COARSE) {
        return u64::try_from(ts.tv_sec()).unwrap_or(0);
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_is_now_and_well_formed() {
        let mut dst = BytesMut::new();
        put_date(&mut dst);
        let text = std::str::from_utf8(&dst).unwrap();
        assert_eq!(text.len(), DATE_LEN, "{text}");
        let when = httpdate::parse_http_date(text).unwrap();
        let now = SystemTime::now();
        let behind = now.duration_since(when).unwrap_or_default();
        let ahead = when.duration_since(now).unwrap_or_default();
        assert!(
            behind < Duration::from_secs(3),
            "{text} is {behind:?} behind"
        );
        assert!(ahead < Duration::from_secs(1), "{text} is {ahead:?} ahead");
        // A second call in the same second gives the same text.
        let mut again = BytesMut::new();
        put_date(&mut again);
        let again = httpdate::parse_http_date(std::str::from_utf8(&again).unwrap()).unwrap();
        assert!(again >= when);
    }
}
