//! Redis from a worker (the `redis` crate, async): page-view counters and
//! a short-lived cache, one multiplexed, self-reconnecting connection per
//! worker process.
//!
//! Run: `cargo run --release --example redis_counter -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Needs a Redis server: `bash .ci/install-services.sh` starts one.
//! Try: `nc 127.0.0.1 5695` and type `incr home`, `incr home`, `get home`,
//! `cache motd hello 60`, `get motd`, `ttl motd`.
//!
//! Listens on `text://127.0.0.1:5695` (`WORKERMAN_ADDR`) with `WORKERS`
//! processes (default 2), using Redis at `REDIS_URL` (default
//! `redis://127.0.0.1:6379/`), keys under `REDIS_PREFIX` (default
//! `workerman:example:`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use workerman::prelude::*;

struct Counters {
    client: redis::Client,
    prefix: String,
    /// One connection per worker instance (per process under `run_all`).
    conns: Mutex<HashMap<usize, ConnectionManager>>,
}

impl Counters {
    fn conn(&self, worker: usize) -> Option<ConnectionManager> {
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&worker)
            .cloned()
    }

    async fn answer(&self, mut c: ConnectionManager, line: &str) -> redis::RedisResult<String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let key = |k: &str| format!("{}{k}", self.prefix);
        Ok(match words.as_slice() {
            ["incr", k] => {
                let n: i64 = redis::cmd("INCR").arg(key(k)).query_async(&mut c).await?;
                n.to_string()
            }
            ["get", k] => {
                let v: Option<String> = redis::cmd("GET").arg(key(k)).query_async(&mut c).await?;
                v.unwrap_or_else(|| "(nil)".into())
            }
            ["cache", k, value, secs] => {
                let secs: u64 = secs.parse().unwrap_or(60);
                redis::cmd("SET")
                    .arg(key(k))
                    .arg(*value)
                    .arg("EX")
                    .arg(secs)
                    .query_async::<()>(&mut c)
                    .await?;
                "ok".into()
            }
            ["ttl", k] => {
                let t: i64 = redis::cmd("TTL").arg(key(k)).query_async(&mut c).await?;
                t.to_string()
            }
            _ => "commands: incr K | get K | cache K V SECONDS | ttl K".into(),
        })
    }
}

#[async_trait]
impl Service for Counters {
    type Protocol = Text;

    async fn on_worker_start(&self, worker: &WorkerContext<Text>) {
        // Lazy: connects on first use and reconnects by itself.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(5)));
        match ConnectionManager::new_lazy_with_config(self.client.clone(), config) {
            Ok(c) => {
                self.conns
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(worker.id(), c);
            }
            Err(e) => tracing::error!(error = %e, "no redis connection"),
        }
    }

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let worker = conn.worker().map(|w| w.id()).unwrap_or(0);
        let Some(c) = self.conn(worker) else {
            let _ = conn.send("error: no redis connection");
            return;
        };
        let reply = match self.answer(c, &msg.to_string_lossy()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "redis command failed");
                format!("error: {e}")
            }
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
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5695".into());
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let client = match redis::Client::open(url.as_str()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bad REDIS_URL {url}: {e}");
            std::process::exit(2);
        }
    };
    let counters = Counters {
        client,
        prefix: std::env::var("REDIS_PREFIX").unwrap_or_else(|_| "workerman:example:".into()),
        conns: Mutex::new(HashMap::new()),
    };
    let count = std::env::var("WORKERS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2);
    Worker::new(addr, counters)
        .name("redis_counter")
        .count(count)
        .run_all()
}
