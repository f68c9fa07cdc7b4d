//! Stop and reload: telling processes to stop or drain, and replacing
//! reloadable processes one at a time; what the master does with its
//! children's notices (ready, retiring).

use workerman_core::process::{FromChild, Phase, ToChild};

use super::{Event, Master, RELOAD_STEP_TIMEOUT};

impl Master {
    pub(super) fn stop(&mut self, graceful: bool) {
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
        let deadline = self.stop_deadlines[usize::from(graceful)];
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(deadline).await;
            let _ = tx.send(Event::KillStragglers).await;
        });
    }

    pub(super) fn reload(&mut self, graceful: bool) {
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
    pub(super) fn reload_step(&mut self) {
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

    pub(super) fn child_message(&mut self, pid: u32, msg: FromChild) {
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
}
