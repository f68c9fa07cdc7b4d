//! Shared counters across worker processes with GlobalData: every process
//! increments the same variables, and none of the increments is lost.
//!
//! Run: `cargo run --release --example global_data_counter -- start` (add `-d` to
//! daemonize; then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: `nc 127.0.0.1 5691` and type `incr visits` a few times (each
//! answer comes from some process; the count goes up by one each time),
//! `get visits`, `add motd hello`, `cas motd hello bye`, `unset motd`.
//!
//! Workers:
//!
//! * `globalDataServer` on `frame://127.0.0.1:2207` (`GLOBAL_DATA_ADDR`;
//!   a `redis://` URL there uses Redis instead, with keys under
//!   `GLOBAL_DATA_PREFIX`, and no GlobalData server is started);
//! * `counter` on `text://127.0.0.1:5691` (`WORKERMAN_ADDR`), `WORKERS`
//!   processes (default 4), answering the commands above.
//!
//! With `INCREMENTS=M`, each `counter` process waits until all are
//! started (`ready`), then adds 1 to `hits` M times with `increment`, and
//! M times to `cas_hits` with a read-modify-`cas` loop (counting the
//! retries in `cas_conflicts`), then adds 1 to `done`: with N processes,
//! `get done` ends at N, and `hits` and `cas_hits` at exactly N×M.

use std::collections::HashMap;
use std::sync::Mutex;

use workerman::global_data::{
    GlobalDataClient, GlobalDataError, GlobalDataServer, DEFAULT_SERVER_ADDRESS,
};
use workerman::prelude::*;

struct Counter {
    address: String,
    prefix: Option<String>,
    increments: u64,
    /// One client per worker instance (per process under `run_all`).
    clients: Mutex<HashMap<usize, GlobalDataClient>>,
}

impl Counter {
    fn client(&self, id: usize) -> Option<GlobalDataClient> {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = clients.get(&id) {
            return Some(c.clone());
        }
        let mut builder = GlobalDataClient::builder();
        if let Some(p) = &self.prefix {
            builder = builder.redis_prefix(p);
        }
        match builder.connect([self.address.clone()]) {
            Ok(c) => {
                clients.insert(id, c.clone());
                Some(c)
            }
            Err(e) => {
                tracing::error!(error = %e, "no GlobalData client");
                None
            }
        }
    }
}

/// Waits until all `n` processes are ready, then `M` increments of
/// `hits`, `M` cas-increments of `cas_hits` (adding the conflicts it met
/// to `cas_conflicts`), then one of `done`.
async fn hammer(g: GlobalDataClient, n: usize, m: u64) -> Result<u64, GlobalDataError> {
    for key in ["ready", "hits", "cas_conflicts", "done"] {
        g.add(key, &0).await?;
    }
    // A start line, so that the processes really run at the same time.
    g.increment("ready", 1).await?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while g.get::<usize>("ready").await?.unwrap_or(0) < n && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    for _ in 0..m {
        g.increment("hits", 1).await?;
    }
    let mut conflicts = 0;
    for _ in 0..m {
        loop {
            let old: Option<u64> = g.get("cas_hits").await?;
            if g.cas("cas_hits", &old, &(old.unwrap_or(0) + 1)).await? {
                break;
            }
            conflicts += 1;
        }
    }
    g.increment("cas_conflicts", conflicts as i64).await?;
    g.increment("done", 1).await?;
    Ok(conflicts)
}

/// Answers one command line.
async fn answer(g: &GlobalDataClient, line: &str) -> Result<String, GlobalDataError> {
    let mut words = line.split_whitespace();
    let (cmd, key) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let arg = words.next();
    Ok(match (cmd, arg) {
        ("get", None) => match g.get::<serde_json::Value>(key).await? {
            Some(v) => v.to_string(),
            None => "null".into(),
        },
        ("incr", None) => {
            g.add(key, &0).await?;
            match g.increment(key, 1).await? {
                Some(n) => n.to_string(),
                None => "null".into(),
            }
        }
        ("set", Some(v)) => {
            g.set(key, v).await?;
            "ok".into()
        }
        ("add", Some(v)) => g.add(key, v).await?.to_string(),
        ("cas", Some(old)) => {
            let new = words.next().unwrap_or("");
            g.cas(key, old, new).await?.to_string()
        }
        ("isset", None) => g.isset(key).await?.to_string(),
        ("unset", None) => {
            g.unset(key).await?;
            "ok".into()
        }
        _ => "commands: get K | incr K | set K V | add K V | cas K OLD NEW | isset K | unset K"
            .into(),
    })
}

#[async_trait]
impl Service for Counter {
    type Protocol = Text;

    async fn on_worker_start(&self, worker: &WorkerContext<Text>) {
        let Some(g) = self.client(worker.id()) else {
            return;
        };
        if self.increments > 0 {
            let (n, m) = (worker.count(), self.increments);
            // In the background: the worker serves meanwhile.
            tokio::spawn(async move {
                match hammer(g, n, m).await {
                    Ok(conflicts) => {
                        tracing::info!(pid = std::process::id(), conflicts, "increments done")
                    }
                    Err(e) => tracing::error!(error = %e, "increments failed"),
                }
            });
        }
    }

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let id = conn.worker().map(|w| w.id()).unwrap_or(0);
        let Some(g) = self.client(id) else { return };
        let reply = match answer(&g, &msg.to_string_lossy()).await {
            Ok(r) => r,
            Err(e) => format!("error: {e}"),
        };
        let _ = conn.send(reply);
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let global =
        std::env::var("GLOBAL_DATA_ADDR").unwrap_or_else(|_| DEFAULT_SERVER_ADDRESS.into());
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5691".into());
    let env_num = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let mut server = Server::new();
    if global.starts_with("frame://") {
        server = server.worker(GlobalDataServer::worker(global.clone()));
    }
    let counter = Counter {
        address: global,
        prefix: std::env::var("GLOBAL_DATA_PREFIX").ok(),
        increments: env_num("INCREMENTS", 0),
        clients: Mutex::new(HashMap::new()),
    };
    server
        .worker(
            Worker::new(addr, counter)
                .name("counter")
                .count(env_num("WORKERS", 4) as usize),
        )
        .run_all()
}
