//! UDP echo: every datagram comes back to its sender, boundaries kept.
//!
//! Run: `cargo run --release --example udp_echo -- start` (add `-d` to
//! daemonize; then `status`, `reload`, `stop` with the same command).
//! Try: `python3 -c "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.sendto(b'hello',('127.0.0.1',5682));print(s.recv(99))"`
//!
//! Listens on `udp://127.0.0.1:5682`; set `WORKERMAN_ADDR` to change it.
//! With `text://...` there (and `Transport::Udp` in code) each line of a
//! datagram would be a message.

use workerman::prelude::*;

struct Echo;

#[async_trait]
impl Service for Echo {
    type Protocol = Tcp;

    async fn on_message(&self, conn: &Connection<Tcp>, msg: Payload) {
        let _ = conn.send(msg);
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "udp://127.0.0.1:5682".into());
    Worker::new(addr, Echo).name("udp_echo").count(2).run_all()
}
