//! One worker instance: its runtime, `on_worker_start`, the accept loop and
//! the stop sequence. An instance is a thread of an in-process [`Server`]
//! (crate::Server) or the whole of a worker process.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::task::TaskTracker;

use crate::connection::WorkerShared;
use crate::context::WorkerContext;
use crate::guard::run_guarded;
use crate::instance_shared::StopMode;
use crate::listener::{accept_loop, Listener, StdListener};
use crate::sync::lock;
use crate::worker::WorkerConfig;
use crate::Service;

/// How one instance ended.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct InstanceReport {
    /// Connections still open at the deadline, dropped without `on_close`.
    pub(crate) forced: usize,
}

/// Everything one instance needs.
pub(crate) struct InstanceRun<S: Service> {
    pub(crate) listener: StdListener,
    pub(crate) service: Arc<S>,
    pub(crate) worker: Arc<WorkerShared<S::Protocol>>,
    pub(crate) config: Arc<WorkerConfig>,
    /// How long closing connections may take before they are dropped.
    pub(crate) stop_timeout: Duration,
}

impl<S: Service> InstanceRun<S> {
    /// Starts the instance on a thread of its own with its own
    /// current-thread runtime. Everything that can fail (making the
    /// runtime, registering the listener with it, starting the thread)
    /// happens here, on the caller's thread, so the caller learns of a
    /// failure without waiting for the new thread (and never blocks the
    /// runtime it may be called from).
    pub(crate) fn spawn_thread(
        self,
        thread_name: String,
    ) -> std::io::Result<std::thread::JoinHandle<InstanceReport>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (listener, run) = self.split();
        // The listener is registered with the new runtime's reactor.
        let listener = {
            let _entered = rt.enter();
            listener.into_tokio()?
        };
        std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || {
                let span =
                    tracing::info_span!("worker", name = %run.worker.name, id = run.worker.id);
                let _entered = span.enter();
                rt.block_on(run.serve(listener, || {}))
                // Dropping the runtime here cancels the tasks of connections
                // still open after the stop deadline.
            })
    }

    /// Serves until the worker's shutdown token is cancelled, then stops as
    /// its `StopMode` says. `listening` is told once the listener is
    /// registered (before `on_worker_start`), `started` once
    /// `on_worker_start` has returned and accepting begins.
    pub(crate) async fn serve(
        self,
        listening: impl FnOnce(std::io::Result<()>),
        started: impl FnOnce(),
    ) -> InstanceReport {
        let (listener, run) = self.split();
        let listener = match listener.into_tokio() {
            Ok(l) => l,
            Err(e) => {
                listening(Err(e));
                return InstanceReport::default();
            }
        };
        listening(Ok(()));
        run.serve(listener, started).await
    }

    /// The listener, still to be registered, and the rest.
    fn split(self) -> (StdListener, Running<S>) {
        let run = Running {
            service: self.service,
            worker: self.worker,
            config: self.config,
            stop_timeout: self.stop_timeout,
        };
        (self.listener, run)
    }
}

/// An instance whose listener is registered with the runtime it runs on.
struct Running<S: Service> {
    service: Arc<S>,
    worker: Arc<WorkerShared<S::Protocol>>,
    config: Arc<WorkerConfig>,
    stop_timeout: Duration,
}

impl<S: Service> Running<S> {
    /// `on_worker_start`, then accepts until the worker's shutdown token is
    /// cancelled, then stops as its `StopMode` says; `started` is told once
    /// `on_worker_start` has returned.
    async fn serve(self, listener: Listener, started: impl FnOnce()) -> InstanceReport {
        let ctx = WorkerContext::from_shared(Arc::clone(&self.worker));
        run_guarded(
            async { self.service.on_worker_start(&ctx).await },
            "on_worker_start",
            &self.worker.stats,
        )
        .await;
        started();
        tracing::debug!("accepting");
        let tracker = TaskTracker::new();
        accept_loop(
            listener,
            Arc::clone(&self.service),
            Arc::clone(&self.worker),
            Arc::clone(&self.config),
            self.worker.shutdown.clone(),
            tracker.clone(),
        )
        .await;
        // The listener is gone: no more accepts here.
        let mode = *lock(&self.worker.stop_mode);
        if let StopMode::Drain(grace) = mode {
            drain(&self.worker, &ctx, grace).await;
        }
        run_guarded(
            async { self.service.on_worker_stop(&ctx).await },
            "on_worker_stop",
            &self.worker.stats,
        )
        .await;
        // Timers belong to the worker and die with it (they ran on through
        // a graceful drain, for heartbeats).
        let timers = workerman_timer::Timer::del_all();
        tracing::debug!(timers, "timers deleted");
        for conn in ctx.connections() {
            conn.close_for_shutdown();
        }
        tracker.close();
        let forced = match tokio::time::timeout(self.stop_timeout, tracker.wait()).await {
            Ok(()) => 0,
            Err(_) => {
                let open = ctx.connection_count();
                tracing::warn!(open, "stop deadline passed; dropping open connections");
                open
            }
        };
        InstanceReport { forced }
    }
}

/// Waits until every connection has closed by itself, or `grace` has
/// passed.
async fn drain<P: workerman_protocols::Protocol>(
    worker: &WorkerShared<P>,
    ctx: &WorkerContext<P>,
    grace: Duration,
) {
    {
        let deadline = tokio::time::Instant::now() + grace;
        let initial = ctx.connection_count();
        if initial > 0 {
            tracing::info!(remains = initial, "waiting for connections to finish");
        }
        loop {
            let emptied = worker.emptied.notified();
            tokio::pin!(emptied);
            emptied.as_mut().enable();
            let remains = ctx.connection_count();
            if remains == 0 {
                return;
            }
            tokio::select! {
                () = emptied => {}
                () = tokio::time::sleep_until(deadline) => {
                    tracing::info!(remains, "grace time over; closing the remaining connections");
                    return;
                }
            }
        }
    }
}
