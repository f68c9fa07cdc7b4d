//! [`AsyncTcpConnection`]: outgoing connections driven by a [`Service`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpStream, UnixStream};
use workerman_protocols::{ClientTarget, Protocol, DEFAULT_MAX_PACKAGE_SIZE};

use crate::addr::{parse_client_address, Target};
use crate::connection::{drive_client, ClientSetup, Connector};
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
    codec_factory: Option<Arc<CodecFactory<S::Protocol>>>,
    tls: Option<crate::ClientTlsConfig>,
}

/// Makes a codec for each (re)connection of an outgoing connection.
type CodecFactory<P> =
    dyn Fn(&ClientTarget, usize) -> <P as Protocol>::Codec + Send + Sync + 'static;

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
            codec_factory: None,
            tls: None,
        }
    }

    /// Speaks TLS over the TCP connection (Workerman's `transport =
    /// 'ssl'`): [`ClientTlsConfig::default`](crate::ClientTlsConfig) trusts
    /// the usual public roots; `with_root_pem_file` trusts a private CA or
    /// a self-signed server. The certificate must name the URL's host, or
    /// [`ClientTlsConfig::server_name`](crate::ClientTlsConfig::server_name).
    /// The handshake counts against the connect timeout.
    #[must_use]
    pub fn tls(mut self, config: crate::ClientTlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Uses this codec for the connection instead of the protocol's
    /// [`client_codec`](Protocol::client_codec) (for a client handshake
    /// with custom headers or subprotocols, say). It serves one connection.
    #[must_use]
    pub fn codec(self, codec: <S::Protocol as Protocol>::Codec) -> Self {
        *crate::sync::lock(&self.codec) = Some(codec);
        self
    }

    /// Makes the codec of every connection and reconnection with `make`
    /// (given the URL's target and the package size limit), instead of the
    /// protocol's `client_codec`: custom handshake headers survive a
    /// [`Connection::reconnect`].
    #[must_use]
    pub fn codec_with(
        mut self,
        make: impl Fn(&ClientTarget, usize) -> <S::Protocol as Protocol>::Codec + Send + Sync + 'static,
    ) -> Self {
        self.codec_factory = Some(Arc::new(make));
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

    /// Starts connecting in the background and returns the connection's
    /// handle at once (Workerman's `connect()`). Sends made before the
    /// connection is up are queued and written once it is. Then, as for an
    /// accepted connection: `on_connect`, `on_message` per package,
    /// `on_close`. A failed attempt (refused, unreachable, timed out) calls
    /// `on_error` with [`ConnectionError::ConnectFailed`](crate::ConnectionError::ConnectFailed) (code 1), then
    /// `on_close`, where [`Connection::reconnect`] tries again.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start(&self) -> Result<Connection<S::Protocol>, Error> {
        self.start_with(tokio::sync::oneshot::channel().0)
    }

    /// Connects and waits for the first attempt's outcome: the handle once
    /// connected (`on_connect` may still be running), or the error. The
    /// callbacks are those of [`start`](AsyncTcpConnection::start): a
    /// failed attempt also reaches `on_error` and `on_close`.
    ///
    /// # Errors
    ///
    /// A bad address or scheme, or [`Error::Connect`] when the connection is
    /// refused, fails or times out.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not stop the connection: it goes on in the
    /// background as with `start`.
    pub async fn connect(&self) -> Result<Connection<S::Protocol>, Error> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let conn = self.start_with(tx)?;
        match rx.await {
            Ok(Ok(())) => Ok(conn),
            Ok(Err(source)) => Err(Error::Connect {
                address: self.address.clone(),
                source,
            }),
            Err(_) => Err(Error::Connect {
                address: self.address.clone(),
                source: std::io::ErrorKind::ConnectionAborted.into(),
            }),
        }
    }

    fn start_with(
        &self,
        first: tokio::sync::oneshot::Sender<std::io::Result<()>>,
    ) -> Result<Connection<S::Protocol>, Error> {
        let (parsed, target, secure) =
            parse_client_address(&self.address, <S::Protocol as Protocol>::SCHEME)?;
        let max = self.max_package_size;
        let codec_target = target.clone();
        let factory = self.codec_factory.clone();
        let new_codec = move || match &factory {
            Some(make) => make(&codec_target, max),
            None => S::Protocol::client_codec(&codec_target, max),
        };
        let codec = crate::sync::lock(&self.codec)
            .take()
            .unwrap_or_else(&new_codec);
        // A `<scheme>s://` URL (wss://) means TLS with the public roots
        // unless `.tls(..)` chose others.
        let tls = match (&self.tls, secure) {
            (Some(t), _) => Some(t.clone()),
            (None, true) => Some(crate::ClientTlsConfig::default()),
            (None, false) => None,
        };
        let remote = match &parsed.target {
            Target::Inet(a) => SocketAddress::Inet(*a),
            Target::Unix(p) => SocketAddress::Unix(Some(p.clone())),
        };
        let connector = TcpConnector {
            target: parsed.target,
            host: target.host,
            port: target.port,
            timeout: self.connect_timeout,
            tls,
        };
        let (conn, fut) = drive_client(ClientSetup {
            service: Arc::clone(&self.service),
            codec,
            new_codec: Box::new(new_codec),
            connector: Box::new(connector),
            remote,
            max_send_buffer_size: self.max_send_buffer_size,
            paused: self.paused,
            first,
        });
        tokio::spawn(fut);
        Ok(conn)
    }
}

