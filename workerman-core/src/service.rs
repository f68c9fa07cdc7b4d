//! The [`Service`] trait: what a worker does with its connections.

use async_trait::async_trait;
use workerman_protocols::Protocol;

use crate::{Connection, ConnectionError, WorkerContext};

/// The handler of a worker: Workerman's callbacks as one async trait.
///
/// Implement [`on_message`](Service::on_message); every other callback has a
/// no-op default. The protocol is fixed by [`Service::Protocol`], so a
/// handler receives typed messages and sends typed replies, and the worker
/// address must name the same protocol (`text://` for
/// [`Text`](workerman_protocols::Text)), or the worker refuses to start.
///
/// # Why `&self`
///
/// One service value serves every connection of a worker, and with
/// `count > 1` every worker thread too, so callbacks take `&self` and may run
/// concurrently for *different* connections. Keep shared mutable state
/// behind a `Mutex` or atomics, and per-connection state on the connection
/// ([`Connection::insert_extension`]). As in tower's and hyper's
/// `Service::call` discussion (hyper#3040), `&mut self` would serialise every
/// connection behind one lock.
///
/// # Ordering
///
/// For one connection, callbacks never overlap and run in this order:
/// `on_connect`, then `on_message` once per package in wire order, with
/// `on_buffer_full`, `on_buffer_drain` and `on_error` between messages as
/// they happen, then exactly one `on_close`. For one worker,
/// `on_worker_start` completes before the first connection is accepted, and
/// `on_worker_stop` runs before the connections are closed at shutdown.
///
/// # Panics
///
/// A panic inside a callback is caught: it is logged with `tracing`,
/// counted in [`WorkerStats`](crate::WorkerStats), and closes that one
/// connection (its `on_close` still runs). The worker and its other
/// connections go on. (Workerman exits the worker process with code 250.)
///
/// # Examples
///
/// ```no_run
/// use workerman_core::{async_trait, Connection, Service, Worker};
/// use workerman_protocols::{Payload, Text};
///
/// struct Echo;
///
/// #[async_trait]
/// impl Service for Echo {
///     type Protocol = Text;
///     async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
///         let _ = conn.send(msg);
///     }
/// }
///
/// fn main() -> Result<(), workerman_core::Error> {
///     Worker::new("text://127.0.0.1:5678", Echo).run()
/// }
/// ```
#[async_trait]
pub trait Service: Send + Sync + 'static {
    /// The protocol this service speaks; selects the codec and the
    /// message types.
    type Protocol: Protocol;

    /// Once in every worker instance, before it accepts connections (and
    /// after each restart of it).
    async fn on_worker_start(&self, worker: &WorkerContext<Self::Protocol>) {
        let _ = worker;
    }

    /// After a connection is accepted (or an outgoing one is established),
    /// before any message.
    async fn on_connect(&self, conn: &Connection<Self::Protocol>) {
        let _ = conn;
    }

    /// Once per decoded package, in the order the peer sent them. The next
    /// package of this connection is not decoded until this returns.
    async fn on_message(
        &self,
        conn: &Connection<Self::Protocol>,
        msg: <Self::Protocol as Protocol>::Inbound,
    );

    /// Exactly once per connection, when it is closed for any reason (peer
    /// closed, `close`, `destroy`, protocol error, panic, shutdown). The
    /// connection is still listed in the worker's connections during this
    /// call and removed right after.
    async fn on_close(&self, conn: &Connection<Self::Protocol>) {
        let _ = conn;
    }

    /// When queued data reaches the connection's `max_send_buffer_size`;
    /// once per crossing. Further sends are refused until it drains below
    /// the limit.
    async fn on_buffer_full(&self, conn: &Connection<Self::Protocol>) {
        let _ = conn;
    }

    /// When data that could not be written at once has all been written:
    /// the application send buffer is empty again.
    async fn on_buffer_drain(&self, conn: &Connection<Self::Protocol>) {
        let _ = conn;
    }

    /// When something went wrong on the connection; see [`ConnectionError`]
    /// for which errors are followed by `on_close`.
    async fn on_error(&self, conn: &Connection<Self::Protocol>, err: &ConnectionError) {
        let _ = (conn, err);
    }

    /// When this worker instance is told to reload and the Worker is not
    /// `reloadable`: the instance keeps running with its connections (the
    /// Workerman pattern for gateway processes). Reloadable instances are
    /// replaced instead and get `on_worker_stop`.
    async fn on_worker_reload(&self, worker: &WorkerContext<Self::Protocol>) {
        let _ = worker;
    }

    /// Once in every worker instance when it stops: on a plain stop before
    /// its connections are closed, on a graceful stop or reload after they
    /// finished (or the grace time ran out).
    async fn on_worker_stop(&self, worker: &WorkerContext<Self::Protocol>) {
        let _ = worker;
    }
}
