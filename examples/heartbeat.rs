//! Heartbeat: close connections that have been silent for too long
//! (manual 1.16.1, "heartbeat detection").
//!
//! Every connection remembers when it last sent something; a timer of the
//! worker looks over the worker's connections and closes each one that has
//! been silent for more than N seconds, telling it `heartbeat timeout`
//! first. A client stays connected by sending anything, for example a
//! `ping` line every N/2 seconds (answered with `pong`); other lines are
//! echoed.
//!
//! * `HEARTBEAT_SECS`: N, the longest silence allowed, in seconds
//!   (fractions allowed; default 55, as in the manual, so that a client
//!   pinging every 25–30 s stays).
//!
//! Run: `cargo run --release --example heartbeat -- start` (add `-d` to
//! daemonize; then `status`, `connections`, `reload`, `stop` with the same
//! command).
//! Try: `HEARTBEAT_SECS=5 cargo run --example heartbeat -- start`, then
//! `nc 127.0.0.1 5697`: type `ping` within 5 s and the connection stays;
//! stop typing and it is closed.
//!
//! Listens on `text://127.0.0.1:5697`; set `WORKERMAN_ADDR` to change it.
//! The timer checks every N/4 seconds (at least every 10 s, at most every
//! 100 ms), so a silent connection is closed between N and about 1.25 N
//! seconds after its last message.

#[path = "support/env.rs"]
mod env;

use std::time::{Duration, Instant};

use env::seconds_from_env;
use workerman::prelude::*;

/// The longest silence allowed when `HEARTBEAT_SECS` is not set.
const DEFAULT_SILENCE: Duration = Duration::from_secs(55);

/// When a connection last sent something, kept on the connection.
#[derive(Clone, Copy)]
struct LastMessage(Instant);

struct Heartbeat {
    /// N: the longest silence allowed.
    silence: Duration,
}

#[async_trait]
impl Service for Heartbeat {
    type Protocol = Text;

    async fn on_worker_start(&self, worker: &WorkerContext<Text>) {
        let check = (self.silence / 4).clamp(Duration::from_millis(100), Duration::from_secs(10));
        let (worker, silence) = (worker.clone(), self.silence);
        match Timer::add(check, move || {
            let now = Instant::now();
            for conn in worker.connections() {
                let last = conn.extension::<LastMessage>().map_or(now, |l| l.0);
                if now.duration_since(last) > silence {
                    tracing::info!(id = conn.id(), peer = %conn.remote_addr(), "silent too long; closing");
                    conn.close(Some("heartbeat timeout".into()));
                }
            }
        }) {
            Ok(id) => tracing::info!(timer = %id, ?silence, ?check, "heartbeat check started"),
            Err(e) => tracing::error!(error = %e, "heartbeat check not started"),
        }
    }

    async fn on_connect(&self, conn: &Connection<Text>) {
        // Connecting counts as a sign of life.
        conn.insert_extension(LastMessage(Instant::now()));
    }

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        conn.insert_extension(LastMessage(Instant::now()));
        if msg.as_ref() == b"ping" {
            let _ = conn.send("pong");
        } else {
            let _ = conn.send(msg);
        }
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5697".into());
    let service = Heartbeat {
        silence: seconds_from_env("HEARTBEAT_SECS", DEFAULT_SILENCE),
    };
    Worker::new(addr, service).name("heartbeat").run_all()
}
