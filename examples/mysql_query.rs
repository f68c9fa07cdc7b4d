//! MySQL/MariaDB per request, with an async connection pool in each worker
//! process (sqlx): the event loop serves other connections while a query
//! runs.
//!
//! Run: `cargo run --release --example mysql_query -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Needs a MySQL or MariaDB server: `bash .ci/install-services.sh` starts one
//! with a `workerman_test` database.
//! Try: `nc 127.0.0.1 5694` and type `add ann`, `get 1`, `count`.
//!
//! Listens on `text://127.0.0.1:5694` (`WORKERMAN_ADDR`) with `WORKERS`
//! processes (default 2), each with a pool of up to 4 connections to
//! `MYSQL_URL` (default
//! `mysql://workerman:workerman@127.0.0.1:3306/workerman_test`), using
//! table `MYSQL_TABLE` (default `workerman_users`, created if missing).
//!
//! Workerman's manual uses a blocking PDO wrapper (one query at a time
//! per process, reconnecting after "gone away"); the pool here reconnects
//! by itself and lets each process run several queries at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use workerman::prelude::*;

struct Users {
    url: String,
    table: String,
    /// One pool per worker instance (per process under `run_all`).
    pools: Mutex<HashMap<usize, MySqlPool>>,
}

impl Users {
    fn pool(&self, worker: usize) -> Option<MySqlPool> {
        self.pools
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&worker)
            .cloned()
    }

    async fn answer(&self, pool: &MySqlPool, line: &str) -> Result<String, sqlx::Error> {
        let t = &self.table;
        let (cmd, arg) = line.split_once(' ').unwrap_or((line, ""));
        Ok(match cmd {
            "add" if !arg.is_empty() => {
                let done = sqlx::query(&format!("INSERT INTO {t} (name) VALUES (?)"))
                    .bind(arg)
                    .execute(pool)
                    .await?;
                format!("id {}", done.last_insert_id())
            }
            "get" => match arg.parse::<u64>() {
                Ok(id) => {
                    let row: Option<(String,)> =
                        sqlx::query_as(&format!("SELECT name FROM {t} WHERE id = ?"))
                            .bind(id)
                            .fetch_optional(pool)
                            .await?;
                    row.map_or_else(|| "not found".to_owned(), |(name,)| name)
                }
                Err(_) => "usage: get <id>".to_owned(),
            },
            "count" => {
                let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {t}"))
                    .fetch_one(pool)
                    .await?;
                n.to_string()
            }
            _ => "commands: add <name> | get <id> | count".to_owned(),
        })
    }
}

#[async_trait]
impl Service for Users {
    type Protocol = Text;

    async fn on_worker_start(&self, worker: &WorkerContext<Text>) {
        // Lazy: no connection until the first query, so a database that
        // starts after the workers is no problem.
        let pool = match MySqlPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy(&self.url)
        {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "bad MYSQL_URL");
                return;
            }
        };
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {} (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, \
             name VARCHAR(255) NOT NULL)",
            self.table
        );
        if let Err(e) = sqlx::query(&create).execute(&pool).await {
            tracing::error!(error = %e, "cannot create the table (is the database up?)");
        }
        self.pools
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(worker.id(), pool);
    }

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let worker = conn.worker().map(|w| w.id()).unwrap_or(0);
        let Some(pool) = self.pool(worker) else {
            let _ = conn.send("error: no database pool");
            return;
        };
        let reply = match self.answer(&pool, msg.to_string_lossy().trim()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "query failed");
                format!("error: {e}")
            }
        };
        let _ = conn.send(reply);
    }

    async fn on_worker_stop(&self, worker: &WorkerContext<Text>) {
        let pool = self
            .pools
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&worker.id());
        if let Some(pool) = pool {
            pool.close().await;
        }
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5694".into());
    let table = std::env::var("MYSQL_TABLE").unwrap_or_else(|_| "workerman_users".into());
    // The name goes into SQL text: letters, digits and underscores only.
    if table.is_empty()
        || !table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        eprintln!("MYSQL_TABLE must be letters, digits and underscores");
        std::process::exit(2);
    }
    let users = Users {
        url: std::env::var("MYSQL_URL")
            .unwrap_or_else(|_| "mysql://workerman:workerman@127.0.0.1:3306/workerman_test".into()),
        table,
        pools: Mutex::new(HashMap::new()),
    };
    let count = std::env::var("WORKERS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2);
    Worker::new(addr, users)
        .name("mysql_query")
        .count(count)
        .run_all()
}
