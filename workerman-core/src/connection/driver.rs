//! The task that drives one connection: a reader and a writer in one
//! task, then the close sequence.
//!
//! The reader reads, decodes and awaits `on_message` for each package, so
//! one connection's packages are handled in order; between packages it
//! delivers the events (`on_buffer_full`, `on_buffer_drain`, `on_error`)
//! raised by sends. The writer flushes the send queue whenever a send could
//! not write directly. The writer is polled beside whatever the reader
//! does (see [`run`]), so a slow `on_message` does not stop queued data,
//! such as broadcasts from other connections, from being written.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;
use futures::future::OptionFuture;
use tracing::Instrument;
use workerman_protocols::Protocol;

use super::handle::Connection;
use super::shared::{lock, Event, Flush, ReadTimeout, Shared, State, WorkerShared};
use crate::guard::{guard, Guarded, PollHook};
use crate::io::{Io, ReadHalf, WriteHalf};
use crate::stats::{ConnCounters, WorkerStats};
use crate::{ConnectionError, Service, SocketAddress};

/// Reads reserve at least this much free space (Workerman reads up to
/// 64 KiB per readable event).
const READ_CHUNK: usize = 16 * 1024;
/// How long a gracefully closed connection keeps reading (and discarding)
/// after its FIN, so that bytes still arriving from the peer do not turn
/// our close into a reset that could destroy the last message.
const LINGER: Duration = Duration::from_secs(1);

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's spare read buffer: a connection that keeps no bytes
    /// between two reads (no partial package) borrows it for a read and
    /// gives it back, so a wake-up costs no allocation. The packages
    /// decoded from it share its allocation; once they are dropped, the
    /// next `reserve` reuses it from the start.
    static SPARE_READ_BUFFER: std::cell::Cell<BytesMut> = std::cell::Cell::new(BytesMut::new());
}

/// Read buffers up to this size are kept as a thread's spare; larger ones
/// (grown for a large package) are freed.
const SPARE_KEEP: usize = 4 * READ_CHUNK;

/// A read buffer for a connection that holds none: this thread's spare if
/// it has one (another connection may be using it across an await).
fn borrow_read_buffer() -> BytesMut {
    SPARE_READ_BUFFER.try_with(|c| c.take()).unwrap_or_default()
}

/// Gives an emptied read buffer back as this thread's spare (when it has
/// none), or frees it.
fn return_read_buffer(mut buf: BytesMut) {
    if buf.capacity() > SPARE_KEEP {
        crate::memory::released(buf.capacity());
        return;
    }
    buf.clear();
    let _ = SPARE_READ_BUFFER.try_with(|c| {
        let spare = c.take();
        c.set(if spare.capacity() == 0 { buf } else { spare });
    });
}

/// Everything needed to start driving a connection.
pub(crate) struct ConnectionSetup<S: Service> {
    pub(crate) service: Arc<S>,
    /// A codec made by the caller; `None`: the protocol's default.
    pub(crate) codec: Option<<S::Protocol as Protocol>::Codec>,
    pub(crate) io: Io,
    pub(crate) remote: SocketAddress,
    pub(crate) local: SocketAddress,
    pub(crate) max_package_size: usize,
    pub(crate) max_send_buffer_size: usize,
    pub(crate) worker: Option<Arc<WorkerShared<S::Protocol>>>,
    /// Start with reading paused (see `AsyncTcpConnection::pause_recv`).
    pub(crate) paused: bool,
}

/// Creates the shared state of a connection (`io`: `None` while an
/// outgoing one connects), registers it, and gives its handle and span.
fn create<S: Service>(
    io: Option<WriteHalf>,
    codec: <S::Protocol as Protocol>::Codec,
    remote: SocketAddress,
    local: SocketAddress,
    max_send_buffer_size: usize,
    worker: Option<Arc<WorkerShared<S::Protocol>>>,
    paused: bool,
) -> (Connection<S::Protocol>, tracing::Span) {
    let id = NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed);
    let shared = Arc::new(Shared::new(
        id,
        io,
        remote,
        local,
        codec,
        max_send_buffer_size,
        worker,
    ));
    let conn = Connection::from_shared(shared);
    if paused {
        conn.pause_recv();
    }
    match &conn.stream().worker {
        // Listed through its worker (see `registry`).
        Some(w) => w.register(id, conn.stream()),
        None => crate::registry::add(id, conn.info()),
    }
    // A root span: an outgoing connection opened from a handler is not part
    // of the connection that opened it.
    let span = tracing::debug_span!(
        parent: None,
        "conn",
        worker = conn.stream().worker.as_ref().map(|w| &*w.name),
        conn_id = id,
        peer = %conn.remote_addr(),
    );
    (conn, span)
}

