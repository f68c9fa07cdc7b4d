//! UDP: workers on `udp://` (or any protocol with
//! [`Transport::Udp`](crate::Transport::Udp)), and [`AsyncUdpConnection`].
//!
//! Each datagram is decoded on its own by the protocol: raw `udp://` gives
//! one message per datagram, `text` gives one per line (an unterminated
//! last line is dropped, as in Workerman). Every message reaches
//! `on_message` with a [`Connection`] whose `send` answers the datagram's
//! sender (a datagram handle: see `connection/datagram.rs`); there is no
//! `on_connect` or `on_close` for a UDP worker, no queue (a datagram that
//! cannot be sent at once is dropped and `send` says so), and handlers of
//! one worker instance run one after another.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use workerman_protocols::{Protocol, DEFAULT_MAX_PACKAGE_SIZE};

use crate::addr::{parse_client_address, Target};
use crate::connection::{Datagram, WorkerShared};
use crate::worker::WorkerConfig;
use crate::{Connection, Error, Service};

/// The largest datagram read (Workerman's 65535).
const DATAGRAM: usize = 65_535;

/// Receives datagrams until `token` is cancelled.
pub(crate) async fn serve_datagrams<S: Service>(
    socket: Arc<UdpSocket>,
    service: Arc<S>,
    worker: Arc<WorkerShared<S::Protocol>>,
    config: Arc<WorkerConfig>,
    token: CancellationToken,
) {
    let mut buf = vec![0u8; DATAGRAM];
    loop {
        let received = tokio::select! {
            biased;
            () = token.cancelled() => return,
            r = socket.recv_from(&mut buf) => r,
        };
        let (n, peer) = match received {
            Ok(x) => x,
            Err(e) => {
                // ICMP errors from earlier sends surface here; go on.
                tracing::debug!(error = %e, "recv_from failed");
                continue;
            }
        };
        worker
            .stats
            .bytes_read
            .fetch_add(n as u64, Ordering::Relaxed);
        let datagram = Arc::new(Datagram::new(
            0,
            Arc::clone(&socket),
            peer,
            false,
            S::Protocol::codec(config.max_package_size),
            Some(Arc::clone(&worker)),
        ));
        let conn = Connection::<S::Protocol>::datagram(Arc::clone(&datagram));
        let mut data = BytesMut::from(&buf[..n]);
        for msg in datagram.decode_all(&mut data) {
            worker.count_request();
            crate::guard::run_guarded(
                async { service.on_message(&conn, msg).await },
                "on_message",
                &worker.stats,
            )
            .await;
        }
    }
}

/// A UDP "connection" to one peer, handled by a [`Service`] (Workerman's
/// `AsyncUdpConnection`): `on_connect` once the socket is set up,
/// `on_message` for each package of each datagram from that peer,
/// `on_close` after [`Connection::close`].
///
/// The address is `udp://host:port` (raw datagrams) or any protocol's
/// scheme (`text://host:port` for text over UDP).
///
/// # Examples
///
/// ```no_run
/// # #![allow(dead_code)]
/// use workerman_core::{async_trait, AsyncUdpConnection, Connection, Service};
/// use workerman_protocols::{Payload, Tcp};
///
/// struct Printer;
///
/// #[async_trait]
/// impl Service for Printer {
///     type Protocol = Tcp;
///     async fn on_message(&self, _conn: &Connection<Tcp>, msg: Payload) {
///         tracing::info!(%msg, "datagram");
///     }
/// }
///
/// # async fn f() -> Result<(), workerman_core::Error> {
/// let conn = AsyncUdpConnection::new("udp://127.0.0.1:1234", Printer).connect().await?;
/// let _ = conn.send("ping");
/// # Ok(()) }
/// ```
pub struct AsyncUdpConnection<S: Service> {
    address: String,
    service: Arc<S>,
    max_package_size: usize,
}

impl<S: Service> fmt::Debug for AsyncUdpConnection<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncUdpConnection")
            .field("address", &self.address)
            .finish()
    }
}

impl<S: Service> AsyncUdpConnection<S> {
    /// A UDP connection to `address`, handled by `service`.
    pub fn new(address: impl Into<String>, service: impl Into<Arc<S>>) -> Self {
        AsyncUdpConnection {
            address: address.into(),
            service: service.into(),
            max_package_size: DEFAULT_MAX_PACKAGE_SIZE,
        }
    }

    /// The largest package accepted (default 10 MiB; a datagram is at most
    /// 64 KiB anyway).
    #[must_use]
    pub fn max_package_size(mut self, bytes: usize) -> Self {
        self.max_package_size = bytes;
        self
    }

    /// Binds an ephemeral local port, connects it to the peer (so only the
    /// peer's datagrams arrive), and starts receiving on a new task.
    ///
    /// # Errors
    ///
    /// A bad address or scheme, an unresolvable host, or a socket error.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn connect(&self) -> Result<Connection<S::Protocol>, Error> {
        let (parsed, target, _) =
            parse_client_address(&self.address, <S::Protocol as Protocol>::SCHEME)?;
        let err = |source| Error::Connect {
            address: self.address.clone(),
            source,
        };
        let remote = match parsed.target {
            Target::Inet(a) => match (target.host.parse::<std::net::IpAddr>(), target.port) {
                (Err(_), Some(port)) => tokio::net::lookup_host((target.host.as_str(), port))
                    .await
                    .map_err(err)?
                    .next()
                    .ok_or_else(|| err(std::io::ErrorKind::AddrNotAvailable.into()))?,
                _ => a,
            },
            Target::Unix(_) => {
                return Err(Error::InvalidAddress {
                    address: self.address.clone(),
                    reason: "UDP needs an IP address, not a unix socket path",
                })
            }
        };
        let any: std::net::SocketAddr = if remote.is_ipv6() {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(any).await.map_err(err)?;
        socket.connect(remote).await.map_err(err)?;
        let socket = Arc::new(socket);
        let datagram = Arc::new(Datagram::new(
            crate::connection::next_connection_id(),
            Arc::clone(&socket),
            remote,
            true,
            S::Protocol::client_codec(&target, self.max_package_size),
            None,
        ));
        let conn = Connection::<S::Protocol>::datagram(Arc::clone(&datagram));
        // Listed by the `connections` command (as udp) while it lives.
        let id = conn.id();
        crate::registry::add(id, conn.info());
        let service = Arc::clone(&self.service);
        let handle = conn.clone();
        tokio::spawn(async move {
            let stats = crate::WorkerStats::default();
            crate::guard::run_guarded(
                async { service.on_connect(&conn).await },
                "on_connect",
                &stats,
            )
            .await;
            let mut buf = vec![0u8; DATAGRAM];
            loop {
                let n = tokio::select! {
                    () = conn.until_closed() => break,
                    r = socket.recv(&mut buf) => match r {
                        Ok(n) => n,
                        Err(e) => {
                            // An ICMP "port unreachable" for an earlier
                            // datagram: the peer is not there (yet).
                            tracing::debug!(error = %e, "recv failed");
                            continue;
                        }
                    },
                };
                let mut data = BytesMut::from(&buf[..n]);
                for msg in datagram.decode_all(&mut data) {
                    crate::guard::run_guarded(
                        async { service.on_message(&conn, msg).await },
                        "on_message",
                        &stats,
                    )
                    .await;
                }
            }
            conn.destroy();
            crate::registry::remove(id);
            crate::guard::run_guarded(async { service.on_close(&conn).await }, "on_close", &stats)
                .await;
        });
        Ok(handle)
    }
}
