//! The worker-process side of the process model, and the seam the
//! supervisor uses.
//!
//! The supervisor (the master process, the command line, the pid and log
//! files) lives in `workerman-cli`, above this crate. Core keeps what a
//! worker process runs and the contract between the two:
//!
//! * [`role`]: which part this process plays, from its environment;
//! * [`Server::bind_worker_sockets`] and [`worker_command`]: the master
//!   binds every Worker's sockets and starts worker processes with them;
//! * [`run_worker_process`]: a worker process runs its one instance on the
//!   inherited socket and answers the master's typed requests
//!   ([`ToChild`] → [`FromChild`]) on its private socket pair;
//! * [`ControlRequest`] / [`ControlResponse`] and the report types: what
//!   the command line and the master say to each other;
//! * [`signals`]: the one signal → action table, used by both sides.
//!
//! Programs do not call this module; `workerman::run_all` does.
//!
//!
//! The process model itself (roles, signals, stop and reload) is described
//! in `workerman-cli`'s crate docs.

mod child;
mod control;
mod role;
pub mod signals;
mod supervised;

use std::io;
use std::process::ExitCode;
use std::time::Duration;

pub use control::{
    ChildStatus, ConnectionRow, ConnectionState, ControlRequest, ControlResponse, ExitCount,
    FromChild, Phase, ProcessStatus, ProtocolName, StatusReport, ToChild, TransportKind,
    WorkerSummary,
};
pub use role::{role, Role, ENV_ROLE};

use role::{ENV_WORKER_ID, ENV_WORKER_INDEX};
pub use supervised::{worker_command, ProcessConfig, WorkerSockets};

pub(crate) use child::{run_child, ChildSetup, Timeouts};

use crate::addr::{parse_address, Target};
use crate::listener::StdListener;
use crate::Server;

impl Server {
    /// The longest a stop can take: the shutdown timeout, plus the grace
    /// timeout for a graceful stop, plus a second for the master to kill
    /// what is left. `stop` waits this long (and 3 s more) before it
    /// reports `stop fail`.
    pub fn stop_deadline(&self, graceful: bool) -> Duration {
        self.shutdown_timeout
            + if graceful {
                self.grace_timeout
            } else {
                Duration::ZERO
            }
            + Duration::from_secs(1)
    }

    fn timeouts(&self) -> Timeouts {
        Timeouts {
            shutdown: self.shutdown_timeout,
            grace: self.grace_timeout,
        }
    }
}

/// Runs one worker process (started by the master).
pub fn run_worker_process(server: Server) -> ExitCode {
    match worker_setup(server) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the worker process");
            ExitCode::FAILURE
        }
    }
}

fn worker_setup(server: Server) -> io::Result<ExitCode> {
    let env_num = |name: &str| -> io::Result<usize> {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| io::Error::other(format!("{name} missing or invalid")))
    };
    let index = env_num(ENV_WORKER_INDEX)?;
    let id = env_num(ENV_WORKER_ID)?;
    let timeouts = server.timeouts();
    let launcher =
        server.workers.into_iter().nth(index).ok_or_else(|| {
            io::Error::other("the program built fewer workers than the master did")
        })?;
    let mut fds = listenfd::ListenFd::from_env();
    let config = launcher.config();
    let parsed = parse_address(&config.address, launcher.scheme()).map_err(io::Error::other)?;
    let missing = || io::Error::other("the listening socket was not passed");
    let listener = match parsed.target {
        Target::Inet(_) if parsed.udp || config.udp => {
            StdListener::Udp(fds.take_udp_socket(0)?.ok_or_else(missing)?)
        }
        Target::Inet(_) => StdListener::Tcp(fds.take_tcp_listener(0)?.ok_or_else(missing)?),
        Target::Unix(_) => StdListener::Unix(fds.take_unix_listener(0)?.ok_or_else(missing)?),
    };
    listener.set_nonblocking()?;
    let ipc = fds
        .take_custom::<std::os::unix::net::UnixStream>(
            1,
            libc::AF_UNIX,
            libc::SOCK_STREAM,
            "master socket",
        )?
        .ok_or_else(|| io::Error::other("the master's socket was not passed"))?;
    Ok(launcher.run_child(ChildSetup {
        id,
        listener,
        ipc,
        timeouts,
    }))
}
