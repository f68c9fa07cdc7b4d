//! FileMonitor: reload the worker processes when files change
//! (Workerman's `FileMonitor`): the built binary, a config folder.
//!
//! Compiled code cannot be reloaded inside a running process, but the
//! process model's `reload` replaces every worker process, one at a time,
//! with the binary now on disk, without dropping a connection waiting to
//! be accepted. A [`FileMonitor`] in one worker process watches paths with
//! the `notify` crate (inotify on Linux) and asks the master for that
//! reload: run `cargo build` in one terminal, and the running server picks
//! up the new binary.
//!
//! ```no_run
//! use workerman_core::{async_trait, Connection, Service, Worker, WorkerContext};
//! use workerman_filemonitor::FileMonitor;
//! use workerman_protocols::{Payload, Text};
//!
//! struct App;
//!
//! #[async_trait]
//! impl Service for App {
//!     type Protocol = Text;
//!
//!     async fn on_worker_start(&self, worker: &WorkerContext<Text>) {
//!         // One monitor per program: in worker 0. A reload replaces this
//!         // process too; its successor starts a new monitor.
//!         if worker.id() == 0 {
//!             let monitor = FileMonitor::new()
//!                 .watch_current_exe()
//!                 .map(|m| m.watch("config"))
//!                 .and_then(FileMonitor::spawn);
//!             if let Err(e) = monitor {
//!                 tracing::warn!(error = %e, "no file monitor");
//!             }
//!         }
//!     }
//!
//!     async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
//!         let _ = conn.send(msg);
//!     }
//! }
//!
//! fn main() {
//!     // With workerman's run_all (the facade crate): `start`, then
//!     // `cargo build` elsewhere, and the workers run the new binary.
//!     # let _ = Worker::new("text://127.0.0.1:5678", App);
//! }
//! ```
//!
//! A runnable look at what the monitor sees, with a callback instead of
//! the reload:
//!
//! ```
//! use std::time::Duration;
//! use workerman_filemonitor::FileMonitor;
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let dir = std::env::temp_dir().join(format!("fm-doc-{}", std::process::id()));
//!     std::fs::create_dir_all(&dir)?;
//!     let config = dir.join("app.toml");
//!     std::fs::write(&config, "a = 1")?;
//!
//!     let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
//!     let monitor = FileMonitor::new()
//!         .watch(&config)
//!         .debounce(Duration::from_millis(100))
//!         .on_change(move |paths| {
//!             let _ = tx.send(paths.to_vec());
//!         })
//!         .spawn()?;
//!
//!     std::fs::write(dir.join(".app.toml.swp"), "vim")?; // ignored
//!     std::fs::write(&config, "a = 2")?; // several events, one call
//!     let changed = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await?;
//!     assert_eq!(changed, Some(vec![config.canonicalize()?]));
//!
//!     monitor.stop();
//!     std::fs::remove_dir_all(&dir)?;
//!     Ok(())
//! }
//! ```
//!
//! # How the reload is asked for
//!
//! The monitor runs in a worker process (any; worker 0 of one Worker is
//! the usual choice) and sends SIGUSR1 to its parent, the master, which
//! reloads on it exactly as on `reload` from the command line. It refuses
//! to start outside a worker process of the process model
//! ([`FileMonitorError::NotAWorkerProcess`]): an in-process server has no
//! master and no binary to re-execute.
//!
//! # Where we differ from Workerman
//!
//! * File-system events (inotify) instead of a 1 s timer walking the tree
//!   and comparing mtimes; changes are debounced into one reload.
//! * It is opt-in code and also works in daemon mode (Workerman's only
//!   runs in debug mode, so that a partial deployment is not loaded; here
//!   the binary is replaced atomically by `cargo build`, so the choice is
//!   the program's).
//! * It runs inside a worker process, not as a separate `reloadable =
//!   false` Worker without a listener (a Worker here always listens).
//!
//! # Layout
//!
//! * `monitor`: [`FileMonitor`] and its handle.
//! * `filter`: which events and files count.
//! * `reload`: the SIGUSR1 to the master.
#![doc(test(attr(deny(warnings))))]

mod filter;
mod monitor;
mod reload;

pub use filter::is_editor_temp_file;
pub use monitor::{FileMonitor, FileMonitorHandle, DEFAULT_DEBOUNCE, MAX_DELAY};

use std::path::PathBuf;

/// Why a [`FileMonitor`] could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileMonitorError {
    /// The default action asks the master process to reload: start the
    /// program with `run_all` and spawn the monitor in a worker process
    /// (or give an [`on_change`](FileMonitor::on_change) action).
    #[error(
        "not a worker process of the process model: no master to ask for a reload \
         (run the program with run_all, or give the monitor an on_change action)"
    )]
    NotAWorkerProcess,
    /// [`FileMonitor::spawn`] must be called inside a tokio runtime (a
    /// worker's `on_worker_start`, for example).
    #[error("the file monitor needs a tokio runtime (spawn it in on_worker_start)")]
    NoRuntime,
    /// Nothing to watch.
    #[error("the file monitor has no path to watch")]
    NoPaths,
    /// A watched path (or the folder of a watched file) cannot be resolved.
    #[error("cannot watch {path}: {source}")]
    Path {
        /// The path as given.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The operating system refused the watch (too many inotify watches,
    /// say: see `fs.inotify.max_user_watches`).
    #[error("file watching failed: {0}")]
    Watch(#[from] notify::Error),
}
