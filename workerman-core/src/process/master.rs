//! The master process: binds the listeners, starts `count` worker
//! processes per Worker by re-executing this binary, restarts the ones
//! that die, reloads them one at a time, answers the command line on the
//! control socket, and stops them.
//!
//! Every state change happens in one loop ([`Master::run`]) fed by one
//! channel: child exits, child messages, control requests and signals all
//! become [`Event`]s (actix's `ServerCommand` shape).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{ExitCode, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::signals::{SignalAction, Signals};
use command_fds::{CommandFdExt, FdMapping};
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Gid, Uid};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::child::Timeouts;
use super::control::{
    ControlRequest, ControlResponse, ExitCount, FromChild, Phase, ProcessStatus, StatusReport,
    ToChild, WorkerSummary,
};
use super::files::{load_average, log_line, ProcessFiles};
use super::role::{ENV_ROLE, ENV_WORKER_ID, ENV_WORKER_INDEX};
use crate::addr::Target;
use crate::listener::{remove_socket_file, StdListener};
use crate::server::WorkerLauncher;
use crate::sync::lock;
use crate::SocketAddress;

/// A worker that died within this long of starting counts as a quick
/// failure: its restarts back off.
const QUICK_FAILURE: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long a reload step waits for the new process to be ready.
const RELOAD_STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the master waits for a child's status answer (Workerman: 1 s).
const STATUS_WAIT: Duration = Duration::from_secs(1);

/// Everything the master needs, from `run_all`.
pub(crate) struct MasterSetup {
    pub(crate) workers: Vec<Box<dyn WorkerLauncher>>,
    pub(crate) files: ProcessFiles,
    pub(crate) exe: PathBuf,
    pub(crate) daemon: bool,
    pub(crate) timeouts: Timeouts,
}

