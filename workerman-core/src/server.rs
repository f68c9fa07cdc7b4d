//! [`Server`]: runs workers in this process, each instance on its own
//! thread with a single-threaded tokio runtime; [`ServerHandle`] stops them.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::addr::{parse_address, Target};
use crate::connection::WorkerShared;
use crate::context::WorkerContext;
use crate::instance::{InstanceReport, InstanceRun};
use crate::listener::{bind, remove_socket_file, StdListener};
use crate::stats::{StatsSnapshot, WorkerStats};
use crate::worker::{Worker, WorkerConfig};
use crate::{Error, Service, SocketAddress};
use workerman_protocols::Protocol;

/// How long a shutdown waits for connections to close, by default.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a graceful stop or reload lets connections finish, by default.
pub const DEFAULT_GRACE_TIMEOUT: Duration = Duration::from_secs(30);

/// A worker, type-erased so that workers of different services run
/// together.
pub(crate) trait WorkerLauncher: Send {
    fn launch(
        self: Box<Self>,
        token: &CancellationToken,
        shutdown_timeout: Duration,
    ) -> Result<LaunchedWorker, Error>;

    fn config(&self) -> &crate::worker::WorkerConfig;

    /// The scheme of the service's protocol.
    fn scheme(&self) -> &'static str;

    /// Runs one instance as this whole process (a worker process).
    fn run_child(self: Box<Self>, setup: crate::process::ChildSetup) -> std::process::ExitCode;
}

impl<S: Service> Worker<S> {
    /// Starts this worker alone; see [`Server::spawn`].
    ///
    /// # Errors
    ///
    /// As [`Server::spawn`].
    pub fn spawn(self) -> Result<ServerHandle, Error> {
        Server::new().worker(self).spawn()
    }

    /// Runs this worker alone until Ctrl-C or SIGTERM; see [`Server::run`].
    ///
    /// # Errors
    ///
    /// As [`Server::run`].
    pub fn run(self) -> Result<(), Error> {
        Server::new().worker(self).run()
    }
}

impl<S: Service> WorkerLauncher for Worker<S> {
    fn launch(
        self: Box<Self>,
        token: &tokio_util::sync::CancellationToken,
        shutdown_timeout: std::time::Duration,
    ) -> Result<LaunchedWorker, Error> {
        launch(*self, token, shutdown_timeout)
    }

    fn config(&self) -> &WorkerConfig {
        &self.config
    }

    fn scheme(&self) -> &'static str {
        <S::Protocol as Protocol>::SCHEME
    }

    fn run_child(self: Box<Self>, setup: crate::process::ChildSetup) -> std::process::ExitCode {
        crate::process::run_child(*self, setup)
    }
}

/// One started worker: its threads and counters.
pub(crate) struct LaunchedWorker {
    name: String,
    addr: SocketAddress,
    unix_path: Option<PathBuf>,
    instances: Vec<Instance>,
}

struct Instance {
    thread: JoinHandle<InstanceReport>,
    stats: Arc<WorkerStats>,
}

/// Runs workers in this process (Workerman's `Worker::runAll`, without the
/// master process).
///
/// Every instance of every worker gets its own thread and single-threaded
/// tokio runtime, so one instance's callbacks never run in parallel with
/// each other, as in a Workerman worker process.
///
/// # Examples
///
/// ```no_run
/// # use workerman_core::{async_trait, Connection, Service, Worker, Server};
/// # use workerman_protocols::{Payload, Text, Frame};
/// # struct A; struct B;
/// # #[async_trait] impl Service for A { type Protocol = Text;
/// #   async fn on_message(&self, _: &Connection<Text>, _: Payload) {} }
/// # #[async_trait] impl Service for B { type Protocol = Frame;
/// #   async fn on_message(&self, _: &Connection<Frame>, _: Payload) {} }
/// # fn main() -> Result<(), workerman_core::Error> {
/// Server::new()
///     .worker(Worker::new("text://127.0.0.1:5678", A))
///     .worker(Worker::new("frame://127.0.0.1:5679", B).count(2))
///     .run()
/// # }
/// ```
#[must_use = "a Server does nothing until spawn() or run()"]
pub struct Server {
    pub(crate) workers: Vec<Box<dyn WorkerLauncher>>,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) grace_timeout: Duration,
    pub(crate) pid_file: Option<PathBuf>,
    pub(crate) log_file: Option<PathBuf>,
    pub(crate) stdout_file: Option<PathBuf>,
    pub(crate) daemonize: bool,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("workers", &self.workers.len())
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}

