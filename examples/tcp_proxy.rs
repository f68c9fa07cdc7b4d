//! TCP proxy: every client connection gets its own connection to an
//! upstream server, and bytes are piped both ways with back-pressure
//! (`Connection::pipe`). A side that ends its stream (FIN) is forwarded as
//! a FIN while replies keep flowing back; when a side closes, the other is
//! closed after its queued data is flushed. If the upstream cannot be
//! reached, the client is closed.
//!
//! Run: `cargo run --release --example tcp_proxy -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command),
//! with an upstream, for example `cargo run --release --example tcp_echo --
//! start -d` (the default upstream).
//! Try:
//!
//! ```text
//! python3 -c "import socket;s=socket.create_connection(('127.0.0.1',5681));s.sendall(b'through the proxy');print(s.recv(64))"
//! ```
//!
//! Listens on `tcp://127.0.0.1:5681` and forwards to
//! `tcp://127.0.0.1:2347`; set `WORKERMAN_ADDR` and `UPSTREAM_ADDR` to change
//! them (for example `UPSTREAM_ADDR=tcp://10.0.0.2:80`).

use workerman::prelude::*;

/// The upstream side of one proxied connection. Its packages are piped to
/// the client, so `on_message` only runs for bytes that arrive before the
/// pipe is set up, which cannot happen here (see `Proxy::on_connect`).
struct Upstream;

#[async_trait]
impl Service for Upstream {
    type Protocol = Tcp;

    async fn on_message(&self, conn: &Connection<Tcp>, msg: Payload) {
        tracing::debug!(id = conn.id(), len = msg.len(), "upstream bytes not piped");
    }
}

/// The client side: connects to the upstream and pipes both ways.
struct Proxy {
    upstream: String,
}

#[async_trait]
impl Service for Proxy {
    type Protocol = Tcp;

    async fn on_connect(&self, client: &Connection<Tcp>) {
        client.pause_recv();
        let upstream = match AsyncTcpConnection::new(self.upstream.as_str(), Upstream)
            .pause_recv(true)
            .connect()
            .await
        {
            Ok(upstream) => upstream,
            Err(e) => {
                tracing::warn!(id = client.id(), error = %e, "upstream unreachable; closing client");
                client.close(None);
                return;
            }
        };
        // Both sides start paused, so nothing reaches `on_message` before
        // the pipes are in place (even if the upstream speaks first).
        client.pipe(&upstream);
        upstream.pipe(client);
        client.resume_recv();
        upstream.resume_recv();
        tracing::info!(client = client.id(), upstream = upstream.id(), peer = %client.remote_addr(), "proxying");
    }

    async fn on_message(&self, conn: &Connection<Tcp>, msg: Payload) {
        tracing::debug!(id = conn.id(), len = msg.len(), "client bytes not piped");
    }

    async fn on_close(&self, conn: &Connection<Tcp>) {
        tracing::info!(id = conn.id(), "client closed");
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "tcp://127.0.0.1:5681".into());
    let upstream = std::env::var("UPSTREAM_ADDR").unwrap_or_else(|_| "tcp://127.0.0.1:2347".into());
    Worker::new(addr, Proxy { upstream })
        .name("tcp_proxy")
        .run_all()
}
