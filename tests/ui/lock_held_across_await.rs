// Callback futures must be `Send`, as the trait form's are: a
// std `MutexGuard` held across an `.await` makes it not `Send`.
use std::sync::{Arc, Mutex};

use workerman::prelude::*;

fn main() {
    let _worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
        .with_state(Arc::new(Mutex::new(Vec::new())))
        .on_message(|State(log), conn, msg| async move {
            let mut log = log.lock().unwrap();
            log.push(msg.clone());
            std::future::ready(()).await;
            let _ = conn.send(msg);
        });
}
