// Callbacks return `()`: the result of `send` must be handled or ignored.
use workerman::prelude::*;

fn main() {
    let _worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
        .on_message(|conn, msg| async move { conn.send(msg) });
}
