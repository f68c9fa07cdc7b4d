//! [`Connection`]: the handle to one connection.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use bytes::{BufMut, Bytes};
use tokio_util::codec::Encoder;
use workerman_protocols::Protocol;

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
pub struct Connection<P: Protocol> {
    /// Everything: the handle is one reference count.
    pub(super) shared: Arc<Shared<P>>,
}

impl<P: Protocol> Clone for Connection<P> {
    fn clone(&self) -> Self {
        Connection {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<P: Protocol> fmt::Debug for Connection<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.shared.id)
            .field("protocol", &P::SCHEME)
            .field("remote", &lock(&self.shared.addrs).remote)
            .field("state", &self.shared.state())
            .finish()
    }
}

impl<P: Protocol> Connection<P> {
    pub(crate) fn from_shared(shared: Arc<Shared<P>>) -> Self {
        Connection { shared }
    }

    /// A "connection" for datagrams on `io` (a UDP socket): sends go out
    /// at once as datagrams, nothing is queued, there is no task.
    pub(crate) fn datagram(
        id: u64,
        io: crate::io::WriteHalf,
        remote: SocketAddress,
        local: SocketAddress,
        codec: P::Codec,
        worker: Option<Arc<WorkerShared<P>>>,
    ) -> Self {
        Connection {
            shared: Arc::new(Shared::new(
                id,
                Some(io),
                remote,
                local,
                codec,
                usize::MAX,
                worker,
            )),
        }
    }

    /// A weak, type-erased view for the registry of live connections.
    pub(crate) fn info(&self) -> std::sync::Weak<dyn crate::registry::ConnInfo> {
        Arc::downgrade(&self.shared) as std::sync::Weak<dyn crate::registry::ConnInfo>
    }

    /// Resolves once the connection is closing or closed.
    pub(crate) async fn until_closed(&self) {
        self.shared.wait_room_until(|| !self.shared.is_open()).await;
    }