/// Creates an accepted connection and returns its handle, the future that
/// runs it to the end, and its span. Spawn the future inside the span
/// (`instrument`) only when the span is enabled (debug logging on): every
/// connection's task would otherwise carry a disabled span (40 bytes).
pub(crate) fn drive<S: Service>(
    setup: ConnectionSetup<S>,
) -> (
    Connection<S::Protocol>,
    impl Future<Output = ()> + Send + 'static,
    tracing::Span,
) {
    let (reader, writer) = setup.io.split();
    let codec = setup
        .codec
        .unwrap_or_else(|| S::Protocol::codec(setup.max_package_size));
    let (conn, span) = create::<S>(
        Some(writer),
        codec,
        setup.remote,
        setup.local,
        setup.max_send_buffer_size,
        setup.worker,
        setup.paused,
    );
    let fut = run::<S>(setup.service, conn.clone(), reader, |conn| {
        // Listed through its worker, if it has one (see `create`).
        if conn.stream().worker.is_none() {
            crate::registry::remove(conn.id());
        }
        crate::memory::connection_closed();
    });
    (conn, fut, span)
}

/// How an outgoing connection is made, each time it (re)connects.
pub(crate) trait Connector: Send + Sync + 'static {
    /// Connects; gives the socket and the remote and local addresses.
    fn connect(
        &self,
    ) -> futures::future::BoxFuture<'static, std::io::Result<(Io, SocketAddress, SocketAddress)>>;
}

/// Everything needed to drive an outgoing connection.
pub(crate) struct ClientSetup<S: Service> {
    pub(crate) service: Arc<S>,
    pub(crate) codec: <S::Protocol as Protocol>::Codec,
    /// A fresh codec for each reconnect.
    pub(crate) new_codec: Box<dyn Fn() -> <S::Protocol as Protocol>::Codec + Send + Sync>,
    pub(crate) connector: Box<dyn Connector>,
    pub(crate) remote: SocketAddress,
    pub(crate) max_send_buffer_size: usize,
    pub(crate) paused: bool,
    /// Told how the first attempt went.
    pub(crate) first: tokio::sync::oneshot::Sender<Result<(), std::io::Error>>,
}

/// Creates an outgoing connection in the `Connecting` state (sends are
/// queued) and the future that connects it, runs it, and reconnects it
/// when `reconnect` was called, until it is closed for good.
pub(crate) fn drive_client<S: Service>(
    setup: ClientSetup<S>,
) -> (
    Connection<S::Protocol>,
    impl Future<Output = ()> + Send + 'static,
) {
    let (conn, span) = create::<S>(
        None,
        setup.codec,
        setup.remote,
        SocketAddress::Unix(None),
        setup.max_send_buffer_size,
        None,
        setup.paused,
    );
    let handle = conn.clone();
    let svc = setup.service;
    let connector = setup.connector;
    let new_codec = setup.new_codec;
    let mut first = Some(setup.first);
    let fut = async move {
        loop {
            let attempt = tokio::select! {
                r = connector.connect() => Some(r),
                // close()/destroy() while connecting abandons the attempt.
                () = conn.until_closed() => None,
            };
            let tell = |r: Result<(), std::io::Error>, first: &mut Option<_>| {
                if let Some(tx) = first.take() {
                    let _: Result<(), _> = tokio::sync::oneshot::Sender::send(tx, r);
                }
            };
            match attempt {
                Some(Ok((io, remote, local))) => {
                    let (reader, writer) = io.split();
                    if conn.stream().connected(writer, remote, local) {
                        tell(Ok(()), &mut first);
                        run::<S>(&*svc, &conn, reader, |_| {}).await;
                    } else {
                        tell(
                            Err(std::io::ErrorKind::ConnectionAborted.into()),
                            &mut first,
                        );
                        conn.stream().advance_state(State::Closed);
                        guard(|| svc.on_close(&conn), "on_close", None).await;
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "connect failed");
                    let err = ConnectionError::ConnectFailed(Arc::new(std::io::Error::new(
                        e.kind(),
                        e.to_string(),
                    )));
                    tell(Err(e), &mut first);
                    conn.stream().advance_state(State::Closed);
                    guard(|| svc.on_error(&conn, &err), "on_error", None).await;
                    guard(|| svc.on_close(&conn), "on_close", None).await;
                }
                None => {
                    tell(
                        Err(std::io::ErrorKind::ConnectionAborted.into()),
                        &mut first,
                    );
                    guard(|| svc.on_close(&conn), "on_close", None).await;
                }
            }
            let again = conn
                .stream()
                .rare_if_any()
                .and_then(|r| lock(&r.reconnect).take());
            match again {
                Some(delay) => {
                    tokio::time::sleep(delay).await;
                    conn.stream().reset_for_reconnect(new_codec());
                    tracing::debug!("reconnecting");
                }
                None => break,
            }
        }
        crate::registry::remove(conn.id());
    }
    .instrument(span);
    (handle, fut)
}

