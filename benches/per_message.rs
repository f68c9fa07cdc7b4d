//! What the design card's per-message mechanisms cost on their own, beside
//! the bare work of an echo: the floor under the framework's user-side
//! time per message (docs/benchmarks.md, "Where the time goes").
//!
//! * **boxed callback**: an `#[async_trait]` method's future, made, polled
//!   once to completion and freed (one per `on_message`);
//! * **payload**: a 65-byte package split off a shared read buffer as
//!   `Bytes` and dropped (a reference count taken and released);
//! * **two locks**: the uncontended mutex round trips a package costs
//!   (decode, then send: the codec is shared with senders on other
//!   threads);
//! * **mpsc**: the design card's send queue, a tokio `mpsc` send and
//!   receive of one `Bytes`;
//! * **bare echo**: finding the line end and copying the reply out, the
//!   work a plain echo server does per line.
//!
//! ```sh
//! cargo bench --bench per_message
//! ```

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use criterion::Criterion;

/// A handler's borrowed arguments, as an `on_message` future holds them.
struct Conn {
    sent: Mutex<u64>,
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let waker = futures::task::noop_waker();

    c.bench_function("per_message/boxed_callback", |b| {
        let conn = Conn {
            sent: Mutex::new(0),
        };
        let mut cx = Context::from_waker(&waker);
        b.iter(|| {
            let c = &conn;
            let msg = black_box(7u64);
            let fut: Pin<Box<dyn Future<Output = ()> + Send + '_>> = Box::pin(async move {
                black_box((c as *const Conn, msg));
            });
            let mut fut = black_box(fut);
            assert!(matches!(fut.as_mut().poll(&mut cx), Poll::Ready(())));
            drop(black_box(fut));
        })
    });

    c.bench_function("per_message/payload_split_and_drop", |b| {
        let mut buf = BytesMut::with_capacity(16 * 1024);
        b.iter(|| {
            if buf.capacity() < 65 {
                buf.reserve(16 * 1024);
            }
            buf.put_slice(&[b'x'; 65]);
            let package: Bytes = buf.split_to(65).freeze();
            black_box(&package);
        })
    });

    c.bench_function("per_message/two_uncontended_locks", |b| {
        let conn = Conn {
            sent: Mutex::new(0),
        };
        b.iter(|| {
            *conn.sent.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            *conn.sent.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        })
    });

    c.bench_function("per_message/tokio_mpsc_send_recv", |b| {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(1024);
        let reply = Bytes::from_static(&[b'x'; 65]);
        b.iter(|| {
            tx.try_send(reply.clone()).expect("room");
            black_box(rx.try_recv().expect("queued"));
        })
    });

    c.bench_function("per_message/bare_echo", |b| {
        let mut line = vec![b'x'; 64];
        line.push(b'\n');
        let mut out = Vec::with_capacity(1 << 20);
        b.iter(|| {
            let s = black_box(&line[..]);
            let end = memchr::memrchr(b'\n', s).map_or(0, |i| i + 1);
            out.extend_from_slice(&s[..end]);
            if out.len() > 1 << 19 {
                out.clear();
            }
        })
    });

    c.final_summary();
}
