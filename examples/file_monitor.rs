//! Reload on change: worker process 0 watches the program's own binary
//! and a config file; when either changes, every worker process is
//! replaced, one at a time, with the binary now on disk.
//!
//! Run: `cargo run --example file_monitor -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: `nc 127.0.0.1 5692` and type a line: the answer names the process
//! (`pid=… id=… greeting=…`). Edit `file_monitor.conf` (beside where you
//! started it; its first line is the greeting), or change this file and
//! run `cargo build --example file_monitor` in another terminal: the
//! processes are replaced and answer with the new greeting or code.
//!
//! Listens on `text://127.0.0.1:5692` (`WORKERMAN_ADDR`) with `WORKERS`
//! processes (default 2). `WATCH` lists extra paths to watch, separated
//! by `:`; `CONFIG` names the config file (default `file_monitor.conf`).

use std::path::PathBuf;

use workerman::file_monitor::FileMonitor;
use workerman::prelude::*;

struct App {
    config: PathBuf,
    extra: Vec<PathBuf>,
    /// Read once per process, at start: a reload brings the new one.
    greeting: std::sync::OnceLock<String>,
}

#[async_trait]
impl Service for App {
    type Protocol = Text;

    async fn on_worker_start(&self, worker: &WorkerContext<Text>) {
        let greeting = std::fs::read_to_string(&self.config)
            .ok()
            .and_then(|s| s.lines().next().map(str::to_owned))
            .unwrap_or_else(|| "hello".into());
        let _ = self.greeting.set(greeting);
        if worker.id() != 0 {
            return;
        }
        // One monitor for the program, in worker 0. Its successor after
        // the reload starts a new one.
        let mut monitor = FileMonitor::new().watch(&self.config);
        for p in &self.extra {
            monitor = monitor.watch(p);
        }
        match monitor.watch_current_exe().and_then(FileMonitor::spawn) {
            Ok(_) => tracing::info!("watching the binary and {}", self.config.display()),
            Err(e) => tracing::warn!(error = %e, "no file monitor"),
        }
    }

    async fn on_message(&self, conn: &Connection<Text>, _msg: Payload) {
        let id = conn.worker().map(|w| w.id()).unwrap_or(0);
        let greeting = self.greeting.get().map_or("hello", String::as_str);
        let _ = conn.send(format!(
            "pid={} id={id} greeting={greeting}",
            std::process::id()
        ));
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5692".into());
    let count = std::env::var("WORKERS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2);
    let config =
        PathBuf::from(std::env::var("CONFIG").unwrap_or_else(|_| "file_monitor.conf".into()));
    let extra = std::env::var("WATCH")
        .map(|w| {
            w.split(':')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default();
    let app = App {
        config,
        extra,
        greeting: std::sync::OnceLock::new(),
    };
    Worker::new(addr, app)
        .name("file_monitor")
        .count(count)
        .run_all()
}