/// Resolves once the connection is destroyed (closed).
async fn destroyed<P: Protocol>(shared: &Shared<P>) {
    shared
        .wait_room_until(|| shared.state() == State::Closed)
        .await;
}

/// Runs a connection: `on_connect`, the reader and the writer, the close
/// sequence.
///
/// The task's own future holds only what an idle connection needs: the
/// socket, the read buffer (empty, no allocation, when idle), the writer's
/// state and one wait. Everything between two waits for data (reading,
/// decoding, `on_message`, events) runs in a [`step`] future boxed for
/// that stretch and freed when the connection is idle again; the writer
/// ([`Writer`]) is a plain state machine polled beside whatever the reader
/// does, so a slow `on_message` does not stop queued data (broadcasts from
/// other connections) from being written.
///
/// This is a plain function returning an `async move` block, not an
/// `async fn`: an `async fn` keeps its arguments twice in its future (as
/// received and as locals), which every idle connection's task would
/// carry. `svc` and `conn` are references, or owned (an accepted
/// connection's task owns them: then this future is the whole task);
/// `done` runs at the very end.
#[allow(clippy::manual_async_fn)]
fn run<'a, S: Service>(
    svc: impl std::borrow::Borrow<S> + Send + Sync + 'a,
    conn: impl std::borrow::Borrow<Connection<S::Protocol>> + Send + Sync + 'a,
    reader: ReadHalf,
    done: impl FnOnce(&Connection<S::Protocol>) + Send + 'a,
) -> impl Future<Output = ()> + Send + 'a {
    // Made here and moved in, not made inside: the block's captures keep
    // their place for its whole life, so a value moved from one into a
    // local would be there twice.
    let mut t = TaskState {
        writer: Writer {
            tls: reader.is_tls(),
            ..Writer::default()
        },
        reader,
        buf: ReadBuffer::default(),
        timer: None,
    };
    async move {
        // Boxed: `on_connect`'s state is needed once.
        Box::pin(start(svc.borrow(), conn.borrow())).await;
        let mut woke = Woke::Start;
        loop {
            let step = step(
                svc.borrow(),
                conn.borrow(),
                &mut t.reader,
                &mut t.buf.0,
                woke,
            );
            let next = BesideWriter {
                fut: Box::pin(step),
                writer: &mut t.writer,
                shared: conn.borrow().stream(),
            }
            .await;
            let timeout = match next {
                Next::Stop => break,
                Next::Wait(timeout) => timeout,
            };
            woke = t.idle(conn.borrow().stream(), timeout).await;
        }
        let graceful =
            std::future::poll_fn(|cx| t.writer.poll(conn.borrow().stream(), cx, false)).await;
        // Boxed: the close sequence's state is needed once, at the end.
        Box::pin(finish(svc.borrow(), conn.borrow(), &mut t.reader, graceful)).await;
        // The write half goes: with the reader's, the socket closes.
        drop(conn.borrow().stream().take_io());
        done(conn.borrow());
    }
}

/// What a connection's task keeps between two waits for data.
struct TaskState {
    reader: ReadHalf,
    /// Empty, with no allocation, while the connection is idle; a partial
    /// package waits here for the rest.
    buf: ReadBuffer,
    /// The protocol's read deadline, made when it first has one and reset
    /// for each wait (only protocols with deadlines pay for it).
    timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    writer: Writer,
}

impl TaskState {
    /// Waits for data, the reader's signal (events, state changes, resume)
    /// or the read deadline, writing queued data meanwhile. One plain poll:
    /// waiting holds no future.
    ///
    /// `timeout`: the protocol's read timeout if the step just read it
    /// (under the lock it decoded with), else `None` and it is asked here.
    fn idle<'a, P: Protocol>(
        &'a mut self,
        shared: &'a Arc<Shared<P>>,
        timeout: Option<ReadTimeout>,
    ) -> impl Future<Output = Woke> + 'a {
        let paused = shared.paused.load(Ordering::Acquire);
        let timeout = timeout.unwrap_or_else(|| shared.read_timeout());
        // A paused reader waits for its signal only (no deadline either).
        match timeout.filter(|_| !paused) {
            Some(d) => {
                let at = tokio::time::Instant::now() + d;
                match &mut self.timer {
                    Some(t) => t.as_mut().reset(at),
                    None => self.timer = Some(Box::pin(tokio::time::sleep_until(at))),
                }
            }
            None => self.timer = None,
        }
        std::future::poll_fn(move |cx| {
            if shared.wake_reader().poll_wait(cx).is_ready() {
                return Poll::Ready(Woke::Signal);
            }
            if !paused {
                if let Poll::Ready(r) = self.reader.poll_read_ready(cx) {
                    return Poll::Ready(Woke::Readable(r));
                }
                if let Some(Poll::Ready(())) = self.timer.as_mut().map(|t| t.as_mut().poll(cx)) {
                    return Poll::Ready(Woke::Deadline);
                }
            }
            // The writer's end wakes the reader too (state change), so its
            // result needs no look here. The reader's signal registered
            // the waker above.
            let _ = self.writer.poll(shared, cx, true);
            Poll::Pending
        })
    }
}

