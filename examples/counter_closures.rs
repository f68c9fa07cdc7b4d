//! A global line counter, closure form, with shared state captured by
//! clone: every line a client sends is answered with the number of lines
//! all clients have sent so far and the line itself (`3 hello`); a new
//! client is greeted with the current count (`welcome: 2 lines so far`).
//!
//! The counter is an `Arc<AtomicU64>`. Each closure owns a clone of the
//! `Arc`; since a closure runs once per call and the future it returns
//! must own what it uses, `on_message` clones the `Arc` again for each
//! future, while `on_connect` reads the count before its `async` block.
//!
//! Run: `cargo run --release --example counter_closures -- start` (add `-d` to
//! daemonize; then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: `python3 -c "import socket; s=socket.create_connection(('127.0.0.1',5684)); print(s.recv(64)); s.sendall(b'hi\n'); print(s.recv(64))"`
//!
//! Listens on `text://127.0.0.1:5684`; set `WORKERMAN_ADDR` to change it.
//!
//! The counter lives in the worker process: with `count > 1` each worker
//! process would count its own lines, so this example runs one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use workerman::prelude::*;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5684".into());
    let lines = Arc::new(AtomicU64::new(0));
    Worker::handlers::<Text>(addr)
        .on_connect({
            let lines = Arc::clone(&lines);
            move |conn| {
                // Read before the `async` block: the future owns only `n`.
                let n = lines.load(Ordering::Relaxed);
                async move {
                    let _ = conn.send(format!("welcome: {n} lines so far"));
                }
            }
        })
        .on_message(move |conn, msg| {
            let lines = Arc::clone(&lines);
            async move {
                let n = lines.fetch_add(1, Ordering::Relaxed) + 1;
                let mut reply = format!("{n} ").into_bytes();
                reply.extend_from_slice(&msg);
                let _ = conn.send(reply);
            }
        })
        .name("counter_closures")
        .run_all()
}
