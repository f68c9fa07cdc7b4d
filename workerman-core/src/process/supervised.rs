//! What the supervisor (the master process in `workerman-cli`) needs from
//! core to start worker processes: the Workers' sockets, bound once in the
//! master, and the command that starts one worker process with one of
//! them. The other half of the contract is `run_worker_process`, which
//! reads what [`worker_command`] set up.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use command_fds::{CommandFdExt, FdMapping};

use super::role::{ENV_ROLE, ENV_WORKER_ID, ENV_WORKER_INDEX};
use crate::addr::{SocketAddress, Target};
use crate::server::{bind_worker, Server};
use crate::Error;

/// One Worker's settings and bound sockets, as the master needs them.
#[derive(Debug)]
#[non_exhaustive]
pub struct WorkerSockets {
    /// The Worker's name.
    pub name: String,
    /// Its address as shown to the operator, with the real port when it
    /// was bound to port 0.
    pub listen: String,
    /// How many processes run it.
    pub count: usize,
    /// Whether `reload` replaces its processes.
    pub reloadable: bool,
    /// The user its processes run as (root masters only).
    pub user: Option<String>,
    /// The group its processes run as.
    pub group: Option<String>,
    /// One socket shared by every process, or one per id with
    /// `reuse_port`: process `id` gets `sockets[id]` when there are several.
    pub sockets: Vec<OwnedFd>,
    /// The socket file of a Unix-socket Worker, removed when the master
    /// stops.
    pub unix_path: Option<PathBuf>,
}

/// The process settings of a [`Server`]: its files and whether it
/// daemonizes.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ProcessConfig {
    /// [`Server::pid_file`], if set.
    pub pid_file: Option<PathBuf>,
    /// [`Server::log_file`], if set.
    pub log_file: Option<PathBuf>,
    /// [`Server::stdout_file`], if set.
    pub stdout_file: Option<PathBuf>,
    /// [`Server::daemonize`].
    pub daemonize: bool,
}

impl Server {
    /// The process settings (files, daemonizing) the command line and the
    /// master read.
    pub fn process_config(&self) -> ProcessConfig {
        ProcessConfig {
            pid_file: self.pid_file.clone(),
            log_file: self.log_file.clone(),
            stdout_file: self.stdout_file.clone(),
            daemonize: self.daemonize,
        }
    }

    /// Binds every Worker's sockets, in the order the Workers were added
    /// (the master binds them once, so worker processes inherit them,
    /// privileged ports work, and a replaced process never drops the
    /// connections waiting in the backlog).
    ///
    /// # Errors
    ///
    /// A bad address or scheme, or a bind failure.
    pub fn bind_worker_sockets(&self) -> Result<Vec<WorkerSockets>, Error> {
        let mut out = Vec::with_capacity(self.workers.len());
        for launcher in &self.workers {
            let config = launcher.config();
            let bound = bind_worker(config, launcher.scheme(), config.count, false)?;
            let unix_path = match &bound.target {
                Target::Unix(p) => Some(p.clone()),
                Target::Inet(_) => None,
            };
            let listen = match &bound.addr {
                SocketAddress::Inet(a) => format!(
                    "{}://{a}",
                    config.address.split("://").next().unwrap_or("tcp")
                ),
                SocketAddress::Unix(_) => config.address.clone(),
            };
            out.push(WorkerSockets {
                name: config.name.clone(),
                listen,
                count: config.count,
                reloadable: config.reloadable,
                user: config.user.clone(),
                group: config.group.clone(),
                sockets: bound.listeners.into_iter().map(|l| l.into_fd()).collect(),
                unix_path,
            });
        }
        Ok(out)
    }
}

/// The command that starts worker process `id` of the program's Worker
/// number `worker_index` from the binary `exe`, with `socket` (from
/// [`WorkerSockets::sockets`]) as its listening socket and `master_end` as
/// its private link to the master. `title` becomes its `argv[0]` (what
/// `ps` shows). Standard input is closed; the caller adds the user and
/// group, and spawns it.
///
/// # Errors
///
/// When the descriptors cannot be mapped into the child.
pub fn worker_command(
    exe: &Path,
    worker_index: usize,
    id: usize,
    title: String,
    socket: OwnedFd,
    master_end: OwnedFd,
) -> io::Result<Command> {
    let mut cmd = Command::new(exe);
    cmd.arg0(title)
        .env(ENV_ROLE, "child")
        .env(ENV_WORKER_INDEX, worker_index.to_string())
        .env(ENV_WORKER_ID, id.to_string())
        // systemd's socket-passing convention (fd 3 on): the listening
        // socket, then the master's link.
        .env("LISTEN_FDS", "2")
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDS_FIRST_FD")
        .stdin(Stdio::null());
    cmd.fd_mappings(vec![
        FdMapping {
            parent_fd: socket,
            child_fd: 3,
        },
        FdMapping {
            parent_fd: master_end,
            child_fd: 4,
        },
    ])
    .map_err(io::Error::other)?;
    Ok(cmd)
}