/// Connects over TCP (resolving the host name each time, without blocking
/// the runtime) or to a Unix socket, within the connect timeout.
struct TcpConnector {
    target: Target,
    host: String,
    port: Option<u16>,
    timeout: Duration,
    tls: Option<crate::ClientTlsConfig>,
}

impl Connector for TcpConnector {
    fn connect(
        &self,
    ) -> futures::future::BoxFuture<'static, std::io::Result<(Io, SocketAddress, SocketAddress)>>
    {
        let target = self.target.clone();
        let host = self.host.clone();
        let port = self.port;
        let timeout = self.timeout;
        let tls = self.tls.clone();
        Box::pin(async move {
            let attempt = async {
                match target {
                    Target::Inet(resolved) => {
                        // A host name is looked up again on every attempt.
                        let addrs: Vec<std::net::SocketAddr> =
                            match (host.parse::<std::net::IpAddr>(), port) {
                                (Err(_), Some(port)) => {
                                    tokio::net::lookup_host((host.as_str(), port))
                                        .await?
                                        .collect()
                                }
                                _ => vec![resolved],
                            };
                        let mut last = std::io::Error::from(std::io::ErrorKind::AddrNotAvailable);
                        for addr in addrs {
                            match TcpStream::connect(addr).await {
                                Ok(s) => {
                                    s.set_nodelay(true)?;
                                    let local = SocketAddress::Inet(s.local_addr()?);
                                    let io = match &tls {
                                        None => Io::Tcp(s),
                                        Some(cfg) => {
                                            let name = cfg.name_for(&host)?;
                                            let c = tokio_rustls::TlsConnector::from(Arc::clone(
                                                &cfg.config,
                                            ));
                                            let stream = c.connect(name, s).await?;
                                            Io::Tls(Box::new(tokio_rustls::TlsStream::Client(
                                                stream,
                                            )))
                                        }
                                    };
                                    return Ok((io, SocketAddress::Inet(addr), local));
                                }
                                Err(e) => last = e,
                            }
                        }
                        Err(last)
                    }
                    Target::Unix(path) => {
                        if tls.is_some() {
                            return Err(std::io::Error::new(
                                std::io::ErrorKind::InvalidInput,
                                "TLS needs a TCP address, not a unix socket",
                            ));
                        }
                        let s = UnixStream::connect(&path).await?;
                        let local = SocketAddress::from_unix(&s.local_addr()?);
                        Ok((Io::Unix(s), SocketAddress::Unix(Some(path)), local))
                    }
                }
            };
            match tokio::time::timeout(timeout, attempt).await {
                Ok(r) => r,
                Err(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("connect timed out after {timeout:?}"),
                )),
            }
        })
    }
}
