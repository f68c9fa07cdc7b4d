//! Starting worker processes, and restarting the ones that die (with a
//! back-off for processes that die at once, again and again).

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use tokio::net::UnixStream;
use tokio::sync::mpsc;
use workerman_core::process::worker_command;

use super::links::child_link;
use super::{lock, Child, Event, Master, QUICK_FAILURE};
use workerman_core::process::Phase;

/// The longest wait between restarts of a process that keeps dying.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How long to wait before restarting a slot whose processes died within
/// [`QUICK_FAILURE`] of starting `quick_failures` times in a row: at once
/// after a process that lived, then 100 ms doubling up to 5 s.
pub(super) fn backoff(quick_failures: u32) -> Duration {
    if quick_failures == 0 {
        Duration::ZERO
    } else {
        (Duration::from_millis(100) * 2u32.saturating_pow(quick_failures.min(16) - 1))
            .min(MAX_BACKOFF)
    }
}

impl Master {
    /// Starts a process for `slot`.
    pub(super) fn spawn(&mut self, slot_idx: usize) -> io::Result<u32> {
        let slot = &self.slots[slot_idx];
        let w = &self.workers[slot.worker];
        let socket: OwnedFd =
            w.sockets[if w.sockets.len() > 1 { slot.id } else { 0 }].try_clone()?;
        let (master_end, child_end) = std::os::unix::net::UnixStream::pair()?;
        let mut cmd = worker_command(
            &self.exe,
            slot.worker,
            slot.id,
            format!("WorkerMan: worker process  {} {}", w.name, w.listen),
            socket,
            OwnedFd::from(child_end),
        )?;
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

    pub(super) fn exited(&mut self, pid: u32, status: io::Result<ExitStatus>) {
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
    pub(super) fn schedule_respawn(&self, slot: usize) {
        let delay = backoff(self.slots[slot].quick_failures);
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(Event::Respawn(slot)).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn restarts_back_off_from_100_ms_to_5_s() {
        let waits: Vec<u128> = (0..9).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(waits, [0, 100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
