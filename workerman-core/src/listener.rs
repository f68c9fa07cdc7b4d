//! Binding listeners and the accept loop.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, SockRef, Socket, Type};
use tokio::net::{TcpListener, UnixListener};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::addr::Target;
use crate::conn_set::ConnectionSet;
use crate::connection::WorkerShared;
use crate::connection::{drive, ConnectionSetup};
use crate::io::Io;
use crate::worker::WorkerConfig;
use crate::{Service, SocketAddress};

/// A bound, listening, non-blocking socket, before it joins a runtime.
#[derive(Debug)]
pub(crate) enum StdListener {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener),
    Udp(std::net::UdpSocket),
}

impl StdListener {
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddress> {
        match self {
            StdListener::Tcp(l) => l.local_addr().map(SocketAddress::Inet),
            StdListener::Unix(l) => Ok(SocketAddress::Unix(
                l.local_addr()?.as_pathname().map(Path::to_path_buf),
            )),
            StdListener::Udp(l) => l.local_addr().map(SocketAddress::Inet),
        }
    }

    /// Another handle to the same listening socket (the instances of a
    /// Worker without `reuse_port` compete to accept on it).
    pub(crate) fn try_clone(&self) -> io::Result<StdListener> {
        Ok(match self {
            StdListener::Tcp(l) => StdListener::Tcp(l.try_clone()?),
            StdListener::Unix(l) => StdListener::Unix(l.try_clone()?),
            StdListener::Udp(l) => StdListener::Udp(l.try_clone()?),
        })
    }

    /// The socket's descriptor.
    pub(crate) fn into_fd(self) -> std::os::fd::OwnedFd {
        match self {
            StdListener::Tcp(l) => l.into(),
            StdListener::Unix(l) => l.into(),
            StdListener::Udp(l) => l.into(),
        }
    }

    pub(crate) fn set_nonblocking(&self) -> io::Result<()> {
        match self {
            StdListener::Tcp(l) => l.set_nonblocking(true),
            StdListener::Unix(l) => l.set_nonblocking(true),
            StdListener::Udp(l) => l.set_nonblocking(true),
        }
    }

    /// Registers with the current tokio runtime.
    pub(crate) fn into_tokio(self) -> io::Result<Listener> {
        Ok(match self {
            StdListener::Tcp(l) => Listener::Tcp(TcpListener::from_std(l)?),
            StdListener::Unix(l) => Listener::Unix(UnixListener::from_std(l)?),
            StdListener::Udp(l) => Listener::Udp(Arc::new(tokio::net::UdpSocket::from_std(l)?)),
        })
    }
}

/// Binds and listens on `target`. TCP listeners get SO_REUSEADDR, and
/// SO_REUSEPORT when asked; a stale Unix socket file (nobody listening) is
/// replaced.
pub(crate) fn bind(
    target: &Target,
    reuse_port: bool,
    backlog: i32,
    udp: bool,
) -> io::Result<StdListener> {
    match target {
        Target::Inet(addr) if udp => {
            let socket = Socket::new(Domain::for_address(*addr), Type::DGRAM, None)?;
            socket.set_reuse_address(true)?;
            if reuse_port {
                socket.set_reuse_port(true)?;
            }
            socket.bind(&(*addr).into())?;
            socket.set_nonblocking(true)?;
            Ok(StdListener::Udp(socket.into()))
        }
        Target::Unix(_) if udp => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "UDP needs an IP address, not a unix socket path",
        )),
        Target::Inet(addr) => {
            let socket = Socket::new(Domain::for_address(*addr), Type::STREAM, None)?;
            socket.set_reuse_address(true)?;
            if reuse_port {
                socket.set_reuse_port(true)?;
            }
            socket.set_keepalive(true)?;
            socket.set_nodelay(true)?;
            socket.bind(&(*addr).into())?;
            socket.listen(backlog)?;
            socket.set_nonblocking(true)?;
            Ok(StdListener::Tcp(socket.into()))
        }
        Target::Unix(path) => {
            remove_stale_socket(path)?;
            let l = std::os::unix::net::UnixListener::bind(path)?;
            l.set_nonblocking(true)?;
            Ok(StdListener::Unix(l))
        }
    }
}

