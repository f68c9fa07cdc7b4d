//! The closure builder's callbacks, listed once: this test writes the
//! part of `src/fn_service.rs` between its `@generated` markers from the
//! list below (the `callbacks!` entries, which make the stored callbacks
//! and the `Service` methods, and the eighteen public `on_*` setters, with
//! and without state), and fails when that part differs from what the list
//! gives. To add or change a callback, edit the list and run
//!
//! ```text
//! UPDATE_GENERATED=1 cargo test -p workerman-core --test closure_setters
//! ```
//!
//! (This file uses std only, so when the crate does not build, as after
//! renaming a callback, it runs on its own: `CARGO_MANIFEST_DIR=$PWD/workerman-core
//! rustc --edition 2021 --test workerman-core/tests/closure_setters.rs -o /tmp/gen
//! && UPDATE_GENERATED=1 /tmp/gen`.)
//!
//! Why generated source rather than a `macro_rules!` expansion: rustc
//! quotes a setter's signature and `where` clause when a closure does not
//! fit (a moved capture, a future that returns a value, a lock held across
//! an `await`; `tests/ui` checks those messages). A macro-made setter makes
//! it quote the macro's internals and the whole list instead; generated
//! text reads as if written by hand.

use std::fs;
use std::path::PathBuf;

/// One argument of a callback.
struct Arg {
    /// Its name in the `Service` method (and in the stored closure).
    name: &'static str,
    /// Its type in the `Service` method (lifetimes `'b`, `'c`).
    service_ty: &'static str,
    /// Its type in the user's closure (by value).
    closure_ty: &'static str,
    /// How the closure's argument is made from the method's.
    make: &'static str,
}

const WORKER: Arg = Arg {
    name: "worker",
    service_ty: "&'b WorkerContext<P>",
    closure_ty: "WorkerContext<P>",
    make: "worker.clone()",
};
const CONN: Arg = Arg {
    name: "conn",
    service_ty: "&'b Connection<P>",
    closure_ty: "Connection<P>",
    make: "conn.clone()",
};
const MSG: Arg = Arg {
    name: "msg",
    service_ty: "P::Inbound",
    closure_ty: "P::Inbound",
    make: "msg",
};
const ERR: Arg = Arg {
    name: "err",
    service_ty: "&'c ConnectionError",
    closure_ty: "ConnectionError",
    make: "err.clone()",
};

/// One callback: a `Service` method, a stored closure, two setters.
struct Callback {
    name: &'static str,
    args: &'static [Arg],
    /// The setter's docs (without state).
    doc: &'static str,
    /// The docs of the setter after `Worker::with_state`.
    doc_with_state: &'static str,
}

