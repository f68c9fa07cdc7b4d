//! The master process: binds the listeners, starts `count` worker
//! processes per Worker by re-executing this binary, restarts the ones
//! that die, reloads them one at a time, answers the command line on the
//! control socket, and stops them.
//!
//! Every state change happens in one loop ([`Master::run`]) fed by one
//! channel: child exits, child messages, control requests and signals all
//! become [`Event`]s (actix's `ServerCommand` shape).

mod links;
mod reload;
mod setup;
mod spawn;
mod status;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::path::PathBuf;
use std::process::{ExitCode, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use nix::unistd::{Gid, Uid};
use tokio::sync::{mpsc, oneshot};
use workerman_core::process::signals::SignalAction;
use workerman_core::process::{ControlRequest, ControlResponse, FromChild, Phase, ToChild};
use workerman_core::Server;

use crate::files::{exe, process_files, remove_socket_file, Logger, ProcessFiles, ENV_DAEMON};
use crate::output;
use links::Reply;

/// A worker that died within this long of starting counts as a quick
/// failure: its restarts back off.
const QUICK_FAILURE: Duration = Duration::from_secs(1);
/// How long a reload step waits for the new process to be ready.
const RELOAD_STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// One Worker as the master sees it: its sockets and who runs it.
struct MasterWorker {
    name: String,
    listen: String,
    count: usize,
    reloadable: bool,
    /// One shared socket, or one per id with `reuse_port`.
    sockets: Vec<std::os::fd::OwnedFd>,
    unix_path: Option<PathBuf>,
    ids: Option<(Uid, Gid)>,
    exit_counts: BTreeMap<i32, u64>,
}

/// One (worker, id) position, filled by one process at a time (two
/// briefly while a replaced one drains).
struct Slot {
    worker: usize,
    id: usize,
    pid: Option<u32>,
    started: Instant,
    quick_failures: u32,
}

struct Child {
    slot: usize,
    link: mpsc::Sender<(ToChild, Option<Reply>)>,
    /// Told to drain and exit (reload, max_requests): its exit is not a
    /// failure and its slot already has a successor.
    retiring: bool,
}

enum Event {
    Exited {
        pid: u32,
        status: io::Result<ExitStatus>,
    },
    FromChild {
        pid: u32,
        msg: FromChild,
    },
    Control {
        req: ControlRequest,
        reply: oneshot::Sender<ControlResponse>,
    },
    Signal(SignalAction),
    Respawn(usize),
    ReloadStepTimeout {
        pid: u32,
    },
    KillStragglers,
}

/// Runs the master (the process `start` made) until it has stopped; the
/// exit code of the process.
pub(crate) fn run_master(server: Server) -> ExitCode {
    let deadlines = [server.stop_deadline(false), server.stop_deadline(true)];
    let (files, exe) = match process_files(&server).and_then(|f| Ok((f, exe()?))) {
        Ok(x) => x,
        Err(e) => {
            output::error(&format!("cannot find the program's executable: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let daemon = std::env::var(ENV_DAEMON).as_deref() == Ok("1");
    let log = Logger::start(files.log_file.clone(), !daemon);
    let code = serve(server, files, exe, daemon, &log, deadlines);
    // Every line written before the process exits.
    log.finish();
    code
}

/// The master's life after its files are known: lock, bind, pid file,
/// event loop, clean-up.
fn serve(
    server: Server,
    files: ProcessFiles,
    exe: PathBuf,
    daemon: bool,
    log: &Logger,
    deadlines: [Duration; 2],
) -> ExitCode {
    let echo = !daemon;
    let program = files.program.clone();
    let say = |msg: &str| log.line(msg);
    if daemon {
        if let Err(e) = nix::unistd::setsid() {
            say(&format!("Workerman[{program}] setsid failed: {e}"));
        }
    }
    // Held for the master's whole life: a second master cannot start, and
    // a dead master's lock goes with it (no stale lock file problem).
    let _lock = match setup::lock_pid_file(&files) {
        Ok(l) => l,
        Err(_) => {
            say(&format!("Workerman[{program}] already running"));
            return ExitCode::FAILURE;
        }
    };
    let workers = match setup::bind_all(&server) {
        Ok(w) => w,
        Err(e) => {
            say(&format!("Workerman[{program}] start failed: {e}"));
            if echo {
                output::error(&e.to_string());
            }
            return ExitCode::FAILURE;
        }
    };
    drop(server);
    if let Err(e) = std::fs::write(&files.pid_file, format!("{}\n", std::process::id())) {
        say(&format!(
            "Workerman[{program}] cannot write pid file {}: {e}",
            files.pid_file.display()
        ));
        return ExitCode::FAILURE;
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say(&format!(
                "Workerman[{program}] cannot start the master runtime: {e}"
            ));
            return ExitCode::FAILURE;
        }
    };
    let code = rt.block_on(async {
        let (events_tx, events_rx) = mpsc::channel(256);
        let mut master = Master {
            files: files.clone(),
            exe,
            echo,
            log: log.clone(),
            stop_deadlines: deadlines,
            workers,
            slots: Vec::new(),
            children: HashMap::new(),
            events_tx,
            phase: Phase::Running,
            reload_queue: VecDeque::new(),
            reload_graceful: false,
            reload_waiting: None,
            start_time: SystemTime::now(),
            samples: Arc::new(Mutex::new(HashMap::new())),
        };
        master.run(events_rx).await
    });
    drop(rt);
    let _ = std::fs::remove_file(&files.pid_file);
    let _ = std::fs::remove_file(&files.control_socket);
    let _ = std::fs::remove_file(files.pid_file.with_extension("lock"));
    code
}

/// Locks a mutex whose data stays valid if a holder panicked.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The master's state; only its event loop touches it.
struct Master {
    /// The program's files (pid, log, control socket).
    files: ProcessFiles,
    /// The binary worker processes are started from (the one on disk now).
    exe: PathBuf,
    /// In the foreground: the banner and log lines go to the terminal too.
    echo: bool,
    /// The log file's writer thread (writes never block the loop).
    log: Logger,
    /// How long a stop may take, plain and graceful, before the master
    /// kills what is left.
    stop_deadlines: [Duration; 2],
    workers: Vec<MasterWorker>,
    slots: Vec<Slot>,
    children: HashMap<u32, Child>,
    events_tx: mpsc::Sender<Event>,
    phase: Phase,
    reload_queue: VecDeque<usize>,
    reload_graceful: bool,
    /// The slot being reloaded and the pid of its new process.
    reload_waiting: Option<(usize, u32)>,
    start_time: SystemTime,
    /// The previous status sample per pid, for qps.
    samples: Arc<Mutex<HashMap<u32, (Instant, u64)>>>,
}

impl Master {
    fn log(&self, msg: &str) {
        self.log.line(msg);
    }

    async fn run(&mut self, mut events: mpsc::Receiver<Event>) -> ExitCode {
        if let Err(e) = self.listen_control() {
            self.log(&format!(
                "Workerman[{}] cannot open the control socket {}: {e}",
                self.files.program,
                self.files.control_socket.display()
            ));
            return ExitCode::FAILURE;
        }
        self.listen_signals();
        for (w, worker) in self.workers.iter().enumerate() {
            for id in 0..worker.count {
                self.slots.push(Slot {
                    worker: w,
                    id,
                    pid: None,
                    started: Instant::now(),
                    quick_failures: 0,
                });
            }
        }
        for slot in 0..self.slots.len() {
            if let Err(e) = self.spawn(slot) {
                self.log(&format!(
                    "Workerman[{}] cannot start a worker process: {e}",
                    self.files.program
                ));
                self.stop(false);
            }
        }
        output::banner(
            &self.banner_rows(),
            self.echo,
            &self.log,
            &self.files.program,
        );
        while let Some(event) = events.recv().await {
            self.handle(event);
            if self.phase == Phase::Stopping && self.children.is_empty() {
                break;
            }
        }
        for w in &self.workers {
            if let Some(p) = &w.unix_path {
                remove_socket_file(p);
            }
        }
        self.log(&format!(
            "Workerman[{}] has been stopped",
            self.files.program
        ));
        ExitCode::SUCCESS
    }

    /// The banner's rows: user, worker, listen, processes.
    fn banner_rows(&self) -> Vec<[String; 4]> {
        self.workers
            .iter()
            .map(|w| {
                let uid = w.ids.map(|(uid, _)| uid).unwrap_or_else(Uid::effective);
                let user = match nix::unistd::User::from_uid(uid) {
                    Ok(Some(u)) => u.name,
                    _ => uid.to_string(),
                };
                [user, w.name.clone(), w.listen.clone(), w.count.to_string()]
            })
            .collect()
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Exited { pid, status } => self.exited(pid, status),
            Event::FromChild { pid, msg } => self.child_message(pid, msg),
            Event::Control { req, reply } => self.control(req, reply),
            Event::Signal(SignalAction::Stop { graceful }) => self.stop(graceful),
            Event::Signal(SignalAction::Reload { graceful }) => self.reload(graceful),
            Event::Respawn(slot) => {
                if self.phase != Phase::Stopping && self.slots[slot].pid.is_none() {
                    if let Err(e) = self.spawn(slot) {
                        self.log(&format!(
                            "Workerman[{}] cannot restart a worker process: {e}",
                            self.files.program
                        ));
                        self.schedule_respawn(slot);
                    }
                }
            }
            Event::ReloadStepTimeout { pid } => {
                if self.reload_waiting.map(|(_, p)| p) == Some(pid) {
                    self.log(&format!(
                        "Workerman[{}] reload: process {pid} not ready in time; going on",
                        self.files.program
                    ));
                    self.reload_step();
                }
            }
            Event::KillStragglers => {
                for pid in self.children.keys() {
                    tracing::warn!(pid, "did not stop in time; killing");
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(*pid as i32),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
    }
}
