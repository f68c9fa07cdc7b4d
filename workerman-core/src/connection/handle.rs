//! [`Connection`]: the handle to one connection, a stream (TCP, Unix,
//! TLS: `shared.rs`, with a task) or a datagram peer (UDP: `datagram.rs`,
//! no task).

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use bytes::{BufMut, Bytes};
use tokio_util::codec::Encoder;
use workerman_protocols::Protocol;

use super::datagram::Datagram;
use super::shared::{lock, Refused, SendFailure, SendStatus, Shared, State, WorkerShared};
use crate::extensions::Extensions;
use crate::stats::ConnectionStats;
use crate::{SendError, SocketAddress};

/// A handle to one connection, accepted by a worker or opened with
/// [`AsyncTcpConnection`](crate::AsyncTcpConnection).
///
/// Handles are cheap to clone (one reference count) and may be used from any
/// task or thread: store them for broadcast, move them into a timer, look
/// them up by [`id`](Connection::id) in
/// [`WorkerContext::connection`](crate::WorkerContext::connection). Everything sent through any handle goes
/// through the connection's one bounded send queue, in call order.
///
/// A handle kept after the connection closed stays valid: its addresses and
/// counters can be read, and `send` returns [`SendError::Closed`].
///
/// # Datagrams
///
/// A UDP worker's `on_message` gets a handle to the datagram's sender, and
/// [`AsyncUdpConnection`](crate::AsyncUdpConnection) gives one to its peer.
/// Such a handle has no task and no send buffer: `send` goes to the kernel
/// at once as one datagram ([`SendStatus::Written`]) or is refused
/// ([`SendError::BufferFull`] when the socket's buffer has no room: the
/// datagram is dropped; [`SendError::Closed`] after `close` or when the
/// kernel reports an error, which closes nothing). `close(last)` sends
/// `last` (and the protocol's goodbye, if it has one) and refuses later
/// sends; there is nothing to pause, pipe from
/// or reconnect (those calls do nothing, and `reconnect` returns false).
pub struct Connection<P: Protocol> {
    /// The handle is one reference count, to a stream's or a datagram
    /// peer's state.
    repr: Repr<P>,
}

/// What a [`Connection`] points to.
enum Repr<P: Protocol> {
    /// TCP, Unix or TLS: a task, a send queue, the stream's flags.
    Stream(Arc<Shared<P>>),
    /// A UDP peer: a socket, an address, a codec.
    Datagram(Arc<Datagram<P>>),
}

impl<P: Protocol> Clone for Connection<P> {
    fn clone(&self) -> Self {
        let repr = match &self.repr {
            Repr::Stream(s) => Repr::Stream(Arc::clone(s)),
            Repr::Datagram(d) => Repr::Datagram(Arc::clone(d)),
        };
        Connection { repr }
    }
}

impl<P: Protocol> fmt::Debug for Connection<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Connection");
        d.field("id", &self.id())
            .field("protocol", &P::SCHEME)
            .field("remote", &self.remote_addr());
        match &self.repr {
            Repr::Stream(s) => d.field("state", &s.state()),
            Repr::Datagram(g) => d.field("transport", &"udp").field("open", &g.is_open()),
        };
        d.finish()
    }
}

impl<P: Protocol> Connection<P> {
    pub(crate) fn from_shared(shared: Arc<Shared<P>>) -> Self {
        Connection {
            repr: Repr::Stream(shared),
        }
    }

    /// A handle to a datagram peer (see the type's docs); its receive loop
    /// keeps the `Arc` too, to decode what arrives.
    pub(crate) fn datagram(datagram: Arc<Datagram<P>>) -> Self {
        Connection {
            repr: Repr::Datagram(datagram),
        }
    }

    /// The state of a stream connection: what its task (`driver.rs`)
    /// works on. Only streams have a task, so the task never meets a
    /// datagram handle.
    pub(super) fn stream(&self) -> &Arc<Shared<P>> {
        match &self.repr {
            Repr::Stream(s) => s,
            Repr::Datagram(_) => unreachable!("only stream connections have a task"),
        }
    }

