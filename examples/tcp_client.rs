//! TCP client: an `AsyncTcpConnection` that keeps talking to a server
//! across the server's restarts (manual: AsyncTcpConnection, reconnect).
//!
//! It connects to a `text://` server (the `text_echo` example by default),
//! says `hello from tcp_client`, and logs every reply. When the connection
//! drops (the server stopped or restarted), `on_close` calls
//! `reconnect(1 s)`: the same connection object, with the same id and
//! callbacks, tries again every second until the server is back, and
//! then goes on working. Lines typed on the client's own text port are
//! sent to the server, and the replies are copied back to every client of
//! that port as `reply: <line>`.
//!
//! Run: `cargo run --release --example text_echo -- start` in one
//! terminal, then `cargo run --release --example tcp_client -- start` in
//! another (add `-d` to daemonize; then `status`, `connections`, `reload`,
//! `stop` with the same command).
//! Try: `nc 127.0.0.1 5699` and type lines; stop and restart `text_echo`
//! and type again: the replies come back once it is up.
//!
//! Listens on `text://127.0.0.1:5699`; set `WORKERMAN_ADDR` to change it.
//! Connects to `text://127.0.0.1:5678`; set `SERVER_URL` to change it
//! (`frame://`, `tcp://` and user protocols work the same way).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use workerman::prelude::*;

/// How long to wait before each new attempt.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Handles the outgoing connection.
struct Client {
    /// The text worker, to copy replies to its clients.
    console: WorkerContext<Text>,
    /// Set when the worker stops: no reconnecting then.
    stopping: Arc<AtomicBool>,
}

#[async_trait]
impl Service for Client {
    type Protocol = Text;

    async fn on_connect(&self, conn: &Connection<Text>) {
        tracing::info!(id = conn.id(), server = %conn.remote_addr(), "connected");
        let _ = conn.send("hello from tcp_client");
    }

    async fn on_message(&self, _conn: &Connection<Text>, msg: Payload) {
        tracing::info!(reply = %msg, "reply");
        self.console.broadcast(format!("reply: {msg}"));
    }

    async fn on_error(&self, _conn: &Connection<Text>, err: &ConnectionError) {
        tracing::warn!(error = %err, "connection error");
    }

    async fn on_close(&self, conn: &Connection<Text>) {
        if self.stopping.load(Ordering::Relaxed) {
            return;
        }
        tracing::info!(id = conn.id(), delay = ?RECONNECT_DELAY, "closed; reconnecting");
        conn.reconnect(RECONNECT_DELAY);
    }
}

/// The text port: each line goes to the server.
struct Console {
    url: String,
    server: Mutex<Option<Connection<Text>>>,
    stopping: Arc<AtomicBool>,
}

#[async_trait]
impl Service for Console {
    type Protocol = Text;

    async fn on_worker_start(&self, worker: &WorkerContext<Text>) {
        let client = Client {
            console: worker.clone(),
            stopping: Arc::clone(&self.stopping),
        };
        match AsyncTcpConnection::new(self.url.as_str(), client).start() {
            Ok(conn) => *self.server.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn),
            Err(e) => tracing::error!(url = %self.url, error = %e, "cannot connect"),
        }
    }

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let server = self
            .server
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match server {
            Some(server) => {
                if let Err(e) = server.send(msg) {
                    let _ = conn.send(format!("not sent: {e}"));
                }
            }
            None => {
                let _ = conn.send("no server connection");
            }
        }
    }

    async fn on_worker_stop(&self, _worker: &WorkerContext<Text>) {
        self.stopping.store(true, Ordering::Relaxed);
        let server = self.server.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(server) = server {
            server.close(None);
        }
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5699".into());
    let url = std::env::var("SERVER_URL").unwrap_or_else(|_| "text://127.0.0.1:5678".into());
    let console = Console {
        url,
        server: Mutex::new(None),
        stopping: Arc::new(AtomicBool::new(false)),
    };
    Worker::new(addr, console).name("tcp_client").run_all()
}