/// What ended an idle connection's wait.
enum Woke {
    /// Nothing: the first step after `on_connect`.
    Start,
    /// The reader's signal: events, a state change, resume.
    Signal,
    /// The socket may be readable (or reports an error).
    Readable(std::io::Result<()>),
    /// The protocol's read deadline passed.
    Deadline,
}

/// What the reader does after a [`step`].
enum Next {
    /// Wait for data (or a signal) again; with the protocol's read timeout
    /// when the step's last decode read it.
    Wait(Option<ReadTimeout>),
    /// The reader is done: the connection is closing or closed.
    Stop,
}

/// Polls a reader future and, beside it, the writer (see [`run`]).
struct BesideWriter<'a, F, P: Protocol> {
    fut: std::pin::Pin<Box<F>>,
    writer: &'a mut Writer,
    shared: &'a Arc<Shared<P>>,
}

impl<F: Future, P: Protocol> Future for BesideWriter<'_, F, P> {
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let out = this.fut.as_mut().poll(cx);
        // The writer's end wakes the reader too (state change). When the
        // reader's step is done, the task goes on to the reader's wait in
        // the same poll, which registers the waker before the task can
        // return `Pending`: the writer's wait need not register it too.
        let _ = this.writer.poll(this.shared, cx, out.is_ready());
        out
    }
}

/// `on_connect` and the protocol's first words.
async fn start<S: Service>(svc: &S, conn: &Connection<S::Protocol>) {
    let shared = &**conn.stream();
    tracing::debug!("connected");
    // A protocol that speaks first (a client handshake) does so now.
    if shared.write_protocol_output(None) {
        conn.close(None);
    }
    if !guard(|| svc.on_connect(conn), "on_connect", stats(shared)).await {
        conn.destroy();
    }
}

/// The close sequence: FIN after a graceful close, `on_error`s of the last
/// writes, `on_close`, unregistering, then lingering for the peer's FIN.
async fn finish<S: Service>(
    svc: &S,
    conn: &Connection<S::Protocol>,
    reader: &mut ReadHalf,
    graceful: bool,
) {
    let shared = &**conn.stream();
    if graceful {
        let shut = tokio::time::timeout(LINGER, shared.shutdown_write()).await;
        if let Ok(Err(e)) = shut {
            tracing::trace!(error = %e, "shutdown(write) failed");
        }
    }
    shared.advance_state(State::Closed);
    // Errors raised by the last writes (`client closed`) come before
    // on_close, as in Workerman.
    dispatch_events(svc, conn).await;
    guard(|| svc.on_close(conn), "on_close", stats(shared)).await;
    let pipe = shared.rare_if_any().and_then(|r| lock(&r.pipe).take());
    if let Some(pipe) = pipe {
        (pipe.close)();
    }
    if let Some(w) = &shared.worker {
        w.unregister(shared.id);
    }
    tracing::debug!(graceful, "closed");
    if graceful {
        match &shared.worker {
            // A stopping worker does not wait for peers.
            Some(w) => {
                tokio::select! {
                    () = w.shutdown.cancelled() => {}
                    () = linger(reader) => {}
                }
            }
            None => linger(reader).await,
        }
    }
}

fn stats<P: Protocol>(shared: &Shared<P>) -> Option<&WorkerStats> {
    shared.worker.as_deref().map(|w| &*w.stats)
}

/// What the panic guard does around `on_message` to batch a handler's
/// sends: hold them while it runs (`on`: more packages were read with
/// this one), write them whenever it waits (see [`start_delivery`]).
impl<P: Protocol> PollHook for Shared<P> {
    fn before_poll(&self, on: bool) {
        self.set_corked(on);
    }
    fn after_pending(&self) {
        self.uncork();
    }
}

/// Delivers the events raised by sends and the writer, in order. A panic
/// in one destroys the connection.
async fn dispatch_events<S: Service>(svc: &S, conn: &Connection<S::Protocol>) {
    // Checked after every package: no lock, and no room in the task's
    // future for the callbacks' state, unless there are events.
    if conn.stream().has_events() {
        Box::pin(dispatch_pending(svc, conn)).await;
    }
}

