//! Closure-style workers (`Worker::handlers`): every callback fires in the
//! order `tests/callbacks.rs` checks for the trait form, state reaches the
//! calls, panics close one connection, the scheme is checked, and the
//! compile errors for the commonest mistakes read well (`tests/ui`).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::{events, inet, Events, LineClient, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use workerman::prelude::*;
use workerman::TextCodecError;

/// The service of `tests/callbacks.rs`, as closures sharing the event
/// recorder as state.
fn ordered(address: &str, ev: Events) -> Worker<FnService<Text, State<Events>>> {
    Worker::handlers::<Text>(address)
        .with_state(ev)
        .on_worker_start(|State(ev), w| async move {
            ev.push(format!(
                "worker_start {} {} {}",
                w.id(),
                w.count(),
                w.name()
            ));
        })
        .on_connect(|State(ev), conn| async move {
            let ip = conn.remote_ip().unwrap();
            ev.push(format!("connect {ip}"));
        })
        .on_message(|State(ev), conn, msg| async move {
            ev.push(format!("message {msg}"));
            match msg.as_str() {
                Ok("close") => conn.close(Some("bye".into())),
                Ok("destroy") => conn.destroy(),
                _ => {
                    let _ = conn.send(msg);
                }
            }
        })
        .on_close(|State(ev), conn| async move {
            let listed = conn.worker().unwrap().connection(conn.id()).is_some();
            ev.push(format!("close listed={listed}"));
        })
        .on_error(|State(ev), _conn, err| async move {
            ev.push(format!("error {}", err.code()));
        })
        .on_worker_stop(|State(ev), w| async move {
            ev.push(format!("worker_stop {}", w.connection_count()));
        })
}

#[tokio::test]
async fn callbacks_fire_in_documented_order() {
    let (tx, mut log) = events();
    let server = ordered("text://127.0.0.1:0", tx)
        .name("ordered")
        .spawn()
        .unwrap();
    assert_eq!(log.next().await, "worker_start 0 1 ordered");

    let mut c = LineClient::connect(inet(&server)).await;
    c.send(b"one\ntwo\r\n").await;
    assert_eq!(c.line().await, "one\n");
    assert_eq!(c.line().await, "two\n");
    c.send(b"close\n").await;
    assert_eq!(c.line().await, "bye\n");
    c.expect_closed().await;
    assert_eq!(log.next().await, "connect 127.0.0.1");
    assert_eq!(log.next().await, "message one");
    assert_eq!(log.next().await, "message two");
    assert_eq!(log.next().await, "message close");
    assert_eq!(log.next().await, "close listed=true");

    // destroy, and a peer that just goes away: on_close exactly once each.
    let mut d = LineClient::connect(inet(&server)).await;
    d.send(b"destroy\n").await;
    d.expect_closed().await;
    assert_eq!(log.next().await, "connect 127.0.0.1");
    assert_eq!(log.next().await, "message destroy");
    assert_eq!(log.next().await, "close listed=true");

    let e = LineClient::connect(inet(&server)).await;
    assert_eq!(log.next().await, "connect 127.0.0.1");
    drop(e);
    assert_eq!(log.next().await, "close listed=true");

    // A connection open at shutdown: on_worker_stop sees it, then it closes.
    let mut f = LineClient::connect(inet(&server)).await;
    f.send(b"ping\n").await;
    assert_eq!(f.line().await, "ping\n");
    let report = server.shutdown().await;
    assert!(report.graceful);
    f.expect_closed().await;
    assert_eq!(log.next().await, "connect 127.0.0.1");
    assert_eq!(log.next().await, "message ping");
    assert_eq!(log.next().await, "worker_stop 1");
    assert_eq!(log.next().await, "close listed=true");
    assert!(log.drain().is_empty());
}

#[tokio::test]
async fn messages_before_close_are_all_delivered_in_order() {
    let (tx, mut log) = events();
    let server = ordered("text://127.0.0.1:0", tx).spawn().unwrap();
    log.next().await; // worker_start
    let mut c = LineClient::connect(inet(&server)).await;
    let mut batch = Vec::new();
    for i in 0..500 {
        batch.extend_from_slice(format!("m{i}\n").as_bytes());
    }
    c.send(&batch).await;
    c.reader.get_mut().shutdown().await.unwrap();
    let echoed = c.read_to_end().await;
    assert_eq!(echoed, batch);
    assert_eq!(log.next().await, "connect 127.0.0.1");
    for i in 0..500 {
        assert_eq!(log.next().await, format!("message m{i}"));
    }
    assert_eq!(log.next().await, "close listed=true");
    server.shutdown().await;
}

