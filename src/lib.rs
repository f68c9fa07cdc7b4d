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
//! Or, without a trait, with async closures ([`FnService`]):
//!
//! ```no_run
//! use workerman::prelude::*;
//!
//! fn main() {
//!     Worker::handlers::<Text>("text://127.0.0.1:5678")
//!         .on_message(|conn, msg| async move {
//!             let _ = conn.send(msg);
//!         })
//!         .run_all()
//! }
//! ```
//!
//! This crate re-exports the parts, so one dependency is enough. Each type
//! has one path here (its home), and [`prelude`] gathers the usual ones:
//!
//! * the root: [`workerman_core`] ([`Service`], [`Worker`], [`Server`],
//!   [`Connection`], [`AsyncTcpConnection`], errors and counters,
//!   [`process`]), the [`Protocol`] trait with [`Payload`] and the simple
//!   protocols ([`Text`], [`Frame`], [`Tcp`] and their codecs), [`Timer`]
//!   ([`workerman_timer`]: repeating and one-shot timers that belong to the
//!   worker they were created in), and [`run_all`];
//! * [`http`] ([`workerman_http`]): everything HTTP: the `http://`
//!   protocol (`Http`, `Request`, `Response`, cookies, forms, uploads) with
//!   files, static folders, streams, sessions and client addresses behind
//!   proxies;
//! * [`websocket`]: everything WebSocket: the `websocket://` server
//!   (`WebSocket`), the `ws://` client (`WsClient`), `Message` and their
//!   settings;
//! * components: [`channel`] (publish/subscribe between processes and
//!   machines), [`global_data`] (variables shared by processes, with
//!   atomic `add`/`cas`/`increment`), [`file_monitor`] (`FileMonitor`:
//!   reload when the binary or a config file changes);
//! * [`prelude`]: what a program usually needs, in one `use`.
//!
//! See the crate docs of `workerman-core` for the runtime model and the
//! places where we deliberately differ from Workerman.
#![doc(test(attr(deny(warnings))))]

pub use workerman_cli::{run_all, RunAll};
pub use workerman_core::*;
pub use workerman_http as http;
pub use workerman_protocols::websocket;
pub use workerman_protocols::{
    ClientTarget, Frame, FrameCodec, FrameCodecError, Inbound, Outbound, Payload, Protocol, Tcp,
    TcpCodec, Text, TextCodec, TextCodecError, DEFAULT_MAX_PACKAGE_SIZE, FRAME_HEADER_LEN,
};
pub use workerman_timer::{Timer, TimerError, TimerId};

pub use workerman_channel as channel;
pub use workerman_filemonitor as file_monitor;
pub use workerman_globaldata as global_data;

/// The usual imports: `use workerman::prelude::*;`.
pub mod prelude {
    pub use workerman_cli::RunAll;
    pub use workerman_core::{
        async_trait, AsyncTcpConnection, Connection, ConnectionError, FnService, SendError,
        SendStatus, Server, ServerHandle, Service, State, Worker, WorkerContext,
    };
    pub use workerman_protocols::http::Http;
    pub use workerman_protocols::websocket::{Message, WebSocket, WsClient};
    pub use workerman_protocols::{Frame, Payload, Protocol, Tcp, Text};
    pub use workerman_timer::{Timer, TimerId};
}
