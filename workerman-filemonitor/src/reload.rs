//! The default action: ask the master to reload, with SIGUSR1.

use std::path::PathBuf;

use nix::sys::signal::{kill, Signal};
use nix::unistd::getppid;

/// Sends SIGUSR1 to the parent process, the master of the process model
/// (which reloads on it). Checked at spawn time: this process is a worker
/// process started by a master. Never signals pid 1 (an orphaned worker
/// has no master left to ask).
pub(crate) fn ask_master_to_reload(changed: &[PathBuf]) {
    let master = getppid();
    let shown: Vec<String> = changed.iter().map(|p| p.display().to_string()).collect();
    if master.as_raw() <= 1 {
        tracing::warn!(changed = ?shown, "file monitor: no master process to ask for a reload");
        return;
    }
    // Workerman prints "<file> update and reload".
    tracing::info!(changed = ?shown, master = master.as_raw(), "files updated: reloading");
    if let Err(e) = kill(master, Signal::SIGUSR1) {
        tracing::error!(error = %e, master = master.as_raw(), "file monitor: cannot signal the master");
    }
}
