//! GlobalData: variables shared by worker processes and machines
//! (Workerman's `workerman/globaldata` component).
//!
//! Worker processes share no memory. A [`GlobalDataServer`] (one process)
//! holds a map from names to values; every process reaches it with a
//! [`GlobalDataClient`] to `get`, `set`, `isset`, `unset`, and to change
//! values atomically however many processes do it at once: `add` (only
//! if absent), `cas` (compare-and-swap) and `increment`.
//!
//! A server on a free loopback port, and two clients (in a program, each
//! would live in its own worker process):
//!
//! ```
//! use workerman_globaldata::{GlobalDataClient, GlobalDataServer};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let server = GlobalDataServer::worker("frame://127.0.0.1:0").spawn()?;
//!     let address = format!("frame://{}", server.local_addr());
//!     let a = GlobalDataClient::new(&address)?;
//!     let b = GlobalDataClient::new(&address)?;
//!
//!     assert!(a.add("visits", &0).await?);   // only the first add stores
//!     assert!(!b.add("visits", &100).await?);
//!     assert_eq!(b.increment("visits", 1).await?, Some(1));
//!     assert_eq!(a.get::<i64>("visits").await?, Some(1));
//!
//!     a.set("config", &serde_json::json!({"theme": "dark"})).await?;
//!     let old: Option<serde_json::Value> = b.get("config").await?;
//!     assert!(b.cas("config", &old, &serde_json::json!({"theme": "light"})).await?);
//!     assert!(!a.cas("config", &old, &serde_json::json!({"theme": "blue"})).await?); // stale
//!
//!     a.unset("visits").await?;
//!     assert!(!b.isset("visits").await?);
//!     server.shutdown().await;
//!     Ok(())
//! }
//! ```
//!
//! In a program, the server is one more worker, and each worker process
//! makes its client in `on_worker_start` (see `examples/global_data_counter.rs`):
//!
//! ```no_run
//! use workerman_core::Server;
//! use workerman_globaldata::{GlobalDataServer, DEFAULT_SERVER_ADDRESS};
//!
//! fn main() -> Result<(), workerman_core::Error> {
//!     Server::new()
//!         .worker(GlobalDataServer::worker(DEFAULT_SERVER_ADDRESS))
//!         // .worker(Worker::new("text://...", MyService).count(4))
//!         .run()
//! }
//! ```
//!
//! # Backends
//!
//! The address picks the backend; the API and its promises are the same:
//!
//! * `frame://host:port` (or `host:port`, or `frame:///unix/path`): a
//!   [`GlobalDataServer`], default [`DEFAULT_SERVER_ADDRESS`],
//!   `frame://127.0.0.1:2207` (Workerman binds `0.0.0.0:2207`; we default
//!   to loopback because the protocol has no authentication). Several
//!   servers: [`GlobalDataClient::cluster`] spreads keys over them by
//!   CRC-32, as Workerman does.
//! * `redis://host:port/`: Redis, for several machines without a server
//!   of our own. Variable `visits` is Redis key
//!   `workerman:globaldata:visits` holding the value's JSON;
//!   `cas` and `increment` run as Lua scripts, atomically.
//!
//! # Wire protocol
//!
//! Between [`GlobalDataClient`] and [`GlobalDataServer`]: `frame://`
//! packages (a 4-byte big-endian length that counts itself, then the
//! body), each body one JSON object. One request, then its reply, in
//! order. (Workerman uses PHP `serialize()` bodies and compares `cas`
//! values by MD5; this is not wire-compatible with PHP peers.)
//!
//! ```text
//! request                                            reply
//! {"cmd":"get","key":K}                              {"value":V}      null when unset
//! {"cmd":"set","key":K,"value":V}                    {"ok":true}      null value: unset
//! {"cmd":"isset","key":K}                            {"ok":B}
//! {"cmd":"delete","key":K}                           {"ok":true}
//! {"cmd":"add","key":K,"value":V}                    {"ok":B}         true if it stored
//! {"cmd":"cas","key":K,"old":V0,"value":V}           {"ok":B}         true if it swapped
//! {"cmd":"increment","key":K,"step":N}               {"value":N'}     null when unset,
//!                                                    {"error":"overflow"}  past i64
//! (anything else)                                    {"error":"bad_request"}, then close
//! (empty body, or "ping")                            (none: keep-alive)
//! ```
//!
//! For example, `add("visits", &0)` then `increment("visits", 1)` from
//! 41 to 42, as bytes on the wire:
//!
//! ```text
//! → 00 00 00 2a {"cmd":"add","key":"visits","value":0}
//! ← 00 00 00 0f {"ok":true}
//! → 00 00 00 2f {"cmd":"increment","key":"visits","step":1}
//! ← 00 00 00 10 {"value":42}
//! ```
//!
//! # What happens when the server goes away
//!
//! * **Lost:** every value, when a [`GlobalDataServer`] stops or
//!   restarts: it keeps them in memory only, as Workerman does (it is
//!   `reloadable(false)`, so a `reload` keeps them). Redis keeps them
//!   as Redis is configured to.
//! * **Retried:** each call connects if it has no connection, trying
//!   again while the server refuses, until the I/O timeout (5 s): a call
//!   made while the server starts or restarts waits for it. A call whose
//!   kept connection turns out to be closed by the server is sent once
//!   more on a new connection (a server that closed the connection before
//!   reading a request did not apply it).
//! * **Failed:** a call with no answer within the I/O timeout returns
//!   [`GlobalDataError::Timeout`] and drops its connection; it may or may
//!   not have been applied. Nothing is queued.
//!
//! # Where we differ from Workerman
//!
//! * The client is async (Workerman's blocks the worker while it waits).
//! * JSON bodies; `cas` compares JSON values, not MD5s of PHP
//!   serialisations; the request has an `isset` command of its own.
//! * `increment` on a value past `i64` fails with
//!   [`GlobalDataError::Overflow`] (PHP turns it into a float).
//! * Setting null removes the key (Workerman stores the null, which then
//!   reads as unset).
//! * The server listens on loopback by default.
//!
//! # Layout
//!
//! * `server`: [`GlobalDataServer`], a `frame://` [`Service`](workerman_core::Service).
//! * `client`: [`GlobalDataClient`] and its builder.
//! * `node_frame`, `node_redis`: the two backends.
//! * `wire`: the JSON messages.
#![doc(test(attr(deny(warnings))))]

mod client;
mod error;
mod node_frame;
mod node_redis;
mod server;
mod wire;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use client::{
    GlobalDataClient, GlobalDataClientBuilder, DEFAULT_IO_TIMEOUT, DEFAULT_REDIS_PREFIX,
};
pub use error::GlobalDataError;
pub use server::{GlobalDataServer, DEFAULT_SERVER_ADDRESS};