impl Default for Server {
    fn default() -> Self {
        Server::new()
    }
}

impl Server {
    /// A server with no workers and the default shutdown timeout
    /// ([`DEFAULT_SHUTDOWN_TIMEOUT`], 10 s).
    pub fn new() -> Self {
        Server {
            workers: Vec::new(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            grace_timeout: DEFAULT_GRACE_TIMEOUT,
            pid_file: None,
            log_file: None,
            stdout_file: None,
            daemonize: false,
        }
    }

    /// Adds a worker; workers start in the order they were added.
    pub fn worker<S: Service>(mut self, worker: Worker<S>) -> Self {
        self.workers.push(Box::new(worker));
        self
    }

    /// How long a shutdown waits for open connections to flush and close
    /// before dropping them (default 10 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How long a graceful stop or reload (`stop -g`, `reload -g`,
    /// `max_requests`) lets open connections finish before closing them
    /// (default 30 s; Workerman waits forever).
    pub fn grace_timeout(mut self, timeout: Duration) -> Self {
        self.grace_timeout = timeout;
        self
    }

    /// Where the master writes its pid (Workerman's `pidFile`); the control
    /// socket is created beside it. Default: `workerman.<binary>.pid` in the
    /// binary's directory.
    pub fn pid_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.pid_file = Some(path.into());
        self
    }

    /// Where lifecycle lines are appended (Workerman's `logFile`). Default:
    /// `workerman.<binary>.log` in the binary's directory.
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.log_file = Some(path.into());
        self
    }

    /// Where a daemon's stdout and stderr go (Workerman's `stdoutFile`,
    /// default `/dev/null`).
    pub fn stdout_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.stdout_file = Some(path.into());
        self
    }

    /// Always start as a daemon, as if `start -d` were given (Workerman's
    /// `daemonize`).
    pub fn daemonize(mut self, daemonize: bool) -> Self {
        self.daemonize = daemonize;
        self
    }

    /// Binds every worker's address and starts its instances; returns once
    /// all are listening (the instances then run `on_worker_start`, and
    /// accept after it completes). Can be called inside or outside a tokio
    /// runtime: it never waits for the instances' threads (each instance's
    /// runtime is made, and its listener registered, before its thread
    /// starts), so it does not block the runtime it is called from.
    ///
    /// # Errors
    ///
    /// A bad address, a scheme that does not match the service's protocol,
    /// a bind failure (address in use, permission denied), or a runtime or
    /// thread that cannot start. Workers started before the failure are
    /// stopped again.
    pub fn spawn(self) -> Result<ServerHandle, Error> {
        let token = CancellationToken::new();
        let mut handle = ServerHandle {
            token: token.clone(),
            workers: Vec::new(),
        };
        for w in self.workers {
            match w.launch(&token, self.shutdown_timeout) {
                Ok(launched) => handle.workers.push(launched),
                Err(e) => {
                    // Stop what started, so that nothing listens any more
                    // when the error is returned.
                    handle.shutdown_blocking();
                    return Err(e);
                }
            }
        }
        Ok(handle)
    }

    /// Starts every worker and blocks until Ctrl-C (SIGINT) or SIGTERM,
    /// then shuts down gracefully and returns.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Server::spawn), or when the signal handlers cannot be
    /// installed.
    pub fn run(self) -> Result<(), Error> {
        let handle = self.spawn()?;
        for w in &handle.workers {
            tracing::info!(worker = %w.name, address = %w.addr, count = w.instances.len(), "listening");
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Runtime {
                name: "signals".to_owned(),
                source,
            })?;
        rt.block_on(wait_for_stop_signal())
            .map_err(|source| Error::Runtime {
                name: "signals".to_owned(),
                source,
            })?;
        tracing::info!("stopping");
        let report = handle.shutdown_blocking();
        tracing::info!(
            graceful = report.graceful,
            forced_connections = report.forced_connections,
            "stopped"
        );
        Ok(())
    }
}

async fn wait_for_stop_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    Ok(())
}