    /// Decodes every package in `buf` with this connection's codec, then
    /// drops what is left (a datagram's incomplete tail).
    pub(crate) fn decode_all(&self, buf: &mut bytes::BytesMut) -> Vec<P::Inbound> {
        let mut out = Vec::new();
        let mut inner = lock(&self.shared.inner);
        loop {
            match tokio_util::codec::Decoder::decode(&mut inner.codec, buf) {
                Ok(Some(m)) => out.push(m),
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "bad datagram package; dropping the rest");
                    break;
                }
            }
        }
        out
    }

    /// The connection id: unique within the process, counting from 1,
    /// shared by accepted and outgoing connections (Workerman's
    /// `$connection->id`).
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// The peer's address. It stays readable after the connection closed.
    /// (An outgoing connection learns it when it connects.)
    pub fn remote_addr(&self) -> SocketAddress {
        lock(&self.shared.addrs).remote.clone()
    }

    /// The peer's IP address (`None` for a Unix socket). IPv6 addresses are
    /// bare, without brackets.
    pub fn remote_ip(&self) -> Option<std::net::IpAddr> {
        lock(&self.shared.addrs).remote.ip()
    }

    /// The peer's port (`None` for a Unix socket).
    pub fn remote_port(&self) -> Option<u16> {
        lock(&self.shared.addrs).remote.port()
    }

    /// This end's address.
    pub fn local_addr(&self) -> SocketAddress {
        lock(&self.shared.addrs).local.clone()
    }

    /// The worker instance that accepted this connection (see
    /// `Connection::worker`, in `context.rs`).
    pub(crate) fn worker_shared(&self) -> Option<Arc<WorkerShared<P>>> {
        self.shared.worker.clone()
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
        self.shared
            .send_with(|codec, dst| codec.encode(msg, dst).map_err(Into::into))
            .map_err(map_failure)
    }

    /// Sends bytes as they are, skipping the protocol's encoder (Workerman's
    /// `send($data, true)`), with the same outcomes as
    /// [`send`](Connection::send).
    pub fn send_raw(&self, bytes: impl Into<Bytes>) -> Result<SendStatus, SendError> {
        let bytes = bytes.into();
        self.shared
            .send_with(|_, dst| {
                dst.put_slice(&bytes);
                Ok(())
            })
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
        match self.shared.state() {
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
        self.shared.write_close_output(shutdown);
        self.shared.advance_state(State::Closing);
    }

    /// Closes the connection at once, dropping whatever is still queued;
    /// `on_close` runs. Does nothing if it is already closed.
    pub fn destroy(&self) {
        if self.shared.advance_state(State::Closed) {
            self.shared.clear_queue();
        }
    }

    /// Whether the connection is open: connecting (outgoing) or
    /// established, neither closing nor closed.
    pub fn is_open(&self) -> bool {
        self.shared.is_open()
    }

    /// Whether an outgoing connection is still connecting.
    pub fn is_connecting(&self) -> bool {
        self.shared.state() == State::Connecting
    }

    /// Connects an outgoing connection again after `delay`, keeping its id,
    /// its service and its extensions (Workerman's `reconnect`). Called from
    /// `on_close` (the usual pattern for a resilient client: a failed
    /// connect also ends in `on_close`), it schedules the next attempt; on
    /// an open connection it closes it first. Sends made while it is
    /// connecting again are queued. Does nothing on an accepted connection
    /// (returns false).
    pub fn reconnect(&self, delay: std::time::Duration) -> bool {
        if self.shared.worker.is_some() {
            return false;
        }
        *lock(&self.shared.rare().reconnect) = Some(delay);
        if self.shared.is_open() {
            self.destroy();
        }
        true
    }

    /// Stops reading from the peer: packages already received but not yet
    /// delivered wait too (pausing inside `on_message` stops the rest of a
    /// batch). Used for back-pressure and rate limits.
    pub fn pause_recv(&self) {
        self.shared.pause_recv();
    }

    /// Resumes reading after [`pause_recv`](Connection::pause_recv):
    /// packages already buffered are delivered at once, without waiting for
    /// new data.
    pub fn resume_recv(&self) {
        self.shared.resume_recv();
    }

    /// Whether reading is paused.
    pub fn is_recv_paused(&self) -> bool {
        self.shared.paused.load(Ordering::Acquire)
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
    pub fn pipe<Q>(&self, dest: &Connection<Q>)
    where
        Q: Protocol,
        Q::Outbound: From<P::Inbound>,
    {
        let forward_to = dest.clone();
        let close_dest = dest.clone();
        let end_dest = Arc::clone(&dest.shared);
        let target = super::pipe::PipeTarget::<P> {
            forward: Box::new(move |msg| {
                if let Err(e) = forward_to.send(Q::Outbound::from(msg)) {
                    tracing::debug!(conn_id = forward_to.id(), error = %e, "pipe: package not forwarded");
                }
            }),
            close: Box::new(move || close_dest.close(None)),
            end: Box::new(move || end_dest.request_end()),
        };
        *lock(&self.shared.rare().pipe) = Some(Arc::new(target));
        self.shared.piped.store(true, Ordering::Release);
        let weak: Weak<Shared<P>> = Arc::downgrade(&self.shared);
        dest.shared.add_pipe_source(weak);
    }

    /// Changes this connection's send buffer limit in bytes (default: the
    /// worker's `max_send_buffer_size`, 1 MiB).
    pub fn set_max_send_buffer_size(&self, bytes: usize) {
        self.shared.max_send_buffer.store(bytes, Ordering::Relaxed);
    }

    /// This connection's send buffer limit in bytes.
    pub fn max_send_buffer_size(&self) -> usize {
        self.shared.max_send_buffer.load(Ordering::Relaxed)
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
        self.shared
            .wait_room_until(|| {
                !self.is_open() || self.send_queue_bytes() < self.max_send_buffer_size()
            })
            .await;
    }

    /// Bytes waiting in the application send buffer.
    pub fn send_queue_bytes(&self) -> usize {
        self.shared.queued_bytes()
    }

    /// This connection's counters.
    pub fn stats(&self) -> ConnectionStats {
        let c = &self.shared.counters;
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
        lock(&self.shared.rare().extensions)
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
        let Some(rare) = self.shared.rare_if_any() else {
            return f(None);
        };
        let mut guard = lock(&rare.extensions);
        f(guard
            .as_mut()
            .and_then(|e: &mut Box<Extensions>| e.get_mut::<T>()))
    }

    /// Removes and returns the value of type `T` attached to this
    /// connection.
    pub fn remove_extension<T: Send + Sync + 'static>(&self) -> Option<T> {
        let rare = self.shared.rare_if_any()?;
        lock(&rare.extensions)
            .as_mut()
            .and_then(|e| e.remove::<T>())
    }
}

fn map_failure(f: SendFailure) -> SendError {
    match f {
        SendFailure::Refused(Refused::Closed) => SendError::Closed,
        SendFailure::Refused(Refused::Full) => SendError::BufferFull,
        SendFailure::Encode(e) => SendError::Encode(e),
    }
}
