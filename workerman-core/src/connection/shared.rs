//! The state one connection shares between its task and its handles.
//!
//! [`Shared`] is laid out by how often each part is touched:
//!
//! * atomics read on every send or package without a lock (state, pause,
//!   cork and event flags, the buffer limit, counters);
//! * [`Inner`], under one lock: the write half, the codec and the send
//!   queue (`queue.rs`, byte-bounded, unit-tested on its own), and the
//!   pending callback events;
//! * [`Addrs`], under its own lock (rarely read, changed on reconnect);
//! * [`Rare`], one pointer made on first use: reconnect, extensions,
//!   pipes, and waiters for room in the queue.
//!
//! An idle connection is this struct plus its task; see `benches/idle_memory`.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

pub(crate) use crate::sync::lock;

use bytes::{Buf, Bytes, BytesMut};
use tokio::sync::Notify;
use tokio_util::codec::Decoder;
use workerman_protocols::Protocol;

use crate::extensions::Extensions;
use crate::instance_shared::InstanceShared;
use crate::io::WriteHalf;
use crate::process::{ConnectionState, ProtocolName, TransportKind};

use super::queue::SendQueue;
use crate::stats::ConnCounters;
use crate::SocketAddress;

/// The worker instance a connection belongs to, as the connection sees it
/// (`InstanceShared` listing connections by their shared state).
pub(crate) type WorkerShared<P> = InstanceShared<Shared<P>>;

/// The largest encode buffer kept for reuse between sends; larger ones are
/// freed.
const SCRATCH_KEEP: usize = 2048;

thread_local! {
    /// The encode buffer of every send made on this thread: a connection
    /// keeps none of its own (an idle connection carries no buffer, and one
    /// that answered a message keeps none either).
    static SCRATCH: std::cell::Cell<BytesMut> = std::cell::Cell::new(BytesMut::new());
}

/// Runs `f` with this thread's encode buffer (empty), then keeps what
/// capacity it has left for the next send, up to [`SCRATCH_KEEP`]. A
/// nested call (an encoder that sends) gets a fresh buffer.
pub(super) fn with_scratch<R>(f: impl FnOnce(&mut BytesMut) -> R) -> R {
    let mut buf = SCRATCH.try_with(|c| c.take()).unwrap_or_default();
    let r = f(&mut buf);
    if buf.capacity() != 0 && buf.capacity() <= SCRATCH_KEEP {
        buf.clear();
        let _ = SCRATCH.try_with(|c| c.set(buf));
    }
    r
}

/// Where a connection is in its life. Accepted connections start
/// `Established`, outgoing ones `Connecting` (sends are queued until the
/// socket is up); `close` moves to `Closing` (flush, then close);
/// `destroy`, a failed write or the end of the task move to `Closed`. Only
/// an outgoing connection's reconnect goes back, to `Connecting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum State {
    Connecting = 0,
    Established = 1,
    Closing = 2,
    Closed = 3,
}

/// A callback-worthy event raised outside the connection task (inside
/// `send`, or by the writer), delivered by the task in order.
#[derive(Debug)]
pub(crate) enum Event {
    BufferFull,
    BufferDrain,
    /// `count` sends refused because the buffer was full (coalesced, so a
    /// caller spinning on a full buffer cannot grow this queue).
    SendRefused {
        count: u64,
    },
    SendClosed(io::Error),
}

/// What the bounded send queue and the codec share under one lock (a send
/// encodes and queues in one critical section).
///
/// The queue ([`SendQueue`]) is multi-producer (any handle, any thread),
/// single-consumer (the connection task), bounded in bytes: a send is
/// refused while `queued() >= max_send_buffer_size`, so it holds at most
/// that limit plus one message. A direct write is tried first when the
/// queue is empty, as Workerman does, so the common case never wakes the
/// task.
pub(crate) struct Inner<P: Protocol> {
    /// The socket's write half, written directly by any sender. The task
    /// takes it out when it ends, so the descriptor closes then even if
    /// user code keeps handles. Empty while connecting and after the end.
    io: Option<WriteHalf>,
    /// The protocol's codec: decodes for the task, encodes for senders.
    pub(crate) codec: P::Codec,
    /// Bytes waiting for the socket, and replies held for a batch's single
    /// write (corked, or queued behind corked ones: `queue.held()`). When
    /// the whole queue is such replies, ending the batch writes them at
    /// once and no `on_buffer_drain` follows.
    queue: SendQueue,
    /// Callback-worthy events for the task, oldest first; boxed and made
    /// when the first one comes, dropped when the task has taken the last
    /// (most connections never have one).
    // Boxed on purpose: an empty VecDeque is 32 bytes in every idle
    // connection, the box 8.
    #[allow(clippy::box_collection)]
    events: Option<Box<VecDeque<Event>>>,
}