    /// A weak, type-erased view for the registry of live connections.
    pub(crate) fn info(&self) -> std::sync::Weak<dyn crate::registry::ConnInfo> {
        match &self.repr {
            Repr::Stream(s) => Arc::downgrade(s) as std::sync::Weak<dyn crate::registry::ConnInfo>,
            Repr::Datagram(d) => {
                Arc::downgrade(d) as std::sync::Weak<dyn crate::registry::ConnInfo>
            }
        }
    }

    /// Resolves once the connection is closing or closed.
    pub(crate) async fn until_closed(&self) {
        match &self.repr {
            Repr::Stream(s) => s.wait_room_until(|| !s.is_open()).await,
            Repr::Datagram(d) => d.until_closed().await,
        }
    }

    /// The connection id: unique within the process, counting from 1,
    /// shared by accepted and outgoing connections (Workerman's
    /// `$connection->id`).
    pub fn id(&self) -> u64 {
        match &self.repr {
            Repr::Stream(s) => s.id,
            Repr::Datagram(d) => d.id,
        }
    }

    /// The peer's address. It stays readable after the connection closed.
    /// (An outgoing connection learns it when it connects.)
    pub fn remote_addr(&self) -> SocketAddress {
        match &self.repr {
            Repr::Stream(s) => lock(&s.addrs).remote.clone(),
            Repr::Datagram(d) => SocketAddress::Inet(d.remote),
        }
    }

    /// The peer's IP address (`None` for a Unix socket). IPv6 addresses are
    /// bare, without brackets.
    pub fn remote_ip(&self) -> Option<std::net::IpAddr> {
        match &self.repr {
            Repr::Stream(s) => lock(&s.addrs).remote.ip(),
            Repr::Datagram(d) => Some(d.remote.ip()),
        }
    }

    /// The peer's port (`None` for a Unix socket).
    pub fn remote_port(&self) -> Option<u16> {
        match &self.repr {
            Repr::Stream(s) => lock(&s.addrs).remote.port(),
            Repr::Datagram(d) => Some(d.remote.port()),
        }
    }

    /// This end's address.
    pub fn local_addr(&self) -> SocketAddress {
        match &self.repr {
            Repr::Stream(s) => lock(&s.addrs).local.clone(),
            Repr::Datagram(d) => SocketAddress::Inet(d.local()),
        }
    }

    /// The worker instance that accepted this connection (see
    /// `Connection::worker`, in `context.rs`).
    pub(crate) fn worker_shared(&self) -> Option<Arc<WorkerShared<P>>> {
        match &self.repr {
            Repr::Stream(s) => s.worker.clone(),
            Repr::Datagram(d) => d.worker.clone(),
        }
    }

    /// Encodes `msg` with the protocol and sends it.
    ///
    /// The three outcomes of Workerman's `send`:
    /// * `Ok(SendStatus::Written)`: handed to the kernel at once;
    /// * `Ok(SendStatus::Queued)`: (partly) kept in the application send
    ///   buffer, written when the socket is writable. If this send brought
    ///   the buffer to `max_send_buffer_size` or more, `on_buffer_full`
    ///   follows. A single send is never truncated by the limit.
    /// * `Err(_)`: refused. [`SendError::Closed`] when the connection is
    ///   closing or closed; [`SendError::BufferFull`] when the buffer already
    ///   held the limit (the message is dropped, `on_error` receives
    ///   [`ConnectionError::SendBufferFull`](crate::ConnectionError) and the
    ///   connection stays open). A write that finds the peer gone reports
    ///   `ConnectionError::SendClosed` to `on_error` and closes the
    ///   connection.
    ///
    /// None of these is a delivery acknowledgement from the peer.
    ///
    /// **Batched replies** (where this differs from Workerman): when the
    /// connection reads several packages at once (a client that pipelines),
    /// the replies its handlers send while those packages are delivered are
    /// held and leave together in one `writev` when the last of them has
    /// been handled, instead of one write each. Such a send returns
    /// `Ok(SendStatus::Queued)` (honestly: the bytes are in the buffer), is
    /// never refused for it (held replies are written before they would
    /// reach `max_send_buffer_size`), and fires no `on_buffer_drain` when
    /// the batch leaves at once. A reply never waits for a later await:
    /// whenever the handler awaits something that is not ready, what it
    /// held is written first, and sends from other tasks (a broadcast, a
    /// timer) write directly as before. A package read on its own is
    /// answered exactly as in Workerman (`Written` when the socket took it).
    ///
    /// `send` never blocks and never waits: it is the same from a callback,
    /// another task or another thread.
    pub fn send(&self, msg: impl Into<P::Outbound>) -> Result<SendStatus, SendError> {
        let msg = msg.into();
        let encode = |codec: &mut P::Codec, dst: &mut bytes::BytesMut| {
            codec.encode(msg, dst).map_err(Into::into)
        };
        match &self.repr {
            Repr::Stream(s) => s.send_with(encode),
            Repr::Datagram(d) => d.send_with(encode),
        }
        .map_err(map_failure)
    }

