//! The send queue's design, measured: the framework's queue (a
//! `std::sync::Mutex` around [`SendQueue`], the very source file the
//! framework compiles) beside the design card's alternative, a tokio
//! `mpsc` channel of `Bytes` with the byte bound kept in an atomic counter.
//!
//! Both carry the same work a connection does, minus the system call
//! (which is the same for both: one vectored write of what is queued):
//!
//! * **echo ×16**: one connection's task queues 16 replies of 68 bytes
//!   (a pipelined batch), then writes them out;
//! * **broadcast**: one message queued to each of 10,000 connections, then
//!   every connection's writer writes it.
//!
//! The producer side includes the byte bound check (`queued >= limit`
//! refuses), the consumer side gathers what is queued into `IoSlice`s and
//! hands them to a sink that takes everything.
//!
//! ```sh
//! cargo bench --bench send_queue
//! ```

use std::hint::black_box;
use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use bytes::{Bytes, BytesMut};
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion};

#[allow(dead_code)]
#[path = "../workerman-core/src/connection/queue.rs"]
mod queue;
use queue::SendQueue;

/// The default `max_send_buffer_size` (1 MiB).
const LIMIT: usize = 1 << 20;
const REPLY: &[u8] = &[b'x'; 68];
const BROADCAST_CONNS: usize = 10_000;

/// A socket that takes everything: returns the bytes offered.
fn sink(slices: &[IoSlice<'_>]) -> io::Result<usize> {
    Ok(black_box(slices).iter().map(|s| s.len()).sum())
}

/// One queue design, as a connection uses it.
trait Design {
    const NAME: &'static str;
    fn new() -> Self;
    /// A send: `held` when the reply is part of a pipelined batch (only the
    /// framework's queue treats those differently).
    fn send(&self, msg: &[u8], held: bool) -> bool;
    /// The writer: everything queued goes to the sink.
    fn flush(&self) -> usize;
}

/// The framework's design: bound checked, reply encoded into the
/// connection's scratch buffer and queued, all under one lock.
struct MutexQueue {
    inner: Mutex<(BytesMut, SendQueue)>,
}

impl Design for MutexQueue {
    const NAME: &'static str = "mutex + SendQueue (framework)";

    fn new() -> Self {
        MutexQueue {
            inner: Mutex::new((BytesMut::new(), SendQueue::default())),
        }
    }

    /// A send held for the batch's write (echo) or queued (broadcast).
    fn send(&self, msg: &[u8], held: bool) -> bool {
        let mut g = self.inner.lock().expect("not poisoned");
        let (scratch, q) = &mut *g;
        if q.queued() >= LIMIT {
            return false;
        }
        scratch.extend_from_slice(msg);
        if held {
            q.hold(scratch);
        } else {
            q.push(scratch.split());
        }
        true
    }

    fn flush(&self) -> usize {
        let mut g = self.inner.lock().expect("not poisoned");
        let mut total = 0;
        g.1.write_with(sink, |n| total += n)
            .expect("sink never fails");
        total
    }
}

/// The card's alternative: an mpsc channel of `Bytes` per connection, the
/// byte bound in an atomic (the channel's own bound counts messages, not
/// bytes). Each message is its own buffer; the writer drains with
/// `try_recv` and writes the gathered slices.
struct ChannelQueue {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    rx: Mutex<tokio::sync::mpsc::Receiver<Bytes>>,
    queued: AtomicUsize,
}

impl Design for ChannelQueue {
    const NAME: &'static str = "tokio mpsc + byte counter";

    fn new() -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        ChannelQueue {
            tx,
            rx: Mutex::new(rx),
            queued: AtomicUsize::new(0),
        }
    }

    fn send(&self, msg: &[u8], _held: bool) -> bool {
        let q = self.queued.load(Ordering::Acquire);
        if q >= LIMIT {
            return false;
        }
        self.queued.fetch_add(msg.len(), Ordering::AcqRel);
        self.tx.try_send(Bytes::copy_from_slice(msg)).is_ok()
    }

    fn flush(&self) -> usize {
        // The connection task owns the receiver; the lock stands in for
        // that ownership and is never contended here.
        let mut rx = self.rx.lock().expect("not poisoned");
        let mut batch: Vec<Bytes> = Vec::new();
        while let Ok(b) = rx.try_recv() {
            batch.push(b);
        }
        let slices: Vec<IoSlice<'_>> = batch.iter().map(|b| IoSlice::new(b)).collect();
        let n = sink(&slices).expect("sink never fails");
        self.queued.fetch_sub(n, Ordering::AcqRel);
        n
    }
}

fn echo16_with<Q: Design>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let q = Q::new();
    g.bench_function(Q::NAME, |b| {
        b.iter(|| {
            for _ in 0..16 {
                black_box(q.send(REPLY, true));
            }
            black_box(q.flush())
        })
    });
}

fn broadcast_with<Q: Design>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(Q::NAME, |b| {
        b.iter_batched_ref(
            || (0..BROADCAST_CONNS).map(|_| Q::new()).collect::<Vec<_>>(),
            |conns| {
                for q in conns.iter() {
                    black_box(q.send(REPLY, false));
                }
                conns.iter().map(|q| q.flush()).sum::<usize>()
            },
            BatchSize::LargeInput,
        )
    });
}

fn echo16(c: &mut Criterion) {
    let mut g = c.benchmark_group("send queue: echo x16 (one batch)");
    echo16_with::<MutexQueue>(&mut g);
    echo16_with::<ChannelQueue>(&mut g);
    g.finish();
}

fn broadcast(c: &mut Criterion) {
    let mut g = c.benchmark_group("send queue: broadcast to 10,000");
    g.sample_size(20);
    broadcast_with::<MutexQueue>(&mut g);
    broadcast_with::<ChannelQueue>(&mut g);
    g.finish();
    // Memory of an empty queue of each kind (what every idle connection
    // pays): the channel allocates its shared state and a first block.
    println!(
        "size of an empty queue: mutex + SendQueue {} B inline; tokio mpsc {} B inline plus its heap-allocated channel",
        std::mem::size_of::<Mutex<(BytesMut, SendQueue)>>(),
        std::mem::size_of::<(
            tokio::sync::mpsc::Sender<Bytes>,
            tokio::sync::mpsc::Receiver<Bytes>
        )>(),
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    echo16(&mut c);
    broadcast(&mut c);
    c.final_summary();
}
