//! HTTP hello world: every request gets `Hello World` as text/plain (the
//! benchmark target).
//!
//! Run: `cargo run --release --example http_hello -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: `curl -i http://127.0.0.1:2345/`, or load it with
//! `wrk -t1 -c64 -d10s http://127.0.0.1:2345/`.
//!
//! Listens on `http://127.0.0.1:2345`; set `WORKERMAN_ADDR` to change it
//! (for example `WORKERMAN_ADDR=http://0.0.0.0:8080`), and `WORKERMAN_COUNT`
//! for the number of worker processes (default 1).

#[path = "support/env.rs"]
mod env;

use workerman::http::{Request, Response};
use workerman::prelude::*;

struct Hello;

#[async_trait]
impl Service for Hello {
    type Protocol = Http;

    async fn on_message(&self, conn: &Connection<Http>, _req: Request) {
        let _ = conn.send(
            Response::new(200)
                .with_header("Content-Type", "text/plain")
                .with_body("Hello World"),
        );
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "http://127.0.0.1:2345".into());
    Worker::new(addr, Hello)
        .name("http_hello")
        .count(env::count_from_env(1))
        .run_all()
}
