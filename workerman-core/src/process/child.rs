//! A worker process: one instance of one Worker, started by the master
//! with its listening socket and a private socket pair to the master.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::signals::{SignalAction, Signals};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::control::{ChildStatus, FromChild, ToChild};
use crate::connection::WorkerShared;
use crate::context::WorkerContext;
use crate::guard::run_guarded;
use crate::instance::InstanceRun;
use crate::instance_shared::StopMode;
use crate::listener::StdListener;
use crate::stats::WorkerStats;
use crate::{Service, Worker};

/// How long a plain `reload` lets a replaced process's connections finish
/// before closing them (Workerman's `stopTimeout`).
pub(crate) const RELOAD_DRAIN: Duration = Duration::from_secs(2);

/// The deadlines a worker process stops within.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// Closing connections (flushing their queues) after a stop.
    pub(crate) shutdown: Duration,
    /// How long a graceful stop or reload lets connections finish.
    pub(crate) grace: Duration,
}

/// What the master handed this process.
pub(crate) struct ChildSetup {
    pub(crate) id: usize,
    pub(crate) listener: StdListener,
    pub(crate) ipc: std::os::unix::net::UnixStream,
    pub(crate) timeouts: Timeouts,
}

/// Runs one worker instance as this whole process; returns when it has
/// stopped.
pub(crate) fn run_child<S: Service>(worker: Worker<S>, setup: ChildSetup) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the worker runtime");
            return ExitCode::FAILURE;
        }
    };
    let span = tracing::info_span!("worker", name = %worker.config.name, id = setup.id);
    let _entered = span.enter();
    rt.block_on(serve(worker, setup))
}

async fn serve<S: Service>(worker: Worker<S>, setup: ChildSetup) -> ExitCode {
    let config = Arc::new(worker.config);
    let addr = setup.listener.local_addr().ok();
    let mut shared = WorkerShared::<S::Protocol>::new(
        setup.id,
        config.count,
        Arc::from(config.name.as_str()),
        addr,
        Arc::new(WorkerStats::default()),
        CancellationToken::new(),
    );
    shared.max_requests = config.max_requests;
    let shared = Arc::new(shared);
    let ipc = match setup
        .ipc
        .set_nonblocking(true)
        .and_then(|()| UnixStream::from_std(setup.ipc))
    {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot use the master's socket");
            return ExitCode::FAILURE;
        }
    };
    // Gives memory back to the OS after bursts (see `memory`).
    let trimmer = tokio::spawn(crate::memory::trimmer());
    let (ready_tx, ready_rx) = oneshot::channel();
    let control = tokio::spawn(control(
        ipc,
        Arc::clone(&worker.service),
        Arc::clone(&shared),
        config.reloadable,
        setup.timeouts,
        ready_rx,
    ));
    let instance = InstanceRun {
        listener: setup.listener,
        service: worker.service,
        worker: Arc::clone(&shared),
        config,
        stop_timeout: setup.timeouts.shutdown,
    };
    let report = instance
        .serve(
            |r| {
                if let Err(e) = r {
                    tracing::error!(error = %e, "cannot listen");
                }
            },
            move || {
                // The control task may have ended (master gone).
                let _ = ready_tx.send(());
            },
        )
        .await;
    control.abort();
    trimmer.abort();
    tracing::info!(forced = report.forced, "worker process stopped");
    ExitCode::SUCCESS
}

/// Answers the master and handles signals, on this process's event loop:
/// a process whose loop is blocked does not answer, and `status` shows it
/// as busy.
async fn control<S: Service>(
    ipc: UnixStream,
    service: Arc<S>,
    worker: Arc<WorkerShared<S::Protocol>>,
    reloadable: bool,
    timeouts: Timeouts,
    mut ready: oneshot::Receiver<()>,
) {
    let (rd, mut wr) = ipc.into_split();
    let mut lines = BufReader::new(rd).lines();
    let mut signals = Signals::listen();
    let mut ready_sent = false;
    let ctx = WorkerContext::from_shared(Arc::clone(&worker));
    let reload = |graceful: bool| {
        let service = Arc::clone(&service);
        let ctx = ctx.clone();
        let worker = Arc::clone(&worker);
        async move {
            if reloadable {
                let drain = if graceful {
                    timeouts.grace
                } else {
                    RELOAD_DRAIN
                };
                worker.stop(StopMode::Drain(drain));
            } else {
                run_guarded(
                    async { service.on_worker_reload(&ctx).await },
                    "on_worker_reload",
                    &worker.stats,
                )
                .await;
            }
        }
    };
    loop {
        let reply = tokio::select! {
            r = &mut ready, if !ready_sent => {
                ready_sent = true;
                match r {
                    Ok(()) => Some(FromChild::Ready),
                    Err(_) => None,
                }
            }
            () = worker.retire.notified() => {
                tracing::info!("max_requests reached; retiring");
                worker.stop(StopMode::Drain(timeouts.grace));
                Some(FromChild::Retiring)
            }
            line = lines.next_line() => match line {
                Ok(Some(line)) => match serde_json::from_str::<ToChild>(&line) {
                    Ok(ToChild::Status) => Some(FromChild::Status(ChildStatus {
                        memory_bytes: own_rss(),
                        connections: crate::registry::count() as u64,
                        send_fail: worker.stats.send_fail.load(std::sync::atomic::Ordering::Relaxed),
                        timers: workerman_timer::Timer::count() as u64,
                        total_request: worker.stats.total_requests.load(std::sync::atomic::Ordering::Relaxed),
                    })),
                    Ok(ToChild::Connections) => Some(FromChild::Connections { rows: crate::registry::rows() }),
                    Ok(ToChild::Stop { graceful }) => {
                        worker.stop(if graceful { StopMode::Drain(timeouts.grace) } else { StopMode::Close });
                        None
                    }
                    Ok(ToChild::Reload { graceful }) => {
                        reload(graceful).await;
                        None
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "bad message from the master");
                        None
                    }
                },
                // The master is gone: stop rather than run unsupervised.
                Ok(None) | Err(_) => {
                    tracing::warn!("master gone; stopping");
                    worker.stop(StopMode::Close);
                    return;
                }
            },
            action = signals.next() => match action {
                SignalAction::Stop { graceful: false } => { worker.stop(StopMode::Close); None }
                SignalAction::Stop { graceful: true } => { worker.stop(StopMode::Drain(timeouts.grace)); None }
                SignalAction::Reload { graceful } => { reload(graceful).await; None }
            },
        };
        if let Some(msg) = reply {
            let mut line = match serde_json::to_vec(&msg) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(error = %e, "cannot encode a reply");
                    continue;
                }
            };
            line.push(b'\n');
            if wr.write_all(&line).await.is_err() {
                worker.stop(StopMode::Close);
                return;
            }
        }
    }
}

/// The resident set size of this process, in bytes.
fn own_rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .unwrap_or(4096) as u64;
    pages * page
}
