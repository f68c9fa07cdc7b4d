// A captured `Arc` must be cloned for each call's future: the closure is
// called once per message, so the future cannot take the closure's own copy.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use workerman::prelude::*;

fn main() {
    let total = Arc::new(AtomicU64::new(0));
    let _worker = Worker::handlers::<Text>("text://127.0.0.1:5678").on_message(
        move |conn, _msg| async move {
            let n = total.fetch_add(1, Ordering::Relaxed);
            let _ = conn.send(n.to_string());
        },
    );
}
