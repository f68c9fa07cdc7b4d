//! The `Date` header, formatted once per second per thread.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

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
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHED.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            let text = httpdate::fmt_http_date(now);
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