async fn dispatch_pending<S: Service>(svc: &S, conn: &Connection<S::Protocol>) {
    let shared = &**conn.stream();
    while let Some(event) = shared.pop_event() {
        let ok = match event {
            Event::BufferFull => {
                guard(|| svc.on_buffer_full(conn), "on_buffer_full", stats(shared)).await
            }
            Event::BufferDrain => {
                guard(
                    || svc.on_buffer_drain(conn),
                    "on_buffer_drain",
                    stats(shared),
                )
                .await
            }
            Event::SendRefused { count } => {
                let mut ok = true;
                for _ in 0..count {
                    let err = ConnectionError::SendBufferFull;
                    ok &= guard(|| svc.on_error(conn, &err), "on_error", stats(shared)).await;
                }
                ok
            }
            Event::SendClosed(e) => {
                let err = ConnectionError::SendClosed(Arc::new(e));
                guard(|| svc.on_error(conn, &err), "on_error", stats(shared)).await
            }
        };
        if !ok {
            conn.destroy();
        }
    }
}

/// The reader's work between two waits for data: the read that `woke`
/// allows, then decoding and delivering every complete package, and the
/// events raised meanwhile.
async fn step<S: Service>(
    svc: &S,
    conn: &Connection<S::Protocol>,
    io: &mut ReadHalf,
    buf: &mut BytesMut,
    woke: Woke,
) -> Next {
    let shared = &**conn.stream();
    match woke {
        Woke::Start | Woke::Signal => {}
        Woke::Deadline => {
            read_timed_out(svc, conn).await;
            return Next::Stop;
        }
        // Paused while waiting: leave the data in the socket.
        Woke::Readable(_) if shared.paused.load(Ordering::Acquire) => {}
        Woke::Readable(ready) => {
            if buf.capacity() == 0 {
                *buf = borrow_read_buffer();
            }
            if buf.capacity() - buf.len() < READ_CHUNK / 4 {
                buf.reserve(READ_CHUNK);
            }
            let read = match ready {
                // rustls decides when plaintext is ready: wait inside the read.
                Ok(()) if io.is_tls() => tokio::select! {
                    biased;
                    () = shared.wake_reader().wait() => None,
                    r = io.read_buf(buf) => Some(r),
                },
                // Readiness may be stale (a fresh socket starts out "ready"):
                // read only what is there now, and when nothing is, go back to
                // waiting without the buffer instead of waiting inside the read
                // with a reserved block.
                Ok(()) => {
                    std::future::poll_fn(|cx| match io.poll_read_buf(cx, buf) {
                        Poll::Pending => Poll::Ready(None),
                        Poll::Ready(r) => Poll::Ready(Some(r)),
                    })
                    .await
                }
                Err(e) => Some(Err(e)),
            };
            match read {
                None => {}
                Some(Ok(0)) => {
                    tracing::debug!("peer closed its side");
                    let pipe = shared.rare_if_any().and_then(|r| lock(&r.pipe).clone());
                    match pipe {
                        // Piped: forward the end of stream and keep the write
                        // side open for the other direction.
                        Some(pipe) => {
                            (pipe.end)();
                            shared.finish_direction(&shared.read_eof);
                            wait_until_closing(svc, conn).await;
                        }
                        // Otherwise write what is queued, then close.
                        None => conn.close(None),
                    }
                    return Next::Stop;
                }
                Some(Ok(n)) => {
                    ConnCounters::add_own(&shared.counters.bytes_read, n as u64);
                    if let Some(s) = stats(shared) {
                        s.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
                    }
                }
                Some(Err(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) => {}
                Some(Err(e)) => {
                    read_failed(svc, conn, e).await;
                    return Next::Stop;
                }
            }
        }
    }
    loop {
        dispatch_events(svc, conn).await;
        if shared.state() != State::Established {
            return Next::Stop;
        }
        if shared.paused.load(Ordering::Acquire) {
            // The wait takes the reader's signal only. Bytes read before
            // the pause wait in `buf`; an empty buffer goes back.
            if buf.is_empty() {
                return_read_buffer(std::mem::take(buf));
            }
            return Next::Wait(None);
        }
        // The protocol's read timeout, when the last decode read it: the
        // wait after this step then takes no lock for it.
        let mut timeout = None;
        if !buf.is_empty() {
            // Decode and deliver the packages in `buf` until it holds no
            // complete one, reading is paused, or the connection closes.
            let go_on = loop {
                if shared.state() != State::Established {
                    break false;
                }
                if shared.paused.load(Ordering::Acquire) {
                    break true;
                }
                let (msg, close) = match shared.decode(buf) {
                    (Ok(Some(msg)), close, _) => (msg, close),
                    (Ok(None), false, read_timeout) => {
                        timeout = read_timeout;
                        break true;
                    }
                    (Err(e), false, _) => {
                        bad_package(svc, conn, e).await;
                        break false;
                    }
                    // The protocol has finished (its own close handshake).
                    (Ok(None) | Err(_), true, _) => {
                        conn.close(None);
                        break false;
                    }
                };
                // More bytes already read: replies wait for the batch's
                // single write (the last package's reply joins them).
                let cork = !close && !buf.is_empty();
                let handled = OptionFuture::from(start_delivery(svc, conn, msg, cork)).await;
                if handled == Some(false) {
                    conn.destroy();
                    break false;
                }
                dispatch_events(svc, conn).await;
                if close {
                    // Deliver what this call decoded, then close after
                    // flushing.
                    conn.close(None);
                    break false;
                }
            };
            // The batch ends: what its handlers sent leaves in one write.
            shared.uncork();
            if !go_on {
                return Next::Stop;
            }
        }
        if shared.state() != State::Established || shared.paused.load(Ordering::Acquire) {
            continue;
        }
        if buf.is_empty() {
            // Nothing is kept between packages: an idle connection holds no
            // read buffer at all (the buffer goes back to the thread).
            return_read_buffer(std::mem::take(buf));
        }
        return Next::Wait(timeout);
    }
}

/// The protocol's read deadline passed: its answer, `on_error`, close.
async fn read_timed_out<S: Service>(svc: &S, conn: &Connection<S::Protocol>) {
    tracing::debug!("read deadline passed; closing");
    let shared = &**conn.stream();
    let answer = shared.timeout_response();
    shared.write_protocol_output(answer);
    let err = ConnectionError::ReadTimeout;
    guard(|| svc.on_error(conn, &err), "on_error", stats(shared)).await;
    conn.close(None);
}

/// Delivers events until the connection leaves `Established`.
async fn wait_until_closing<S: Service>(svc: &S, conn: &Connection<S::Protocol>) {
    let shared = &**conn.stream();
    loop {
        dispatch_events(svc, conn).await;
        if shared.state() != State::Established {
            return;
        }
        shared.wake_reader().wait().await;
    }
}

async fn read_failed<S: Service>(svc: &S, conn: &Connection<S::Protocol>, e: std::io::Error) {
    tracing::debug!(error = %e, "read failed");
    let err = ConnectionError::Io(Arc::new(e));
    guard(
        || svc.on_error(conn, &err),
        "on_error",
        stats(conn.stream()),
    )
    .await;
    conn.destroy();
}

/// A connection's read buffer; what it held is counted as released (for
/// the memory trimmer) when the connection ends.
#[derive(Default)]
struct ReadBuffer(BytesMut);

impl Drop for ReadBuffer {
    fn drop(&mut self) {
        crate::memory::released(self.0.capacity());
    }
}

/// A package the protocol rejects: its answer, `on_error`, close.
async fn bad_package<S: Service>(
    svc: &S,
    conn: &Connection<S::Protocol>,
    e: <S::Protocol as Protocol>::Error,
) {
    let shared = &**conn.stream();
    tracing::debug!(error = %e, "bad package; closing");
    if let Some(s) = stats(shared) {
        s.protocol_errors.fetch_add(1, Ordering::Relaxed);
    }
    let answer = shared.error_response(&e);
    shared.write_protocol_output(answer);
    let err = ConnectionError::Protocol(Arc::new(e));
    guard(|| svc.on_error(conn, &err), "on_error", stats(shared)).await;
    conn.close(None);
}

/// Counts one package and forwards it to the pipe (`None`), or starts its
/// `on_message` (the caller awaits it; `false`: the handler panicked).
///
/// `cork`: hold the handler's sends for the batch's single write. Whenever
/// the handler awaits something that is not ready, the held replies are
/// written first and sends are no longer held until it runs again: no
/// reply waits for a later await, and other tasks' sends meanwhile write
/// directly.
fn start_delivery<'a, S: Service>(
    svc: &'a S,
    conn: &'a Connection<S::Protocol>,
    msg: <S::Protocol as Protocol>::Inbound,
    cork: bool,
) -> Option<Guarded<'a, impl Future<Output = ()> + Unpin + 'a>> {
    let shared = &**conn.stream();
    ConnCounters::add_own(&shared.counters.messages, 1);
    if let Some(w) = &shared.worker {
        w.count_request();
    }
    if shared.piped.load(Ordering::Acquire) {
        if let Some(pipe) = shared.rare_if_any().and_then(|r| lock(&r.pipe).clone()) {
            (pipe.forward)(msg);
            return None;
        }
    }
    Some(guard(|| svc.on_message(conn, msg), "on_message", stats(shared)).with_hook(shared, cork))
}

