//! Static files: serves a folder over HTTP, safely (nothing outside it can
//! be reached: `..`, encoded slashes, hidden files and symlinks that leave
//! the folder all get 404), with `Last-Modified`/`ETag` (304) and ranges
//! (206); large files are streamed.
//!
//! Run: `cargo run --release --example http_static -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: open http://127.0.0.1:2351/ in a browser, or
//! `curl -i http://127.0.0.1:2351/hello.txt`,
//! `curl -r 0-4 http://127.0.0.1:2351/hello.txt`,
//! `curl --path-as-is -i http://127.0.0.1:2351/../Cargo.toml` (404).
//!
//! Listens on `http://127.0.0.1:2351`; set `WORKERMAN_ADDR` to change it.
//! Serves `examples/public/` of this repository; set `WORKERMAN_STATIC_ROOT`
//! to serve another folder.

use workerman::http::{Request, StaticDir};
use workerman::prelude::*;

struct Static {
    files: StaticDir,
}

#[async_trait]
impl Service for Static {
    type Protocol = Http;

    async fn on_message(&self, conn: &Connection<Http>, req: Request) {
        match self.files.serve(conn, &req).await {
            Ok(status) => tracing::debug!(path = req.path(), status, "served"),
            Err(e) => tracing::debug!(path = req.path(), error = %e, "not fully sent"),
        }
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "http://127.0.0.1:2351".into());
    let root = std::env::var("WORKERMAN_STATIC_ROOT")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/examples/public").into());
    let files = match StaticDir::new(&root) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("cannot serve {root}: {e}");
            std::process::exit(1);
        }
    };
    tracing::info!(root = %files.root().display(), "serving");
    Worker::new(addr, Static { files })
        .name("http_static")
        .run_all()
}