/// Per-connection state that only some connections use, allocated the
/// first time one of them is used: a connection that never reconnects,
/// pipes or carries extensions pays one pointer for all of it.
pub(crate) struct Rare<P: Protocol> {
    /// Set by `Connection::reconnect`: connect again after this delay once
    /// closed (outgoing connections only).
    pub(crate) reconnect: Mutex<Option<std::time::Duration>>,
    /// `Connection::insert_extension` and friends.
    pub(crate) extensions: Mutex<Option<Box<Extensions>>>,
    /// Where this connection's packages go instead of `on_message`
    /// (`Connection::pipe`).
    pub(crate) pipe: Mutex<Option<Arc<super::pipe::PipeTarget<P>>>>,
    /// Connections piped into this one: paused while this one is full.
    /// Locked inside `Shared::inner`, never the other way round.
    pipe_sources: Mutex<Vec<Weak<dyn RecvControl>>>,
    /// Wakes those waiting for room in the send queue or for the close
    /// (`Connection::wait_for_room`, a TLS write, a connect): made by the
    /// first such wait (see [`Shared::wait_room_until`]).
    room: Notify,
}

impl<P: Protocol> Rare<P> {
    fn new() -> Self {
        Rare {
            reconnect: Mutex::new(None),
            extensions: Mutex::new(None),
            pipe: Mutex::new(None),
            pipe_sources: Mutex::new(Vec::new()),
            room: Notify::new(),
        }
    }
}

/// Pause/resume of a connection's reading, type-erased so that a
/// connection of one protocol can be piped into another.
pub(crate) trait RecvControl: Send + Sync {
    fn pause(&self);
    fn resume(&self);
}

/// Shared by the connection task and every [`Connection`](crate::Connection)
/// handle.
pub(crate) struct Shared<P: Protocol> {
    /// The connection id (`Connection::id`): unique in the process,
    /// shared by accepted and outgoing connections.
    pub(crate) id: u64,
    /// The peer's and our address (an outgoing connection learns them
    /// when it connects, again on each reconnect).
    pub(crate) addrs: Mutex<Addrs>,
    /// What senders and the task change together under one lock: the
    /// socket's write half, the codec, the send queue, pending events (see
    /// [`Inner`]). One lock, so two senders never interleave bytes.
    pub(crate) inner: Mutex<Inner<P>>,
    /// The [`State`] as a `u8`: read by every send without the lock.
    state: AtomicU8,
    /// Reading is paused (`pause_recv`, a full pipe destination).
    pub(crate) paused: AtomicBool,
    /// The send buffer's limit in bytes (`set_max_send_buffer_size`).
    pub(crate) max_send_buffer: AtomicUsize,
    /// Wake the reader half of the task (events, state changes, resume)
    /// and its writer half (data queued, state changes); see
    /// [`wake_reader`](Shared::wake_reader).
    signals: super::signal::Signals,
    /// Bytes read and written, and failed sends (`Connection::stats`).
    pub(crate) counters: ConnCounters,
    /// The worker instance that accepted it, which lists it and counts it;
    /// `None` for an outgoing connection.
    pub(crate) worker: Option<Arc<WorkerShared<P>>>,
    /// See [`Rare`]; made on first use.
    rare: once_cell::race::OnceBox<Rare<P>>,
    /// `rare.pipe` is set: checked for every package without a lock.
    pub(crate) piped: AtomicBool,
    /// Half-close, for pipes (a connection with both directions finished
    /// closes): the peer has sent FIN.
    pub(crate) read_eof: AtomicBool,
    /// A FIN is to be sent once the queue is flushed (the pipe's source
    /// ended).
    pub(crate) end_requested: AtomicBool,
    /// That FIN was sent.
    pub(crate) write_shut: AtomicBool,
    /// Set by the connection's own task while it delivers a package that
    /// was read together with more: sends queue instead of writing, and
    /// the task writes them all in one `writev` when the batch ends or the
    /// handler awaits (see [`uncork`](Shared::uncork)).
    corked: AtomicBool,
    /// Sends were held since the last [`uncork`](Shared::uncork): only
    /// then has it anything to write (a package read alone costs no lock).
    corked_since: AtomicBool,
    /// The send queue is above the limit since the last `BufferFull`
    /// (reset below the limit), so `on_buffer_full` fires once per
    /// crossing. Only read and written under `inner`'s lock (an atomic to
    /// sit with the other flags, not in the lock's padding).
    full: AtomicBool,

