//! Text echo server: every line a client sends comes back.
//!
//! Run: `cargo run --release --example text_echo -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: `nc 127.0.0.1 5678` and type lines.
//!
//! Listens on `text://127.0.0.1:5678`; set `WORKERMAN_ADDR` to change it
//! (for example `WORKERMAN_ADDR=text://0.0.0.0:7000`), and `WORKERMAN_COUNT`
//! for the number of worker processes (default 1).

#[path = "support/env.rs"]
mod env;

use workerman::prelude::*;

struct Echo;

#[async_trait]
impl Service for Echo {
    type Protocol = Text;

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let _ = conn.send(msg);
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5678".into());
    Worker::new(addr, Echo)
        .name("text_echo")
        .count(env::count_from_env(1))
        .run_all()
}
