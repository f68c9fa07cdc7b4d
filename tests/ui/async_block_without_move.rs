// The future outlives the call, so it must own the connection: `async move`.
use workerman::prelude::*;

fn main() {
    let _worker = Worker::handlers::<Text>("text://127.0.0.1:5678").on_message(|conn, msg| async {
        let _ = conn.send(msg);
    });
}
