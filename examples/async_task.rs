//! Asynchronous tasks (Workerman manual 1.16.18): slow work goes to a pool
//! of task worker processes over a `text://` connection, so the front
//! worker's event loop keeps serving its other clients meanwhile.
//!
//! Run: `cargo run --release --example async_task -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: `nc 127.0.0.1 5693` and type `add 2 3`, `upper hello`, or
//! `sleep 2000` (a slow task: other clients are answered meanwhile).
//!
//! Workers:
//!
//! * `TaskWorker` on `text://127.0.0.1:12345` (`TASK_ADDR`), `TASK_WORKERS`
//!   processes (default 4; the manual uses 100): one JSON task per line,
//!   `{"function":"add","args":["2","3"]}`, answered with one JSON line,
//!   `{"ok":true,"result":"5"}` or `{"ok":false,"error":"..."}`;
//! * `front` on `text://127.0.0.1:5693` (`WORKERMAN_ADDR`): for each line,
//!   opens an `AsyncTcpConnection` to the task workers, sends the task
//!   (queued until the connection is up), and when the result comes back
//!   answers `task complete: <result>` and closes the task connection.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use workerman::prelude::*;

/// A task, as it travels to the task workers.
#[derive(Serialize, Deserialize)]
struct Task {
    function: String,
    args: Vec<String>,
}

/// A task's outcome.
#[derive(Serialize, Deserialize)]
struct Outcome {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The longest a `sleep` task may ask for.
const MAX_SLEEP_MS: u64 = 10_000;

/// Runs one task.
async fn run(task: Task) -> Result<String, String> {
    match task.function.as_str() {
        "add" => task
            .args
            .iter()
            .map(|a| a.parse::<i64>().map_err(|_| format!("not a number: {a}")))
            .try_fold(0i64, |sum, n| {
                sum.checked_add(n?).ok_or_else(|| "overflow".into())
            })
            .map(|n| n.to_string()),
        "upper" => Ok(task.args.join(" ").to_uppercase()),
        "sleep" => {
            let ms: u64 = task
                .args
                .first()
                .and_then(|a| a.parse().ok())
                .unwrap_or(100);
            tokio::time::sleep(Duration::from_millis(ms.min(MAX_SLEEP_MS))).await;
            Ok(format!(
                "slept {}ms in pid {}",
                ms.min(MAX_SLEEP_MS),
                std::process::id()
            ))
        }
        other => Err(format!("unknown function {other}")),
    }
}

/// The task worker pool.
struct TaskWorker;

#[async_trait]
impl Service for TaskWorker {
    type Protocol = Text;

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let outcome = match serde_json::from_slice::<Task>(&msg) {
            Ok(task) => match run(task).await {
                Ok(r) => Outcome {
                    ok: true,
                    result: Some(r),
                    error: None,
                },
                Err(e) => Outcome {
                    ok: false,
                    result: None,
                    error: Some(e),
                },
            },
            Err(e) => Outcome {
                ok: false,
                result: None,
                error: Some(format!("bad task: {e}")),
            },
        };
        // Plain strings and bools: serialising cannot fail.
        let _ = conn.send(serde_json::to_string(&outcome).unwrap_or_default());
    }
}

/// One task call: the connection to the task workers, answering the
/// client that asked.
struct TaskCall {
    client: Connection<Text>,
}

#[async_trait]
impl Service for TaskCall {
    type Protocol = Text;

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let text = match serde_json::from_slice::<Outcome>(&msg) {
            Ok(Outcome {
                ok: true, result, ..
            }) => {
                format!("task complete: {}", result.unwrap_or_default())
            }
            Ok(Outcome { error, .. }) => format!("task failed: {}", error.unwrap_or_default()),
            Err(_) => "task failed: bad answer from the task worker".to_owned(),
        };
        let _ = self.client.send(text);
        conn.close(None);
    }

    async fn on_error(&self, _conn: &Connection<Text>, err: &ConnectionError) {
        let _ = self.client.send(format!("task failed: {err}"));
    }
}

/// The front worker the clients talk to.
struct Front {
    task_addr: String,
}

#[async_trait]
impl Service for Front {
    type Protocol = Text;

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let line = msg.to_string_lossy();
        let mut words = line.split_whitespace();
        let Some(function) = words.next() else { return };
        let task = Task {
            function: function.to_owned(),
            args: words.map(str::to_owned).collect(),
        };
        let call = AsyncTcpConnection::new(
            self.task_addr.as_str(),
            TaskCall {
                client: conn.clone(),
            },
        );
        match call.start() {
            // Queued until the connection is up (Workerman's send before connect).
            Ok(tc) => {
                let _ = tc.send(serde_json::to_string(&task).unwrap_or_default());
            }
            Err(e) => {
                let _ = conn.send(format!("task failed: {e}"));
            }
        }
        // No await on the result: this connection's next line, and every
        // other client, are served while the task runs.
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5693".into());
    let task_addr = std::env::var("TASK_ADDR").unwrap_or_else(|_| "text://127.0.0.1:12345".into());
    let task_workers = std::env::var("TASK_WORKERS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(4);
    Server::new()
        .worker(
            Worker::new(task_addr.clone(), TaskWorker)
                .name("TaskWorker")
                .count(task_workers),
        )
        .worker(Worker::new(addr, Front { task_addr }).name("front"))
        .run_all()
}
