// State is cloned into every callback on every worker thread, so it must be
// `Send + Sync`: an `Rc` is not.
use std::cell::Cell;
use std::rc::Rc;

use workerman::prelude::*;

fn main() {
    let _worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
        .with_state(Rc::new(Cell::new(0u64)))
        .on_message(|State(count), conn, msg| async move {
            count.set(count.get() + 1);
            let _ = conn.send(msg);
        });
}
