//! Broadcast chat, closure form: `examples/broadcast_chat.rs` with async
//! closures instead of a `Service` impl, and the chat room passed to every
//! callback as state (`with_state`, then `|State(room), conn, ...|`).
//!
//! Every line a client sends goes to every connected client, the sender
//! included, prefixed with the sender's connection id (`[3] hello`); joins
//! and leaves are announced (`[3] joined`, `[3] left`).
//!
//! Run: `cargo run --release --example broadcast_chat_closures -- start` (add `-d` to
//! daemonize; then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: two clients; the second one's line reaches both:
//!
//! ```text
//! python3 -c "import socket,time;a=socket.create_connection(('127.0.0.1',5689));b=socket.create_connection(('127.0.0.1',5689));time.sleep(0.2);b.sendall(b'hello\n');time.sleep(0.2);print(a.recv(256));print(b.recv(256))"
//! ```
//!
//! Listens on `text://127.0.0.1:5689`; set `WORKERMAN_ADDR` to change it
//! (for example `WORKERMAN_ADDR=text://0.0.0.0:7000`).
//!
//! The room is the worker process's own list of members: with `count > 1`
//! each worker process would have its own room, as in Workerman, so this
//! example runs one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use workerman::prelude::*;

/// The chat room: the members by connection id. Cloning it clones the
/// `Arc`, so every callback sees the same room.
#[derive(Clone, Default)]
struct Room {
    /// A std mutex: held only to insert, remove or send (`send` never
    /// blocks), never across an await.
    members: Arc<Mutex<HashMap<u64, Connection<Text>>>>,
}

impl Room {
    fn join(&self, conn: Connection<Text>) {
        self.lock().insert(conn.id(), conn);
    }

    fn leave(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Sends `[id] <text>` to every member.
    fn say(&self, id: u64, text: &[u8]) {
        let mut line = format!("[{id}] ").into_bytes();
        line.extend_from_slice(text);
        let line = Payload::from(line);
        for member in self.lock().values() {
            // A member that is closing or too slow misses the line, as with
            // `WorkerContext::broadcast`.
            let _ = member.send(line.clone());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Connection<Text>>> {
        // Nothing that can panic runs under the lock, so a poisoned lock
        // still holds a consistent map: keep serving.
        self.members
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5689".into());
    Worker::handlers::<Text>(addr)
        .with_state(Room::default())
        .on_connect(|State(room), conn| async move {
            tracing::info!(id = conn.id(), peer = %conn.remote_addr(), "joined");
            let id = conn.id();
            room.join(conn);
            room.say(id, b"joined");
        })
        .on_message(|State(room), conn, msg| async move {
            room.say(conn.id(), &msg);
        })
        .on_close(|State(room), conn| async move {
            tracing::info!(id = conn.id(), "left");
            room.leave(conn.id());
            room.say(conn.id(), b"left");
        })
        .name("broadcast_chat_closures")
        .run_all()
}
