// A `text://` worker's messages are `Payload` (every byte the peer sent,
// UTF-8 or not), not `String`.
//
// With only `msg` annotated, rustc drops the whole expected signature when
// the annotation does not fit it, and reports the *other* argument as
// unknown (E0282). Its suggestion, annotating `conn`, leads to the clear
// message: see `wrong_message_type_annotated.rs`. Best: annotate nothing.
use workerman::prelude::*;

fn main() {
    let _worker = Worker::handlers::<Text>("text://127.0.0.1:5678").on_message(
        |conn, msg: String| async move {
            let _ = conn.send(msg);
        },
    );
}