    /// `Inner::events` is not empty: the task checks this, not the lock,
    /// after every package.
    events_pending: AtomicBool,
}

/// A protocol's read timeout (see `Protocol::read_timeout`): `None`, no
/// deadline.
pub(crate) type ReadTimeout = Option<std::time::Duration>;

/// What [`Shared::decode`] gives: the package (or none yet, or the
/// protocol's error), whether the protocol wants the connection closed,
/// and the read timeout when no complete package is left.
pub(crate) type Decoded<P> = (
    Result<Option<<P as Protocol>::Inbound>, <P as Protocol>::Error>,
    bool,
    Option<ReadTimeout>,
);

/// A connection's two addresses, under one lock.
pub(crate) struct Addrs {
    pub(crate) remote: SocketAddress,
    pub(crate) local: SocketAddress,
}

/// What a successful `send` did: Workerman's `true` and `null` results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a send may have been only queued; check or ignore explicitly"]
pub enum SendStatus {
    /// Every byte was handed to the kernel (Workerman's `true`).
    Written,
    /// Some or all bytes wait in the application send buffer and will be
    /// written when the socket is writable (Workerman's `null`).
    Queued,
}

pub(crate) enum Refused {
    Closed,
    Full,
}

/// How a write attempt ended for the writer.
pub(crate) enum Flush {
    /// Nothing left to write.
    Empty,
    /// The socket would block with data left.
    WouldBlock,
    /// The write failed: the peer is gone.
    Failed(io::Error),
}

impl<P: Protocol> Shared<P> {
    /// `io`: the write half of an accepted connection (state
    /// `Established`), or `None` for an outgoing one (`Connecting`).
    pub(crate) fn new(
        id: u64,
        io: Option<WriteHalf>,
        remote: SocketAddress,
        local: SocketAddress,
        codec: P::Codec,
        max_send_buffer: usize,
        worker: Option<Arc<WorkerShared<P>>>,
    ) -> Self {
        let state = if io.is_some() {
            State::Established
        } else {
            State::Connecting
        };
        Shared {
            id,
            addrs: Mutex::new(Addrs { remote, local }),
            inner: Mutex::new(Inner {
                io,
                codec,
                queue: SendQueue::default(),
                events: None,
            }),
            state: AtomicU8::new(state as u8),
            paused: AtomicBool::new(false),
            max_send_buffer: AtomicUsize::new(max_send_buffer),
            signals: Default::default(),
            counters: ConnCounters::default(),
            worker,
            rare: once_cell::race::OnceBox::new(),
            piped: AtomicBool::new(false),
            read_eof: AtomicBool::new(false),
            end_requested: AtomicBool::new(false),
            write_shut: AtomicBool::new(false),
            corked: AtomicBool::new(false),
            corked_since: AtomicBool::new(false),
            events_pending: AtomicBool::new(false),
            full: AtomicBool::new(false),
        }
    }

