//! The process model: a master process supervising worker processes, and
//! the operations behind the command line (`start [-d]`, `stop [-g]`,
//! `reload [-g]`, `status`, `connections`).
//!
//! `workerman::run_all` (in `workerman-cli`) parses the command line and
//! calls into this module; programs do not call it directly.
//!
//! # How processes are made
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
//! # Signals
//!
//! The master keeps Workerman's current mapping for `kill` and systemd
//! users: SIGINT, SIGTERM, SIGHUP stop; SIGQUIT stops gracefully; SIGUSR1
//! reloads; SIGUSR2 reloads gracefully. A worker process reacts to the same
//! signals for itself (and the master restarts it unless the master is
//! stopping). Both read the mapping from one table (`signals::TABLE`). Status and connections go through the control socket, not
//! SIGIOT/SIGIO files.
//!
//! # Stop and reload
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

mod child;
mod control;
mod files;
mod master;
mod role;
mod signals;

use std::io::{self, BufRead, Write};
use std::os::unix::process::CommandExt;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

pub use control::{
    ConnectionRow, ConnectionState, ControlRequest, ControlResponse, ExitCount, Phase,
    ProcessStatus, ProtocolName, StatusReport, TransportKind, WorkerSummary,
};
pub use files::{pid_alive, ProcessFiles};
pub use role::{role, Role};

use role::{exe, ENV_DAEMON, ENV_EXE, ENV_ROLE, ENV_WORKER_ID, ENV_WORKER_INDEX};

pub(crate) use child::{run_child, ChildSetup, Timeouts};

use crate::addr::{parse_address, Target};
use crate::listener::StdListener;
use crate::Server;

impl Server {
    /// The process files of this program (see [`ProcessFiles`]).
    ///
    /// # Errors
    ///
    /// When the path of the running executable cannot be found.
    pub fn process_files(&self) -> io::Result<ProcessFiles> {
        Ok(ProcessFiles::resolve(
            &exe()?,
            self.pid_file.as_deref(),
            self.log_file.as_deref(),
            self.stdout_file.as_deref(),
        ))
    }

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

/// `start [-d]`: refuses if a master runs, else becomes (or starts) the
/// master. In the foreground this only returns on failure.
pub fn start(server: Server, daemon: bool) -> ExitCode {
    let daemon = daemon || server.daemonize;
    let (files, exe) = match server.process_files().and_then(|f| Ok((f, exe()?))) {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = %e, "cannot find the program's executable");
            return ExitCode::FAILURE;
        }
    };
    if let Some(pid) = files.master_pid() {
        files.log(
            &format!(
                "Workerman[{}] already running (master pid {pid})",
                files.program
            ),
            true,
        );
        return ExitCode::FAILURE;
    }
    let mut cmd = std::process::Command::new(&exe);
    cmd.arg0(format!(
        "{}  start_file={}",
        files::MASTER_TITLE,
        exe.display()
    ))
    .args(std::env::args_os().skip(1))
    .env(ENV_ROLE, "master")
    .env(ENV_EXE, &exe)
    .env(ENV_DAEMON, if daemon { "1" } else { "0" });
    if !daemon {
        // Same pid, same terminal: the master in the foreground.
        let e = cmd.exec();
        tracing::error!(error = %e, "cannot start the master");
        return ExitCode::FAILURE;
    }
    let out = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&files.stdout_file)
        .and_then(|f| Ok((f.try_clone()?, f)))
    {
        Ok(x) => x,
        Err(e) => {
            files.log(
                &format!(
                    "Can not open stdoutFile {}: {e}",
                    files.stdout_file.display()
                ),
                true,
            );
            return ExitCode::FAILURE;
        }
    };
    cmd.stdin(Stdio::null()).stdout(out.0).stderr(out.1);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            files.log(
                &format!("Workerman[{}] cannot start the master: {e}", files.program),
                true,
            );
            return ExitCode::FAILURE;
        }
    };
    // Wait until the master answers on its control socket.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            print_line(&format!(
                "Workerman[{}] start failed ({status}); last lines of {}:",
                files.program,
                files.log_file.display()
            ));
            print_log_tail(&files, 5);
            return ExitCode::FAILURE;
        }
        if matches!(
            request(&files, &ControlRequest::Status),
            Ok(ControlResponse::Status(_))
        ) {
            break;
        }
        if Instant::now() > deadline {
            print_line(&format!(
                "Workerman[{}] master did not answer in time",
                files.program
            ));
            return ExitCode::FAILURE;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    print_line(&format!(
        "Workerman[{}] start in DAEMON mode (master pid {})\nInput \"{} stop\" to stop. Start success.\n",
        files.program,
        child.id(),
        exe.display()
    ));
    ExitCode::SUCCESS
}

fn print_line(s: &str) {
    // The command line's own output to the operator.
    let _ = writeln!(io::stdout(), "{s}");
}

fn print_log_tail(files: &ProcessFiles, n: usize) {
    if let Ok(f) = std::fs::File::open(&files.log_file) {
        let lines: Vec<String> = io::BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .collect();
        for l in &lines[lines.len().saturating_sub(n)..] {
            print_line(l);
        }
    }
}

/// Runs the master (the process [`start`] made).
pub fn run_master(server: Server) -> ExitCode {
    let timeouts = server.timeouts();
    let (files, exe) = match server.process_files().and_then(|f| Ok((f, exe()?))) {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = %e, "cannot find the program's executable");
            return ExitCode::FAILURE;
        }
    };
    master::run_master(master::MasterSetup {
        workers: server.workers,
        files,
        exe,
        daemon: std::env::var(ENV_DAEMON).as_deref() == Ok("1"),
        timeouts,
    })
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

/// Sends one request to the running master and returns its answer.
///
/// # Errors
///
/// No master listens on the control socket, or it answered nonsense.
pub fn request(files: &ProcessFiles, req: &ControlRequest) -> io::Result<ControlResponse> {
    let mut stream = std::os::unix::net::UnixStream::connect(&files.control_socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = serde_json::to_vec(req).map_err(io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut answer = String::new();
    io::BufReader::new(stream).read_line(&mut answer)?;
    serde_json::from_str(&answer).map_err(io::Error::other)
}
