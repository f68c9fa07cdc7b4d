//! Pushing to WebSocket clients from another program (manual 1.16.17).
//!
//! The websocket worker opens, inside its `on_worker_start`, a second,
//! internal `text://` port (`WorkerContext::listen`): both share the
//! process's memory, so a line written to the text port by any other
//! program (a PHP site, a cron job, `nc`) reaches the browsers connected to
//! the websocket port.
//!
//! * A browser connects to `ws://127.0.0.1:2361` and sends its user id as
//!   its first message (in real life: a token checked against a session).
//! * Another program writes `{"uid":"u1","msg":"hello"}\n` to
//!   `127.0.0.1:5688`: the browser of user `u1` gets `hello`, and the
//!   program gets `ok` (or `fail` when that user is not connected).
//!   `"uid":"*"` sends to everybody.
//!
//! Run: `cargo run --release --example push_from_outside -- start`
//! Try: in a browser console
//! `ws = new WebSocket("ws://127.0.0.1:2361"); ws.onmessage = e => console.log(e.data); ws.onopen = () => ws.send("u1")`,
//! then `python3 -c "import socket;s=socket.create_connection(('127.0.0.1',5688));s.sendall(b'{\"uid\":\"u1\",\"msg\":\"hello\"}\n');print(s.recv(9))"`.
//!
//! Listens on `websocket://127.0.0.1:2361` (`WORKERMAN_ADDR`) and, inside,
//! `text://127.0.0.1:5688` (`PUSH_ADDR`). It runs one process: with
//! `count > 1` each process would need its own push port or `reuse_port`,
//! and would only reach its own browsers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use workerman::prelude::*;

/// The connected browsers, by user id.
type Users = Arc<Mutex<HashMap<String, Connection<WebSocket>>>>;

#[derive(Clone)]
struct Uid(String);

struct Browsers {
    users: Users,
    push_addr: String,
}

#[async_trait]
impl Service for Browsers {
    type Protocol = WebSocket;

    async fn on_worker_start(&self, worker: &WorkerContext<WebSocket>) {
        let pusher = Pusher {
            users: self.users.clone(),
        };
        match worker.listen(Worker::new(self.push_addr.clone(), pusher).name("push")) {
            Ok(addr) => tracing::info!(%addr, "push port open"),
            Err(e) => tracing::error!(error = %e, "cannot open the push port"),
        }
    }

    async fn on_message(&self, conn: &Connection<WebSocket>, msg: Message) {
        // The first text message is the user id.
        if let (Message::Text(uid), None) = (msg, conn.extension::<Uid>()) {
            conn.insert_extension(Uid(uid.clone()));
            self.users
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(uid, conn.clone());
        }
    }

    async fn on_close(&self, conn: &Connection<WebSocket>) {
        if let Some(Uid(uid)) = conn.extension::<Uid>() {
            let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
            // Only if that id still maps to this connection.
            if users.get(&uid).is_some_and(|c| c.id() == conn.id()) {
                users.remove(&uid);
            }
        }
    }
}

/// The internal port: one JSON line per push.
struct Pusher {
    users: Users,
}

#[derive(serde::Deserialize)]
struct Push {
    uid: String,
    msg: String,
}

#[async_trait]
impl Service for Pusher {
    type Protocol = Text;

    async fn on_message(&self, conn: &Connection<Text>, line: Payload) {
        let Ok(push) = serde_json::from_slice::<Push>(&line) else {
            let _ = conn.send("fail: expected {\"uid\":..,\"msg\":..}");
            return;
        };
        let targets: Vec<Connection<WebSocket>> = {
            let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
            if push.uid == "*" {
                users.values().cloned().collect()
            } else {
                users.get(&push.uid).cloned().into_iter().collect()
            }
        };
        let sent = targets
            .iter()
            .filter(|c| c.send(push.msg.as_str()).is_ok())
            .count();
        let _ = conn.send(if sent > 0 { "ok" } else { "fail" });
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr =
        std::env::var("WORKERMAN_ADDR").unwrap_or_else(|_| "websocket://127.0.0.1:2361".into());
    let push_addr = std::env::var("PUSH_ADDR").unwrap_or_else(|_| "text://127.0.0.1:5688".into());
    let browsers = Browsers {
        users: Arc::new(Mutex::new(HashMap::new())),
        push_addr,
    };
    Worker::new(addr, browsers)
        .name("push_from_outside")
        .run_all()
}
