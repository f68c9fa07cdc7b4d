//! Memory an idle connection holds on the server: no read buffer while it
//! waits, whether it never sent anything (a fresh socket's readiness is
//! stale at first) or sent a message and went quiet again.
//!
//! Heap bytes are counted by a global allocator, so the figure is exact
//! and does not depend on the allocator's page reuse. The clients are
//! blocking std sockets, which allocate nothing on the heap, so the growth
//! is the server's.

mod common;

use std::alloc::System;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{inet, WAIT};
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};
use workerman::prelude::*;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap bytes allocated and not yet freed, process-wide.
fn live() -> isize {
    let s = GLOBAL.stats();
    s.bytes_allocated as isize - s.bytes_deallocated as isize + s.bytes_reallocated
}

/// Connections opened; enough that per-connection bytes dominate.
const CONNS: usize = 300;
/// About 970 bytes of heap per idle connection in this test's (debug)
/// build: the connection's future in its node of the listener's connection
/// set (larger unoptimised than in release), tokio's socket registration
/// (256), the shared state, the stream's `Arc`, the worker's map entry
/// (docs/benchmarks.md). A read buffer is 16 KiB, a
/// send-queue block 4 KiB, an encode buffer up to 2 KiB: anything above
/// this bound means one stayed behind, or per-connection state grew.
const BOUND: isize = 1536;

struct Echo {
    connected: Arc<AtomicUsize>,
}

#[async_trait]
impl Service for Echo {
    type Protocol = Text;

    async fn on_connect(&self, _conn: &Connection<Text>) {
        self.connected.fetch_add(1, Ordering::SeqCst);
    }

    async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
        let _ = conn.send(msg);
    }
}

/// Live heap bytes once they stop changing (the server's tasks run on
/// their own thread).
fn settled() -> isize {
    let mut last = live();
    let deadline = Instant::now() + WAIT;
    let mut steady = 0;
    while steady < 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let now = live();
        if now == last {
            steady += 1;
        } else {
            steady = 0;
            last = now;
        }
    }
    last
}

#[test]
fn an_idle_connection_holds_no_read_buffer() {
    let connected = Arc::new(AtomicUsize::new(0));
    let server = Worker::new(
        "text://127.0.0.1:0",
        Echo {
            connected: connected.clone(),
        },
    )
    .spawn()
    .expect("server starts");
    let addr = inet(&server);

    // One connection first, so one-time allocations (tables, the first
    // timer wheel slot) are not counted per connection.
    let mut warm = std::net::TcpStream::connect(addr).unwrap();
    warm.write_all(b"warm\n").unwrap();
    let mut echo = [0u8; 5];
    warm.read_exact(&mut echo).unwrap();

    let before = settled();
    let mut clients: Vec<std::net::TcpStream> = (0..CONNS)
        .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
        .collect();
    let deadline = Instant::now() + WAIT;
    while connected.load(Ordering::SeqCst) < CONNS + 1 {
        assert!(Instant::now() < deadline, "connections not accepted");
        std::thread::sleep(Duration::from_millis(10));
    }
    let fresh = (settled() - before) / CONNS as isize;
    assert!(
        fresh < BOUND,
        "{fresh} heap bytes per connection that sent nothing"
    );

    for c in &mut clients {
        c.set_read_timeout(Some(WAIT)).unwrap();
        c.write_all(b"hello\n").unwrap();
        let mut line = [0u8; 6];
        c.read_exact(&mut line).unwrap();
        assert_eq!(&line, b"hello\n");
    }
    let after_message = (settled() - before) / CONNS as isize;
    assert!(
        after_message < BOUND,
        "{after_message} heap bytes per connection after one message"
    );
    drop(clients);
    drop(warm);
    server.shutdown_blocking();
}