fn remove_stale_socket(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "a server is already listening on this unix socket",
                ));
            }
            tracing::info!(path = %path.display(), "removing stale unix socket file");
            std::fs::remove_file(path)
        }
        // Not a socket: let bind fail with "address in use" rather than
        // delete a user's file.
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes the Unix socket file of a listener that has stopped.
pub(crate) fn remove_socket_file(path: &PathBuf) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove unix socket file");
        }
    }
}

/// A listener registered with a runtime.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
    Udp(Arc<tokio::net::UdpSocket>),
}

impl Listener {
    async fn accept(&self) -> io::Result<(Io, SocketAddress, SocketAddress)> {
        match self {
            Listener::Tcp(l) => {
                let (stream, remote) = l.accept().await?;
                let sock = SockRef::from(&stream);
                // Per-connection failures here are not worth dropping the
                // connection for.
                if let Err(e) = sock.set_nodelay(true) {
                    tracing::debug!(error = %e, "TCP_NODELAY not set");
                }
                let local = stream
                    .local_addr()
                    .map(SocketAddress::Inet)
                    .unwrap_or(SocketAddress::Unix(None));
                Ok((Io::Tcp(stream), SocketAddress::Inet(remote), local))
            }
            Listener::Udp(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a UDP socket does not accept",
            )),
            Listener::Unix(l) => {
                let (stream, remote) = l.accept().await?;
                let local = stream
                    .local_addr()
                    .map(|a| SocketAddress::from_unix(&a))
                    .unwrap_or(SocketAddress::Unix(None));
                Ok((Io::Unix(stream), SocketAddress::from_unix(&remote), local))
            }
        }
    }
}

/// Errors that concern one incoming connection only: accept again at once.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

const MIN_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// How often reaching `max_connections` is logged at `warn`.
const LIMIT_LOG_EVERY: Duration = Duration::from_secs(60);

