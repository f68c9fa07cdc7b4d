//! Authentication deadline: close connections that do not authenticate
//! within N seconds (manual 1.16.30).
//!
//! How to authenticate: send the line `auth <token>`, where `<token>` is
//! the value of `AUTH_TOKEN` (default `secret`). The server answers
//! `welcome` and from then on echoes every line. Before that, any other
//! line is answered `auth required` (a wrong token: `auth failed`) and the
//! deadline keeps running; when it passes, the client is told
//! `auth timeout` and closed.
//!
//! * `AUTH_TIMEOUT_SECS`: N, in seconds (fractions allowed; default 30).
//! * `AUTH_TOKEN`: the token clients must send (default `secret`).
//!
//! Each connection gets a one-shot timer in `on_connect`; authenticating
//! deletes it, and so does `on_close` when a client leaves first (the
//! classic per-connection timer leak is avoided).
//!
//! Run: `cargo run --release --example auth_timeout -- start` (add `-d` to
//! daemonize; then `status`, `connections`, `reload`, `stop` with the same
//! command).
//! Try: `nc 127.0.0.1 5698`, then type `auth secret` within 30 s.
//!
//! Listens on `text://127.0.0.1:5698`; set `WORKERMAN_ADDR` to change it.

#[path = "support/env.rs"]
mod env;

use std::time::Duration;

use env::seconds_from_env;
use workerman::prelude::*;

/// The deadline when `AUTH_TIMEOUT_SECS` is not set.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

/// The pending deadline of a connection that has not authenticated yet.
struct Deadline(TimerId);

/// Marks an authenticated connection.
#[derive(Clone, Copy)]
struct Authenticated;

struct Auth {
    deadline: Duration,
    token: String,
}

#[async_trait]
impl Service for Auth {
    type Protocol = Text;

    async fn on_connect(&self, conn: &Connection<Text>) {
        let c = conn.clone();
        match Timer::once(self.deadline, move || {
            tracing::info!(id = c.id(), peer = %c.remote_addr(), "not authenticated in time; closing");
            c.close(Some("auth timeout".into()));
        }) {
            Ok(id) => {
                conn.insert_extension(Deadline(id));
            }
            Err(e) => {
                // Without a deadline the rule cannot be kept: refuse.
                tracing::error!(error = %e, "deadline timer not started; closing");
                conn.close(Some("server error".into()));
            }
        }
    }

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        if conn.extension::<Authenticated>().is_some() {
            let _ = conn.send(msg);
            return;
        }
        let Some(token) = msg.as_bytes().strip_prefix(b"auth ") else {
            let _ = conn.send("auth required");
            return;
        };
        if token != self.token.as_bytes() {
            tracing::info!(id = conn.id(), "wrong token");
            let _ = conn.send("auth failed");
            return;
        }
        if let Some(Deadline(id)) = conn.remove_extension::<Deadline>() {
            Timer::del(id);
        }
        conn.insert_extension(Authenticated);
        let _ = conn.send("welcome");
    }

    async fn on_close(&self, conn: &Connection<Text>) {
        if let Some(Deadline(id)) = conn.remove_extension::<Deadline>() {
            Timer::del(id);
        }
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5698".into());
    let service = Auth {
        deadline: seconds_from_env("AUTH_TIMEOUT_SECS", DEFAULT_DEADLINE),
        token: std::env::var("AUTH_TOKEN").unwrap_or_else(|_| "secret".into()),
    };
    Worker::new(addr, service).name("auth_timeout").run_all()
}