/// Binds `worker`'s listeners and starts one thread per instance.
pub(crate) fn launch<S: Service>(
    worker: Worker<S>,
    parent: &CancellationToken,
    shutdown_timeout: Duration,
) -> Result<LaunchedWorker, Error> {
    let config = Arc::new(worker.config);
    let bound = bind_worker(
        &config,
        <S::Protocol as Protocol>::SCHEME,
        config.count,
        true,
    )?;
    let (listeners, addr) = (bound.listeners, bound.addr);
    let unix_path = match &bound.target {
        Target::Unix(p) => Some(p.clone()),
        Target::Inet(_) => None,
    };
    let name: Arc<str> = Arc::from(config.name.as_str());
    let mut launched = LaunchedWorker {
        name: config.name.clone(),
        addr: addr.clone(),
        unix_path,
        instances: Vec::new(),
    };
    for (id, listener) in listeners.into_iter().enumerate() {
        let stats = Arc::new(WorkerStats::default());
        let token = parent.child_token();
        let shared = Arc::new(WorkerShared::<S::Protocol>::new(
            id,
            config.count,
            Arc::clone(&name),
            Some(addr.clone()),
            Arc::clone(&stats),
            token.clone(),
        ));
        let instance = InstanceRun {
            listener,
            service: Arc::clone(&worker.service),
            worker: shared,
            config: Arc::clone(&config),
            stop_timeout: shutdown_timeout,
        };
        let thread = instance
            .spawn_thread(format!("{}-{}", config.name, id))
            .map_err(|source| Error::Runtime {
                name: config.name.clone(),
                source,
            })?;
        launched.instances.push(Instance { thread, stats });
    }
    Ok(launched)
}

/// A running [`Server`]: its addresses, counters, and the way to stop it.
///
/// Dropping the handle stops the workers too (without waiting for them).
#[must_use = "dropping the handle stops the server"]
pub struct ServerHandle {
    token: CancellationToken,
    workers: Vec<LaunchedWorker>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.workers.iter().map(|w| (&w.name, &w.addr)))
            .finish()
    }
}

/// How a shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Every connection closed before the deadline.
    pub graceful: bool,
    /// Connections still open at the deadline, dropped without `on_close`.
    pub forced_connections: usize,
}

impl ServerHandle {
    /// The address of the first worker (with the real port if it asked for
    /// port 0).
    ///
    /// # Panics
    ///
    /// If the server has no worker.
    pub fn local_addr(&self) -> &SocketAddress {
        &self.workers[0].addr
    }

    /// The address of every worker, with its name, in the order they were
    /// added.
    pub fn local_addrs(&self) -> Vec<(&str, &SocketAddress)> {
        self.workers
            .iter()
            .map(|w| (w.name.as_str(), &w.addr))
            .collect()
    }

    /// The counters of every instance of every worker, summed.
    pub fn stats(&self) -> StatsSnapshot {
        self.workers
            .iter()
            .flat_map(|w| &w.instances)
            .map(|i| i.stats.snapshot())
            .fold(StatsSnapshot::default(), |a, b| a + b)
    }

    /// The counters of each instance of the worker with this name (empty
    /// if there is none).
    pub fn worker_stats(&self, name: &str) -> Vec<StatsSnapshot> {
        self.workers
            .iter()
            .filter(|w| w.name == name)
            .flat_map(|w| &w.instances)
            .map(|i| i.stats.snapshot())
            .collect()
    }

    /// Stops every worker: stop accepting, run `on_worker_stop`, close every
    /// connection gracefully (queued data is flushed, `on_close` runs), and
    /// wait up to the shutdown timeout; connections still open then are
    /// dropped. Blocks the calling thread until done.
    pub fn shutdown_blocking(mut self) -> ShutdownReport {
        self.token.cancel();
        let mut forced = 0;
        for w in std::mem::take(&mut self.workers) {
            for i in w.instances {
                match i.thread.join() {
                    Ok(r) => forced += r.forced,
                    Err(_) => tracing::error!(worker = %w.name, "worker thread panicked"),
                }
            }
            if let Some(p) = &w.unix_path {
                remove_socket_file(p);
            }
        }
        ShutdownReport {
            graceful: forced == 0,
            forced_connections: forced,
        }
    }