    /// Wakes the reader half of the task: events, state changes, resume.
    pub(crate) fn wake_reader(&self) -> super::signal::Signal<'_> {
        self.signals.reader()
    }

    /// Wakes the writer half of the task: data queued, state changes.
    pub(crate) fn wake_writer(&self) -> super::signal::Signal<'_> {
        self.signals.writer()
    }

    /// The state only some connections use, made now if it was not.
    pub(crate) fn rare(&self) -> &Rare<P> {
        self.rare.get_or_init(|| Box::new(Rare::new()))
    }

    /// Waits until `done` holds, re-checking it after each
    /// [`notify_room`](Self::notify_room) (room in the send queue, a state
    /// change).
    pub(crate) async fn wait_room_until(&self, done: impl Fn() -> bool) {
        let room = &self.rare().room;
        loop {
            let woken = room.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            // Pairs with the fence in `notify_room`: either it sees the
            // waiter's `rare`, or this check sees what it announced.
            std::sync::atomic::fence(Ordering::SeqCst);
            if done() {
                return;
            }
            woken.await;
        }
    }

    /// Wakes [`wait_room_until`](Self::wait_room_until) callers, if any
    /// connection state was ever made for them.
    fn notify_room(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
        if let Some(rare) = self.rare_if_any() {
            rare.room.notify_waiters();
        }
    }

    /// The state only some connections use, if any was ever used.
    pub(crate) fn rare_if_any(&self) -> Option<&Rare<P>> {
        self.rare.get()
    }

    fn for_each_pipe_source(&self, f: impl Fn(&dyn RecvControl)) {
        if let Some(rare) = self.rare_if_any() {
            for source in lock(&rare.pipe_sources).iter().filter_map(Weak::upgrade) {
                f(&*source);
            }
        }
    }

    pub(crate) fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) {
            0 => State::Connecting,
            1 => State::Established,
            2 => State::Closing,
            _ => State::Closed,
        }
    }

    /// Open: connecting or established (sends are accepted).
    pub(crate) fn is_open(&self) -> bool {
        matches!(self.state(), State::Connecting | State::Established)
    }

    /// An outgoing connection is up: install its socket, learn its
    /// addresses. False if it was closed meanwhile.
    pub(crate) fn connected(
        &self,
        io: WriteHalf,
        remote: SocketAddress,
        local: SocketAddress,
    ) -> bool {
        *lock(&self.addrs) = Addrs { remote, local };
        let mut inner = lock(&self.inner);
        let up = self
            .state
            .compare_exchange(
                State::Connecting as u8,
                State::Established as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok();
        if up {
            inner.io = Some(io);
        }
        if up && !inner.queue.is_empty() {
            // Sends made while connecting wait in the queue.
            self.wake_writer().notify();
        }
        up
    }

    /// Back to `Connecting` for a reconnect, with a fresh codec and no
    /// leftovers from the previous connection.
    pub(crate) fn reset_for_reconnect(&self, codec: P::Codec) {
        let mut inner = lock(&self.inner);
        inner.io = None;
        inner.codec = codec;
        inner.queue.clear();
        self.full.store(false, Ordering::Relaxed);
        inner.events = None;
        self.events_pending.store(false, Ordering::Release);
        for flag in [&self.read_eof, &self.end_requested, &self.write_shut] {
            flag.store(false, Ordering::SeqCst);
        }
        self.state.store(State::Connecting as u8, Ordering::Release);
    }

    /// Moves forward only (Established → Closing → Closed); returns whether
    /// the state changed.
    pub(crate) fn advance_state(&self, to: State) -> bool {
        let prev = self.state.fetch_max(to as u8, Ordering::AcqRel);
        let changed = prev < to as u8;
        if changed {
            self.wake_reader().notify();
            self.wake_writer().notify();
            self.notify_room();
        }
        changed
    }

    fn add_send_fail(&self) {
        if let Some(w) = &self.worker {
            w.stats.send_fail.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a write of `n` bytes. Called only under `inner`'s lock,
    /// which orders every write of the connection's own counters, so they
    /// take no read-modify-write (see [`ConnCounters::add_own`]).
    pub(crate) fn add_written(&self, n: usize) {
        ConnCounters::add_own(&self.counters.bytes_written, n as u64);
        ConnCounters::add_own(&self.counters.writes, 1);
        if let Some(w) = &self.worker {
            w.stats.bytes_written.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    pub(crate) fn push_event(&self, inner: &mut Inner<P>, event: Event) {
        let events = inner.events.get_or_insert_with(Box::default);
        if let (Event::SendRefused { count }, Some(Event::SendRefused { count: last })) =
            (&event, events.back_mut())
        {
            *last += count;
        } else {
            events.push_back(event);
        }
        self.events_pending.store(true, Ordering::Release);
        self.wake_reader().notify();
    }

    pub(crate) fn pop_event(&self) -> Option<Event> {
        let mut inner = lock(&self.inner);
        let event = inner.events.as_mut().and_then(|events| events.pop_front());
        if inner.events.as_ref().is_none_or(|events| events.is_empty()) {
            inner.events = None;
            self.events_pending.store(false, Ordering::Release);
        }
        event
    }

    /// Events wait for the task (a hint read without the lock: an event
    /// pushed right after also wakes the reader).
    pub(crate) fn has_events(&self) -> bool {
        self.events_pending.load(Ordering::Acquire)
    }

    pub(crate) fn queued_bytes(&self) -> usize {
        lock(&self.inner).queue.queued()
    }

    /// Encodes with `encode` and writes or queues the bytes, following
    /// Workerman's `send` decision procedure (see the crate docs).
    pub(crate) fn send_with(
        &self,
        encode: impl FnOnce(&mut P::Codec, &mut BytesMut) -> Result<(), crate::BoxError>,
    ) -> Result<SendStatus, SendFailure> {
        let mut inner = lock(&self.inner);
        if !self.is_open() || self.end_requested.load(Ordering::Acquire) {
            return Err(SendFailure::Refused(Refused::Closed));
        }
        let max = self.max_send_buffer.load(Ordering::Relaxed);
        let queued = inner.queue.queued();
        if queued > 0 && queued >= max {
            self.add_send_fail();
            self.push_event(&mut inner, Event::SendRefused { count: 1 });
            return Err(SendFailure::Refused(Refused::Full));
        }
        with_scratch(|scratch| {
            encode(&mut inner.codec, scratch).map_err(SendFailure::Encode)?;
            let close = P::should_close(&inner.codec);
            let status = self.write_or_queue(inner, scratch, true);
            if close {
                self.advance_state(State::Closing);
            }
            status
        })
    }

    /// Writes bytes the protocol produced by itself (handshakes, control
    /// frames, error answers), ahead of anything sent later and regardless
    /// of the send buffer limit. Returns whether the protocol then wants the
    /// connection closed.
    pub(crate) fn write_protocol_output(&self, extra: Option<Bytes>) -> bool {
        let mut inner = lock(&self.inner);
        with_scratch(|scratch| {
            if let Some(b) = extra {
                scratch.extend_from_slice(&b);
            }
            P::poll_output(&mut inner.codec, scratch);
            let close = P::should_close(&inner.codec);
            if !scratch.is_empty() && self.state() != State::Closed {
                // A failure is reported through the events like any write's.
                let _ = self.write_or_queue(inner, scratch, false);
            }
            close
        })
    }

    /// Writes the protocol's goodbye (`Protocol::close_output`) when this
    /// side closes gracefully, ahead of the FIN and regardless of the send
    /// buffer limit.
    pub(crate) fn write_close_output(&self, shutdown: bool) {
        let mut inner = lock(&self.inner);
        with_scratch(|scratch| {
            P::close_output(&mut inner.codec, scratch, shutdown);
            if !scratch.is_empty() && self.state() != State::Closed {
                // A failure is reported through the events like any write's.
                let _ = self.write_or_queue(inner, scratch, false);
            }
        })
    }

    /// Decodes one package from `buf`, then writes what the protocol wants
    /// written. Returns the result, whether the protocol wants the
    /// connection closed and, when `buf` holds no complete package (the
    /// reader will wait), the protocol's read timeout, read under the same
    /// lock.
    pub(crate) fn decode(&self, buf: &mut BytesMut) -> Decoded<P> {
        let mut inner = lock(&self.inner);
        let decoded = inner.codec.decode(buf);
        let waits = matches!(decoded, Ok(None));
        let (close, timeout) = with_scratch(|scratch| {
            P::poll_output(&mut inner.codec, scratch);
            let close = P::should_close(&inner.codec);
            let timeout = waits.then(|| P::read_timeout(&inner.codec));
            if !scratch.is_empty() {
                let _ = self.write_or_queue(inner, scratch, false);
            }
            (close, timeout)
        });
        (decoded, close, timeout)
    }

    /// The protocol's answer to a decode error, written before closing.
    pub(crate) fn error_response(&self, err: &P::Error) -> Option<Bytes> {
        P::error_response(&mut lock(&self.inner).codec, err)
    }

    /// The protocol's read deadline now.
    pub(crate) fn read_timeout(&self) -> Option<std::time::Duration> {
        P::read_timeout(&lock(&self.inner).codec)
    }

    /// The protocol's answer when the read deadline passed.
    pub(crate) fn timeout_response(&self) -> Option<Bytes> {
        P::timeout_response(&mut lock(&self.inner).codec)
    }

    /// Writes `scratch` (the encoded bytes) directly when nothing is
    /// queued, else queues them; `scratch` is left empty. `limited`: a user
    /// send, which counts against the buffer limit (the limit itself was
    /// checked by the caller).
    fn write_or_queue(
        &self,
        mut inner: std::sync::MutexGuard<'_, Inner<P>>,
        scratch: &mut BytesMut,
        limited: bool,
    ) -> Result<SendStatus, SendFailure> {
        if scratch.is_empty() {
            return Ok(SendStatus::Written);
        }
        if self.corked.load(Ordering::Relaxed) {
            let max = self.max_send_buffer.load(Ordering::Relaxed);
            let len = scratch.len();
            if inner.queue.queued() + len < max && self.state() != State::Closed {
                // Held for the batch's single write; stays below the
                // limit, so corking alone never refuses a send. Small
                // replies are copied into the queue's tail, so those of a
                // batch are one contiguous buffer.
                inner.queue.hold(scratch);
                return Ok(SendStatus::Queued);
            }
            // Past the limit: write what is held now, then go on as usual.
            if inner.io.as_ref().is_some_and(|io| !io.is_tls()) {
                if let Err(e) = self.flush_locked(&mut inner) {
                    tracing::trace!(error = %e, "write of held replies failed");
                    self.wake_writer().notify();
                }
            }
        }
        // Take the whole buffer: a split would leave `scratch` holding the
        // allocation, so the thread would keep its largest message.
        let mut data = std::mem::take(scratch);
        let tried = match &inner.io {
            Some(io) if inner.queue.is_empty() => Some(io.try_write(&data)),
            _ => None,
        };
        if let Some(wrote) = tried {
            match wrote {
                Ok(n) if n == data.len() => {
                    if data.capacity() <= SCRATCH_KEEP {
                        data.clear();
                        *scratch = data;
                    }
                    self.add_written(n);
                    drop(inner);
                    return Ok(SendStatus::Written);
                }
                Ok(n) => {
                    self.add_written(n);
                    data.advance(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    self.add_send_fail();
                    self.push_event(&mut inner, Event::SendClosed(e));
                    drop(inner);
                    self.advance_state(State::Closed);
                    return Err(SendFailure::Refused(Refused::Closed));
                }
            }
            // The writer only waits for data while the queue is empty.
            self.wake_writer().notify();
        } else if self.state() == State::Closed {
            return Err(SendFailure::Refused(Refused::Closed));
        }
        // Behind held replies only, it leaves with them (see SendQueue).
        inner.queue.push(data);
        let max = self.max_send_buffer.load(Ordering::Relaxed);
        if limited && inner.queue.queued() >= max && !self.full.load(Ordering::Relaxed) {
            self.full.store(true, Ordering::Relaxed);
            self.push_event(&mut inner, Event::BufferFull);
            // Pipe back-pressure acts at once, inside the send that crossed
            // the limit, so the source stops before its next package.
            self.for_each_pipe_source(|source| source.pause());
        }
        Ok(SendStatus::Queued)
    }

    /// Writes as much of the queue as the socket takes now. Runs under the
    /// lock so a concurrent direct write in `send_with` cannot interleave.
    pub(crate) fn flush(&self) -> Flush {
        let mut inner = lock(&self.inner);
        // Only replies held for a batch, none of which waited for the
        // socket nor filled the buffer: writing them is no "drain".
        let quiet = inner.queue.all_held() && !self.full.load(Ordering::Relaxed);
        match self.flush_locked(&mut inner) {
            Ok(wrote_any) => self.after_write(&mut inner, wrote_any && !quiet),
            Err(e) => Flush::Failed(e),
        }
    }

    /// The write loop of [`flush`](Shared::flush): vectored writes until
    /// the queue is empty or the socket would block (see
    /// [`SendQueue::write_with`]). Returns whether anything was written.
    fn flush_locked(&self, inner: &mut Inner<P>) -> io::Result<bool> {
        let Inner { queue, io, .. } = inner;
        let Some(io) = io else {
            return Ok(false);
        };
        queue.write_with(
            |slices| io.try_write_vectored(slices),
            |n| self.add_written(n),
        )
    }

    /// Ready when the socket may be writable (see
    /// [`WriteHalf::poll_write_ready`]); an error once it is gone.
    pub(crate) fn poll_write_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match &lock(&self.inner).io {
            Some(io) => io.poll_write_ready(cx),
            None => std::task::Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    /// The TLS writer, if this is a TLS connection (see
    /// [`WriteHalf::tls`]).
    pub(crate) fn tls_writer(&self) -> Option<crate::io::TlsWriter> {
        lock(&self.inner).io.as_ref().and_then(WriteHalf::tls)
    }

    /// Sends FIN (TLS: a close_notify first).
    pub(crate) async fn shutdown_write(&self) -> io::Result<()> {
        let tls = {
            let inner = lock(&self.inner);
            match &inner.io {
                None => return Ok(()),
                Some(io) => match io.tls() {
                    None => return io.shutdown_plain(),
                    Some(tls) => tls,
                },
            }
        };
        crate::io::shutdown_tls(&tls).await
    }

    /// The socket's write half, taken out when the connection's task ends
    /// (dropping it closes that direction; see [`Inner::io`]).
    pub(crate) fn take_io(&self) -> Option<WriteHalf> {
        lock(&self.inner).io.take()
    }

    /// Holds (true) or stops holding (false) this task's sends for one
    /// batched write.
    pub(crate) fn set_corked(&self, corked: bool) {
        self.corked.store(corked, Ordering::Relaxed);
        if corked {
            self.corked_since.store(true, Ordering::Relaxed);
        }
    }

    /// Ends a batch: stops holding sends and writes what was held, in one
    /// `writev` when the socket takes it all. What the socket does not
    /// take now goes to the writer half, which writes it when the socket
    /// is writable (and then `on_buffer_drain` fires, as for any send that
    /// had to wait for the socket; held replies that leave at once fire
    /// nothing). A failure is left to the writer half too, which meets it
    /// on its next write and closes the connection.
    pub(crate) fn uncork(&self) {
        self.corked.store(false, Ordering::Relaxed);
        // A plain load first: most batches are one package, never corked.
        if !self.corked_since.load(Ordering::Relaxed)
            || !self.corked_since.swap(false, Ordering::Relaxed)
        {
            return;
        }
        let mut inner = lock(&self.inner);
        if inner.queue.is_empty() {
            return;
        }
        let direct = inner.queue.all_held()
            && self.state() != State::Closed
            && inner.io.as_ref().is_some_and(|io| !io.is_tls());
        match direct {
            true => match self.flush_locked(&mut inner) {
                Ok(wrote_any) => {
                    if inner.queue.is_empty() {
                        // A send behind the held replies may have filled
                        // the buffer: then this is a drain like any other.
                        let full = self.full.load(Ordering::Relaxed);
                        self.after_write(&mut inner, wrote_any && full);
                    } else {
                        // The rest waits for the socket like any send.
                        inner.queue.release_held();
                        self.wake_writer().notify();
                    }
                }
                Err(e) => {
                    tracing::trace!(error = %e, "write of held replies failed");
                    self.wake_writer().notify();
                }
            },
            false => {
                inner.queue.release_held();
                self.wake_writer().notify();
            }
        }
    }

    /// After writing: below the limit again, room for waiters, and when
    /// the queue emptied after an asynchronous flush, `on_buffer_drain`
    /// and pipe sources resumed.
    fn after_write(&self, inner: &mut Inner<P>, wrote_any: bool) -> Flush {
        let max = self.max_send_buffer.load(Ordering::Relaxed);
        let queued = inner.queue.queued();
        if queued < max {
            self.full.store(false, Ordering::Relaxed);
        }
        if queued < max {
            self.notify_room();
        }
        if inner.queue.is_empty() {
            if wrote_any {
                self.push_event(inner, Event::BufferDrain);
                self.for_each_pipe_source(|source| source.resume());
            }
            Flush::Empty
        } else {
            Flush::WouldBlock
        }
    }

    /// Takes up to about `limit` bytes off the front of the queue for a
    /// writer that writes asynchronously (TLS); they still count as queued
    /// until [`written`](Shared::written).
    pub(crate) fn take_batch(&self, limit: usize) -> Vec<Bytes> {
        lock(&self.inner).queue.take_front(limit)
    }

    /// `n` bytes taken with `take_batch` were written.
    pub(crate) fn written(&self, n: usize) {
        let mut inner = lock(&self.inner);
        inner.queue.written(n);
        self.add_written(n);
        self.after_write(&mut inner, true);
    }

    /// Asks for a FIN once everything queued is written, keeping the read
    /// side open (a pipe forwarding its source's end of stream).
    pub(crate) fn request_end(&self) {
        if !self.end_requested.swap(true, Ordering::SeqCst) {
            self.wake_writer().notify();
        }
    }

    /// Records one direction as finished; when both are, the connection
    /// moves to `Closing` so its task completes.
    pub(crate) fn finish_direction(&self, flag: &AtomicBool) {
        flag.store(true, Ordering::SeqCst);
        if self.read_eof.load(Ordering::SeqCst) && self.write_shut.load(Ordering::SeqCst) {
            self.advance_state(State::Closing);
        }
    }

    pub(crate) fn has_queued(&self) -> bool {
        lock(&self.inner).queue.queued() > 0
    }

    /// Drops everything queued (destroy).
    pub(crate) fn clear_queue(&self) {
        lock(&self.inner).queue.clear();
    }

    pub(crate) fn add_pipe_source(&self, source: Weak<dyn RecvControl>) {
        let mut sources = lock(&self.rare().pipe_sources);
        sources.retain(|w| w.strong_count() > 0);
        sources.push(source);
    }

    pub(crate) fn pause_recv(&self) {
        if !self.paused.swap(true, Ordering::AcqRel) {
            // A reader waiting for data re-checks at once: reading stops
            // now, not after the next packet (Workerman unregisters the
            // read event in pauseRecv).
            self.wake_reader().notify();
        }
    }

    pub(crate) fn resume_recv(&self) {
        if self.paused.swap(false, Ordering::AcqRel) {
            self.wake_reader().notify();
        }
    }
}

impl<P: Protocol> RecvControl for Shared<P> {
    fn pause(&self) {
        self.pause_recv();
    }
    fn resume(&self) {
        self.resume_recv();
    }
}

pub(crate) enum SendFailure {
    Refused(Refused),
    Encode(crate::BoxError),
}

impl<P: Protocol> crate::registry::ConnInfo for Shared<P> {
    fn row(&self) -> crate::process::ConnectionRow {
        let (remote, local) = {
            let addrs = lock(&self.addrs);
            (addrs.remote.clone(), addrs.local.to_string())
        };
        // The socket says what it is; an outgoing connection that is not
        // connected yet has none and is named by its address.
        let kind = lock(&self.inner).io.as_ref().map(|io| match io {
            WriteHalf::Tcp(_) => TransportKind::Tcp,
            WriteHalf::Tls(_) => TransportKind::Tls,
            WriteHalf::Unix(_) => TransportKind::Unix,
        });
        let transport = match kind {
            Some(kind) => kind,
            None => match remote {
                SocketAddress::Unix(_) => TransportKind::Unix,
                _ => TransportKind::Tcp,
            },
        };
        let state = match self.state() {
            State::Connecting => ConnectionState::Connecting,
            State::Established => ConnectionState::Established,
            State::Closing => ConnectionState::Closing,
            State::Closed => ConnectionState::Closed,
        };
        crate::process::ConnectionRow {
            pid: std::process::id(),
            worker: self.worker.as_ref().map(|w| w.name.to_string()),
            id: self.id,
            transport,
            protocol: ProtocolName::from(P::SCHEME),
            local,
            remote: remote.to_string(),
            bytes_read: self.counters.bytes_read.load(Ordering::Relaxed),
            bytes_written: self.counters.bytes_written.load(Ordering::Relaxed),
            send_queue: self.queued_bytes() as u64,
            state,
        }
    }
}