/// One Worker as the master sees it: its sockets and who runs it.
struct MasterWorker {
    name: String,
    listen: String,
    count: usize,
    reloadable: bool,
    /// One shared socket, or one per id with `reuse_port`.
    listeners: Vec<StdListener>,
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

type Reply = oneshot::Sender<FromChild>;

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

/// Runs the master until it has stopped; the exit code of the process.
pub(crate) fn run_master(setup: MasterSetup) -> ExitCode {
    let echo = !setup.daemon;
    let files = setup.files.clone();
    let say = |msg: &str| log_line(&files.log_file, msg, echo);
    if setup.daemon {
        if let Err(e) = nix::unistd::setsid() {
            say(&format!("Workerman[{}] setsid failed: {e}", files.program));
        }
    }
    // Held for the master's whole life: a second master cannot start, and
    // a dead master's lock goes with it (no stale lock file problem).
    let _lock = match lock_pid_file(&files) {
        Ok(l) => l,
        Err(_) => {
            say(&format!("Workerman[{}] already running", files.program));
            return ExitCode::FAILURE;
        }
    };
    let workers = match bind_all(setup.workers) {
        Ok(w) => w,
        Err(e) => {
            say(&format!("Workerman[{}] start failed: {e}", files.program));
            eprintln_if(echo, &e);
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(&files.pid_file, format!("{}\n", std::process::id())) {
        say(&format!(
            "Workerman[{}] cannot write pid file {}: {e}",
            files.program,
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
                "Workerman[{}] cannot start the master runtime: {e}",
                files.program
            ));
            return ExitCode::FAILURE;
        }
    };
    let code = rt.block_on(async move {
        let (events_tx, events_rx) = mpsc::channel(256);
        let mut master = Master {
            files: setup.files,
            exe: setup.exe,
            echo,
            timeouts: setup.timeouts,
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
    let _ = std::fs::remove_file(&files.pid_file);
    let _ = std::fs::remove_file(&files.control_socket);
    let _ = std::fs::remove_file(files.pid_file.with_extension("lock"));
    code
}

fn eprintln_if(echo: bool, e: &dyn std::fmt::Display) {
    if echo {
        // The operator's terminal, before anything else runs.
        let _ = std::io::Write::write_fmt(&mut std::io::stderr(), format_args!("{e}\n"));
    }
}

fn lock_pid_file(files: &ProcessFiles) -> io::Result<Flock<File>> {
    let path = files.pid_file.with_extension("lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    Flock::lock(f, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| io::Error::from(errno))
}

/// Binds every Worker's sockets in the master (so children inherit them,
/// privileged ports work, and a replaced process never drops the
/// connections waiting in a backlog), and resolves users.
fn bind_all(launchers: Vec<Box<dyn WorkerLauncher>>) -> Result<Vec<MasterWorker>, crate::Error> {
    let mut out = Vec::new();
    for l in launchers {
        let config = l.config();
        let bound = crate::server::bind_worker(config, l.scheme(), config.count, false)?;
        let (listeners, addr, target) = (bound.listeners, bound.addr, bound.target);
        let ids = resolve_ids(config.user.as_deref(), config.group.as_deref());
        let unix_path = match &target {
            Target::Unix(p) => {
                if let Some((uid, gid)) = ids {
                    if let Err(e) = nix::unistd::chown(p, Some(uid), Some(gid)) {
                        tracing::warn!(path = %p.display(), error = %e, "cannot chown the unix socket");
                    }
                }
                Some(p.clone())
            }
            Target::Inet(_) => None,
        };
        let listen = match &addr {
            SocketAddress::Inet(a) => format!(
                "{}://{a}",
                config.address.split("://").next().unwrap_or("tcp")
            ),
            SocketAddress::Unix(_) => config.address.clone(),
        };
        out.push(MasterWorker {
            name: config.name.clone(),
            listen,
            count: config.count,
            reloadable: config.reloadable,
            listeners,
            unix_path,
            ids,
            exit_counts: BTreeMap::new(),
        });
    }
    Ok(out)
}

/// The uid and gid for a Worker's `user`/`group`; `None` (with a warning)
/// when not root or unknown, as Workerman does.
fn resolve_ids(user: Option<&str>, group: Option<&str>) -> Option<(Uid, Gid)> {
    let name = user?;
    if !Uid::effective().is_root() {
        tracing::warn!(
            user = name,
            "you must have the root privileges to change uid and gid"
        );
        return None;
    }
    let u = match nix::unistd::User::from_name(name) {
        Ok(Some(u)) => u,
        _ => {
            tracing::warn!(user = name, "user does not exist");
            return None;
        }
    };
    let gid = match group {
        None => u.gid,
        Some(g) => match nix::unistd::Group::from_name(g) {
            Ok(Some(g)) => g.gid,
            _ => {
                tracing::warn!(group = g, "group does not exist");
                u.gid
            }
        },
    };
    Some((u.uid, gid))
}

struct Master {
    files: ProcessFiles,
    exe: PathBuf,
    echo: bool,
    timeouts: Timeouts,
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
        log_line(&self.files.log_file, msg, self.echo);
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
        self.banner();
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

    fn banner(&self) {
        let mode = if self.echo { "DEBUG" } else { "DAEMON" };
        self.log(&format!(
            "Workerman[{}] start in {mode} mode",
            self.files.program
        ));
        if !self.echo {
            return;
        }
        let rows: Vec<[String; 4]> = self
            .workers
            .iter()
            .map(|w| {
                let uid = w.ids.map(|(uid, _)| uid).unwrap_or_else(Uid::effective);
                let user = match nix::unistd::User::from_uid(uid) {
                    Ok(Some(u)) => u.name,
                    _ => uid.to_string(),
                };
                [user, w.name.clone(), w.listen.clone(), w.count.to_string()]
            })
            .collect();
        let mut out = String::new();
        out.push_str(&format!(
            "------------------------------ WORKERMAN-RS ------------------------------\nworkerman-rs version:{}  master pid:{}\n------------------------------- WORKERS ----------------------------------\n",
            env!("CARGO_PKG_VERSION"),
            std::process::id()
        ));
        let head = ["user", "worker", "listen", "processes"];
        let widths: Vec<usize> = (0..4)
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].len())
                    .chain([head[i].len()])
                    .max()
                    .unwrap_or(0)
                    + 4
            })
            .collect();
        let fmt_row = |cells: [&str; 5]| {
            let mut line = String::new();
            for (i, c) in cells.iter().enumerate().take(4) {
                line.push_str(&format!("{c:<w$}", w = widths[i]));
            }
            line.push_str(cells[4]);
            line.push('\n');
            line
        };
        out.push_str(&fmt_row([head[0], head[1], head[2], head[3], "status"]));
        for r in &rows {
            out.push_str(&fmt_row([&r[0], &r[1], &r[2], &r[3], "[OK]"]));
        }
        out.push_str(
            "--------------------------------------------------------------------------\n",
        );
        out.push_str("Press Ctrl+C to stop. Start success.\n");
        // The operator's terminal: the start-up banner.
        let _ = std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes());
    }

    fn listen_control(&self) -> io::Result<()> {
        let path = &self.files.control_socket;
        if path.exists() {
            std::fs::remove_file(path)?;
        }
        // Created with mode 0600: only the owner can stop or reload.
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
        let bound = UnixListener::bind(path);
        nix::sys::stat::umask(old);
        let listener = bound?;
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve_control(stream, tx).await {
                        tracing::debug!(error = %e, "control connection failed");
                    }
                });
            }
        });
        Ok(())
    }

    fn listen_signals(&self) {
        let mut signals = Signals::listen();
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            loop {
                let action = signals.next().await;
                if tx.send(Event::Signal(action)).await.is_err() {
                    return;
                }
            }
        });
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

    /// Starts a process for `slot`.
    fn spawn(&mut self, slot_idx: usize) -> io::Result<u32> {
        let slot = &self.slots[slot_idx];
        let w = &self.workers[slot.worker];
        let listener = &w.listeners[if w.listeners.len() > 1 { slot.id } else { 0 }];
        let listener_fd: OwnedFd = listener.try_clone_fd()?;
        let (master_end, child_end) = std::os::unix::net::UnixStream::pair()?;
        let mut cmd = std::process::Command::new(&self.exe);
        cmd.arg0(format!(
            "WorkerMan: worker process  {} {}",
            w.name, w.listen
        ))
        .env(ENV_ROLE, "child")
        .env(ENV_WORKER_INDEX, slot.worker.to_string())
        .env(ENV_WORKER_ID, slot.id.to_string())
        .env("LISTEN_FDS", "2")
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDS_FIRST_FD")
        .stdin(Stdio::null());
        cmd.fd_mappings(vec![
            FdMapping {
                parent_fd: listener_fd,
                child_fd: 3,
            },
            FdMapping {
                parent_fd: OwnedFd::from(child_end),
                child_fd: 4,
            },
        ])
        .map_err(io::Error::other)?;
        if let Some((uid, gid)) = w.ids {
            cmd.uid(uid.as_raw()).gid(gid.as_raw());
        }
        let mut child = tokio::process::Command::from(cmd).spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| io::Error::other("child exited at once"))?;
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            let _ = tx.send(Event::Exited { pid, status }).await;
        });
        master_end.set_nonblocking(true)?;
        let stream = UnixStream::from_std(master_end)?;
        let (link_tx, link_rx) = mpsc::channel(16);
        tokio::spawn(child_link(stream, pid, self.events_tx.clone(), link_rx));
        let slot = &mut self.slots[slot_idx];
        slot.pid = Some(pid);
        slot.started = Instant::now();
        self.children.insert(
            pid,
            Child {
                slot: slot_idx,
                link: link_tx,
                retiring: false,
            },
        );
        tracing::debug!(pid, worker = %w.name, id = slot.id, "worker process started");
        Ok(pid)
    }

    fn exited(&mut self, pid: u32, status: io::Result<ExitStatus>) {
        let Some(child) = self.children.remove(&pid) else {
            return;
        };
        let raw = status.as_ref().map(|s| s.into_raw()).unwrap_or(-1);
        let slot_idx = child.slot;
        let (worker_idx, id) = (self.slots[slot_idx].worker, self.slots[slot_idx].id);
        let name = self.workers[worker_idx].name.clone();
        *self.workers[worker_idx].exit_counts.entry(raw).or_insert(0) += 1;
        lock(&self.samples).remove(&pid);
        let how = match &status {
            Ok(s) => match (s.code(), s.signal()) {
                (Some(c), _) => format!("code {c}"),
                (None, Some(sig)) => format!("signal {sig}"),
                _ => "unknown".to_owned(),
            },
            Err(e) => format!("unknown ({e})"),
        };
        if raw != 0 || !child.retiring && self.phase != Phase::Stopping {
            self.log(&format!(
                "worker[{name}:{pid}] exit with status {raw} ({how})"
            ));
        }
        if self.slots[slot_idx].pid != Some(pid) {
            // A replaced process finished draining.
            return;
        }
        self.slots[slot_idx].pid = None;
        if self.phase == Phase::Stopping {
            return;
        }
        if self.reload_waiting.map(|(_, p)| p) == Some(pid) {
            self.reload_step();
        }
        let lived = self.slots[slot_idx].started.elapsed();
        let slot = &mut self.slots[slot_idx];
        slot.quick_failures = if lived < QUICK_FAILURE {
            slot.quick_failures + 1
        } else {
            0
        };
        self.log(&format!("worker[{name}] id {id} restarting"));
        self.schedule_respawn(slot_idx);
    }

    /// Respawns at once after a process that lived, with back-off after
    /// processes that die at once again and again.
    fn schedule_respawn(&self, slot: usize) {
        let n = self.slots[slot].quick_failures;
        let delay = if n == 0 {
            Duration::ZERO
        } else {
            (Duration::from_millis(100) * 2u32.saturating_pow(n.min(16) - 1)).min(MAX_BACKOFF)
        };
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(Event::Respawn(slot)).await;
        });
    }

    fn child_message(&mut self, pid: u32, msg: FromChild) {
        match msg {
            FromChild::Ready => {
                if self.reload_waiting.map(|(_, p)| p) == Some(pid) {
                    self.reload_step();
                }
            }
            FromChild::Retiring => {
                let Some(child) = self.children.get_mut(&pid) else {
                    return;
                };
                child.retiring = true;
                let slot = child.slot;
                if self.phase != Phase::Stopping && self.slots[slot].pid == Some(pid) {
                    self.slots[slot].pid = None;
                    self.log(&format!(
                        "worker process {pid} reached max_requests; starting its successor"
                    ));
                    if let Err(e) = self.spawn(slot) {
                        self.log(&format!(
                            "Workerman[{}] cannot start a worker process: {e}",
                            self.files.program
                        ));
                        self.schedule_respawn(slot);
                    }
                }
            }
            FromChild::Status(_) | FromChild::Connections { .. } => {}
        }
    }

    fn control(&mut self, req: ControlRequest, reply: oneshot::Sender<ControlResponse>) {
        let ok = ControlResponse::Ok {
            master_pid: std::process::id(),
        };
        match req {
            ControlRequest::Stop { graceful } => {
                let _ = reply.send(ok);
                self.stop(graceful);
            }
            ControlRequest::Reload { graceful } => {
                let _ = reply.send(ok);
                self.reload(graceful);
            }
            ControlRequest::Status => {
                let collect = self.status_collector();
                tokio::spawn(async move {
                    let _ = reply.send(ControlResponse::Status(collect.await));
                });
            }
            ControlRequest::Connections => {
                let links: Vec<_> = self.children.values().map(|c| c.link.clone()).collect();
                tokio::spawn(async move {
                    let mut rows = Vec::new();
                    for link in links {
                        if let Some(FromChild::Connections { rows: r }) =
                            ask(&link, ToChild::Connections).await
                        {
                            rows.extend(r);
                        }
                    }
                    let _ = reply.send(ControlResponse::Connections { rows });
                });
            }
        }
    }

    /// A future that asks every process for its status (concurrently, one
    /// second each) and builds the report.
    fn status_collector(&self) -> impl std::future::Future<Output = StatusReport> + Send + 'static {
        let mut procs: Vec<_> = self
            .children
            .iter()
            .map(|(pid, c)| {
                let slot = &self.slots[c.slot];
                let w = &self.workers[slot.worker];
                (
                    *pid,
                    w.name.clone(),
                    slot.id,
                    w.listen.clone(),
                    c.retiring,
                    c.link.clone(),
                )
            })
            .collect();
        procs.sort_by(|a, b| (&a.1, a.2, a.0).cmp(&(&b.1, b.2, b.0)));
        let workers: Vec<WorkerSummary> = self
            .workers
            .iter()
            .map(|w| WorkerSummary {
                name: w.name.clone(),
                listen: w.listen.clone(),
                count: w.count,
                reloadable: w.reloadable,
                exit_statuses: w
                    .exit_counts
                    .iter()
                    .map(|(status, count)| ExitCount {
                        status: *status,
                        count: *count,
                    })
                    .collect(),
            })
            .collect();
        let start = self.start_time;
        let phase = self.phase;
        let samples = Arc::clone(&self.samples);
        async move {
            let answers =
                futures::future::join_all(procs.iter().map(|p| ask(&p.5, ToChild::Status))).await;
            let now = Instant::now();
            let processes = procs
                .into_iter()
                .zip(answers)
                .map(
                    |((pid, worker, id, listen, retiring, _), answer)| match answer {
                        Some(FromChild::Status(s)) => {
                            let qps = match lock(&samples).insert(pid, (now, s.total_request)) {
                                Some((t, n)) => {
                                    let secs = now.duration_since(t).as_secs_f64();
                                    if secs > 0.0 {
                                        s.total_request.saturating_sub(n) as f64 / secs
                                    } else {
                                        0.0
                                    }
                                }
                                None => 0.0,
                            };
                            ProcessStatus {
                                pid,
                                worker,
                                id,
                                listen,
                                retiring,
                                busy: false,
                                memory_bytes: Some(s.memory_bytes),
                                connections: Some(s.connections),
                                send_fail: Some(s.send_fail),
                                timers: Some(s.timers),
                                total_request: Some(s.total_request),
                                qps: Some(qps),
                            }
                        }
                        _ => ProcessStatus {
                            pid,
                            worker,
                            id,
                            listen,
                            retiring,
                            busy: true,
                            memory_bytes: None,
                            connections: None,
                            send_fail: None,
                            timers: None,
                            total_request: None,
                            qps: None,
                        },
                    },
                )
                .collect();
            let start_time = start
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            StatusReport {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                master_pid: std::process::id(),
                start_time,
                uptime_secs: start.elapsed().map(|d| d.as_secs()).unwrap_or(0),
                load_average: load_average(),
                phase,
                workers,
                processes,
            }
        }
    }

    fn stop(&mut self, graceful: bool) {
        if self.phase == Phase::Stopping {
            return;
        }
        self.phase = Phase::Stopping;
        self.reload_queue.clear();
        self.reload_waiting = None;
        let how = if graceful {
            "is gracefully stopping ..."
        } else {
            "is stopping ..."
        };
        self.log(&format!("Workerman[{}] {how}", self.files.program));
        for child in self.children.values() {
            let _ = child.link.try_send((ToChild::Stop { graceful }, None));
        }
        let deadline = self.timeouts.shutdown
            + if graceful {
                self.timeouts.grace
            } else {
                Duration::ZERO
            }
            + Duration::from_secs(1);
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(deadline).await;
            let _ = tx.send(Event::KillStragglers).await;
        });
    }

    fn reload(&mut self, graceful: bool) {
        if self.phase != Phase::Running {
            tracing::info!("reload ignored: already reloading or stopping");
            return;
        }
        self.log(&format!("Workerman[{}] reloading", self.files.program));
        self.phase = Phase::Reloading;
        self.reload_graceful = graceful;
        for (idx, slot) in self.slots.iter().enumerate() {
            let w = &self.workers[slot.worker];
            if w.reloadable {
                self.reload_queue.push_back(idx);
            } else if let Some(c) = slot.pid.and_then(|p| self.children.get(&p)) {
                let _ = c.link.try_send((ToChild::Reload { graceful }, None));
            }
        }
        self.reload_step();
    }

    /// Replaces the next process: the old one stops accepting and drains,
    /// its successor (the binary now on disk) starts at once; the next
    /// step waits until the successor is ready.
    fn reload_step(&mut self) {
        self.reload_waiting = None;
        while let Some(slot) = self.reload_queue.pop_front() {
            if let Some(old) = self.slots[slot].pid {
                if let Some(c) = self.children.get_mut(&old) {
                    c.retiring = true;
                    let _ = c.link.try_send((
                        ToChild::Reload {
                            graceful: self.reload_graceful,
                        },
                        None,
                    ));
                }
            }
            self.slots[slot].pid = None;
            self.slots[slot].quick_failures = 0;
            match self.spawn(slot) {
                Ok(pid) => {
                    self.reload_waiting = Some((slot, pid));
                    let tx = self.events_tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(RELOAD_STEP_TIMEOUT).await;
                        let _ = tx.send(Event::ReloadStepTimeout { pid }).await;
                    });
                    return;
                }
                Err(e) => {
                    self.log(&format!(
                        "Workerman[{}] reload: cannot start a worker process: {e}",
                        self.files.program
                    ));
                    self.schedule_respawn(slot);
                }
            }
        }
        if self.phase == Phase::Reloading {
            self.phase = Phase::Running;
            self.log(&format!("Workerman[{}] reload done", self.files.program));
        }
    }
}