    /// Sends bytes as they are, skipping the protocol's encoder (Workerman's
    /// `send($data, true)`), with the same outcomes as
    /// [`send`](Connection::send).
    pub fn send_raw(&self, bytes: impl Into<Bytes>) -> Result<SendStatus, SendError> {
        let bytes = bytes.into();
        let copy = |_: &mut P::Codec, dst: &mut bytes::BytesMut| {
            dst.put_slice(&bytes);
            Ok(())
        };
        match &self.repr {
            Repr::Stream(s) => s.send_with(copy),
            Repr::Datagram(d) => d.send_with(copy),
        }
        .map_err(map_failure)
    }

    /// Closes the connection gracefully: sends `last` first if given, then
    /// the protocol's goodbye if it has one (a WebSocket close frame 1000,
    /// see `Protocol::close_output`), stops reading, writes everything
    /// queued, then closes the socket and runs `on_close`. Does nothing if
    /// the connection is already closing or closed.
    pub fn close(&self, last: Option<P::Outbound>) {
        self.close_with(last, false);
    }

    /// Closes gracefully because the worker is stopping: the protocol's
    /// goodbye says so (a WebSocket close frame 1001).
    pub(crate) fn close_for_shutdown(&self) {
        self.close_with(None, true);
    }

    fn close_with(&self, last: Option<P::Outbound>, shutdown: bool) {
        let shared = match &self.repr {
            Repr::Stream(s) => s,
            Repr::Datagram(d) => {
                // Nothing queued: `last` and the protocol's goodbye go at
                // once, then sends are refused.
                if !d.is_open() {
                    return;
                }
                if let Some(msg) = last {
                    if let Err(e) = self.send(msg) {
                        tracing::debug!(error = %e, "last datagram not sent on close");
                    }
                }
                d.write_close_output(shutdown);
                d.close();
                return;
            }
        };
        match shared.state() {
            State::Established => {}
            // Workerman: an outgoing connection still connecting is
            // destroyed at once.
            State::Connecting => return self.destroy(),
            State::Closing | State::Closed => return,
        }
        if let Some(msg) = last {
            if let Err(e) = self.send(msg) {
                tracing::debug!(conn_id = self.id(), error = %e, "last message not sent on close");
            }
        }
        shared.write_close_output(shutdown);
        shared.advance_state(State::Closing);
    }

    /// Closes the connection at once, dropping whatever is still queued;
    /// `on_close` runs. Does nothing if it is already closed.
    pub fn destroy(&self) {
        match &self.repr {
            Repr::Stream(s) => {
                if s.advance_state(State::Closed) {
                    s.clear_queue();
                }
            }
            Repr::Datagram(d) => {
                d.close();
            }
        }
    }

    /// Whether the connection is open: connecting (outgoing) or
    /// established, neither closing nor closed.
    pub fn is_open(&self) -> bool {
        match &self.repr {
            Repr::Stream(s) => s.is_open(),
            Repr::Datagram(d) => d.is_open(),
        }
    }

    /// Whether an outgoing connection is still connecting.
    pub fn is_connecting(&self) -> bool {
        match &self.repr {
            Repr::Stream(s) => s.state() == State::Connecting,
            Repr::Datagram(_) => false,
        }
    }

