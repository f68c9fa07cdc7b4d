//! Raw TCP echo server: bytes come back as they arrive, with no framing
//! (each read is one message). A client that sends faster than it reads
//! is slowed down rather than losing data: reading pauses while the send
//! buffer is full.
//!
//! Run: `cargo run --release --example tcp_echo -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Try:
//!
//! ```text
//! python3 -c "import socket;s=socket.create_connection(('127.0.0.1',2347));s.sendall(b'any bytes\x00\xff');print(s.recv(64))"
//! ```
//!
//! Listens on `tcp://127.0.0.1:2347`; set `WORKERMAN_ADDR` to change it
//! (for example `WORKERMAN_ADDR=tcp://0.0.0.0:7000`).

use workerman::prelude::*;

struct Echo;

#[async_trait]
impl Service for Echo {
    type Protocol = Tcp;

    async fn on_message(&self, conn: &Connection<Tcp>, msg: Payload) {
        let _ = conn.send(msg);
    }

    async fn on_buffer_full(&self, conn: &Connection<Tcp>) {
        conn.pause_recv();
    }

    async fn on_buffer_drain(&self, conn: &Connection<Tcp>) {
        conn.resume_recv();
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "tcp://127.0.0.1:2347".into());
    Worker::new(addr, Echo).name("tcp_echo").run_all()
}
