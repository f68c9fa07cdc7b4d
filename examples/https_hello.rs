//! HTTPS hello world: `http://` with the TLS transport (Workerman's
//! `transport = 'ssl'`), with a self-signed certificate for `localhost` and
//! `127.0.0.1` written to a directory at start.
//!
//! Run: `cargo run --release --example https_hello -- start`
//! Try: `curl --cacert /tmp/workerman-https-hello/cert.pem https://127.0.0.1:2443/`
//! (or `curl -k`).
//!
//! Listens on `http://127.0.0.1:2443` with TLS; set `WORKERMAN_ADDR` to
//! change it. The certificate and key go to `$CERT_DIR` (default
//! `<temp dir>/workerman-https-hello`); an existing pair is reused, so the
//! master and every worker process serve the same certificate. For a real
//! site, load your own files with `TlsConfig::from_pem_files` (see
//! docs/deployment.md).

#[path = "support/self_signed.rs"]
mod self_signed;

use workerman::http::{Request, Response};
use workerman::prelude::*;
use workerman::Transport;

struct Hello;

#[async_trait]
impl Service for Hello {
    type Protocol = Http;

    async fn on_message(&self, conn: &Connection<Http>, _req: Request) {
        let _ = conn.send(
            Response::new(200)
                .with_header("Content-Type", "text/plain")
                .with_body("Hello over TLS"),
        );
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let tls = self_signed::tls_from_env("workerman-https-hello");
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "http://127.0.0.1:2443".into());
    Worker::new(addr, Hello)
        .name("https_hello")
        .transport(Transport::Tls(tls))
        .run_all()
}