    /// Connects an outgoing connection again after `delay`, keeping its id,
    /// its service and its extensions (Workerman's `reconnect`). Called from
    /// `on_close` (the usual pattern for a resilient client: a failed
    /// connect also ends in `on_close`), it schedules the next attempt; on
    /// an open connection it closes it first. Sends made while it is
    /// connecting again are queued. Does nothing on an accepted connection
    /// or a datagram peer (returns false).
    pub fn reconnect(&self, delay: std::time::Duration) -> bool {
        let shared = match &self.repr {
            Repr::Stream(s) if s.worker.is_none() => s,
            _ => return false,
        };
        *lock(&shared.rare().reconnect) = Some(delay);
        if shared.is_open() {
            self.destroy();
        }
        true
    }

    /// Stops reading from the peer: packages already received but not yet
    /// delivered wait too (pausing inside `on_message` stops the rest of a
    /// batch). Used for back-pressure and rate limits. Nothing for a
    /// datagram peer.
    pub fn pause_recv(&self) {
        if let Repr::Stream(s) = &self.repr {
            s.pause_recv();
        }
    }

    /// Resumes reading after [`pause_recv`](Connection::pause_recv):
    /// packages already buffered are delivered at once, without waiting for
    /// new data.
    pub fn resume_recv(&self) {
        if let Repr::Stream(s) = &self.repr {
            s.resume_recv();
        }
    }

    /// Whether reading is paused (never, for a datagram peer).
    pub fn is_recv_paused(&self) -> bool {
        match &self.repr {
            Repr::Stream(s) => s.paused.load(Ordering::Acquire),
            Repr::Datagram(_) => false,
        }
    }

    /// Forwards everything this connection receives to `dest`, with
    /// back-pressure both ways (Workerman's `pipe`):
    /// * each package this connection receives is sent to `dest` instead of
    ///   going to `on_message`;
    /// * when `dest`'s send buffer fills, this connection stops reading,
    ///   and resumes when `dest`'s buffer drains;
    /// * when this connection's peer ends its side (FIN), `dest` is
    ///   half-closed after flushing (a FIN to its peer), and data keeps
    ///   flowing the other way until that peer ends too: a request, its
    ///   end-of-stream, then the response, all pass through a two-way pipe;
    /// * when this connection closes, `dest` is closed (gracefully, after
    ///   flushing). `on_close` of this connection still runs.
    ///
    /// It is one-directional: a proxy pipes both ways
    /// (`client.pipe(&upstream); upstream.pipe(&client)`). Piping again
    /// replaces the previous destination.
    ///
    /// A datagram peer can be a destination (each package is sent as a
    /// datagram; it is never full, and an end of stream sends nothing)
    /// but not a source: it has no task reading for it, so piping from it
    /// does nothing.
    pub fn pipe<Q>(&self, dest: &Connection<Q>)
    where
        Q: Protocol,
        Q::Outbound: From<P::Inbound>,
    {
        let Repr::Stream(shared) = &self.repr else {
            tracing::debug!("pipe: a datagram peer has nothing to pipe from");
            return;
        };
        let forward_to = dest.clone();
        let close_dest = dest.clone();
        let end_dest = match &dest.repr {
            Repr::Stream(d) => Some(Arc::clone(d)),
            Repr::Datagram(_) => None,
        };
        let target = super::pipe::PipeTarget::<P> {
            forward: Box::new(move |msg| {
                if let Err(e) = forward_to.send(Q::Outbound::from(msg)) {
                    tracing::debug!(conn_id = forward_to.id(), error = %e, "pipe: package not forwarded");
                }
            }),
            close: Box::new(move || close_dest.close(None)),
            end: Box::new(move || {
                if let Some(d) = &end_dest {
                    d.request_end();
                }
            }),
        };
        *lock(&shared.rare().pipe) = Some(Arc::new(target));
        shared.piped.store(true, Ordering::Release);
        if let Repr::Stream(d) = &dest.repr {
            let weak: Weak<Shared<P>> = Arc::downgrade(shared);
            d.add_pipe_source(weak);
        }
    }

    /// Changes this connection's send buffer limit in bytes (default: the
    /// worker's `max_send_buffer_size`, 1 MiB). Nothing for a datagram
    /// peer, which has no send buffer.
    pub fn set_max_send_buffer_size(&self, bytes: usize) {
        if let Repr::Stream(s) = &self.repr {
            s.max_send_buffer.store(bytes, Ordering::Relaxed);
        }
    }

