//! Channel: publish/subscribe between worker processes and machines
//! (Workerman's `workerman/channel` component).
//!
//! Each worker process owns its connections, so a worker cannot reach a
//! browser connected to another process by itself. With Channel every
//! process keeps one [`ChannelClient`] connected to one
//! [`ChannelServer`]; a process [`publish`](ChannelClient::publish)es an
//! event once, and every process that subscribed to it with
//! [`on`](ChannelClient::on) runs its handler (the publisher's own process
//! included), where it can send to its own connections.
//!
//! A server on a free loopback port and two clients (in a program, each
//! would live in its own worker process):
//!
//! ```
//! use workerman_channel::{ChannelClient, ChannelServer};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let server = ChannelServer::worker("frame://127.0.0.1:0").spawn()?;
//!     let address = format!("frame://{}", server.local_addr());
//!
//!     let subscriber = ChannelClient::connect(&address)?;
//!     let (tx, mut rx) = tokio::sync::mpsc::channel(8);
//!     subscriber.on("news", move |headline: String| {
//!         let tx = tx.clone();
//!         async move {
//!             let _ = tx.send(headline).await;
//!         }
//!     });
//!     subscriber.sync().await?; // the subscription is in force
//!
//!     let publisher = ChannelClient::connect(&address)?;
//!     publisher.publish("news", "hello from another process")?;
//!     assert_eq!(rx.recv().await.as_deref(), Some("hello from another process"));
//!
//!     server.shutdown().await;
//!     Ok(())
//! }
//! ```
//!
//! In a program: the server as one more worker, a client per worker
//! process, created in `on_worker_start`:
//!
//! ```no_run
//! use workerman_channel::{ChannelClient, ChannelServer, DEFAULT_SERVER_ADDRESS};
//! use workerman_core::{async_trait, Connection, Server, Service, Worker, WorkerContext};
//! use workerman_protocols::{Payload, Text};
//!
//! /// A chat whose lines reach the clients of every process.
//! struct Chat;
//!
//! #[async_trait]
//! impl Service for Chat {
//!     type Protocol = Text;
//!
//!     async fn on_worker_start(&self, worker: &WorkerContext<Text>) {
//!         let channel = ChannelClient::connect(DEFAULT_SERVER_ADDRESS).expect("a valid address");
//!         let local = worker.clone();
//!         // Every process subscribes; each sends to its own connections.
//!         channel.on("say", move |line: String| {
//!             let local = local.clone();
//!             async move {
//!                 local.broadcast(line);
//!             }
//!         });
//!         // Kept for on_message (the handle is cheap to clone).
//!         let _ = CLIENT.set(channel);
//!     }
//!
//!     async fn on_message(&self, _conn: &Connection<Text>, msg: Payload) {
//!         if let Some(channel) = CLIENT.get() {
//!             let _ = channel.publish("say", &msg.to_string_lossy());
//!         }
//!     }
//! }
//!
//! // One client per worker process.
//! static CLIENT: std::sync::OnceLock<ChannelClient> = std::sync::OnceLock::new();
//!
//! fn main() -> Result<(), workerman_core::Error> {
//!     Server::new()
//!         .worker(ChannelServer::worker(DEFAULT_SERVER_ADDRESS))
//!         .worker(Worker::new("text://127.0.0.1:5690", Chat).count(4))
//!         .run()
//! }
//! ```
//!
//! # Backends
//!
//! The address given to [`ChannelClient::connect`] picks the backend; the
//! API and its promises are the same:
//!
//! * `frame://host:port` (or `host:port`, or a `frame:///unix/path`): a
//!   [`ChannelServer`], a worker of this framework, one process, in the
//!   same program or elsewhere. Default [`DEFAULT_SERVER_ADDRESS`],
//!   `frame://127.0.0.1:2206` (Workerman binds `0.0.0.0:2206`; we default
//!   to loopback because the protocol has no authentication).
//! * `redis://host:port/`: Redis pub/sub, for several machines without a
//!   server of our own. Event `news` travels on Redis channel
//!   `workerman:channel:news` ([`ChannelClientBuilder::redis_prefix`]),
//!   its data as the same JSON.
//!
//! # Wire protocol
//!
//! Between [`ChannelClient`] and [`ChannelServer`]: `frame://` packages
//! (a 4-byte big-endian length that counts itself, then the body), each
//! body one JSON object. (Workerman uses PHP `serialize()` bodies with the
//! same field names; this is not wire-compatible with PHP peers.)
//!
//! ```text
//! client → server
//!   {"type":"subscribe","channels":["news","chat"]}
//!   {"type":"unsubscribe","channels":["news"]}
//!   {"type":"publish","channels":["news"],"data":<any JSON value>}
//!   {"type":"ping","id":7}         answered with pong once every earlier
//!                                  command of this connection is handled
//!   (empty body: 00 00 00 04)      keep-alive, every 55 s; ignored
//! server → client
//!   {"type":"event","channel":"news","data":<the data, byte for byte as published>}
//!   {"type":"pong","id":7}
//! ```
//!
//! For example, subscribing to `news`, publishing `"hi"` to it, and the
//! event that reaches each subscriber, as bytes on the wire:
//!
//! ```text
//! 00 00 00 2c {"type":"subscribe","channels":["news"]}
//! 00 00 00 36 {"type":"publish","channels":["news"],"data":"hi"}
//! 00 00 00 31 {"type":"event","channel":"news","data":"hi"}
//! ```
//!
//! The server forwards `data` without decoding it. A body that is not one
//! of these commands gets its connection closed (logged); the server and
//! its other clients go on.
//!
//! # What happens when the server goes away
//!
//! * **Retried:** the client reconnects every second
//!   ([`ChannelClientBuilder::reconnect_delay`]) for as long as it lives,
//!   and on each new connection subscribes again to every event it has a
//!   handler for. A restarted server (or Redis) therefore loses no
//!   subscription, once the client is back.
//! * **Kept, bounded:** publishes made while the link is down (or while
//!   the socket's send buffer is full) wait in a queue of at most 1024
//!   messages and 1 MiB ([`ChannelClientBuilder::max_pending`],
//!   [`max_pending_bytes`](ChannelClientBuilder::max_pending_bytes)) and
//!   are sent, in order, once it is back.
//! * **Overflow policy: drop the oldest.** When a publish does not fit,
//!   the oldest waiting ones are dropped until it does, counted in
//!   [`ChannelStats::dropped`], and a warning is logged once per outage.
//!   `publish` itself never fails or blocks for lack of room.
//! * **Lost:** events published by others while this client is
//!   disconnected (nothing is stored: delivery is at most once, as in
//!   Workerman); publishes already written to a connection that then
//!   breaks; an event for a subscriber whose send buffer is full on the
//!   server (logged there).
//!
//! Use [`ChannelClient::sync`] to wait until the server has handled
//! everything sent so far (subscriptions in force, publishes forwarded).
//!
//! # Performance
//!
//! `cargo bench -p workerman-channel --bench fanout`: a server, 4
//! subscribers each on its own thread and runtime, one publisher, all on
//! loopback, on the project's 2-core machine while other builds ran (load
//! average about 8, so the spread is wide): 15,000 to 25,600 publishes/s,
//! i.e. 60,000 to 102,600 deliveries/s (small JSON events, the publisher
//! awaiting `sync` every 256); fan-out latency from `publish` to the
//! handler, one event in flight: p50 72 to 81 µs, p99 0.2 to 2.8 ms. With
//! 16 subscribers: 90,800 deliveries/s, p50 181 µs.
//!
//! # Where we differ from Workerman
//!
//! * An event with no handler (one already on its way when `unsubscribe`
//!   was called, say) is ignored, logged and counted; Workerman throws and
//!   the worker process exits.
//! * A handler that panics is logged and counted; the link stays up.
//! * The server listens on loopback by default.
//! * JSON bodies instead of PHP `serialize()`, and a `ping`/`pong` pair
//!   for [`sync`](ChannelClient::sync).
//! * Not provided: `publishLoop` (round-robin delivery) and the queue
//!   commands (`watch`, `enqueue`, `reserve`) of newer Channel versions.
//!
//! # Layout
//!
//! * `server`: [`ChannelServer`], a `frame://` [`Service`](workerman_core::Service).
//! * `client`: [`ChannelClient`], its builder and counters.
//! * `link_frame`, `link_redis`: the two backends.
//! * `pending`: the bounded queue of unsent publishes.
//! * `wire`: the JSON messages.
#![doc(test(attr(deny(warnings))))]

mod client;
mod error;
mod link_frame;
mod link_redis;
mod pending;
mod server;
mod wire;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use client::{
    ChannelClient, ChannelClientBuilder, ChannelStats, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_PENDING, DEFAULT_MAX_PENDING_BYTES, DEFAULT_PING_INTERVAL, DEFAULT_RECONNECT_DELAY,
    DEFAULT_REDIS_PREFIX,
};
pub use error::ChannelError;
pub use server::{ChannelServer, DEFAULT_SERVER_ADDRESS, MAX_SUBSCRIPTIONS_PER_CONNECTION};
