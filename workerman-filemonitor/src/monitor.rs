//! [`FileMonitor`]: watch paths, debounce, act.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::filter::{is_change, Scope};
use crate::FileMonitorError;

/// How long the watched files must stay quiet before the reload (500 ms):
/// one reload for a build or a save, however many events it makes.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(500);

/// The longest a reload waits for the files to go quiet (5 s), so that a
/// file that never stops changing still triggers it.
pub const MAX_DELAY: Duration = Duration::from_secs(5);

/// How many changed paths are kept for the log line of one reload.
const MAX_REPORTED: usize = 16;

/// What to do when the files changed.
type Action = Arc<dyn Fn(&[PathBuf]) + Send + Sync>;

/// Watches files and folders and, when they change, asks the master
/// process to reload the worker processes (Workerman's `FileMonitor`).
///
/// Build it, then [`spawn`](FileMonitor::spawn) it inside one worker
/// process of a program started with `run_all` (usually in
/// `on_worker_start` of worker id 0): on a change it sends SIGUSR1 to its
/// parent, the master, which replaces the worker processes one at a time
/// with the binary now on disk. See the [crate docs](crate) for an
/// example.
///
/// * Watched files are matched by path; their folder is watched, so a
///   file replaced by a rename or a new link (editors, `cargo build`)
///   stays watched.
/// * Folders are watched recursively, optionally for some extensions
///   only ([`extensions`](FileMonitor::extensions)).
/// * Editors' temporary files are ignored
///   ([`is_editor_temp_file`](crate::is_editor_temp_file)), and so are
///   reads (opening or executing the binary is not a change).
/// * Changes are debounced: the reload happens once the files have been
///   quiet for [`debounce`](FileMonitor::debounce) (500 ms), at most
///   [`MAX_DELAY`] after the first change.
#[must_use = "a FileMonitor does nothing until spawn()"]
pub struct FileMonitor {
    paths: Vec<PathBuf>,
    extensions: Vec<String>,
    debounce: Duration,
    action: Option<Action>,
}

impl fmt::Debug for FileMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileMonitor")
            .field("paths", &self.paths)
            .field("extensions", &self.extensions)
            .field("debounce", &self.debounce)
            .field("custom_action", &self.action.is_some())
            .finish()
    }
}

impl Default for FileMonitor {
    fn default() -> Self {
        FileMonitor::new()
    }
}

impl FileMonitor {
    /// A monitor watching nothing yet, with the default debounce, that
    /// reloads the worker processes on a change.
    pub fn new() -> Self {
        FileMonitor {
            paths: Vec::new(),
            extensions: Vec::new(),
            debounce: DEFAULT_DEBOUNCE,
            action: None,
        }
    }

    /// Watches this file or folder (it may not exist yet; its folder must).
    pub fn watch(mut self, path: impl Into<PathBuf>) -> Self {
        self.paths.push(path.into());
        self
    }

    /// Watches the program's own binary: `cargo build` in another terminal
    /// and the running server reloads onto the new binary. (Reload runs
    /// the binary now on disk at the path the program was started from.)
    ///
    /// # Errors
    ///
    /// When the running executable's path cannot be found.
    pub fn watch_current_exe(self) -> Result<Self, FileMonitorError> {
        let exe = std::env::current_exe().map_err(|source| FileMonitorError::Path {
            path: PathBuf::from("/proc/self/exe"),
            source,
        })?;
        Ok(self.watch(exe))
    }

    /// In watched folders, only files with one of these extensions count
    /// (`["rs", "toml"]`; without a dot). Default: every file. Watched
    /// files always count.
    pub fn extensions<I, S>(mut self, extensions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extensions = extensions.into_iter().map(Into::into).collect();
        self
    }

    /// How long the files must stay quiet before acting (default
    /// [`DEFAULT_DEBOUNCE`], 500 ms).
    pub fn debounce(mut self, quiet: Duration) -> Self {
        self.debounce = quiet;
        self
    }

    /// Calls `action` with the changed paths instead of reloading (for
    /// tests, or to do something else on a change: re-read a config file,
    /// say). It runs on the runtime the monitor was spawned on; keep it
    /// short.
    pub fn on_change<F>(mut self, action: F) -> Self
    where
        F: Fn(&[PathBuf]) + Send + Sync + 'static,
    {
        self.action = Some(Arc::new(action));
        self
    }

