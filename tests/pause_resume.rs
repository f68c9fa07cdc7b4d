//! pause_recv stops delivery (even of packages already buffered) and
//! reading; resume_recv delivers the buffered ones without new input.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{events, inet, Events, LineClient};
use workerman::prelude::*;

struct Pauser {
    ev: Events,
    conn: Arc<Mutex<Option<Connection<Text>>>>,
}

#[async_trait]
impl Service for Pauser {
    type Protocol = Text;
    async fn on_connect(&self, conn: &Connection<Text>) {
        *self.conn.lock().unwrap() = Some(conn.clone());
    }
    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        if msg == "pause" {
            conn.pause_recv();
        }
        self.ev.push(format!("message {msg}"));
    }
}

#[tokio::test]
async fn pause_inside_on_message_holds_the_rest_of_the_batch() {
    let (ev, mut log) = events();
    let slot = Arc::new(Mutex::new(None));
    let server = Worker::new(
        "text://127.0.0.1:0",
        Pauser {
            ev,
            conn: slot.clone(),
        },
    )
    .spawn()
    .unwrap();
    let mut c = LineClient::connect(inet(&server)).await;
    // Three packages in one write: the first pauses.
    c.send(b"pause\nsecond\nthird\n").await;
    assert_eq!(log.next().await, "message pause");
    assert_eq!(log.next_within(Duration::from_millis(300)).await, None);
    let conn = slot.lock().unwrap().clone().unwrap();
    assert!(conn.is_recv_paused());

    // While paused nothing is read from the socket either.
    let read_before = conn.stats().bytes_read;
    c.send(b"fourth\n").await;
    assert_eq!(log.next_within(Duration::from_millis(300)).await, None);
    assert_eq!(conn.stats().bytes_read, read_before);

    // Resume (from another thread): buffered packages come first, then the
    // socket is read again.
    conn.resume_recv();
    assert_eq!(log.next().await, "message second");
    assert_eq!(log.next().await, "message third");
    assert_eq!(log.next().await, "message fourth");
    assert!(!conn.is_recv_paused());
    server.shutdown().await;
}
