//! The command line of workerman-rs: Workerman's `start [-d] | stop [-g] |
//! restart [-d] [-g] | reload [-g] | status [-d] [--json] | connections`.
//!
//! A program hands its workers to [`run_all`] (or calls
//! [`RunAll::run_all`] on one worker or a server) and never returns: the
//! same binary is the command line, the master and every worker process
//! (see `workerman_core::process`).
//!
//! ```no_run
//! use workerman_cli::RunAll;
//! use workerman_core::{async_trait, Connection, Service, Worker};
//! use workerman_protocols::{Payload, Text};
//!
//! struct Echo;
//!
//! #[async_trait]
//! impl Service for Echo {
//!     type Protocol = Text;
//!     async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
//!         let _ = conn.send(msg);
//!     }
//! }
//!
//! fn main() {
//!     Worker::new("text://127.0.0.1:5678", Echo).count(4).run_all()
//! }
//! ```
//!
//! Then `./echo start -d`, `./echo status`, `./echo reload`, `./echo stop`.
//! An unknown command prints the usage and exits with status 2.
//!
//! # Command line and supervisor
//!
//! This crate is the layer above `workerman-core` that deals with
//! processes: the command line, the master process that supervises the
//! worker processes, and the program's pid, log and stdout files. Core
//! runs Workers (in this process with `Server::run`, or as one worker
//! process of a master) and offers the master one seam,
//! `workerman_core::process`: bind the Workers' sockets, the command that
//! starts a worker process with one of them, and the typed messages a
//! worker process answers. Keeping the supervisor here means core holds no
//! process management, and everything the operator reads on the terminal
//! is printed from one module (`output.rs`).
//!
//! * `commands.rs`: `start`, `stop`, `restart`, `reload`, `status`,
//!   `connections` (`execute`), and `request`, the control-socket client;
//! * `supervisor/`: the master: `mod.rs` its state and event loop,
//!   `setup.rs` the pid-file lock and the sockets, `spawn.rs` starting and
//!   restarting processes (with back-off), `reload.rs` stop and reload,
//!   `status.rs` the control requests and the status report, `links.rs`
//!   the control socket, the signals and each child's socket pair;
//! * `files.rs`: where the process files are, the master-alive check, log
//!   lines and the master's log writer thread;
//! * `output.rs`: the terminal; `render.rs`: the status and connections
//!   tables; `args.rs`: the command line's grammar.
//!
//! # The process model
//!
//! One binary plays three roles, chosen by the environment it starts in:
//!
//! * **command line**: the program as the operator runs it. `start` checks
//!   that no master runs, then becomes the master: in the foreground it
//!   re-executes itself in place (same pid, new process title); with `-d`
//!   it starts the master detached (`setsid`, stdout and stderr to the
//!   stdout file) and returns once the master answers. Other commands talk
//!   to the running master over its control socket.
//! * **master**: binds every listener, writes the pid file, opens the
//!   control socket (mode 0600), and starts `count` worker processes per
//!   Worker by re-executing the binary *on disk now* with the worker's
//!   identity in the environment, its listening socket as fd 3 and a
//!   private socket pair to the master as fd 4. It never forks a process
//!   that runs a tokio runtime.
//! * **worker process**: builds the same program (so `main` must build the
//!   same workers in the same order every time), picks its Worker and id
//!   from the environment, and runs that one instance.
//!
//! ## Signals
//!
//! The master keeps Workerman's current mapping for `kill` and systemd
//! users: SIGINT, SIGTERM, SIGHUP stop; SIGQUIT stops gracefully; SIGUSR1
//! reloads; SIGUSR2 reloads gracefully. A worker process reacts to the same
//! signals for itself (and the master restarts it unless the master is
//! stopping). Both read the mapping from one table
//! (`workerman_core::process::signals::TABLE`). Status and connections go
//! through the control socket, not SIGIOT/SIGIO files.
//!
//! ## Stop and reload
//!
//! * `stop`: every worker process stops accepting, runs `on_worker_stop`,
//!   closes its connections (flushing what is queued) and exits; one still
//!   running after the shutdown timeout (+1 s) is killed.
//! * `stop -g`: processes stop accepting and let their connections finish,
//!   for up to the grace timeout, then stop as above.
//! * `reload`: the processes of reloadable Workers are replaced one at a
//!   time. Each step tells the old process to stop accepting and to let its
//!   connections finish (for up to 2 s with `reload`, the grace timeout
//!   with `reload -g`), starts its successor at once from the binary now on
//!   disk, and waits until the successor has run `on_worker_start` before
//!   the next step. The listening sockets stay open in the master the whole
//!   time, so no connection waiting to be accepted is lost. Processes of
//!   `reloadable(false)` Workers get `on_worker_reload` and keep running.
//! * `max_requests`: a process that reached it drains like a reload step
//!   and its successor starts at once.
//! * A process that dies is restarted with the same id; one that dies
//!   within a second of starting, again and again, is restarted with a
//!   back-off (100 ms doubling to 5 s).
#![doc(test(attr(deny(warnings))))]

mod args;
mod commands;
mod files;
mod output;
mod render;
mod supervisor;

use std::process::ExitCode;

use clap::Parser;
use workerman_core::process::{self, Role};
use workerman_core::{Server, Service, Worker};

pub use args::{Cli, Command};
pub use commands::{execute, request};
pub use files::{pid_alive, process_files, ProcessFiles};
pub use render::{connections_table, status_table};

/// Runs the program as the command line says, and exits the process with
/// the command's exit status. Never returns.
pub fn run_all(server: Server) -> ! {
    let code = match process::role() {
        Role::Master => supervisor::run_master(server),
        Role::Worker => process::run_worker_process(server),
        _ => match Cli::try_parse() {
            Ok(cli) => execute(server, cli.command),
            Err(e) => {
                // clap prints the usage; exit status 2 for a bad command
                // line, 0 for --help and --version.
                output::usage(&e);
                std::process::exit(if e.use_stderr() { 2 } else { 0 });
            }
        },
    };
    exit(code)
}

fn exit(code: ExitCode) -> ! {
    output::flush();
    std::process::exit(if code == ExitCode::SUCCESS { 0 } else { 1 })
}

/// `run_all` as a method: `Worker::new(...).run_all()` or
/// `Server::new().worker(a).worker(b).run_all()`.
pub trait RunAll {
    /// See [`run_all`].
    fn run_all(self) -> !;
}

impl RunAll for Server {
    fn run_all(self) -> ! {
        run_all(self)
    }
}

impl<S: Service> RunAll for Worker<S> {
    fn run_all(self) -> ! {
        run_all(Server::new().worker(self))
    }
}
