//! WebSocket client: connects to an echo server (the `websocket_echo`
//! example by default), sends a greeting, prints every reply, pings every
//! 10 seconds and reconnects when the connection drops. Lines typed on its
//! own text port are sent to the server too, and the replies are copied
//! back to every text client.
//!
//! Run: `cargo run --release --example websocket_echo -- start` in one terminal,
//! then `cargo run --release --example ws_client -- start` (add `-d` to
//! daemonize; then `status`, `connections`, `reload`, `stop` with the same
//! command).
//! Try: `nc 127.0.0.1 2350` and type lines; stop and restart the echo
//! server to watch the client reconnect.
//!
//! Listens on `text://127.0.0.1:2350`; set `WORKERMAN_ADDR` to change it
//! (for example `WORKERMAN_ADDR=text://0.0.0.0:7000`). Connects to
//! `ws://127.0.0.1:2346/`; set `WS_URL` to change it.
//!
//! The ping interval is a timer of the client's own (Workerman's
//! `websocketPingInterval`): the codec answers pings but runs no timers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use workerman::prelude::*;
use workerman::websocket::CloseCode;

const PING_INTERVAL: Duration = Duration::from_secs(10);
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Handles the outgoing WebSocket connection.
struct EchoClient {
    /// The text worker, to copy replies to its clients.
    console: WorkerContext<Text>,
    /// Set when the worker stops: no reconnecting then.
    stopping: Arc<AtomicBool>,
}

/// The ping timer of the WebSocket connection.
struct PingTimer(TimerId);

#[async_trait]
impl Service for EchoClient {
    type Protocol = WsClient;

    async fn on_connect(&self, conn: &Connection<WsClient>) {
        tracing::info!(peer = %conn.remote_addr(), "connected");
        // Sent at once, written right after the server's 101.
        let _ = conn.send("hello from ws_client");
        let c = conn.clone();
        match Timer::add(PING_INTERVAL, move || {
            let _ = c.send(Message::Ping(Bytes::from_static(b"keepalive")));
        }) {
            Ok(id) => {
                conn.insert_extension(PingTimer(id));
            }
            Err(e) => tracing::error!(error = %e, "ping timer not started"),
        }
    }

    async fn on_message(&self, _conn: &Connection<WsClient>, msg: Message) {
        let line = match &msg {
            Message::Text(t) => format!("reply: {t}"),
            Message::Binary(b) => format!("reply: {} bytes", b.len()),
            _ => return,
        };
        println!("{line}");
        self.console.broadcast(line);
    }

    async fn on_error(&self, _conn: &Connection<WsClient>, err: &ConnectionError) {
        tracing::warn!(error = %err, "websocket error");
    }

    async fn on_close(&self, conn: &Connection<WsClient>) {
        if let Some(PingTimer(id)) = conn.remove_extension::<PingTimer>() {
            Timer::del(id);
        }
        if self.stopping.load(Ordering::Relaxed) {
            return;
        }
        tracing::info!(delay = ?RECONNECT_DELAY, "closed; reconnecting");
        conn.reconnect(RECONNECT_DELAY);
    }
}

/// The text port: each line goes to the WebSocket server.
struct Console {
    url: String,
    ws: Mutex<Option<Connection<WsClient>>>,
    stopping: Arc<AtomicBool>,
}

#[async_trait]
impl Service for Console {
    type Protocol = Text;

    async fn on_worker_start(&self, worker: &WorkerContext<Text>) {
        let client = EchoClient {
            console: worker.clone(),
            stopping: Arc::clone(&self.stopping),
        };
        match AsyncTcpConnection::new(self.url.as_str(), client).start() {
            Ok(conn) => *self.ws.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn),
            Err(e) => tracing::error!(url = %self.url, error = %e, "cannot connect"),
        }
    }

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let ws = self.ws.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match ws {
            Some(ws) => {
                if let Err(e) = ws.send(msg.to_string()) {
                    let _ = conn.send(format!("not sent: {e}"));
                }
            }
            None => {
                let _ = conn.send("no websocket connection");
            }
        }
    }

    async fn on_worker_stop(&self, _worker: &WorkerContext<Text>) {
        self.stopping.store(true, Ordering::Relaxed);
        let ws = self.ws.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(ws) = ws {
            ws.close(Some(Message::close(CloseCode::Normal, "bye")));
        }
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:2350".into());
    let url = std::env::var("WS_URL").unwrap_or_else(|_| "ws://127.0.0.1:2346/".into());
    let console = Console {
        url,
        ws: Mutex::new(None),
        stopping: Arc::new(AtomicBool::new(false)),
    };
    Worker::new(addr, console).name("ws_client").run_all()
}