/// Sends `msg` to a child and waits up to [`STATUS_WAIT`] for its answer.
async fn ask(link: &mpsc::Sender<(ToChild, Option<Reply>)>, msg: ToChild) -> Option<FromChild> {
    let (tx, rx) = oneshot::channel();
    link.send((msg, Some(tx))).await.ok()?;
    tokio::time::timeout(STATUS_WAIT, rx).await.ok()?.ok()
}

/// The master's end of one child's socket pair: commands out, answers and
/// notices in. Answers come back in request order.
async fn child_link(
    stream: UnixStream,
    pid: u32,
    events: mpsc::Sender<Event>,
    mut commands: mpsc::Receiver<(ToChild, Option<Reply>)>,
) {
    let (rd, mut wr) = stream.into_split();
    let mut lines = BufReader::new(rd).lines();
    let mut pending: VecDeque<Reply> = VecDeque::new();
    loop {
        tokio::select! {
            cmd = commands.recv() => {
                let Some((msg, reply)) = cmd else { return };
                let Ok(mut line) = serde_json::to_vec(&msg) else { continue };
                line.push(b'\n');
                if wr.write_all(&line).await.is_err() {
                    return;
                }
                if let Some(r) = reply {
                    pending.push_back(r);
                }
            }
            line = lines.next_line() => {
                let Ok(Some(line)) = line else { return };
                match serde_json::from_str::<FromChild>(&line) {
                    Ok(msg @ (FromChild::Status(_) | FromChild::Connections { .. })) => {
                        // A late answer whose asker gave up is dropped.
                        if let Some(r) = pending.pop_front() {
                            let _ = r.send(msg);
                        }
                    }
                    Ok(msg) => {
                        if events.send(Event::FromChild { pid, msg }).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => tracing::warn!(pid, error = %e, "bad message from a worker process"),
                }
            }
        }
    }
}

/// One command-line connection: one request line (at most 64 KiB), one
/// answer line.
async fn serve_control(stream: UnixStream, events: mpsc::Sender<Event>) -> io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut line = String::new();
    let mut rd = BufReader::new(rd.take(64 * 1024));
    rd.read_line(&mut line).await?;
    let answer = match serde_json::from_str::<ControlRequest>(&line) {
        Ok(req) => {
            let (tx, rx) = oneshot::channel();
            events
                .send(Event::Control { req, reply: tx })
                .await
                .map_err(|_| io::Error::other("master stopping"))?;
            rx.await.map_err(|_| io::Error::other("no answer"))?
        }
        Err(e) => ControlResponse::Error {
            message: format!("bad request: {e}"),
        },
    };
    let mut out = serde_json::to_vec(&answer).map_err(io::Error::other)?;
    out.push(b'\n');
    wr.write_all(&out).await?;
    wr.shutdown().await
}
