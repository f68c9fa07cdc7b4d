//! # workerman
//!
//! Workerman, the PHP asynchronous socket framework, rebuilt in Rust on
//! tokio: a worker, a protocol, three callbacks.
//!
//! ```no_run
//! use workerman::prelude::*;
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
//! fn main() {
//!     // `start [-d] | stop [-g] | restart | reload [-g] | status | connections`
//!     Worker::new("text://127.0.0.1:5678", Echo).run_all()
//! }
//! ```
//!
//! This crate re-exports the parts, so one dependency is enough:
//!
//! * [`workerman_core`]: [`Service`], [`Worker`], [`Server`],
//!   [`Connection`], [`AsyncTcpConnection`], errors and counters;
//! * [`protocols`] ([`workerman_protocols`]): the [`Protocol`] trait and the
//!   `text`, `frame` and raw `tcp` codecs;
//! * [`Timer`] ([`workerman_timer`]): repeating and one-shot timers that
//!   belong to the worker they were created in;
//! * [`prelude`]: what a program usually needs, in one `use`.
//!
//! See the crate docs of `workerman-core` for the runtime model and the
//! places where we deliberately differ from Workerman.
#![doc(test(attr(deny(warnings))))]

pub use workerman_cli::{run_all, RunAll};
pub use workerman_core::*;
pub use workerman_protocols as protocols;
pub use workerman_protocols::{
    Frame, FrameCodec, FrameCodecError, Payload, Protocol, Tcp, TcpCodec, Text, TextCodec,
    TextCodecError, DEFAULT_MAX_PACKAGE_SIZE,
};
pub use workerman_timer::{Timer, TimerError, TimerId};

/// The usual imports: `use workerman::prelude::*;`.
pub mod prelude {
    pub use workerman_cli::RunAll;
    pub use workerman_core::{
        async_trait, AsyncTcpConnection, Connection, ConnectionError, FnService, SendError,
        SendStatus, Server, ServerHandle, Service, State, Worker, WorkerContext,
    };
    pub use workerman_protocols::{Frame, Payload, Protocol, Tcp, Text};
    pub use workerman_timer::{Timer, TimerId};
}