/// The writer: flushes the send queue whenever it holds data, until the
/// connection is closed (ends `false`) or closing and flushed (`true`).
/// A plain state machine polled beside the reader in the connection's task
/// (see [`run`]): it takes no room of its own but these few fields.
#[derive(Default)]
struct Writer {
    wait: WriterWait,
    /// A TLS write or a FIN being sent (boxed, owning what it needs: most
    /// connections never have one); `Some(end)` when it ended the writer.
    pending: Option<std::pin::Pin<Box<dyn Future<Output = Option<bool>> + Send>>>,
    /// The writer's end, once reached.
    done: Option<bool>,
    /// A TLS connection: rustls writes asynchronously.
    tls: bool,
}

/// Where the [`Writer`] waits.
#[derive(Default, Clone, Copy)]
enum WriterWait {
    /// Nowhere: look at the queue.
    #[default]
    No,
    /// For its signal (data queued, a state change).
    Signal,
    /// For the socket to be writable (or its signal).
    Writable,
}

impl Writer {
    /// `registered`: the two signals share one waker, and the reader's
    /// wait registered it in this poll or will before the task returns
    /// `Pending`; then the writer's wait does not register it again.
    fn poll<P: Protocol>(
        &mut self,
        shared: &Arc<Shared<P>>,
        cx: &mut std::task::Context<'_>,
        registered: bool,
    ) -> Poll<bool> {
        if let Some(end) = self.done {
            return Poll::Ready(end);
        }
        let end = loop {
            if let Some(pending) = &mut self.pending {
                match pending.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(end) => {
                        self.pending = None;
                        if let Some(end) = end {
                            break end;
                        }
                    }
                }
            }
            match self.wait {
                WriterWait::No => {}
                WriterWait::Signal => {
                    if shared
                        .wake_writer()
                        .poll_wait_registered(cx, registered)
                        .is_pending()
                    {
                        return Poll::Pending;
                    }
                    self.wait = WriterWait::No;
                }
                WriterWait::Writable => {
                    if shared
                        .wake_writer()
                        .poll_wait_registered(cx, registered)
                        .is_ready()
                    {
                        self.wait = WriterWait::No;
                        continue;
                    }
                    match shared.poll_write_ready(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => {
                            tracing::debug!(error = %e, "socket not writable");
                            shared.advance_state(State::Closed);
                            break false;
                        }
                        Poll::Ready(Ok(())) => {}
                    }
                    self.wait = WriterWait::No;
                    if let Flush::Failed(e) = shared.flush() {
                        tracing::debug!(error = %e, "write failed");
                        if let Some(s) = stats(shared) {
                            s.send_fail.fetch_add(1, Ordering::Relaxed);
                        }
                        shared.advance_state(State::Closed);
                        break false;
                    }
                    continue;
                }
            }
            let state = shared.state();
            if state == State::Closed {
                break false;
            }
            if !shared.has_queued() {
                if state == State::Closing {
                    break true;
                }
                if shared.end_requested.load(Ordering::SeqCst)
                    && !shared.write_shut.load(Ordering::SeqCst)
                {
                    let shared = Arc::clone(shared);
                    self.pending = Some(Box::pin(async move {
                        if let Err(e) = shared.shutdown_write().await {
                            tracing::trace!(error = %e, "shutdown(write) failed");
                        }
                        shared.finish_direction(&shared.write_shut);
                        None
                    }));
                    continue;
                }
                self.wait = WriterWait::Signal;
                continue;
            }
            if self.tls {
                // rustls writes asynchronously: a batch at a time, abandoned
                // only if the connection is destroyed meanwhile.
                let Some(tls) = shared.tls_writer() else {
                    // The socket is gone (never, while the writer runs).
                    shared.advance_state(State::Closed);
                    break false;
                };
                let batch = shared.take_batch(64 * 1024);
                let n: usize = batch.iter().map(|b| b.len()).sum();
                let shared = Arc::clone(shared);
                self.pending = Some(Box::pin(async move {
                    let wrote = tokio::select! {
                        r = crate::io::write_tls(&tls, &batch) => Some(r),
                        () = destroyed(&shared) => None,
                    };
                    match wrote {
                        None => Some(false),
                        Some(Ok(())) => {
                            shared.written(n);
                            None
                        }
                        Some(Err(e)) => {
                            tracing::debug!(error = %e, "TLS write failed");
                            if let Some(s) = stats(&shared) {
                                s.send_fail.fetch_add(1, Ordering::Relaxed);
                            }
                            shared.advance_state(State::Closed);
                            Some(false)
                        }
                    }
                }));
                continue;
            }
            self.wait = WriterWait::Writable;
        };
        self.pending = None;
        self.done = Some(end);
        Poll::Ready(end)
    }
}

