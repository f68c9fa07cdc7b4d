//! Broadcast chat: every line a client sends goes to every connected
//! client, the sender included, prefixed with the sender's connection id
//! (`[3] hello`); joins and leaves are announced (`[3] joined`, `[3] left`).
//!
//! Run: `cargo run --release --example broadcast_chat -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: two clients; the second one's line reaches both:
//!
//! ```text
//! python3 -c "import socket,time;a=socket.create_connection(('127.0.0.1',5680));b=socket.create_connection(('127.0.0.1',5680));time.sleep(0.2);b.sendall(b'hello\n');time.sleep(0.2);print(a.recv(256));print(b.recv(256))"
//! ```
//!
//! Listens on `text://127.0.0.1:5680`; set `WORKERMAN_ADDR` to change it
//! (for example `WORKERMAN_ADDR=text://0.0.0.0:7000`).
//!
//! With `count > 1` each worker instance would only reach its own clients,
//! as in Workerman, so this example runs one instance.

use workerman::prelude::*;

struct Chat;

/// Sends `[id] <text>` to every live connection of `conn`'s worker.
fn announce(conn: &Connection<Text>, text: &[u8]) {
    let Some(worker) = conn.worker() else { return };
    let mut line = format!("[{}] ", conn.id()).into_bytes();
    line.extend_from_slice(text);
    worker.broadcast(line);
}

#[async_trait]
impl Service for Chat {
    type Protocol = Text;

    async fn on_connect(&self, conn: &Connection<Text>) {
        tracing::info!(id = conn.id(), peer = %conn.remote_addr(), "joined");
        announce(conn, b"joined");
    }

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        announce(conn, &msg);
    }

    async fn on_close(&self, conn: &Connection<Text>) {
        tracing::info!(id = conn.id(), "left");
        // This connection is still listed but already closed: its own copy
        // is refused, the others get the notice.
        announce(conn, b"left");
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5680".into());
    Worker::new(addr, Chat).name("broadcast_chat").run_all()
}
