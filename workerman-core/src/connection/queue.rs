//! A connection's send queue: the bytes `send` could not hand to the
//! kernel at once, in order, written with vectored writes.
//!
//! The queue itself is plain data; [`Shared`](super::shared::Shared) keeps
//! it under the connection's lock together with the codec (a send encodes
//! and queues in one critical section, so two senders cannot interleave
//! their bytes), and bounds it in bytes (`max_send_buffer_size`: a send is
//! refused while `queued() >= limit`, so it holds at most the limit plus
//! one message).
//!
//! It is two parts, front to back:
//!
//! * `chunks`: whole buffers handed over by value (a large message is never
//!   copied);
//! * `tail`: one contiguous buffer at the back that small messages are
//!   copied into. The replies of a pipelined batch (see
//!   [`hold`](SendQueue::hold)) all land there, so a batch of sixteen
//!   replies is one buffer and leaves in one `write`, not a sixteen-slice
//!   `writev`, and queuing one costs a copy of its bytes rather than a
//!   reference-counted split.
//!
//! `held` counts the bytes at the back that are only waiting for the
//! batch's single write (they never waited for the socket): writing them
//! is no "drain".
//!
//! An empty queue is one null pointer: its parts are boxed when the first
//! bytes come and freed when the last leave, so an idle connection (and
//! one whose every reply is a direct write) carries 8 bytes of queue, not
//! 88.

use std::collections::VecDeque;
use std::io::{self, IoSlice};

use bytes::{Buf, Bytes, BytesMut};

/// The block the tail starts with: the replies of one batch fit, so a
/// batch costs one allocation.
const TAIL_BLOCK: usize = 4096;
/// Messages up to this size are copied into the tail rather than queued as
/// their own chunk (a copy is cheaper than one more slice to write).
const COPY_MAX: usize = 1024;
/// Slices per vectored write (Linux takes up to 1024; 64 covers any batch).
const MAX_SLICES: usize = 64;

/// See the [module docs](self).
#[derive(Default)]
pub(crate) struct SendQueue {
    /// `None` while nothing is queued or in flight.
    parts: Option<Box<Parts>>,
}

impl SendQueue {
    /// Bytes queued, counting those taken by an asynchronous writer and not
    /// yet written (what the send buffer limit is checked against).
    pub(crate) fn queued(&self) -> usize {
        self.parts.as_ref().map_or(0, |p| p.queued())
    }

    /// Nothing left to write (bytes in flight with an asynchronous writer
    /// do not count).
    pub(crate) fn is_empty(&self) -> bool {
        self.parts.as_ref().is_none_or(|p| p.is_empty())
    }

    /// Bytes at the back held for a batch's single write.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.parts.as_ref().map_or(0, |p| p.held)
    }

    /// Everything queued is held batch replies (or nothing is queued).
    pub(crate) fn all_held(&self) -> bool {
        self.parts.as_ref().is_none_or(|p| p.all_held())
    }

    /// Appends a reply held for the batch's single write, taking `data`'s
    /// bytes (`data` is left empty): a small one is copied into the tail, a
    /// large one is queued as its own chunk without a copy.
    pub(crate) fn hold(&mut self, data: &mut BytesMut) {
        self.parts.get_or_insert_with(Box::default).hold(data);
    }

    /// Appends a message that must wait for the socket. When everything
    /// queued is held batch replies it is held too: it leaves with them.
    pub(crate) fn push(&mut self, data: BytesMut) {
        self.parts.get_or_insert_with(Box::default).push(data);
    }

    /// Held replies are no longer special: they wait for the socket like
    /// any queued bytes.
    pub(crate) fn release_held(&mut self) {
        if let Some(p) = &mut self.parts {
            p.held = 0;
        }
    }

    /// Drops everything (destroy, reconnect).
    pub(crate) fn clear(&mut self) {
        self.parts = None;
    }

    /// Writes from the front with `write` (a vectored write) until the
    /// queue is empty or `write` would block. Returns whether anything was
    /// written; `Ok(0)` from `write` is `WriteZero`. `written` is told each
    /// write's size.
    pub(crate) fn write_with(
        &mut self,
        write: impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>,
        written: impl FnMut(usize),
    ) -> io::Result<bool> {
        let Some(p) = &mut self.parts else {
            return Ok(false);
        };
        let r = p.write_with(write, written);
        self.free_if_empty();
        r
    }

    /// Takes up to about `limit` bytes off the front for a writer that
    /// writes asynchronously (TLS); they stay counted in
    /// [`queued`](Self::queued) until [`written`](Self::written).
    pub(crate) fn take_front(&mut self, limit: usize) -> Vec<Bytes> {
        match &mut self.parts {
            Some(p) => p.take_front(limit),
            None => Vec::new(),
        }
    }

    /// `n` bytes taken with [`take_front`](Self::take_front) were written.
    pub(crate) fn written(&mut self, n: usize) {
        if let Some(p) = &mut self.parts {
            p.written(n);
        }
        self.free_if_empty();
    }

    /// Nothing queued nor in flight: the parts go.
    fn free_if_empty(&mut self) {
        if self.parts.as_ref().is_some_and(|p| p.queued() == 0) {
            self.parts = None;
        }
    }
}