/// Buffer full, the refused send's `on_error`, then drain, with stateless
/// closures that capture their shared values by clone.
#[tokio::test]
async fn buffer_full_error_and_drain_fire() {
    const LIMIT: usize = 64 * 1024;
    const CHUNK: usize = 16 * 1024;
    let (ev, mut log) = events();
    let slot: Arc<Mutex<Option<Connection<Tcp>>>> = Arc::default();
    let server = Worker::handlers::<Tcp>("tcp://127.0.0.1:0")
        .on_connect({
            let (ev, slot) = (ev.clone(), slot.clone());
            move |conn| {
                *slot.lock().unwrap() = Some(conn);
                ev.push("connect");
                async {}
            }
        })
        .on_buffer_full({
            let ev = ev.clone();
            move |conn| {
                let ev = ev.clone();
                async move { ev.push(format!("full {}", conn.send_queue_bytes() >= LIMIT)) }
            }
        })
        .on_buffer_drain({
            let ev = ev.clone();
            move |conn| {
                let ev = ev.clone();
                async move { ev.push(format!("drain {}", conn.send_queue_bytes())) }
            }
        })
        .on_error({
            let ev = ev.clone();
            move |_conn, err| {
                // The error comes by value: match it directly.
                let kind = match err {
                    ConnectionError::SendBufferFull => "buffer_full",
                    _ => "other",
                };
                ev.push(format!("error {} {kind}", err.code()));
                async {}
            }
        })
        .on_close(move |_conn| {
            ev.push("close");
            async {}
        })
        .max_send_buffer_size(LIMIT)
        .spawn()
        .unwrap();
    let mut client = LineClient::connect(inet(&server)).await;
    assert_eq!(log.next().await, "connect");
    let conn = slot.lock().unwrap().clone().unwrap();

    // The client does not read: the kernel buffers fill, then ours.
    let mut accepted = 0usize;
    while conn.send(vec![b'b'; CHUNK]).is_ok() {
        accepted += CHUNK;
        assert!(accepted < 512 * 1024 * 1024, "the send buffer never filled");
    }
    assert_eq!(log.next().await, "full true");
    assert_eq!(log.next().await, "error 2 buffer_full");

    let mut got = 0usize;
    let mut buf = vec![0u8; 256 * 1024];
    while got < accepted {
        let n = tokio::time::timeout(WAIT, client.reader.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        got += n;
    }
    assert_eq!(log.next().await, "drain 0");
    conn.close(None);
    client.expect_closed().await;
    assert_eq!(log.next().await, "close");
    server.shutdown().await;
}

/// `on_error` sees the same error as the trait form: the code and the
/// codec's own error type.
#[tokio::test]
async fn protocol_error_reaches_on_error_intact() {
    let (ev, mut log) = events();
    let server = Worker::handlers::<Text>("text://127.0.0.1:0")
        .with_state(ev)
        .on_error(|State(ev), _conn, err| async move {
            let too_large = matches!(
                err.protocol_error::<TextCodecError>(),
                Some(TextCodecError::PackageTooLarge { max: 16 })
            );
            ev.push(format!("error {} too_large={too_large}", err.code()));
        })
        .on_close(|State(ev), _conn| async move { ev.push("close") })
        .max_package_size(16)
        .spawn()
        .unwrap();
    let mut c = LineClient::connect(inet(&server)).await;
    c.send(&[b'x'; 100]).await;
    c.expect_closed().await;
    assert_eq!(log.next().await, "error 3 too_large=true");
    assert_eq!(log.next().await, "close");
    server.shutdown().await;
}

/// A panic closes only the connection whose callback panicked, whether it
/// happens inside the `async` block or in the closure before it.
#[tokio::test]
async fn panicking_closure_closes_only_its_connection() {
    let (ev, mut log) = events();
    let server = Worker::handlers::<Text>("text://127.0.0.1:0")
        .with_state(ev)
        .on_message(|State(_), conn, msg| {
            assert_ne!(msg.as_str(), Ok("panic now"), "panicking before the future");
            async move {
                assert_ne!(msg.as_str(), Ok("panic later"), "panicking in the future");
                let _ = conn.send(msg);
            }
        })
        .on_close(|State(ev), conn| async move { ev.push(format!("close {}", conn.id())) })
        .spawn()
        .unwrap();
    let mut bystander = LineClient::connect(inet(&server)).await;
    bystander.send(b"hello\n").await;
    assert_eq!(bystander.line().await, "hello\n");

    for (i, line) in [&b"panic later\n"[..], b"panic now\n"]
        .into_iter()
        .enumerate()
    {
        let mut victim = LineClient::connect(inet(&server)).await;
        victim.send(b"first\n").await;
        assert_eq!(victim.line().await, "first\n");
        victim.send(line).await;
        victim.expect_closed().await;
        assert!(log.next().await.starts_with("close "));
        assert_eq!(server.stats().callback_panics, i as u64 + 1);

        bystander.send(b"still here\n").await;
        assert_eq!(bystander.line().await, "still here\n");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn scheme_must_match_the_protocol() {
    let err = Worker::handlers::<Text>("frame://127.0.0.1:0")
        .on_message(|conn, msg| async move {
            let _ = conn.send(msg);
        })
        .spawn()
        .unwrap_err();
    match err {
        workerman::Error::SchemeMismatch {
            scheme, expected, ..
        } => {
            assert_eq!(scheme, "frame");
            assert_eq!(expected, "text");
        }
        other => panic!("expected SchemeMismatch, got {other:?}"),
    }
}

/// Without `on_message`, packages are read and dropped; the connection
/// stays open and the other callbacks still fire.
#[tokio::test]
async fn unset_on_message_consumes_packages() {
    let (ev, mut log) = events();
    let server = Worker::handlers::<Text>("text://127.0.0.1:0")
        .with_state(ev)
        .on_connect(|_, conn| async move {
            let _ = conn.send("hi");
        })
        .on_close(|State(ev), _conn| async move { ev.push("close") })
        .spawn()
        .unwrap();
    let mut c = LineClient::connect(inet(&server)).await;
    assert_eq!(c.line().await, "hi\n");
    // Two lines, then our FIN: the connection closes on the FIN, after the
    // lines were read, and nothing came back.
    c.send(b"ignored\nalso ignored\n").await;
    c.reader.get_mut().shutdown().await.unwrap();
    assert_eq!(log.next().await, "close");
    assert_eq!(server.stats().total_requests, 2);
    assert_eq!(c.read_to_end().await, b"");
    server.shutdown().await;
}

/// Every call gets a clone of the one state: a counter behind an `Arc` is
/// shared by all connections and all instances.
#[tokio::test]
async fn state_is_shared_by_connections_and_instances() {
    let server = Worker::handlers::<Text>("text://127.0.0.1:0")
        .with_state(Arc::new(AtomicU64::new(0)))
        .on_message(|State(total), conn, _msg| async move {
            let n = total.fetch_add(1, Ordering::SeqCst) + 1;
            let _ = conn.send(n.to_string());
        })
        .count(2)
        .spawn()
        .unwrap();
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(LineClient::connect(inet(&server)).await);
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        for c in &mut clients {
            c.send(b"x\n").await;
            seen.push(c.line().await.trim_end().parse::<u64>().unwrap());
        }
    }
    assert_eq!(seen, (1..=12).collect::<Vec<_>>());
    server.shutdown().await;
}

/// Callbacks set before `with_state` keep their stateless arguments and
/// still fire; those set after get the state.
#[tokio::test]
async fn with_state_keeps_earlier_callbacks() {
    let (ev, mut log) = events();
    let server = Worker::handlers::<Text>("text://127.0.0.1:0")
        .on_connect(|conn| async move {
            let _ = conn.send("welcome");
        })
        .with_state(ev)
        .on_message(|State(ev), _conn, msg| async move { ev.push(format!("message {msg}")) })
        .spawn()
        .unwrap();
    let mut c = LineClient::connect(inet(&server)).await;
    assert_eq!(c.line().await, "welcome\n");
    c.send(b"hi\n").await;
    assert_eq!(log.next().await, "message hi");
    server.shutdown().await;
}

/// The compile errors a user gets for the commonest mistakes; the expected
/// messages are in `tests/ui/*.stderr` (regenerate with
/// `TRYBUILD=overwrite`).
///
/// Those messages were written for rustc 1.95 and rustc words them
/// differently from release to release, so the test runs only on stable
/// 1.95 (the project's CI compiler); on any other compiler it is ignored
/// (`rustversion`), never failed or passed without checking.
#[test]
#[rustversion::attr(
    not(stable(1.95)),
    ignore = "the expected messages in tests/ui were written for rustc 1.95"
)]
fn compile_errors_are_readable() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
