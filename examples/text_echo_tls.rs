//! Text echo over TLS: `text_echo` with the TLS transport (Workerman's
//! `transport = 'ssl'` on a `text://` worker), using a self-signed
//! certificate for `localhost` and `127.0.0.1` written to a temporary
//! folder at start.
//!
//! Run: `cargo run --release --example text_echo_tls -- start` (add `-d`
//! to daemonize; then `status`, `connections`, `reload`, `stop` with the
//! same command).
//! Try: `openssl s_client -quiet -connect 127.0.0.1:5683 -CAfile
//! /tmp/workerman-text-echo-tls/cert.pem` and type lines.
//!
//! Listens on `text://127.0.0.1:5683` with TLS; set `WORKERMAN_ADDR` to
//! change it. The certificate and key go to `$CERT_DIR` (default
//! `<temp dir>/workerman-text-echo-tls`); an existing pair is reused, so
//! the master and every worker process serve the same certificate. For a
//! real site, load your own files with `TlsConfig::from_pem_files` (see
//! docs/deployment.md).

#[path = "support/self_signed.rs"]
mod self_signed;

use workerman::prelude::*;
use workerman::Transport;

struct Echo;

#[async_trait]
impl Service for Echo {
    type Protocol = Text;

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let _ = conn.send(msg);
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let tls = self_signed::tls_from_env("workerman-text-echo-tls");
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5683".into());
    Worker::new(addr, Echo)
        .name("text_echo_tls")
        .transport(Transport::Tls(tls))
        .run_all()
}