/// The parts of a non-empty [`SendQueue`].
#[derive(Default)]
struct Parts {
    chunks: VecDeque<Bytes>,
    tail: BytesMut,
    /// Bytes in `chunks` and `tail`.
    len: usize,
    /// Bytes taken with [`take_front`](Self::take_front) and not yet
    /// reported [`written`](Self::written): still queued for the limit.
    in_flight: usize,
    /// Bytes at the back held for a batch's single write.
    held: usize,
}

impl Parts {
    fn queued(&self) -> usize {
        self.len + self.in_flight
    }

    /// Nothing left to write (bytes in flight with an asynchronous writer
    /// do not count).
    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Everything queued is held batch replies (or nothing is queued).
    fn all_held(&self) -> bool {
        self.held == self.queued()
    }

    /// Appends a reply held for the batch's single write, taking `data`'s
    /// bytes (`data` is left empty): a small one is copied into the tail, a
    /// large one is queued as its own chunk without a copy.
    fn hold(&mut self, data: &mut BytesMut) {
        let n = data.len();
        if n <= COPY_MAX {
            self.copy_in(data);
            data.clear();
        } else {
            self.seal_tail();
            self.len += n;
            self.chunks.push_back(data.split().freeze());
        }
        self.held += n;
    }

    /// Appends a message that must wait for the socket. When everything
    /// queued is held batch replies it is held too: it leaves with them.
    fn push(&mut self, data: BytesMut) {
        if self.len > 0 && self.all_held() {
            self.held += data.len();
        }
        if data.len() <= COPY_MAX && !self.tail.is_empty() {
            self.copy_in(&data);
        } else {
            self.seal_tail();
            self.len += data.len();
            self.chunks.push_back(data.freeze());
        }
    }