    /// [`shutdown_blocking`](ServerHandle::shutdown_blocking) for async
    /// callers: the joining happens on tokio's blocking pool.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn shutdown(self) -> ShutdownReport {
        match tokio::task::spawn_blocking(move || self.shutdown_blocking()).await {
            Ok(report) => report,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// TLS runs over TCP only.
pub(crate) fn check_tls_target(
    config: &crate::worker::WorkerConfig,
    target: &Target,
) -> Result<(), Error> {
    if config.tls.is_some() && matches!(target, Target::Unix(_)) {
        return Err(Error::InvalidAddress {
            address: config.address.clone(),
            reason: "TLS needs a TCP address, not a unix socket",
        });
    }
    Ok(())
}

/// Binds `worker` and serves it on the current runtime as instance `id`,
/// stopping when `parent` is cancelled (`WorkerContext::listen`).
impl<P: Protocol> WorkerContext<P> {
    /// Starts another worker inside this instance (Workerman's `listen()`
    /// for a Worker created in `onWorkerStart`): it binds `worker`'s address
    /// now and serves it on this instance's event loop, so both workers'
    /// services share this process's memory (the classic use: a websocket
    /// worker with an internal `text://` port that other programs push to).
    /// It stops with this instance. Call it from `on_worker_start`.
    ///
    /// With `count > 1` each instance binds the address: give the inner
    /// worker `reuse_port(true)`, or the second instance fails with
    /// "address in use" (as in Workerman). Unlike Workerman, the inner
    /// worker's `on_worker_start` and `on_worker_stop` do run.
    ///
    /// # Errors
    ///
    /// A bad address or scheme, or a bind failure.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (it spawns on the current one).
    pub fn listen<S: crate::Service>(
        &self,
        worker: crate::Worker<S>,
    ) -> Result<SocketAddress, crate::Error> {
        crate::server::listen_inner(worker, self.shared.id, &self.shared.shutdown)
    }
}

pub(crate) fn listen_inner<S: Service>(
    worker: Worker<S>,
    id: usize,
    parent: &CancellationToken,
) -> Result<SocketAddress, Error> {
    let config = Arc::new(worker.config);
    let bound = bind_worker(&config, <S::Protocol as Protocol>::SCHEME, 1, false)?;
    let addr = bound.addr;
    let Some(listener) = bound.listeners.into_iter().next() else {
        return Err(Error::Bind {
            address: config.address.clone(),
            source: std::io::ErrorKind::AddrNotAvailable.into(),
        });
    };
    let shared = Arc::new(WorkerShared::<S::Protocol>::new(
        id,
        config.count,
        Arc::from(config.name.as_str()),
        Some(addr.clone()),
        Arc::new(WorkerStats::default()),
        parent.child_token(),
    ));
    let instance = InstanceRun {
        listener,
        service: worker.service,
        worker: shared,
        config,
        stop_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
    };
    tokio::spawn(instance.serve(
        |r| {
            if let Err(e) = r {
                tracing::error!(error = %e, "inner worker cannot listen");
            }
        },
        || {},
    ));
    Ok(addr)
}

/// A Worker's bound sockets.
pub(crate) struct BoundWorker {
    pub(crate) target: Target,
    pub(crate) listeners: Vec<StdListener>,
    /// The address actually bound (the real port when 0 was asked).
    pub(crate) addr: SocketAddress,
}

/// Parses and binds a Worker's address: `copies` listeners, one per
/// instance. With `reuse_port` each is its own socket bound to the same
/// address; otherwise they are clones of one socket (`clone_shared`), or
/// just the one socket (the master hands the same one to every process).
pub(crate) fn bind_worker(
    config: &crate::worker::WorkerConfig,
    scheme: &'static str,
    copies: usize,
    clone_shared: bool,
) -> Result<BoundWorker, Error> {
    let parsed = parse_address(&config.address, scheme)?;
    check_tls_target(config, &parsed.target)?;
    let bind_err = |source| Error::Bind {
        address: config.address.clone(),
        source,
    };
    let udp = config.udp || parsed.udp;
    let first = bind(&parsed.target, config.reuse_port, config.backlog, udp).map_err(bind_err)?;
    let addr = first.local_addr().map_err(bind_err)?;
    let mut listeners = vec![first];
    for _ in 1..copies {
        let next = match (&addr, config.reuse_port) {
            (SocketAddress::Inet(a), true) => bind(&Target::Inet(*a), true, config.backlog, udp),
            _ if clone_shared => listeners[0].try_clone(),
            _ => break,
        };
        listeners.push(next.map_err(bind_err)?);
    }
    Ok(BoundWorker {
        target: parsed.target,
        listeners,
        addr,
    })
}
