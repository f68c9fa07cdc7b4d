//! WebSocket echo server: every text or binary message comes back as it
//! came (a text message as text, a binary one as binary).
//!
//! Run: `cargo run --release --example websocket_echo -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: `python3 -m websockets ws://127.0.0.1:2346/` (`pip install websockets`)
//! and type lines, or from a browser console:
//! `ws = new WebSocket("ws://127.0.0.1:2346"); ws.onmessage = e => console.log(e.data); ws.onopen = () => ws.send("hi")`.
//! The `ws_client` example talks to it too.
//!
//! Listens on `websocket://127.0.0.1:2346`; set `WORKERMAN_ADDR` to change it
//! (for example `WORKERMAN_ADDR=websocket://0.0.0.0:7000`), and `WORKERMAN_COUNT`
//! for the number of worker processes (default 1).

#[path = "support/env.rs"]
mod env;

use workerman::prelude::*;

struct Echo;

#[async_trait]
impl Service for Echo {
    type Protocol = WebSocket;

    async fn on_message(&self, conn: &Connection<WebSocket>, msg: Message) {
        let _ = conn.send(msg);
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr =
        std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "websocket://127.0.0.1:2346".into());
    Worker::new(addr, Echo)
        .name("websocket_echo")
        .count(env::count_from_env(1))
        .run_all()
}
