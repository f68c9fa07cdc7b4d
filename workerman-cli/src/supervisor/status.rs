//! The command line's requests: stop, reload, and the status and
//! connections reports collected from every process.

use std::sync::Arc;
use std::time::{Instant, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};
use workerman_core::process::{
    ControlRequest, ControlResponse, ExitCount, FromChild, ProcessStatus, StatusReport, ToChild,
    WorkerSummary,
};

use super::links::{ask, Reply};
use super::{lock, Master};
use crate::files::load_average;

/// One process as the status report lists it, with the link to ask it.
struct Entry {
    pid: u32,
    worker: String,
    id: usize,
    listen: String,
    retiring: bool,
    link: mpsc::Sender<(ToChild, Option<Reply>)>,
}

impl Master {
    pub(super) fn control(&mut self, req: ControlRequest, reply: oneshot::Sender<ControlResponse>) {
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
    pub(super) fn status_collector(
        &self,
    ) -> impl std::future::Future<Output = StatusReport> + Send + 'static {
        let mut procs: Vec<_> = self
            .children
            .iter()
            .map(|(pid, c)| {
                let slot = &self.slots[c.slot];
                let w = &self.workers[slot.worker];
                Entry {
                    pid: *pid,
                    worker: w.name.clone(),
                    id: slot.id,
                    listen: w.listen.clone(),
                    retiring: c.retiring,
                    link: c.link.clone(),
                }
            })
            .collect();
        procs.sort_by(|a, b| (&a.worker, a.id, a.pid).cmp(&(&b.worker, b.id, b.pid)));
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
                futures::future::join_all(procs.iter().map(|p| ask(&p.link, ToChild::Status)))
                    .await;
            let now = Instant::now();
            let processes = procs
                .into_iter()
                .zip(answers)
                .map(|(entry, answer)| {
                    let Entry {
                        pid,
                        worker,
                        id,
                        listen,
                        retiring,
                        ..
                    } = entry;
                    match answer {
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
                    }
                })
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
}