/// The callbacks, in the order of the setters in the docs.
const CALLBACKS: &[Callback] = &[
    Callback {
        name: "on_worker_start",
        args: &[WORKER],
        doc: r##"
Sets `on_worker_start`: once in every worker instance, before it
accepts connections; see [`Service::on_worker_start`].

# Examples

```
use workerman_core::Worker;
use workerman_protocols::Text;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .on_worker_start(|worker| async move {
        tracing::info!(id = worker.id(), name = worker.name(), "started");
    });
# let _ = worker;
```
"##,
        doc_with_state: r##"
Sets `on_worker_start`, with the state; see
[`on_worker_start`](Worker::on_worker_start) without state.

# Examples

```
use std::sync::Arc;
use workerman_core::{State, Worker};
use workerman_protocols::Text;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .with_state(Arc::new(String::from("motd")))
    .on_worker_start(|State(motd), worker| async move {
        tracing::info!(id = worker.id(), %motd, "started");
    });
# let _ = worker;
```
"##,
    },
    Callback {
        name: "on_worker_reload",
        args: &[WORKER],
        doc: r##"
Sets `on_worker_reload`: when a non-reloadable instance is told to
reload; see [`Service::on_worker_reload`].

# Examples

```
use workerman_core::Worker;
use workerman_protocols::Text;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .on_worker_reload(|worker| async move {
        tracing::info!(id = worker.id(), "reload requested; staying up");
    });
# let _ = worker;
```
"##,
        doc_with_state: r##"
Sets `on_worker_reload`, with the state; see
[`on_worker_reload`](Worker::on_worker_reload) without state.

# Examples

```
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use workerman_core::{State, Worker};
use workerman_protocols::Text;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .with_state(Arc::new(AtomicU32::new(0)))
    .on_worker_reload(|State(reloads), _worker| async move {
        reloads.fetch_add(1, Ordering::Relaxed);
    });
# let _ = worker;
```
"##,
    },
    Callback {
        name: "on_worker_stop",
        args: &[WORKER],
        doc: r##"
Sets `on_worker_stop`: once in every worker instance when it stops;
see [`Service::on_worker_stop`].

# Examples

```
use workerman_core::Worker;
use workerman_protocols::Text;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .on_worker_stop(|worker| async move {
        worker.broadcast("server going down");
    });
# let _ = worker;
```
"##,
        doc_with_state: r##"
Sets `on_worker_stop`, with the state; see
[`on_worker_stop`](Worker::on_worker_stop) without state.

# Examples

```
use std::sync::Arc;
use workerman_core::{State, Worker};
use workerman_protocols::Text;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .with_state(Arc::new(String::from("bye")))
    .on_worker_stop(|State(farewell), worker| async move {
        worker.broadcast(farewell.as_str());
    });
# let _ = worker;
```
"##,
    },
    Callback {
        name: "on_connect",
        args: &[CONN],
        doc: r##"
Sets `on_connect`: after a connection is accepted, before any
message; see [`Service::on_connect`].

# Examples

```
use workerman_core::Worker;
use workerman_protocols::Text;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .on_connect(|conn| async move {
        let _ = conn.send(format!("welcome, you are #{}", conn.id()));
    });
# let _ = worker;
```
"##,
        doc_with_state: r##"
Sets `on_connect`, with the state; see
[`on_connect`](Worker::on_connect) without state.

# Examples

```
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use workerman_core::{State, Worker};
use workerman_protocols::Text;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .with_state(Arc::new(AtomicU64::new(0)))
    .on_connect(|State(visitors), conn| async move {
        let n = visitors.fetch_add(1, Ordering::Relaxed) + 1;
        let _ = conn.send(format!("visitor #{n}"));
    });
# let _ = worker;
```
"##,
    },
    Callback {
        name: "on_message",
        args: &[CONN, MSG],
        doc: r##"
Sets `on_message`: once per decoded package, in wire order, with the
protocol's message type (`P::Inbound`: `Payload` for `Text`); see
[`Service::on_message`]. Unset, packages are dropped.

The argument types come from the protocol: leave them unannotated.
If you annotate one, annotate both; with only `msg: String` on a
`Text` worker, rustc reports `conn` as "type annotations needed"
rather than the mismatch.

# Examples

```
use workerman_core::Worker;
use workerman_protocols::Text;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .on_message(|conn, msg| async move {
        match msg.as_str() {
            Ok("quit") => conn.close(Some("bye".into())),
            _ => {
                let _ = conn.send(msg);
            }
        }
    });
# let _ = worker;
```
"##,
        doc_with_state: r##"
Sets `on_message`, with the state; see
[`on_message`](Worker::on_message) without state.

# Examples

```
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use workerman_core::{State, Worker};
use workerman_protocols::Text;

// Remembers the last line of each connection.
type Last = Arc<Mutex<HashMap<u64, String>>>;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .with_state(Last::default())
    .on_message(|State(last), conn, msg| async move {
        let line = msg.to_string_lossy().into_owned();
        let previous = last.lock().unwrap().insert(conn.id(), line);
        let _ = conn.send(previous.unwrap_or_default());
    });
# let _ = worker;
```
"##,
    },
    Callback {
        name: "on_close",
        args: &[CONN],
        doc: r##"
Sets `on_close`: exactly once per connection, when it closes for any
reason; see [`Service::on_close`].

# Examples

```
use workerman_core::Worker;
use workerman_protocols::Text;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .on_close(|conn| async move {
        tracing::info!(id = conn.id(), "closed");
    });
# let _ = worker;
```
"##,
        doc_with_state: r##"
Sets `on_close`, with the state; see [`on_close`](Worker::on_close)
without state.

# Examples

```
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use workerman_core::{State, Worker};
use workerman_protocols::Text;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .with_state(Arc::new(Mutex::new(HashSet::<u64>::new())))
    .on_connect(|State(online), conn| async move {
        online.lock().unwrap().insert(conn.id());
    })
    .on_close(|State(online), conn| async move {
        online.lock().unwrap().remove(&conn.id());
    });
# let _ = worker;
```
"##,
    },
    Callback {
        name: "on_buffer_full",
        args: &[CONN],
        doc: r##"
Sets `on_buffer_full`: when the connection's send buffer reaches its
limit; see [`Service::on_buffer_full`].

# Examples

```
use workerman_core::Worker;
use workerman_protocols::Tcp;

let worker = Worker::handlers::<Tcp>("tcp://127.0.0.1:2347")
    .on_buffer_full(|conn| async move {
        // Stop reading from a peer we cannot keep up with.
        conn.pause_recv();
    })
    .on_buffer_drain(|conn| async move {
        conn.resume_recv();
    });
# let _ = worker;
```
"##,
        doc_with_state: r##"
Sets `on_buffer_full`, with the state; see
[`on_buffer_full`](Worker::on_buffer_full) without state.

# Examples

```
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use workerman_core::{State, Worker};
use workerman_protocols::Text;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .with_state(Arc::new(AtomicU64::new(0)))
    .on_buffer_full(|State(slow_clients), conn| async move {
        slow_clients.fetch_add(1, Ordering::Relaxed);
        conn.pause_recv();
    });
# let _ = worker;
```
"##,
    },
    Callback {
        name: "on_buffer_drain",
        args: &[CONN],
        doc: r##"
Sets `on_buffer_drain`: when data that had to wait has all been
written; see [`Service::on_buffer_drain`].

# Examples

```
use workerman_core::Worker;
use workerman_protocols::Text;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .on_buffer_drain(|conn| async move {
        tracing::debug!(id = conn.id(), "send buffer drained");
    });
# let _ = worker;
```
"##,
        doc_with_state: r##"
Sets `on_buffer_drain`, with the state; see
[`on_buffer_drain`](Worker::on_buffer_drain) without state.

# Examples

```
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use workerman_core::{State, Worker};
use workerman_protocols::Text;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .with_state(Arc::new(AtomicU64::new(0)))
    .on_buffer_drain(|State(drains), conn| async move {
        drains.fetch_add(1, Ordering::Relaxed);
        conn.resume_recv();
    });
# let _ = worker;
```
"##,
    },
    Callback {
        name: "on_error",
        args: &[CONN, ERR],
        doc: r##"
Sets `on_error`: when something went wrong on the connection; the
[`ConnectionError`] comes by value. See [`Service::on_error`].

# Examples

```
use workerman_core::{ConnectionError, Worker};
use workerman_protocols::{Text, TextCodecError};

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .on_error(|conn, err| async move {
        if let Some(e) = err.protocol_error::<TextCodecError>() {
            tracing::warn!(id = conn.id(), error = %e, "bad line");
        } else if matches!(err, ConnectionError::SendBufferFull) {
            tracing::warn!(id = conn.id(), "reply dropped: client too slow");
        }
    });
# let _ = worker;
```
"##,
        doc_with_state: r##"
Sets `on_error`, with the state; see [`on_error`](Worker::on_error)
without state.

# Examples

```
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use workerman_core::{State, Worker};
use workerman_protocols::Text;

let worker = Worker::handlers::<Text>("text://127.0.0.1:5678")
    .with_state(Arc::new(AtomicU64::new(0)))
    .on_error(|State(errors), conn, err| async move {
        errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(id = conn.id(), code = err.code(), %err, "connection error");
    });
# let _ = worker;
```
"##,
    },
];

