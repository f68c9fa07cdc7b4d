//! The core of workerman-rs: the [`Service`] trait, [`Worker`],
//! [`Connection`] and the in-process runtime.
//!
//! Workerman's model, on tokio: a [`Worker`] listens on one address and
//! speaks one [`Protocol`](workerman_protocols::Protocol); a [`Service`]
//! implements its callbacks (`on_connect`, `on_message`, `on_close`, ...);
//! each [`Connection`] is a cheap handle whose `send` writes directly when it
//! can and otherwise queues in a send buffer bounded in bytes, whose
//! fullness fires `on_buffer_full` and `on_buffer_drain`.
//!
//! Most users depend on the `workerman` facade crate, which re-exports this
//! crate with the protocols and a prelude.
//!
//! # Example
//!
//! ```no_run
//! use workerman_core::{async_trait, Connection, Service, Worker};
//! use workerman_protocols::{Payload, Text};
//!
//! struct Echo;
//!
//! #[async_trait]
//! impl Service for Echo {
//!     type Protocol = Text;
//!
//!     async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
//!         let _ = conn.send(msg);
//!     }
//! }
//!
//! fn main() -> Result<(), workerman_core::Error> {
//!     Worker::new("text://127.0.0.1:5678", Echo).count(2).run()
//! }
//! ```
//!
//! # Runtime model
//!
//! [`Server`] runs every instance (`count`) of every worker on its own
//! thread with a current-thread tokio runtime: one event loop per instance,
//! as one Workerman worker process has one. Instances share the listening
//! port (a cloned socket, or one socket each with `reuse_port`). Each
//! connection is one task, so its packages are handled in order.
//!
//! # The send queue
//!
//! Each connection's send buffer is a byte-bounded, multi-producer queue of
//! our own (`connection/queue.rs`) kept under the connection's lock with
//! its codec, not a tokio `mpsc` channel as the design card first said. We
//! measured both (`cargo bench --bench send_queue`, the same work minus
//! the system call, 2-core machine): queuing a pipelined batch of 16
//! replies and writing it costs 0.71 µs with this queue and 2.89 µs with an
//! `mpsc` channel of `Bytes` plus an atomic byte counter; one message
//! queued to each of 10,000 connections and written costs 3.94 ms against
//! 5.70 ms (2026-12-03 evening, a noisy machine; earlier runs: 0.89 against
//! 3.52 µs and 2.79 against 5.11 ms, and on a quieter machine 0.56 against
//! 2.15 µs, 1.75 against 2.85 ms). The queue copies small replies into one
//! contiguous tail, so a batch leaves in one write (an `mpsc` channel hands
//! over one buffer per message, and a 16-slice `writev` cost the kernel
//! noticeably more in the echo benchmarks); an idle connection's queue is
//! one null pointer in its shared state (its parts are boxed when the first
//! bytes wait and freed when the last leave), where a channel allocates its
//! state and a first 32-slot block (over 1 KiB) when it is made; and the
//! encode and the queue share one lock, so two senders never interleave
//! bytes, which a channel would need a second lock for anyway.
//!
//! # Where we differ from Workerman
//!
//! * A panic in a callback closes that connection (its `on_close` runs), is
//!   logged and counted in [`WorkerStats`]; the worker goes on (Workerman
//!   exits the process with code 250).
//! * A peer that closes its side gets what is already queued before we
//!   close (Workerman drops it).
//! * A graceful close sends FIN, then reads and discards for up to one
//!   second so late peer bytes cannot turn the close into a reset.
//! * Replies to packages read together (a pipelining client) leave in one
//!   `writev` when the batch has been handled, not one write each; those
//!   sends return `Queued`. See [`Connection::send`].
//! * `frame://` rejects a header smaller than 4 (Workerman stalls on 0).
//! * IPv6 peer addresses come without brackets.
//! * Outgoing connections have a connect timeout (10 s by default).
//! * Shutdown waits for connections with a deadline and reports the
//!   outcome ([`ShutdownReport`]).
//!
//! # Layout
//!
//! Modules use only modules below them (checked by `tests/module_graph.rs`;
//! `cargo test -p workerman-core --test module_graph -- --nocapture` prints
//! the layers). Bottom up:
//!
//! * `sync`, `error`, `addr`, `stats`, `extensions`, `io`, `tls`, `memory`:
//!   locks, errors, addresses, counters, per-connection values, the byte
//!   streams (TCP, TLS, Unix), TLS settings, giving memory back;
//! * `guard`: the one place a callback's panic is caught and counted;
//!   `registry`: the process's live connections for `connections`;
//! * `instance_shared`: what one worker instance shares with its
//!   connections (identity, counters, stop state, the connection map);
//! * `connection`: [`Connection`] (`handle.rs`), its shared state and send
//!   queue (`shared.rs`, `queue.rs`), its task (`driver.rs`);
//! * `context`: [`WorkerContext`]; `service`: the [`Service`] trait;
//!   `fn_service`: [`FnService`], the same callbacks as async closures;
//! * `worker`: [`Worker`], the builder; `client`: [`AsyncTcpConnection`];
//!   `udp`: datagrams;
//! * `listener`, `instance`, `conn_set`: the accept loop, one running
//!   instance, the set of connection tasks it polls;
//! * `server`: [`Server`] and [`ServerHandle`] (in-process);
//! * `process`: a worker process of a master (`child.rs`), the seam the
//!   supervisor in `workerman-cli` uses (`supervised.rs`), the control
//!   messages and the signal table.
#![doc(test(attr(deny(warnings))))]

mod addr;
mod client;
mod conn_set;
mod connection;
mod context;
mod error;
mod extensions;
mod fn_service;
mod guard;
mod instance;
mod instance_shared;
mod io;
mod listener;
mod memory;
pub mod process;
mod registry;
mod server;
mod service;
mod stats;
mod sync;
mod tls;
mod udp;
mod worker;

pub use addr::SocketAddress;
pub use async_trait::async_trait;
pub use client::{AsyncTcpConnection, DEFAULT_CONNECT_TIMEOUT};
pub use connection::{Connection, SendStatus};
pub use context::WorkerContext;
pub use error::{BoxError, ConnectionError, Error, SendError};
pub use fn_service::{FnService, State};
pub use server::{
    Server, ServerHandle, ShutdownReport, DEFAULT_GRACE_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT,
};
pub use service::Service;
pub use stats::{ConnectionStats, StatsSnapshot, WorkerStats};
pub use tls::{ClientTlsConfig, TlsConfig, TlsConfigError, Transport, DEFAULT_HANDSHAKE_TIMEOUT};
pub use udp::AsyncUdpConnection;
pub use worker::{Worker, DEFAULT_BACKLOG, DEFAULT_MAX_SEND_BUFFER_SIZE};
