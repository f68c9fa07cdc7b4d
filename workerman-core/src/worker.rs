//! [`Worker`]: an address, a protocol, a service and its settings.

use std::fmt;
use std::sync::Arc;

use workerman_protocols::{Protocol, DEFAULT_MAX_PACKAGE_SIZE};

use crate::Service;

/// Workerman's `TcpConnection::$defaultMaxSendBufferSize`: 1 MiB.
pub const DEFAULT_MAX_SEND_BUFFER_SIZE: usize = 1024 * 1024;

/// The listen backlog asked for (Workerman's 102400); the kernel caps it at
/// `net.core.somaxconn`.
pub const DEFAULT_BACKLOG: i32 = 102_400;

/// The settings of one Worker (builder state).
#[derive(Debug, Clone)]
pub(crate) struct WorkerConfig {
    pub(crate) address: String,
    pub(crate) name: String,
    pub(crate) count: usize,
    pub(crate) reuse_port: bool,
    pub(crate) max_package_size: usize,
    pub(crate) max_send_buffer_size: usize,
    pub(crate) backlog: i32,
    pub(crate) user: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) reloadable: bool,
    pub(crate) max_requests: Option<u64>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) tls: Option<crate::TlsConfig>,
    pub(crate) udp: bool,
}

/// A listening container: one address, speaking `S::Protocol`, served by
/// `count` instances of the service (Workerman's `Worker` class).
///
/// Build it with [`Worker::new`], adjust it with the builder methods, then
/// [`run`](Worker::run) it (blocks until Ctrl-C or SIGTERM), or
/// [`spawn`](Worker::spawn) it to get a [`ServerHandle`](crate::ServerHandle) (for tests and for
/// embedding). Several workers run together through [`Server`](crate::Server).
///
/// # Addresses
///
/// `scheme://host:port` or `scheme:///absolute/path` for a Unix socket:
///
/// | address | transport | protocol |
/// |---|---|---|
/// | `tcp://0.0.0.0:2347` | TCP | raw bytes ([`Tcp`](workerman_protocols::Tcp)) |
/// | `text://127.0.0.1:5678` | TCP | [`Text`](workerman_protocols::Text) |
/// | `frame://[::1]:5679` | TCP over IPv6 | [`Frame`](workerman_protocols::Frame) |
/// | `unix:///run/app.sock` | Unix socket | raw bytes |
/// | `text:///run/app.sock` | Unix socket | [`Text`](workerman_protocols::Text) |
/// | `myproto://127.0.0.1:9000` | TCP | a user protocol with `SCHEME = "myproto"` |
///
/// The scheme must be `S::Protocol::SCHEME` (`unix` counts as `tcp`), or
/// starting fails with [`Error::SchemeMismatch`](crate::Error::SchemeMismatch). Port 0 picks a free port;
/// [`ServerHandle::local_addr`](crate::ServerHandle::local_addr) tells which.
///
/// # Examples
///
/// ```no_run
/// use workerman_core::{async_trait, Connection, Service, Worker};
/// use workerman_protocols::{Payload, Text};
///
/// struct Echo;
///
/// #[async_trait]
/// impl Service for Echo {
///     type Protocol = Text;
///     async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
///         let _ = conn.send(msg);
///     }
/// }
///
/// # fn main() -> Result<(), workerman_core::Error> {
/// Worker::new("text://0.0.0.0:5678", Echo)
///     .name("echo")
///     .count(4)
///     .reuse_port(true)
///     .run()
/// # }
/// ```
pub struct Worker<S: Service> {
    pub(crate) config: WorkerConfig,
    pub(crate) service: Arc<S>,
}

impl<S: Service> fmt::Debug for Worker<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.config)
            .field("protocol", &<S::Protocol as Protocol>::SCHEME)
            .finish()
    }
}

impl<S: Service> Worker<S> {
    /// A worker listening on `address` with `service`. Nothing is bound
    /// until it is started. Defaults: name `"none"`, count 1, no
    /// `reuse_port`, 10 MiB max package, 1 MiB send buffer.
    pub fn new(address: impl Into<String>, service: S) -> Self {
        Self::with_shared(address, Arc::new(service))
    }

    /// Like [`new`](Worker::new), with a service already shared (for example
    /// with an outgoing connection or another worker).
    pub fn with_shared(address: impl Into<String>, service: Arc<S>) -> Self {
        Worker {
            config: WorkerConfig {
                address: address.into(),
                name: "none".to_owned(),
                count: 1,
                reuse_port: false,
                max_package_size: DEFAULT_MAX_PACKAGE_SIZE,
                max_send_buffer_size: DEFAULT_MAX_SEND_BUFFER_SIZE,
                backlog: DEFAULT_BACKLOG,
                user: None,
                group: None,
                reloadable: true,
                max_requests: None,
                max_connections: None,
                tls: None,
                udp: false,
            },
            service,
        }
    }

