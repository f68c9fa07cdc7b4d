//! The process model at work: a text service whose answers say which
//! worker process served them, for trying `start -d`, `status`,
//! `connections`, `reload`, `stop -g` and crash restarts by hand (and for
//! the process tests in `tests/processes.rs`).
//!
//! Run: `cargo run --release --example supervisor_demo -- start -d`, then
//! `target/release/examples/supervisor_demo status` (or `connections`,
//! `reload`, `reload -g`, `stop`, `stop -g`).
//! Try: `python3 -c "import socket;s=socket.create_connection(('127.0.0.1',5690));s.sendall(b'hi\n');print(s.recv(99))"`
//!
//! Each line gets `<greeting> pid=<pid> id=<worker id>`. Special lines:
//! `sleep` answers after two seconds (a request in flight), `block` blocks
//! the process's event loop for three seconds (`status` shows it busy),
//! `crash` aborts the process (the master restarts it).
//!
//! Settings, from the environment:
//! * `WORKERMAN_ADDR`: the address (default `text://127.0.0.1:5690`);
//! * `WORKERS`: the number of processes (default 4);
//! * `MAX_REQUESTS`: replace a process after that many lines;
//! * `RUN_AS_USER`: run the worker processes as this user (needs root);
//! * `KEEPER_ADDR`: also run a second, non-reloadable worker there
//!   (`reloadable(false)`): `reload` leaves its process and connections
//!   alone and runs its `on_worker_reload`; it answers
//!   `keeper pid=<pid> reloads=<n>`;
//! * `CRASH_ON_START`: abort in `on_worker_start` (shows the back-off);
//! * `GREETING_FILE`: a file whose first line is the greeting, read when a
//!   worker process starts (so `reload` picks up a change); default `hello`.

use std::time::Duration;

use workerman::prelude::*;

struct Demo {
    greeting: std::sync::OnceLock<String>,
}

#[async_trait]
impl Service for Demo {
    type Protocol = Text;

    async fn on_worker_start(&self, _worker: &WorkerContext<Text>) {
        if std::env::var_os("CRASH_ON_START").is_some() {
            // A process that dies at once, again and again: the master
            // restarts it with a back-off.
            std::process::abort();
        }
        let greeting = std::env::var("GREETING_FILE")
            .ok()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .and_then(|text| text.lines().next().map(str::to_owned))
            .unwrap_or_else(|| "hello".to_owned());
        let _ = self.greeting.set(greeting);
    }

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        match msg.as_str() {
            Ok("sleep") => tokio::time::sleep(Duration::from_secs(2)).await,
            // Deliberately blocking: this is what `[busy]` in `status` shows.
            Ok("block") => std::thread::sleep(Duration::from_secs(3)),
            Ok("crash") => std::process::abort(),
            _ => {}
        }
        let id = conn.worker().map(|w| w.id()).unwrap_or(0);
        let greeting = self.greeting.get().map(String::as_str).unwrap_or("hello");
        let _ = conn.send(format!("{greeting} pid={} id={id}", std::process::id()));
    }
}

/// A worker that survives reloads (Workerman's gateway pattern).
struct Keeper {
    reloads: std::sync::atomic::AtomicU64,
}

#[async_trait]
impl Service for Keeper {
    type Protocol = Text;

    async fn on_worker_reload(&self, _worker: &WorkerContext<Text>) {
        self.reloads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    async fn on_message(&self, conn: &Connection<Text>, _msg: Payload) {
        let reloads = self.reloads.load(std::sync::atomic::Ordering::Relaxed);
        let _ = conn.send(format!(
            "keeper pid={} reloads={reloads}",
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
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5690".into());
    let count = std::env::var("WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let mut worker = Worker::new(
        addr,
        Demo {
            greeting: std::sync::OnceLock::new(),
        },
    )
    .name("demo")
    .count(count);
    if let Some(max) = std::env::var("MAX_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        worker = worker.max_requests(max);
    }
    if let Ok(user) = std::env::var("RUN_AS_USER") {
        worker = worker.user(user);
    }
    let mut server = Server::new().worker(worker);
    if let Ok(addr) = std::env::var("KEEPER_ADDR") {
        let keeper = Keeper {
            reloads: std::sync::atomic::AtomicU64::new(0),
        };
        server = server.worker(Worker::new(addr, keeper).name("keeper").reloadable(false));
    }
    server.grace_timeout(Duration::from_secs(10)).run_all()
}