const BEGIN: &str = "// @generated begin";
const END: &str = "// @generated end";

fn doc(out: &mut String, text: &str) {
    for line in text.trim_matches('\n').lines() {
        match line {
            "" => out.push_str("    ///\n"),
            _ => out.push_str(&format!("    /// {line}\n")),
        }
    }
}

/// `(a, b)` for two, `a` for one.
fn tuple(items: &[String]) -> String {
    match items {
        [one] => one.clone(),
        _ => format!("({})", items.join(", ")),
    }
}

fn setter(out: &mut String, cb: &Callback, with_state: bool) {
    // The stored closure's argument names: the first letter of each.
    let names: Vec<String> = cb.args.iter().map(|a| a.name[..1].to_owned()).collect();
    let mut types: Vec<&str> = cb.args.iter().map(|a| a.closure_ty).collect();
    if with_state {
        types.insert(0, "State<T>");
    }
    let helper = if with_state {
        "set_stateful"
    } else {
        "set_stateless"
    };
    // The closure stored: `f` itself when it takes the arguments as they
    // are stored (one, after the state if any).
    let state = if with_state { "st, " } else { "" };
    let closure = match names.as_slice() {
        [_] => "f".to_owned(),
        _ => format!(
            "move |{state}{}| f({state}{})",
            tuple(&names),
            names.join(", ")
        ),
    };
    doc(
        out,
        if with_state {
            cb.doc_with_state
        } else {
            cb.doc
        },
    );
    out.push_str(&format!(
        "    pub fn {name}<F, Fut>(self, f: F) -> Self\n    where\n        \
         F: Fn({types}) -> Fut + Send + Sync + 'static,\n        \
         Fut: Future<Output = ()> + Send + 'static,\n    {{\n        \
         self.{helper}(|cb| &mut cb.{name}, {closure})\n    }}\n",
        name = cb.name,
        types = types.join(", "),
    ));
}

