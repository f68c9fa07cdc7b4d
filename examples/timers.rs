//! Timers: a clock pushed to every client, and a deadline for silent ones.
//!
//! * Every second the worker sends `time HH:MM:SS UTC` to all its clients:
//!   a repeating timer added in `on_worker_start` (manual: active push).
//! * A client that sends nothing within 10 seconds of connecting is told
//!   `auth timeout` and closed: a one-shot timer added in `on_connect`,
//!   deleted by the client's first line in `on_message`, or in `on_close`
//!   if the client leaves first (manual FAQ: closing unauthenticated
//!   connections). Later lines are echoed.
//!
//! Run: `cargo run --release --example timers -- start` (add `-d` to
//! daemonize; then `status`, `connections`, `reload`, `stop` with the same
//! command).
//! Try: `nc 127.0.0.1 5685`: the time arrives every second; type a line
//! within 10 s to stay (`welcome`), or wait to be disconnected.
//!
//! Listens on `text://127.0.0.1:5685`; set `WORKERMAN_ADDR` to change it
//! (for example `WORKERMAN_ADDR=text://0.0.0.0:7000`).
//!
//! Timers belong to the worker instance that adds them: with `count(4)`
//! each of the 4 instances would run its own clock for its own clients.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use workerman::prelude::*;

/// How long a new client has to send its first line.
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);

struct Clock;

/// The pending auth-timeout timer of a connection, kept on the connection
/// so that `on_message` and `on_close` can delete it.
struct AuthTimer(TimerId);

#[async_trait]
impl Service for Clock {
    type Protocol = Text;

    async fn on_worker_start(&self, worker: &WorkerContext<Text>) {
        let worker = worker.clone();
        match Timer::add(Duration::from_secs(1), move || {
            worker.broadcast(format!("time {}", utc_time_of_day()));
        }) {
            Ok(id) => tracing::info!(timer = %id, "clock started"),
            Err(e) => tracing::error!(error = %e, "clock not started"),
        }
    }

    async fn on_connect(&self, conn: &Connection<Text>) {
        // The timer holds a handle to the connection until it fires or is
        // deleted; deleting it in on_message / on_close releases it.
        let c = conn.clone();
        match Timer::once(AUTH_TIMEOUT, move || {
            tracing::info!(id = c.id(), "no line within the deadline; closing");
            c.close(Some("auth timeout".into()));
        }) {
            Ok(id) => {
                conn.insert_extension(AuthTimer(id));
            }
            Err(e) => tracing::error!(error = %e, "auth timer not started"),
        }
    }

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        if let Some(AuthTimer(id)) = conn.remove_extension::<AuthTimer>() {
            // The first line "authenticates" the client.
            Timer::del(id);
            let _ = conn.send("welcome");
            return;
        }
        let _ = conn.send(msg);
    }

    async fn on_close(&self, conn: &Connection<Text>) {
        // Left before the deadline: delete the timer, or it would linger
        // (Workerman's classic per-connection timer leak).
        if let Some(AuthTimer(id)) = conn.remove_extension::<AuthTimer>() {
            Timer::del(id);
        }
    }
}

/// `HH:MM:SS` of the current UTC time.
fn utc_time_of_day() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02} UTC", day / 3600, day / 60 % 60, day % 60)
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5685".into());
    Worker::new(addr, Clock).name("timers").run_all()
}
