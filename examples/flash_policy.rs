//! A Flash socket policy server (manual 1.16.26).
//!
//! Flash is obsolete (Adobe ended it in 2020, and no browser runs it); this
//! example is kept because the manual has it and some embedded clients
//! still ask. A Flash client connecting to a socket first asked port 843
//! for `<policy-file-request/>\0` and needed this XML document, ended by a
//! NUL byte, before it would talk to any port.
//!
//! Run: `cargo run --release --example flash_policy -- start`
//! Try: `python3 -c "import socket;s=socket.create_connection(('127.0.0.1',8843));s.sendall(b'<policy-file-request/>\0');print(s.recv(999))"`
//!
//! Listens on `tcp://127.0.0.1:8843`; set `WORKERMAN_ADDR` to change it.
//! Flash only asked port 843, a privileged port: as root use
//! `WORKERMAN_ADDR=tcp://0.0.0.0:843`.

use workerman::prelude::*;

const POLICY: &str = "<?xml version=\"1.0\"?>\n\
<cross-domain-policy>\n\
<site-control permitted-cross-domain-policies=\"all\"/>\n\
<allow-access-from domain=\"*\" to-ports=\"*\"/>\n\
</cross-domain-policy>\n";

struct Policy;

#[async_trait]
impl Service for Policy {
    type Protocol = Tcp;

    async fn on_message(&self, conn: &Connection<Tcp>, msg: Payload) {
        if msg.starts_with(b"<policy-file-request/>") {
            let mut doc = POLICY.as_bytes().to_vec();
            doc.push(0);
            conn.close(Some(Payload::from(doc)));
        } else {
            // Anything else is not a Flash client.
            conn.close(None);
        }
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "tcp://127.0.0.1:8843".into());
    Worker::new(addr, Policy).name("flash_policy").run_all()
}
