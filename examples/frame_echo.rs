//! Frame echo server: every length-prefixed frame a client sends comes back.
//!
//! Run: `cargo run --release --example frame_echo -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: a frame is a 4-byte big-endian total length (header included), then
//! the body; this sends `hello` and prints the echoed frame:
//!
//! ```text
//! python3 -c "import socket,struct;s=socket.create_connection(('127.0.0.1',5679));b=b'hello';s.sendall(struct.pack('>I',4+len(b))+b);print(s.recv(64))"
//! ```
//!
//! Listens on `frame://127.0.0.1:5679`; set `WORKERMAN_ADDR` to change it
//! (for example `WORKERMAN_ADDR=frame://0.0.0.0:7000`), and `WORKERMAN_COUNT`
//! for the number of worker processes (default 1).

#[path = "support/env.rs"]
mod env;

use workerman::prelude::*;

struct Echo;

#[async_trait]
impl Service for Echo {
    type Protocol = Frame;

    async fn on_message(&self, conn: &Connection<Frame>, msg: Payload) {
        let _ = conn.send(msg);
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "frame://127.0.0.1:5679".into());
    Worker::new(addr, Echo)
        .name("frame_echo")
        .count(env::count_from_env(1))
        .run_all()
}
