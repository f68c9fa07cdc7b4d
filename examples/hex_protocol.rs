//! Binary data and hex (manual 1.16.40): a device-style binary protocol.
//!
//! Each chunk of bytes a client sends is logged as hex (what
//! `bin2hex($data)` shows in PHP) and answered with a binary frame built
//! from bytes, as `hex2bin('aa...')` builds one:
//!
//! ```text
//! +------+-----+-----------------+----------------------+
//! | 0xAA | len | the bytes (len) | XOR of the bytes     |
//! +------+-----+-----------------+----------------------+
//! ```
//!
//! Chunks longer than 255 bytes are answered with `0xEE 0x01` (too long).
//!
//! Run: `cargo run --release --example hex_protocol -- start`
//! Try: `python3 -c "import socket;s=socket.create_connection(('127.0.0.1',5687));s.sendall(bytes.fromhex('0102ff'));print(s.recv(99).hex())"`
//! prints `aa030102ff fc` without the space.
//!
//! Listens on `tcp://127.0.0.1:5687`; set `WORKERMAN_ADDR` to change it.

use workerman::prelude::*;

struct Device;

/// Hex digits of `bytes`, lower case, no separators.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl Service for Device {
    type Protocol = Tcp;

    async fn on_message(&self, conn: &Connection<Tcp>, msg: Payload) {
        tracing::info!(peer = %conn.remote_addr(), hex = %hex(&msg), "received");
        let reply = match u8::try_from(msg.len()) {
            Ok(len) => {
                let mut frame = vec![0xAA, len];
                frame.extend_from_slice(&msg);
                frame.push(msg.iter().fold(0, |x, b| x ^ b));
                frame
            }
            Err(_) => vec![0xEE, 0x01],
        };
        tracing::info!(hex = %hex(&reply), "sending");
        let _ = conn.send(reply);
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "tcp://127.0.0.1:5687".into());
    Worker::new(addr, Device).name("hex_protocol").run_all()
}
