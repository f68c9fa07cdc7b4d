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

use std::path::{Path, PathBuf};

use workerman::http::{Request, Response};
use workerman::prelude::*;
use workerman::{TlsConfig, Transport};

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

/// The certificate and key files, made once.
fn certificate(dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(dir)?;
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .map_err(std::io::Error::other)?;
    // Written under temporary names, then renamed: a process starting at
    // the same moment never reads half a file.
    let tmp = dir.join(format!(".key.{}", std::process::id()));
    std::fs::write(&tmp, made.signing_key.serialize_pem())?;
    std::fs::rename(&tmp, &key)?;
    let tmp = dir.join(format!(".cert.{}", std::process::id()));
    std::fs::write(&tmp, made.cert.pem())?;
    std::fs::rename(&tmp, &cert)?;
    Ok((cert, key))
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let dir = std::env::var_os("CERT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("workerman-https-hello"));
    let tls = match certificate(&dir)
        .map_err(|e| e.to_string())
        .and_then(|(cert, key)| TlsConfig::from_pem_files(&cert, &key).map_err(|e| e.to_string()))
    {
        Ok(tls) => tls,
        Err(e) => {
            tracing::error!(error = %e, dir = %dir.display(), "no certificate");
            std::process::exit(1);
        }
    };
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "http://127.0.0.1:2443".into());
    Worker::new(addr, Hello)
        .name("https_hello")
        .transport(Transport::Tls(tls))
        .run_all()
}