/// The text between the markers.
fn generated() -> String {
    let mut out = String::from(
        "// Written by `tests/closure_setters.rs` from its list of callbacks: edit\n\
         // the list there, not this, and run\n\
         // `UPDATE_GENERATED=1 cargo test -p workerman-core --test closure_setters`.\n\n\
         // Each callback: the `Service` method's arguments, then the closure's.\n\
         callbacks! {\n",
    );
    for cb in CALLBACKS {
        let lifetimes: Vec<&str> = cb
            .args
            .iter()
            .filter_map(|a| a.service_ty.strip_prefix('&')?.split(' ').next())
            .collect();
        let params: Vec<String> = cb
            .args
            .iter()
            .map(|a| format!("{}: {}", a.name, a.service_ty))
            .collect();
        let stored = tuple(
            &cb.args
                .iter()
                .map(|a| a.closure_ty.to_owned())
                .collect::<Vec<_>>(),
        );
        let make = tuple(
            &cb.args
                .iter()
                .map(|a| a.make.to_owned())
                .collect::<Vec<_>>(),
        );
        let head = format!(
            "    {}<{}>({})",
            cb.name,
            lifetimes.join(", "),
            params.join(", ")
        );
        let tail = format!("-> {stored} {{ {make} }},");
        match head.len() + 1 + tail.len() <= 100 {
            true => out.push_str(&format!("{head} {tail}\n")),
            false => out.push_str(&format!("{head}\n        {tail}\n")),
        }
    }
    out.push_str(
        "}\n\n\
         /// The callbacks of a closure worker without state: each closure takes the\n\
         /// arguments of the matching [`Service`] callback, by value, and returns a\n\
         /// future (`|conn, msg| async move { ... }`).\n\
         impl<P: Protocol> Worker<FnService<P>> {\n",
    );
    for (i, cb) in CALLBACKS.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        setter(&mut out, cb, false);
    }
    out.push_str(
        "}\n\n\
         /// The callbacks of a closure worker with state (after\n\
         /// [`Worker::with_state`]): each closure takes the [`State`] first, then\n\
         /// the arguments of the stateless form\n\
         /// (`|State(st), conn, msg| async move { ... }`).\n\
         impl<P: Protocol, T: Clone + Send + Sync + 'static> Worker<FnService<P, State<T>>> {\n",
    );
    for (i, cb) in CALLBACKS.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        setter(&mut out, cb, true);
    }
    out.push_str("}\n");
    out
}

#[test]
fn the_closure_callbacks_come_from_the_list() {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "src", "fn_service.rs"]
        .iter()
        .collect();
    let source = fs::read_to_string(&path).expect("readable fn_service.rs");
    let begin = source.find(BEGIN).expect("the begin marker") + BEGIN.len() + 1;
    let end = source.find(END).expect("the end marker");
    let want = generated();
    if source[begin..end] == want {
        return;
    }
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        let updated = format!("{}{want}{}", &source[..begin], &source[end..]);
        fs::write(&path, updated).expect("writable fn_service.rs");
        return;
    }
    panic!(
        "src/fn_service.rs is not what the list in tests/closure_setters.rs gives: run \
         `UPDATE_GENERATED=1 cargo test -p workerman-core --test closure_setters`"
    );
}

#[test]
fn every_service_callback_is_listed_once() {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "src", "service.rs"]
        .iter()
        .collect();
    let source = fs::read_to_string(&path).expect("readable service.rs");
    let mut service: Vec<&str> = source
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("async fn "))
        .filter_map(|l| l.split('(').next())
        .filter(|name| name.starts_with("on_"))
        .collect();
    service.sort_unstable();
    let mut listed: Vec<&str> = CALLBACKS.iter().map(|c| c.name).collect();
    listed.sort_unstable();
    assert_eq!(
        listed, service,
        "the list and the Service trait's callbacks"
    );
}
