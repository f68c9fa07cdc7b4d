//! [`AsyncTcpConnection`]: outgoing connections driven by a [`Service`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpStream, UnixStream};
use workerman_protocols::{Protocol, DEFAULT_MAX_PACKAGE_SIZE};

use crate::addr::{parse_client_address, Target};
use crate::connection::{drive, ConnectionSetup};
use crate::io::Io;
use crate::worker::DEFAULT_MAX_SEND_BUFFER_SIZE;
use crate::{Connection, Error, Service, SocketAddress};

/// How long [`AsyncTcpConnection::connect`] waits by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An outgoing connection that speaks a protocol and is handled by a
/// [`Service`], exactly like an accepted one (Workerman's
/// `AsyncTcpConnection`).
///
/// The address takes the same forms as a worker's (`text://host:port`,
/// `tcp://[::1]:80`, `unix:///path`), and its scheme must match the
/// service's protocol.
///
/// # Examples
///
/// ```no_run
/// # #![allow(dead_code)]
/// use workerman_core::{async_trait, AsyncTcpConnection, Connection, Service};
/// use workerman_protocols::{Payload, Text};
///
/// struct Printer;
///
/// #[async_trait]
/// impl Service for Printer {
///     type Protocol = Text;
///     async fn on_message(&self, _conn: &Connection<Text>, msg: Payload) {
///         tracing::info!(%msg, "reply");
///     }
/// }
///
/// # async fn f() -> Result<(), workerman_core::Error> {
/// let conn = AsyncTcpConnection::new("text://127.0.0.1:5678", Printer)
///     .connect()
///     .await?;
/// let _ = conn.send("hello");
/// # Ok(()) }
/// ```
pub struct AsyncTcpConnection<S: Service> {
    address: String,
    service: Arc<S>,
    connect_timeout: Duration,
    max_package_size: usize,
    max_send_buffer_size: usize,
    paused: bool,
    codec: std::sync::Mutex<Option<<S::Protocol as Protocol>::Codec>>,
}

impl<S: Service> fmt::Debug for AsyncTcpConnection<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncTcpConnection")
            .field("address", &self.address)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl<S: Service> AsyncTcpConnection<S> {
    /// An outgoing connection to `address`, handled by `service`. Nothing
    /// happens until [`connect`](AsyncTcpConnection::connect).
    pub fn new(address: impl Into<String>, service: impl Into<Arc<S>>) -> Self {
        AsyncTcpConnection {
            address: address.into(),
            service: service.into(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_package_size: DEFAULT_MAX_PACKAGE_SIZE,
            max_send_buffer_size: DEFAULT_MAX_SEND_BUFFER_SIZE,
            paused: false,
            codec: std::sync::Mutex::new(None),
        }
    }

    /// Uses this codec for the connection instead of the protocol's
    /// [`client_codec`](Protocol::client_codec) (for a client handshake
    /// with custom headers or subprotocols, say). It serves one connection.
    #[must_use]
    pub fn codec(self, codec: <S::Protocol as Protocol>::Codec) -> Self {
        *crate::sync::lock(&self.codec) = Some(codec);
        self
    }

    /// Starts the connection with reading paused (default false): nothing
    /// the peer sends is read until
    /// [`Connection::resume_recv`](crate::Connection::resume_recv). Use it to
    /// set up a [`pipe`](crate::Connection::pipe) before any data can reach
    /// `on_message`, for example when the peer speaks first.
    #[must_use]
    pub fn pause_recv(mut self, paused: bool) -> Self {
        self.paused = paused;
        self
    }

    /// How long to wait for the connection (default 10 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The largest package accepted from the peer (default 10 MiB).
    #[must_use]
    pub fn max_package_size(mut self, bytes: usize) -> Self {
        self.max_package_size = bytes;
        self
    }

    /// The send buffer limit (default 1 MiB).
    #[must_use]
    pub fn max_send_buffer_size(mut self, bytes: usize) -> Self {
        self.max_send_buffer_size = bytes;
        self
    }

    /// Connects, then drives the connection on a new task of the current
    /// runtime: `on_connect` runs first, then `on_message` for each package,
    /// then `on_close`. Returns the connection's handle once connected.
    ///
    /// # Errors
    ///
    /// A bad address or scheme, or [`Error::Connect`] when the connection is
    /// refused, fails or times out (no callback runs then).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes abandons the attempt; no
    /// connection is left behind.
    pub async fn connect(&self) -> Result<Connection<S::Protocol>, Error> {
        let (parsed, target) =
            parse_client_address(&self.address, <S::Protocol as Protocol>::SCHEME)?;
        let connect_err = |source| Error::Connect {
            address: self.address.clone(),
            source,
        };
        let attempt = async {
            Ok::<_, std::io::Error>(match &parsed.target {
                Target::Inet(addr) => {
                    let s = TcpStream::connect(addr).await?;
                    s.set_nodelay(true)?;
                    let local = SocketAddress::Inet(s.local_addr()?);
                    (Io::Tcp(s), SocketAddress::Inet(*addr), local)
                }
                Target::Unix(path) => {
                    let s = UnixStream::connect(path).await?;
                    let local = SocketAddress::from_unix(&s.local_addr()?);
                    (Io::Unix(s), SocketAddress::Unix(Some(path.clone())), local)
                }
            })
        };
        let (io, remote, local) = tokio::time::timeout(self.connect_timeout, attempt)
            .await
            .map_err(|_| connect_err(std::io::ErrorKind::TimedOut.into()))?
            .map_err(connect_err)?;
        let codec = crate::sync::lock(&self.codec)
            .take()
            .unwrap_or_else(|| S::Protocol::client_codec(&target, self.max_package_size));
        let (conn, fut) = drive(ConnectionSetup {
            service: Arc::clone(&self.service),
            codec: Some(codec),
            io,
            remote,
            local,
            max_package_size: self.max_package_size,
            max_send_buffer_size: self.max_send_buffer_size,
            worker: None,
            paused: self.paused,
        });
        tokio::spawn(fut);
        Ok(conn)
    }
}
