//! Browser chat: a page and a WebSocket endpoint on one port. Every
//! message goes to every connected browser, with join and leave notices.
//!
//! Run: `cargo run --release --example websocket_chat -- start` (add `-d` to daemonize;
//! then `status`, `connections`, `reload`, `stop` with the same command).
//! Try: open <http://127.0.0.1:2348/?name=ann> and <http://127.0.0.1:2348/?name=bob>
//! in two tabs and type in either.
//!
//! Listens on `websocket://127.0.0.1:2348`; set `WORKERMAN_ADDR` to change it
//! (for example `WORKERMAN_ADDR=websocket://0.0.0.0:7000`).
//!
//! It shows the handshake hook (Workerman's `onWebSocketConnect`): with
//! `handshake_messages` on, the handler receives each request first. A
//! plain `GET /` is answered with the page; an upgrade to `/ws` is checked
//! (same origin only, a name from the query) and accepted. On stop, every
//! browser gets a close frame 1001 (going away) from the framework.
//!
//! With `count > 1` each worker instance would only reach its own
//! browsers, as in Workerman, so this example runs one instance.

use workerman::prelude::*;
use workerman::websocket::WebSocketConfig;
use workerman::websocket::{Handshake, Settings};

const PAGE: &str = include_str!("websocket_chat.html");

/// The settings of this worker's WebSocket protocol.
struct ChatSettings;

impl Settings for ChatSettings {
    fn config() -> WebSocketConfig {
        // Browsers offer permessage-deflate; chat text compresses well.
        WebSocketConfig::default()
            .handshake_messages(true)
            .deflate(true)
    }
}

type Ws = WebSocket<ChatSettings>;

/// A connection that joined the chat, and its name.
#[derive(Clone)]
struct Member(String);

struct Chat;

impl Chat {
    /// Answers a request: the page, a 404, a refusal, or an accepted
    /// upgrade (then returns the member's name).
    fn answer(&self, hs: &Handshake) -> Option<String> {
        let req = hs.request();
        if !hs.is_upgrade() {
            match req.path() {
                "/" | "/index.html" => hs.respond(200, "text/html; charset=utf-8", PAGE),
                _ => hs.reject(404),
            }
            return None;
        }
        if req.path() != "/ws" {
            hs.reject(404);
            return None;
        }
        // Same origin only: a page from elsewhere may not use this chat.
        let host = req.header("host").unwrap_or_default();
        let same_origin = |o: &str| o == format!("http://{host}") || o == format!("https://{host}");
        if req.origin().is_some_and(|o| !same_origin(o)) {
            hs.reject(403);
            return None;
        }
        let name: String = req
            .query_param("name")
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(32)
            .collect();
        Some(if name.is_empty() {
            "guest".into()
        } else {
            name
        })
    }
}

/// Sends `text` to every member of `conn`'s worker.
fn broadcast(conn: &Connection<Ws>, text: &str) {
    let Some(worker) = conn.worker() else { return };
    for member in worker.connections() {
        if member.extension::<Member>().is_some() {
            let _ = member.send(text);
        }
    }
}

#[async_trait]
impl Service for Chat {
    type Protocol = Ws;

    async fn on_message(&self, conn: &Connection<Ws>, msg: Message) {
        match msg {
            Message::Handshake(hs) => {
                if let Some(name) = self.answer(&hs) {
                    tracing::info!(id = conn.id(), %name, "joined");
                    conn.insert_extension(Member(name.clone()));
                    // The newcomer's copy is held until its 101 is out.
                    broadcast(conn, &format!("* {name} joined"));
                }
            }
            Message::Text(text) => {
                if let Some(Member(name)) = conn.extension::<Member>() {
                    broadcast(conn, &format!("{name}: {text}"));
                }
            }
            _ => {}
        }
    }

    async fn on_close(&self, conn: &Connection<Ws>) {
        if let Some(Member(name)) = conn.remove_extension::<Member>() {
            tracing::info!(id = conn.id(), %name, "left");
            broadcast(conn, &format!("* {name} left"));
        }
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr =
        std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "websocket://127.0.0.1:2348".into());
    Worker::new(addr, Chat).name("websocket_chat").run_all()
}