    /// Writes from the front with `write` (a vectored write) until the
    /// queue is empty or `write` would block. Returns whether anything was
    /// written; `Ok(0)` from `write` is `WriteZero`. `written` is told each
    /// write's size.
    fn write_with(
        &mut self,
        mut write: impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>,
        mut written: impl FnMut(usize),
    ) -> io::Result<bool> {
        let mut wrote_any = false;
        while self.len > 0 {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let mut n = 0;
            for (chunk, slice) in self.chunks.iter().zip(slices.iter_mut()) {
                *slice = IoSlice::new(chunk);
                n += 1;
            }
            if n < MAX_SLICES && !self.tail.is_empty() {
                slices[n] = IoSlice::new(&self.tail);
                n += 1;
            }
            match write(&slices[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(k) => {
                    wrote_any = true;
                    written(k);
                    self.consume(k);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(wrote_any)
    }

    /// Takes up to about `limit` bytes off the front for a writer that
    /// writes asynchronously (TLS); they stay counted in
    /// [`queued`](Self::queued) until [`written`](Self::written).
    fn take_front(&mut self, limit: usize) -> Vec<Bytes> {
        self.seal_tail();
        let mut batch = Vec::new();
        let mut size = 0;
        while size < limit {
            let Some(b) = self.chunks.pop_front() else {
                break;
            };
            size += b.len();
            batch.push(b);
        }
        self.len -= size;
        self.in_flight += size;
        self.held = self.held.min(self.len);
        self.release_block_if_empty();
        batch
    }

    /// `n` bytes taken with [`take_front`](Self::take_front) were written.
    fn written(&mut self, n: usize) {
        self.in_flight -= n.min(self.in_flight);
    }

    fn copy_in(&mut self, data: &[u8]) {
        if self.tail.capacity() == 0 {
            self.tail.reserve(TAIL_BLOCK.max(data.len()));
        }
        self.tail.extend_from_slice(data);
        self.len += data.len();
    }

    /// Moves the tail's bytes into `chunks` (before a chunk goes behind
    /// them, or a writer takes them by value).
    fn seal_tail(&mut self) {
        if !self.tail.is_empty() {
            self.chunks.push_back(self.tail.split().freeze());
        }
    }

    /// `k` bytes from the front were written.
    fn consume(&mut self, mut k: usize) {
        self.len -= k;
        while k > 0 {
            match self.chunks.front_mut() {
                Some(front) if front.len() <= k => {
                    k -= front.len();
                    self.chunks.pop_front();
                }
                Some(front) => {
                    front.advance(k);
                    k = 0;
                }
                None => {
                    self.tail.advance(k);
                    k = 0;
                }
            }
        }
        // Held bytes are at the back: what was written came off the front.
        self.held = self.held.min(self.len);
        self.release_block_if_empty();
    }

    /// An empty queue keeps no block (an idle connection holds none); the
    /// next batch takes a fresh one.
    fn release_block_if_empty(&mut self) {
        if self.len == 0 && self.tail.capacity() > 0 {
            self.tail = BytesMut::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes at most `cap` bytes per call into `out`.
    fn sink<'a>(
        out: &'a mut Vec<u8>,
        cap: usize,
    ) -> impl FnMut(&[IoSlice<'_>]) -> io::Result<usize> + 'a {
        move |slices| {
            let mut left = cap;
            for s in slices {
                let k = s.len().min(left);
                out.extend_from_slice(&s[..k]);
                left -= k;
                if left == 0 {
                    break;
                }
            }
            match cap - left {
                0 => Err(io::ErrorKind::WouldBlock.into()),
                n => Ok(n),
            }
        }
    }

    /// One write of at most `cap` bytes, then "would block".
    fn write_once(q: &mut SendQueue, cap: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut once = true;
        q.write_with(
            |s| {
                if std::mem::take(&mut once) {
                    sink(&mut out, cap)(s)
                } else {
                    Err(io::ErrorKind::WouldBlock.into())
                }
            },
            |_| {},
        )
        .unwrap();
        out
    }

    fn drain(q: &mut SendQueue) -> Vec<u8> {
        let mut out = Vec::new();
        q.write_with(sink(&mut out, usize::MAX), |_| {}).unwrap();
        out
    }

    #[test]
    fn keeps_order_across_chunks_and_tail() {
        let mut q = SendQueue::default();
        q.hold(&mut BytesMut::from(&b"a1 "[..]));
        q.hold(&mut BytesMut::from(&b"a2 "[..]));
        q.push(BytesMut::from(&vec![b'B'; 2000][..]));
        q.push(BytesMut::from(&b"c "[..]));
        q.hold(&mut BytesMut::from(&b"d "[..]));
        assert_eq!(q.queued(), 3 + 3 + 2000 + 2 + 2);
        let out = drain(&mut q);
        let mut want = b"a1 a2 ".to_vec();
        want.extend_from_slice(&[b'B'; 2000]);
        want.extend_from_slice(b"c d ");
        assert_eq!(out, want);
        assert!(q.is_empty());
        assert_eq!(q.queued(), 0);
        assert_eq!(q.held(), 0);
    }

    #[test]
    fn a_batch_of_small_replies_is_one_slice() {
        let mut q = SendQueue::default();
        for i in 0..16 {
            q.hold(&mut BytesMut::from(format!("reply {i}\n").as_bytes()));
        }
        let mut calls = Vec::new();
        q.write_with(
            |slices| {
                calls.push(slices.len());
                Ok(slices.iter().map(|s| s.len()).sum())
            },
            |_| {},
        )
        .unwrap();
        assert_eq!(calls, vec![1]);
        assert!(q.is_empty());
    }

    #[test]
    fn partial_writes_resume_where_they_stopped() {
        let mut q = SendQueue::default();
        let mut want = Vec::new();
        for i in 0..50u8 {
            let msg = vec![i; 1 + usize::from(i) * 97];
            want.extend_from_slice(&msg);
            q.push(BytesMut::from(&msg[..]));
        }
        let mut out = Vec::new();
        let mut reported = 0;
        // 333 bytes per write, then "would block" once the writer is told
        // to stop: write_with returns and a later call goes on.
        for _ in 0..10_000 {
            if q.is_empty() {
                break;
            }
            let mut budget = 2;
            q.write_with(
                |slices| {
                    if budget == 0 {
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                    budget -= 1;
                    sink(&mut out, 333)(slices)
                },
                |k| reported += k,
            )
            .unwrap();
        }
        assert_eq!(out, want);
        assert_eq!(reported, want.len());
        assert_eq!(q.queued(), 0);
    }

    #[test]
    fn held_counts_only_the_back_and_shrinks_as_the_front_goes() {
        let mut q = SendQueue::default();
        q.push(BytesMut::from(&b"waiting "[..]));
        assert_eq!(q.held(), 0);
        q.hold(&mut BytesMut::from(&b"held "[..]));
        assert_eq!(q.held(), 5);
        assert!(!q.all_held());
        // Writing the front leaves the held bytes counted.
        assert_eq!(write_once(&mut q, 8), b"waiting ");
        assert_eq!(q.held(), 5);
        assert!(q.all_held());
        // A message queued behind held replies only leaves with them.
        q.push(BytesMut::from(&b"behind"[..]));
        assert_eq!(q.held(), 11);
        // Half of the held bytes go: held follows.
        assert_eq!(write_once(&mut q, 4), b"held");
        assert_eq!(q.held(), 7);
        q.release_held();
        assert_eq!(q.held(), 0);
        assert_eq!(drain(&mut q), b" behind");
    }

    #[test]
    fn errors_stop_the_write_and_keep_the_bytes() {
        let mut q = SendQueue::default();
        q.hold(&mut BytesMut::from(&b"abc"[..]));
        let err = q
            .write_with(|_| Err(io::ErrorKind::BrokenPipe.into()), |_| {})
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(q.queued(), 3);
        let zero = q.write_with(|_| Ok(0), |_| {}).unwrap_err();
        assert_eq!(zero.kind(), io::ErrorKind::WriteZero);
        let mut interrupted = true;
        let mut out = Vec::new();
        q.write_with(
            |s| {
                if std::mem::take(&mut interrupted) {
                    Err(io::ErrorKind::Interrupted.into())
                } else {
                    sink(&mut out, 100)(s)
                }
            },
            |_| {},
        )
        .unwrap();
        assert_eq!(out, b"abc");
    }

    #[test]
    fn take_front_counts_bytes_in_flight_until_written() {
        let mut q = SendQueue::default();
        q.hold(&mut BytesMut::from(&b"one "[..]));
        q.push(BytesMut::from(&vec![b'x'; 3000][..]));
        let batch = q.take_front(10);
        // The tail is sealed first: its bytes come out, in order.
        assert_eq!(&batch[0][..], b"one ");
        let taken: usize = batch.iter().map(|b| b.len()).sum();
        assert_eq!(q.queued(), 4 + 3000);
        assert!(!q.is_empty() || taken == 3004);
        q.written(taken);
        assert_eq!(q.queued(), 3004 - taken);
        let rest = q.take_front(usize::MAX);
        q.written(rest.iter().map(|b| b.len()).sum());
        assert_eq!(q.queued(), 0);
        assert!(q.is_empty());
    }

    #[test]
    fn a_large_held_reply_is_queued_without_a_copy_in_order() {
        let mut q = SendQueue::default();
        q.hold(&mut BytesMut::from(&b"small "[..]));
        let big = vec![b'L'; 100_000];
        let mut data = BytesMut::from(&big[..]);
        let at = data.as_ptr();
        q.hold(&mut data);
        assert!(data.is_empty());
        q.hold(&mut BytesMut::from(&b" after"[..]));
        assert_eq!(q.held(), 6 + 100_000 + 6);
        assert!(q.all_held());
        // The big reply is its own chunk: the same allocation, not a copy.
        assert!(q
            .parts
            .as_ref()
            .unwrap()
            .chunks
            .iter()
            .any(|c| c.as_ptr() == at));
        let mut want = b"small ".to_vec();
        want.extend_from_slice(&big);
        want.extend_from_slice(b" after");
        assert_eq!(drain(&mut q), want);
    }

    #[test]
    fn an_emptied_queue_keeps_no_block() {
        let mut q = SendQueue::default();
        q.hold(&mut BytesMut::from(&b"xy"[..]));
        write_once(&mut q, 1);
        assert!(
            q.parts.as_ref().unwrap().tail.capacity() > 0,
            "kept while it holds bytes"
        );
        drain(&mut q);
        assert!(q.parts.is_none(), "an empty queue keeps nothing");
        // Also when a writer took the bytes by value (TLS).
        q.hold(&mut BytesMut::from(&b"z"[..]));
        let taken = q.take_front(usize::MAX);
        assert_eq!(q.parts.as_ref().unwrap().tail.capacity(), 0);
        assert_eq!(q.queued(), 1, "in flight still counts");
        q.written(taken.iter().map(|b| b.len()).sum());
        assert!(q.parts.is_none());
        q.hold(&mut BytesMut::from(&b"y"[..]));
        q.clear();
        assert_eq!(q.queued(), 0);
        assert!(q.parts.is_none());
    }
}
