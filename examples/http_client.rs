//! Calling an HTTP API from a worker with hyper's client (pooled
//! keep-alive connections, one pool per worker process): each line a
//! client sends is a path; the worker fetches it from the upstream API and
//! answers with the status and the body.
//!
//! Run: `cargo run --release --example http_client -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: start the `http_hello` example (it answers every path), then
//! `nc 127.0.0.1 5696` and type `/` or `/anything`.
//!
//! Listens on `text://127.0.0.1:5696` (`WORKERMAN_ADDR`) with `WORKERS`
//! processes (default 2); the upstream is `UPSTREAM_URL` (default
//! `http://127.0.0.1:2345`, the `http_hello` example). Each call may take
//! 5 s at most; bodies over 64 KiB are refused.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use workerman::prelude::*;

const TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BODY: usize = 64 * 1024;

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

struct Fetcher {
    upstream: String,
    /// One client (and its connection pool) per worker instance.
    clients: Mutex<HashMap<usize, HttpClient>>,
}

impl Fetcher {
    fn client(&self, worker: usize) -> HttpClient {
        self.clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(worker)
            .or_insert_with(|| Client::builder(TokioExecutor::new()).build_http())
            .clone()
    }

    async fn fetch(&self, client: &HttpClient, path: &str) -> Result<String, String> {
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        let uri: hyper::Uri = format!("{}{path}", self.upstream)
            .parse()
            .map_err(|e| format!("bad path: {e}"))?;
        let call = async {
            let res = client
                .get(uri)
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            let status = res.status();
            let body = Limited::new(res.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| format!("body: {e}"))?
                .to_bytes();
            // One line back: newlines in the body become spaces.
            let text = String::from_utf8_lossy(&body).replace(['\r', '\n'], " ");
            Ok(format!("{} {}", status.as_u16(), text.trim_end()))
        };
        tokio::time::timeout(TIMEOUT, call)
            .await
            .map_err(|_| format!("no answer within {TIMEOUT:?}"))?
    }
}

#[async_trait]
impl Service for Fetcher {
    type Protocol = Text;

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let worker = conn.worker().map(|w| w.id()).unwrap_or(0);
        let client = self.client(worker);
        let reply = match self.fetch(&client, msg.to_string_lossy().trim()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "upstream call failed");
                format!("error: {e}")
            }
        };
        let _ = conn.send(reply);
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5696".into());
    let upstream = std::env::var("UPSTREAM_URL").unwrap_or_else(|_| "http://127.0.0.1:2345".into());
    let count = std::env::var("WORKERS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2);
    let fetcher = Fetcher {
        upstream: upstream.trim_end_matches('/').to_owned(),
        clients: Mutex::new(HashMap::new()),
    };
    Worker::new(addr, fetcher)
        .name("http_client")
        .count(count)
        .run_all()
}