/// After a graceful close: read and discard until the peer closes too, for
/// at most [`LINGER`].
async fn linger(io: &mut ReadHalf) {
    let drain = async {
        let mut scratch = BytesMut::with_capacity(4096);
        loop {
            scratch.clear();
            match io.read_buf(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    // Either outcome ends the linger; the socket closes when the halves
    // drop.
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// A fresh process-wide connection id.
pub(crate) fn next_connection_id() -> u64 {
    NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed)
}

/// An accepted plain TCP connection's setup with no worker, for the unit
/// tests.
#[cfg(test)]
fn plain_setup<S: Service>(service: Arc<S>, io: tokio::net::TcpStream) -> ConnectionSetup<S> {
    ConnectionSetup {
        service,
        codec: None,
        io: Io::Tcp(io),
        remote: SocketAddress::Unix(None),
        local: SocketAddress::Unix(None),
        max_package_size: 1 << 20,
        max_send_buffer_size: 1 << 20,
        worker: None,
        paused: false,
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;
    use workerman_protocols::{Payload, Text};

    struct Echo;
    #[async_trait::async_trait]
    impl Service for Echo {
        type Protocol = Text;
        async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
            let _ = conn.send(msg);
        }
    }

    /// Every idle connection holds its task's whole future and its shared
    /// state, so their sizes are memory per connection: a wait or a rare
    /// path that puts a large future inline (a `Notify` waiter, a timer, a
    /// TLS write, the close sequence) shows up here first. The bounds are
    /// this design's sizes, not a goal; the task's is tight because tokio
    /// rounds a task's cell up to a multiple of 128 bytes, and a 400-byte
    /// future is the most that fits in 512 (docs/benchmarks.md).
    #[tokio::test]
    async fn an_idle_connection_stays_small() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = tokio::net::TcpStream::connect(l.local_addr().unwrap())
            .await
            .unwrap();
        let (s, _) = l.accept().await.unwrap();
        let (conn, task, _span) = drive(plain_setup(Arc::new(Echo), s));
        let task = std::mem::size_of_val(&task);
        let shared = std::mem::size_of::<Shared<Text>>();
        assert!(task <= 144, "connection task future: {task} bytes");
        assert!(shared <= 248, "shared state: {shared} bytes");
        drop((conn, c));
    }
}

#[cfg(test)]
mod read_buffer_tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use workerman_protocols::{Payload, Text};

    #[test]
    fn a_thread_keeps_one_spare_buffer_of_bounded_size() {
        // The test thread's own spare, whatever other tests left there.
        drop(borrow_read_buffer());
        let mut a = BytesMut::with_capacity(READ_CHUNK);
        a.extend_from_slice(b"x");
        a.clear();
        let ptr = a.as_ptr();
        return_read_buffer(a);
        let b = borrow_read_buffer();
        assert_eq!(b.as_ptr(), ptr, "the returned buffer is the one lent next");
        assert!(b.is_empty() && b.capacity() >= READ_CHUNK);
        assert_eq!(borrow_read_buffer().capacity(), 0, "only one spare");
        return_read_buffer(BytesMut::with_capacity(SPARE_KEEP + 1));
        assert_eq!(
            borrow_read_buffer().capacity(),
            0,
            "large buffers are freed"
        );
        return_read_buffer(b);
        return_read_buffer(BytesMut::with_capacity(64));
        assert!(
            borrow_read_buffer().capacity() >= READ_CHUNK,
            "the spare there stays"
        );
    }

    /// Keeps every package it receives and echoes it.
    #[derive(Default)]
    struct Keep(std::sync::Mutex<Vec<Payload>>);
    #[async_trait::async_trait]
    impl Service for Keep {
        type Protocol = Text;
        async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
            crate::sync::lock(&self.0).push(msg.clone());
            let _ = conn.send(msg);
        }
    }

    /// Packages share the read buffer they were decoded from, and the
    /// buffer goes back to the thread between reads to serve the next
    /// connection: a package a handler keeps must still read as it arrived
    /// after many more reads on the same thread, by several connections.
    #[tokio::test]
    async fn kept_packages_survive_the_reuse_of_the_read_buffer() {
        let keep = Arc::new(Keep::default());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let mut clients = Vec::new();
        let mut conns = Vec::new();
        for _ in 0..3 {
            let c = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (s, _) = l.accept().await.unwrap();
            let (conn, task, _span) = drive(plain_setup(keep.clone(), s));
            tokio::spawn(task);
            conns.push(conn);
            clients.push(c);
        }
        let mut sent = Vec::new();
        for round in 0..50 {
            for (i, c) in clients.iter_mut().enumerate() {
                // One line, then two in one write: single and batched reads.
                let one = format!("c{i} r{round} {}\n", "a".repeat(round));
                let two = format!("c{i} r{round} b\nc{i} r{round} c\n");
                for chunk in [one, two] {
                    c.write_all(chunk.as_bytes()).await.unwrap();
                    let mut echoed = vec![0; chunk.len()];
                    tokio::time::timeout(Duration::from_secs(10), c.read_exact(&mut echoed))
                        .await
                        .expect("echo in time")
                        .unwrap();
                    assert_eq!(echoed, chunk.as_bytes());
                    sent.extend(chunk.lines().map(str::to_owned));
                }
            }
        }
        let kept: Vec<String> = crate::sync::lock(&keep.0)
            .iter()
            .map(|p| String::from_utf8(p.to_vec()).unwrap())
            .collect();
        assert_eq!(kept, sent);
        drop(conns);
    }
}