    /// The worker's name, shown in logs and thread names (default `"none"`).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = name.into();
        self
    }

    /// How many instances serve this address (default 1; 0 counts as 1).
    /// In-process, each instance is a thread with its own single-threaded
    /// event loop, sharing the listening port.
    #[must_use]
    pub fn count(mut self, count: usize) -> Self {
        self.config.count = count.max(1);
        self
    }

    /// Gives each instance its own listening socket with SO_REUSEPORT, so
    /// the kernel spreads connections evenly (default false: the instances
    /// share one socket and compete to accept). Ignored for Unix sockets.
    #[must_use]
    pub fn reuse_port(mut self, reuse: bool) -> Self {
        self.config.reuse_port = reuse;
        self
    }

    /// The largest package a peer may send, in bytes as the protocol counts
    /// them (default 10 MiB, Workerman's `defaultMaxPackageSize`). A larger
    /// one is a protocol error: `on_error`, then the connection closes.
    #[must_use]
    pub fn max_package_size(mut self, bytes: usize) -> Self {
        self.config.max_package_size = bytes;
        self
    }

    /// The default send buffer limit of this worker's connections, in bytes
    /// (default 1 MiB, Workerman's `defaultMaxSendBufferSize`). Each
    /// connection can change its own with
    /// [`Connection::set_max_send_buffer_size`](crate::Connection::set_max_send_buffer_size).
    #[must_use]
    pub fn max_send_buffer_size(mut self, bytes: usize) -> Self {
        self.config.max_send_buffer_size = bytes;
        self
    }

    /// The listen backlog (default 102400; the kernel caps it at
    /// `net.core.somaxconn`).
    #[must_use]
    pub fn backlog(mut self, backlog: i32) -> Self {
        self.config.backlog = backlog;
        self
    }

    /// Runs this worker's processes as this user (Workerman's `user`).
    /// The master binds the listening sockets first (so ports below 1024
    /// work), then starts the worker processes with the user's uid and
    /// primary group (or [`group`](Worker::group)); supplementary groups are
    /// dropped. Needs root; only used by the process model
    /// ([`run_all`](crate::process)), not by in-process [`Server::spawn`](crate::Server::spawn).
    #[must_use]
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.config.user = Some(user.into());
        self
    }

    /// Runs this worker's processes with this group instead of the user's
    /// primary group.
    #[must_use]
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.config.group = Some(group.into());
        self
    }

    /// Whether `reload` replaces this worker's processes (default true).
    /// With `false` they keep running, with their connections, and get
    /// [`Service::on_worker_reload`] instead.
    #[must_use]
    pub fn reloadable(mut self, reloadable: bool) -> Self {
        self.config.reloadable = reloadable;
        self
    }

    /// After this many packages a worker process stops accepting, finishes
    /// its open connections and exits, and the master starts a fresh one
    /// (manual 1.16.41; a guard against slow leaks). Default: no limit.
    /// Only used by the process model.
    #[must_use]
    pub fn max_requests(mut self, requests: u64) -> Self {
        self.config.max_requests = Some(requests.max(1));
        self
    }

    /// At most this many connections open at once in each instance (each
    /// worker process; each instance thread in-process). Default: no limit
    /// but the file-descriptor limit.
    ///
    /// At the cap the instance stops accepting and logs it (at `warn`, at
    /// most once a minute); new clients wait in the kernel's listen
    /// backlog (see [`backlog`](Worker::backlog)), not refused. As soon as
    /// one connection closes, accepting resumes (logged at `info` after a
    /// `warn`). A cap of 0 counts as 1.
    /// Not used by `udp://`, which has no connections.
    #[must_use]
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.config.max_connections = Some(connections.max(1));
        self
    }

    /// The transport under the protocol (Workerman's `transport`): plain
    /// TCP by default, or [`Transport::Tls`](crate::Transport::Tls) for
    /// `text`/`frame`/`websocket`/`http` over TLS (`wss`, `https`). TLS
    /// needs a TCP address, not a Unix socket.
    ///
    /// ```no_run
    /// # use workerman_core::{async_trait, Connection, Service, Worker, TlsConfig, Transport};
    /// # use workerman_protocols::{Payload, Text};
    /// # struct Echo;
    /// # #[async_trait] impl Service for Echo { type Protocol = Text;
    /// #   async fn on_message(&self, _: &Connection<Text>, _: Payload) {} }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let tls = TlsConfig::from_pem_files("/etc/ssl/site.pem", "/etc/ssl/site.key")?;
    /// Worker::new("text://0.0.0.0:5678", Echo)
    ///     .transport(Transport::Tls(tls))
    ///     .run()?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn transport(mut self, transport: crate::Transport) -> Self {
        self.config.udp = matches!(transport, crate::Transport::Udp);
        self.config.tls = match transport {
            crate::Transport::Tls(t) => Some(t),
            _ => None,
        };
        self
    }
}
