// A `text://` worker's messages are `Payload`, not `String`; with every
// argument annotated, rustc shows the expected signature.
use workerman::prelude::*;

fn main() {
    let _worker = Worker::handlers::<Text>("text://127.0.0.1:5678").on_message(
        |conn: Connection<Text>, msg: String| async move {
            let _ = conn.send(msg);
        },
    );
}
