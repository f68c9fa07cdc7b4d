// Callbacks run on the worker's threads long after `main`'s locals are
// gone: a closure may not borrow them.
use workerman::prelude::*;

fn main() {
    let greeting = String::from("welcome");
    let _worker = Worker::handlers::<Text>("text://127.0.0.1:5678").on_connect(|conn| {
        let _ = conn.send(greeting.as_str());
        async {}
    });
}