    /// This connection's send buffer limit in bytes (`usize::MAX` for a
    /// datagram peer: with no buffer, it is never full).
    pub fn max_send_buffer_size(&self) -> usize {
        match &self.repr {
            Repr::Stream(s) => s.max_send_buffer.load(Ordering::Relaxed),
            Repr::Datagram(_) => usize::MAX,
        }
    }

    /// Waits until the send buffer is below `max_send_buffer_size` (at
    /// once if it already is), or the connection is closing or closed: the
    /// async way to send a large body without being refused. Check
    /// [`is_open`](Connection::is_open) after it returns.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses nothing.
    pub async fn wait_for_room(&self) {
        if let Repr::Stream(s) = &self.repr {
            s.wait_room_until(|| {
                !self.is_open() || self.send_queue_bytes() < self.max_send_buffer_size()
            })
            .await;
        }
    }

    /// Bytes waiting in the application send buffer (none for a datagram
    /// peer).
    pub fn send_queue_bytes(&self) -> usize {
        match &self.repr {
            Repr::Stream(s) => s.queued_bytes(),
            Repr::Datagram(_) => 0,
        }
    }

    /// This connection's counters.
    pub fn stats(&self) -> ConnectionStats {
        let c = match &self.repr {
            Repr::Stream(s) => &s.counters,
            Repr::Datagram(d) => &d.counters,
        };
        ConnectionStats {
            bytes_read: c.bytes_read.load(Ordering::Relaxed),
            bytes_written: c.bytes_written.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            messages: c.messages.load(Ordering::Relaxed),
            send_queue_bytes: self.send_queue_bytes(),
        }
    }

    /// Attaches a value of type `T` to this connection, returning the
    /// previous one. One value per type: use a newtype (`struct UserId(u64)`)
    /// to keep values apart.
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # use workerman_core::Connection;
    /// # use workerman_protocols::Text;
    /// # fn f(conn: &Connection<Text>) {
    /// #[derive(Clone)]
    /// struct UserId(u64);
    /// conn.insert_extension(UserId(42));
    /// assert_eq!(conn.extension::<UserId>().map(|u| u.0), Some(42));
    /// # }
    /// ```
    pub fn insert_extension<T: Send + Sync + 'static>(&self, value: T) -> Option<T> {
        let extensions = match &self.repr {
            Repr::Stream(s) => &s.rare().extensions,
            Repr::Datagram(d) => &d.extensions,
        };
        lock(extensions)
            .get_or_insert_with(Box::default)
            .insert(value)
    }

    /// A clone of the value of type `T` attached to this connection.
    pub fn extension<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.with_extension(|v: Option<&mut T>| v.cloned())
    }

    /// Runs `f` with the value of type `T` attached to this connection (or
    /// `None`), under a lock: keep `f` short and do not call other methods
    /// of this connection's extensions from it.
    pub fn with_extension<T: Send + Sync + 'static, R>(
        &self,
        f: impl FnOnce(Option<&mut T>) -> R,
    ) -> R {
        let Some(extensions) = self.extensions_if_any() else {
            return f(None);
        };
        let mut guard = lock(extensions);
        f(guard
            .as_mut()
            .and_then(|e: &mut Box<Extensions>| e.get_mut::<T>()))
    }

    /// Removes and returns the value of type `T` attached to this
    /// connection.
    pub fn remove_extension<T: Send + Sync + 'static>(&self) -> Option<T> {
        lock(self.extensions_if_any()?)
            .as_mut()
            .and_then(|e| e.remove::<T>())
    }

    /// Where extensions are kept, if they can have been (a stream makes
    /// its rarely used state on first use).
    fn extensions_if_any(&self) -> Option<&std::sync::Mutex<Option<Box<Extensions>>>> {
        match &self.repr {
            Repr::Stream(s) => s.rare_if_any().map(|rare| &rare.extensions),
            Repr::Datagram(d) => Some(&d.extensions),
        }
    }
}

fn map_failure(f: SendFailure) -> SendError {
    match f {
        SendFailure::Refused(Refused::Closed) => SendError::Closed,
        SendFailure::Refused(Refused::Full) => SendError::BufferFull,
        SendFailure::Encode(e) => SendError::Encode(e),
    }
}