/// Accepts until `token` is cancelled, driving the connections on
/// `tracker`: plain ones in one [`ConnectionSet`]; TLS ones, traced ones
/// and those holding a `max_connections` permit in a task each.
///
/// Running out of file descriptors (EMFILE, ENFILE) or memory does not end
/// the loop: it logs once, backs off (10 ms doubling to 1 s) while the open
/// connections keep being served, and accepts again when it can.
pub(crate) async fn accept_loop<S: Service>(
    listener: Listener,
    service: Arc<S>,
    worker: Arc<WorkerShared<S::Protocol>>,
    config: Arc<WorkerConfig>,
    token: CancellationToken,
    tracker: TaskTracker,
) {
    if let Listener::Udp(socket) = listener {
        crate::udp::serve_datagrams(socket, service, worker, config, token).await;
        return;
    }
    let mut backoff = MIN_BACKOFF;
    let mut failing = false;
    let tls = config.tls.as_ref().map(|t| {
        (
            tokio_rustls::TlsAcceptor::from(Arc::clone(&t.config)),
            t.handshake_timeout,
        )
    });
    // `max_connections`: one permit per open connection, held by its task.
    let limit = config
        .max_connections
        .map(|n| (n, Arc::new(tokio::sync::Semaphore::new(n))));
    let mut limit_logged: Option<std::time::Instant> = None;
    // Plain connections whose span is off (every one, unless the debug
    // level is on) and that hold no `max_connections` permit are driven
    // together (see `ConnectionSet`); the set closes when this loop
    // returns.
    let set = ConnectionSet::spawn(&tracker);
    loop {
        if set.is_backlogged() {
            tokio::task::yield_now().await;
        }
        let permit = match &limit {
            None => None,
            Some((max, permits)) => match Arc::clone(permits).try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    // A worker held at its cap crosses it at every close:
                    // say so once a minute, not once per connection.
                    let warn = limit_logged.is_none_or(|at| at.elapsed() >= LIMIT_LOG_EVERY);
                    if warn {
                        limit_logged = Some(std::time::Instant::now());
                        tracing::warn!(
                            max_connections = max,
                            "connection limit reached; not accepting until one closes"
                        );
                    } else {
                        tracing::debug!(max_connections = max, "connection limit reached");
                    }
                    let p = tokio::select! {
                        biased;
                        () = token.cancelled() => return,
                        p = Arc::clone(permits).acquire_owned() => p,
                    };
                    if warn {
                        tracing::info!("below the connection limit; accepting again");
                    }
                    // The semaphore is never closed.
                    p.ok()
                }
            },
        };
        let accepted = tokio::select! {
            biased;
            () = token.cancelled() => return,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((io, remote, local)) => {
                if failing {
                    tracing::info!("accepting connections again");
                    failing = false;
                    backoff = MIN_BACKOFF;
                }
                let setup = ConnectionSetup {
                    service: Arc::clone(&service),
                    codec: None,
                    io,
                    remote,
                    local,
                    max_package_size: config.max_package_size,
                    max_send_buffer_size: config.max_send_buffer_size,
                    worker: Some(Arc::clone(&worker)),
                    paused: false,
                };
                match &tls {
                    None => {
                        let (_conn, fut, span) = drive(setup);
                        if span.is_disabled() && permit.is_none() {
                            set.push(fut);
                        } else if span.is_disabled() {
                            spawn_holding(&tracker, permit, fut);
                        } else {
                            spawn_holding(&tracker, permit, fut.instrument(span));
                        }
                    }
                    // The handshake runs in the connection's own task, so
                    // a slow or hostile client never holds up accepting.
                    Some((acceptor, timeout)) => {
                        let fut = tls_then_drive(acceptor.clone(), *timeout, setup);
                        spawn_holding(&tracker, permit, fut);
                    }
                }
            }
            Err(e) if is_connection_error(&e) => {
                tracing::debug!(error = %e, "accept: connection failed before it was accepted");
            }
            Err(e) => {
                worker.stats.accept_errors.fetch_add(1, Ordering::Relaxed);
                if !failing {
                    tracing::error!(error = %e, "accept failed; backing off and serving open connections");
                    failing = true;
                } else {
                    tracing::debug!(error = %e, ?backoff, "accept still failing");
                }
                tokio::select! {
                    () = token.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Spawns a connection's task, holding a `max_connections` permit (when
/// there is a limit) until the task ends. Without a limit the task is the
/// connection's future itself, so unlimited workers pay nothing.
fn spawn_holding<F: Future<Output = ()> + Send + 'static>(
    tracker: &TaskTracker,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    fut: F,
) {
    match permit {
        None => {
            tracker.spawn(fut);
        }
        Some(permit) => {
            tracker.spawn(async move {
                fut.await;
                drop(permit);
            });
        }
    }
}

/// Performs the TLS handshake of an accepted connection within `timeout`,
/// then drives it; a failed or stalled handshake just drops the socket.
async fn tls_then_drive<S: Service>(
    acceptor: tokio_rustls::TlsAcceptor,
    timeout: Duration,
    mut setup: ConnectionSetup<S>,
) {
    let Io::Tcp(tcp) = setup.io else {
        tracing::error!("TLS needs a TCP connection");
        return;
    };
    match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => {
            setup.io = Io::Tls(Box::new(tokio_rustls::TlsStream::Server(stream)));
            let (_conn, fut, span) = drive(setup);
            if span.is_disabled() {
                fut.await;
            } else {
                fut.instrument(span).await;
            }
        }
        Ok(Err(e)) => tracing::debug!(peer = %setup.remote, error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!(peer = %setup.remote, "TLS handshake timed out"),
    }
}