    /// Starts watching, on the current tokio runtime; returns a handle to
    /// stop. The monitor also stops when its runtime ends (its worker
    /// process exits), so the handle may be dropped.
    ///
    /// # Errors
    ///
    /// * [`FileMonitorError::NotAWorkerProcess`]: reloading (the default
    ///   action) needs a master to ask, so the program must run with
    ///   `run_all` and this must be called in a worker process.
    /// * [`FileMonitorError::NoRuntime`], [`FileMonitorError::NoPaths`],
    ///   [`FileMonitorError::Path`] (a folder that does not exist),
    ///   [`FileMonitorError::Watch`].
    pub fn spawn(self) -> Result<FileMonitorHandle, FileMonitorError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| FileMonitorError::NoRuntime)?;
        if self.paths.is_empty() {
            return Err(FileMonitorError::NoPaths);
        }
        let action = match self.action {
            Some(a) => a,
            None => {
                if workerman_core::process::role() != workerman_core::process::Role::Worker {
                    return Err(FileMonitorError::NotAWorkerProcess);
                }
                Arc::new(crate::reload::ask_master_to_reload)
            }
        };
        let scopes = self
            .paths
            .iter()
            .map(|p| scope(p))
            .collect::<Result<Vec<_>, _>>()?;
        let inbox = Arc::new(Inbox::default());
        let mut watcher = {
            let (inbox, scopes, extensions) =
                (Arc::clone(&inbox), scopes.clone(), self.extensions.clone());
            // Runs on notify's own thread.
            notify::recommended_watcher(move |res: notify::Result<notify::Event>| match res {
                Ok(event) if is_change(&event.kind) => {
                    let hits: Vec<&PathBuf> = event
                        .paths
                        .iter()
                        .filter(|p| scopes.iter().any(|s| s.accepts(p, &extensions)))
                        .collect();
                    if !hits.is_empty() {
                        tracing::trace!(?event, "change");
                        inbox.add(hits);
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "file monitor: watch error"),
            })?
        };
        for s in &scopes {
            let (dir, mode) = match s {
                Scope::File(f) => (
                    f.parent().unwrap_or(Path::new("/")),
                    RecursiveMode::NonRecursive,
                ),
                Scope::Dir(d) => (d.as_path(), RecursiveMode::Recursive),
            };
            watcher.watch(dir, mode)?;
        }
        tracing::info!(paths = ?self.paths, "file monitor watching");
        let stop = CancellationToken::new();
        runtime.spawn(run(watcher, inbox, self.debounce, action, stop.clone()));
        Ok(FileMonitorHandle { stop })
    }
}

/// Where a path is watched: a folder as a folder, anything else as a file
/// (with its folder resolved, so events' absolute paths match).
fn scope(path: &Path) -> Result<Scope, FileMonitorError> {
    let err = |source| FileMonitorError::Path {
        path: path.to_owned(),
        source,
    };
    if path.is_dir() {
        return path.canonicalize().map(Scope::Dir).map_err(err);
    }
    let name = path.file_name().ok_or_else(|| {
        err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file or folder path",
        ))
    })?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let dir = parent.canonicalize().map_err(err)?;
    Ok(Scope::File(dir.join(name)))
}

/// Changes seen by notify's thread, waiting for the monitor task.
#[derive(Default)]
struct Inbox {
    /// Changed paths (at most [`MAX_REPORTED`], for the log).
    paths: Mutex<Vec<PathBuf>>,
    /// Wakes the task; a permit is kept if it is not waiting.
    wake: Notify,
}

impl Inbox {
    fn add(&self, hits: Vec<&PathBuf>) {
        {
            let mut paths = self.paths.lock().unwrap_or_else(PoisonError::into_inner);
            for p in hits {
                if paths.len() < MAX_REPORTED && !paths.contains(p) {
                    paths.push(p.clone());
                }
            }
        }
        self.wake.notify_one();
    }

    fn take(&self) -> Vec<PathBuf> {
        std::mem::take(&mut *self.paths.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Waits for a change, then for quiet, then acts; until stopped.
async fn run(
    watcher: notify::RecommendedWatcher,
    inbox: Arc<Inbox>,
    debounce: Duration,
    action: Action,
    stop: CancellationToken,
) {
    // Kept alive for as long as the task runs: dropping it stops watching.
    let _watcher = watcher;
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            () = inbox.wake.notified() => {}
        }
        let deadline = tokio::time::Instant::now() + MAX_DELAY;
        loop {
            let quiet = tokio::time::sleep(debounce);
            tokio::select! {
                () = stop.cancelled() => return,
                () = quiet => break,
                () = inbox.wake.notified() => {
                    if tokio::time::Instant::now() >= deadline {
                        break;
                    }
                }
            }
        }
        let changed = inbox.take();
        if changed.is_empty() {
            continue;
        }
        // A panicking action must not end the monitor.
        let act = std::panic::AssertUnwindSafe(|| action(&changed));
        if std::panic::catch_unwind(act).is_err() {
            tracing::error!("file monitor: the change action panicked");
        }
    }
    tracing::debug!("file monitor stopped");
}

/// A running [`FileMonitor`], from [`FileMonitor::spawn`].
#[derive(Debug, Clone)]
pub struct FileMonitorHandle {
    stop: CancellationToken,
}

impl FileMonitorHandle {
    /// Stops watching. Dropping the handle does not stop the monitor; it
    /// stops with its runtime.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}
