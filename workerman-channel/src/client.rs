//! [`ChannelClient`]: subscribe to events and publish them, over either
//! backend.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::pending::{Pending, Publish};
use crate::{wire, ChannelError};

/// How long a disconnected client waits before it tries again (Workerman:
/// every 1 s).
pub const DEFAULT_RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// How often a `frame://` client sends its keep-alive (an empty frame), as
/// Workerman's `pingInterval` (55 s).
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(55);

/// How many publishes wait at most while the link is down (see
/// [`ChannelClientBuilder::max_pending`]).
pub const DEFAULT_MAX_PENDING: usize = 1024;

/// How many bytes of publishes wait at most while the link is down (1 MiB,
/// like a connection's send buffer).
pub const DEFAULT_MAX_PENDING_BYTES: usize = 1024 * 1024;

/// How long one connection attempt may take.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The prefix of the Redis channel names used by the Redis backend: event
/// `news` travels on Redis channel `workerman:channel:news`.
pub const DEFAULT_REDIS_PREFIX: &str = "workerman:channel:";

/// A handler: takes the JSON of the event's data; `None` when it does not
/// decode into the handler's type (logged by the handler itself).
pub(crate) type Handler = Arc<dyn Fn(&[u8]) -> Option<BoxFuture<'static, ()>> + Send + Sync>;

/// Counters of one client, from [`ChannelClient::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelStats {
    /// `publish` calls accepted.
    pub published: u64,
    /// Publishes handed to the link (written or queued on the socket, or
    /// sent to Redis).
    pub sent: u64,
    /// Publishes dropped unsent: the oldest ones when the queue overflowed
    /// while the link was down or slow, or one that could not be framed.
    pub dropped: u64,
    /// Events received and given to a handler.
    pub received: u64,
    /// Events received with no handler for them (ignored, logged).
    pub unhandled: u64,
    /// Events whose data did not decode into the handler's type, or whose
    /// handler panicked.
    pub failed: u64,
    /// Times the link came up (1 after the first connect; more after
    /// reconnects).
    pub connects: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) published: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) unhandled: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) connects: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Settings of a client; see [`ChannelClientBuilder`].
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) address: String,
    pub(crate) max_pending: usize,
    pub(crate) max_pending_bytes: usize,
    pub(crate) reconnect_delay: Duration,
    pub(crate) ping_interval: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) redis_prefix: String,
}

/// One caller of [`ChannelClient::sync`], waiting for the round trip.
pub(crate) struct Waiter {
    pub(crate) id: u64,
    /// Whether its ping went out on the current connection.
    pub(crate) sent: bool,
    pub(crate) done: oneshot::Sender<()>,
}

/// What the client knows, shared by its handles and its link. A std
/// mutex: held to read or change these fields, never across an await.
pub(crate) struct State {
    pub(crate) handlers: HashMap<String, Handler>,
    /// Events whose subscription the server has not been told about yet
    /// (subscribe when a handler exists, unsubscribe otherwise). Bounded by
    /// the number of event names the program uses.
    pub(crate) dirty: HashSet<String>,
    pub(crate) pending: Pending,
    /// `sync` callers; bounded by the number of concurrent callers.
    pub(crate) waiters: Vec<Waiter>,
    pub(crate) next_waiter: u64,
    pub(crate) connected: bool,
}

impl State {
    /// Completes every waiter whose ping was answered (ids up to `id`).
    pub(crate) fn complete_waiters(&mut self, up_to: u64) {
        let (done, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiters)
            .into_iter()
            .partition(|w| w.id <= up_to);
        self.waiters = rest;
        for w in done {
            // The caller may have given up waiting: nothing to tell then.
            let _ = w.done.send(());
        }
    }

    /// The dirty event names split into (subscribe, unsubscribe).
    pub(crate) fn take_dirty(&mut self) -> (Vec<String>, Vec<String>) {
        let handlers = &self.handlers;
        std::mem::take(&mut self.dirty)
            .into_iter()
            .partition(|e| handlers.contains_key(e))
    }
}

/// The backend-specific half of a client.
pub(crate) enum Link {
    /// Our own server over `frame://`.
    Frame(crate::link_frame::FrameLink),
    /// Redis pub/sub; a background task does the work.
    Redis,
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) state: Mutex<State>,
    pub(crate) counters: Counters,
    /// Cancelled by `close`.
    pub(crate) closed: CancellationToken,
    /// Wakes the Redis task when there is something to send.
    pub(crate) work: tokio::sync::Notify,
    pub(crate) link: std::sync::OnceLock<Link>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // Every change under this lock is a single insert or remove: a
        // panic elsewhere cannot leave it half-done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends what can be sent now: through the connection (frame), or by
    /// waking the background task (Redis).
    pub(crate) fn kick(&self, state: &mut State) {
        match self.link.get() {
            Some(Link::Frame(link)) => link.flush(self, state),
            Some(Link::Redis) => self.work.notify_one(),
            None => {}
        }
    }

    /// Runs the handler of `event` on `data` (JSON); an event with no
    /// handler is ignored and logged (Workerman raises an exception that
    /// ends the worker process).
    pub(crate) async fn dispatch(&self, event: &str, data: &[u8]) {
        let handler = self.lock().handlers.get(event).cloned();
        let Some(handler) = handler else {
            Counters::add(&self.counters.unhandled, 1);
            tracing::warn!(event, "channel: event with no handler, ignored");
            return;
        };
        let Some(fut) = handler(data) else {
            Counters::add(&self.counters.failed, 1);
            return;
        };
        Counters::add(&self.counters.received, 1);
        // A panicking handler must not take the link down with it.
        let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(fut)).await;
        if outcome.is_err() {
            Counters::add(&self.counters.failed, 1);
            tracing::error!(event, "channel: event handler panicked");
        }
    }
}

/// A Channel client: subscribe to events with [`on`](ChannelClient::on),
/// send them with [`publish`](ChannelClient::publish) (Workerman's
/// `Channel\Client`).
///
/// A cheap, cloneable handle: clone it into handlers, timers and
/// connections of the same worker. Create one per worker process, in
/// `on_worker_start` (it needs the worker's tokio runtime: its link and
/// its handlers run there).
///
/// The backend comes from the address:
///
/// | address | backend |
/// |---|---|
/// | `frame://127.0.0.1:2206`, `127.0.0.1:2206` | a [`ChannelServer`](crate::ChannelServer) |
/// | `frame:///run/channel.sock`, `unix:///run/channel.sock` | a [`ChannelServer`](crate::ChannelServer) on a Unix socket |
/// | `redis://127.0.0.1:6379/`, `rediss://...`, `redis+unix:///...` | Redis pub/sub |
///
/// The API and its promises are the same for both (see the
/// [crate docs](crate#what-happens-when-the-server-goes-away)).
///
/// # Examples
///
/// A server on a free loopback port, a client that subscribes and
/// publishes to itself:
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use workerman_channel::{ChannelClient, ChannelServer};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Chat { from: String, text: String }
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let server = ChannelServer::worker("frame://127.0.0.1:0").spawn()?;
///     let address = format!("frame://{}", server.local_addr());
///
///     let channel = ChannelClient::connect(address)?;
///     let (tx, mut rx) = tokio::sync::mpsc::channel(8);
///     channel.on("chat", move |msg: Chat| {
///         let tx = tx.clone();
///         async move {
///             let _ = tx.send(msg).await;
///         }
///     });
///     channel.sync().await?; // the subscription is in force
///     channel.publish("chat", &Chat { from: "ann".into(), text: "hi".into() })?;
///
///     let got = rx.recv().await;
///     assert_eq!(got, Some(Chat { from: "ann".into(), text: "hi".into() }));
///     server.shutdown().await;
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct ChannelClient {
    handle: Arc<Handle>,
}

/// Closes the client when the last user handle goes (the link holds the
/// shared state, not this).
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        close(&self.shared);
    }
}

impl fmt::Debug for ChannelClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelClient")
            .field("address", &self.shared().config.address)
            .field("connected", &self.is_connected())
            .finish()
    }
}

impl ChannelClient {
    /// Starts a client for `address` with the default settings and returns
    /// at once; the link comes up in the background (Workerman's
    /// `Channel\Client::connect`). Calls made before it is up are kept and
    /// sent once it is. See [`builder`](ChannelClient::builder) for the
    /// settings.
    ///
    /// # Errors
    ///
    /// A malformed address, or no tokio runtime.
    pub fn connect(address: impl Into<String>) -> Result<ChannelClient, ChannelError> {
        Self::builder(address).connect()
    }

    /// A builder for a client of `address`, to change its settings.
    pub fn builder(address: impl Into<String>) -> ChannelClientBuilder {
        ChannelClientBuilder {
            config: Config {
                address: address.into(),
                max_pending: DEFAULT_MAX_PENDING,
                max_pending_bytes: DEFAULT_MAX_PENDING_BYTES,
                reconnect_delay: DEFAULT_RECONNECT_DELAY,
                ping_interval: DEFAULT_PING_INTERVAL,
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
                redis_prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            },
        }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// Subscribes to `event`: from now on, each event of that name runs
    /// `handler` with its data, decoded from JSON into `T` (use
    /// `serde_json::Value` to take anything). Replaces an earlier handler
    /// of the same event, as in Workerman.
    ///
    /// Handlers run on the runtime the client was created on, one at a
    /// time, in the order events arrive. Data that does not decode into
    /// `T` is logged and skipped; a handler that panics is logged and the
    /// client goes on. Do not await [`sync`](ChannelClient::sync) inside a
    /// handler: the answer it waits for is read by the same task.
    ///
    /// The subscription reaches the server asynchronously; await
    /// [`sync`](ChannelClient::sync) to know it is in force.
    pub fn on<T, F, Fut>(&self, event: impl Into<String>, handler: F)
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let event = event.into();
        let name = event.clone();
        let handler: Handler = Arc::new(move |data: &[u8]| {
            match serde_json::from_slice::<T>(data) {
                Ok(value) => Some(Box::pin(handler(value)) as BoxFuture<'static, ()>),
                Err(e) => {
                    tracing::warn!(event = %name, error = %e, "channel: event data does not fit the handler's type, skipped");
                    None
                }
            }
        });
        let shared = self.shared();
        let mut state = shared.lock();
        if state.handlers.insert(event.clone(), handler).is_none() {
            state.dirty.insert(event);
            shared.kick(&mut state);
        }
    }

    /// Unsubscribes from `event`: forgets its handler and tells the server.
    /// Returns whether there was a handler. Events already on their way
    /// may still arrive; they are ignored (and logged).
    pub fn unsubscribe(&self, event: &str) -> bool {
        let shared = self.shared();
        let mut state = shared.lock();
        let had = state.handlers.remove(event).is_some();
        if had {
            state.dirty.insert(event.to_owned());
            shared.kick(&mut state);
        }
        had
    }

    /// Publishes `data` (any `Serialize` value, sent as JSON) as `event`:
    /// every client subscribed to `event`, in any process or on any
    /// machine using the same server, runs its handler with it, including
    /// this client if it subscribed.
    ///
    /// Never blocks and never waits. While the link is down (or the socket
    /// is full) the publish waits in a bounded queue; when that overflows
    /// the oldest waiting publishes are dropped (counted in
    /// [`stats`](ChannelClient::stats) `.dropped`, logged once per
    /// outage). Delivery is at most once, with no acknowledgement.
    ///
    /// Publishing in a tight loop faster than the link drains fills that
    /// queue too: for bulk publishing, await [`sync`](ChannelClient::sync)
    /// every few hundred publishes (the `fanout` bench does it every 256).
    ///
    /// # Errors
    ///
    /// [`ChannelError::Encode`] when `data` cannot be turned into JSON;
    /// [`ChannelError::Closed`] after [`close`](ChannelClient::close).
    pub fn publish<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), ChannelError> {
        let shared = self.shared();
        if shared.closed.is_cancelled() {
            return Err(ChannelError::Closed);
        }
        let data = wire::encode_data(data)?;
        Counters::add(&shared.counters.published, 1);
        let mut state = shared.lock();
        let dropped = state.pending.push(Publish {
            event: event.to_owned(),
            data,
        });
        Counters::add(&shared.counters.dropped, dropped);
        shared.kick(&mut state);
        Ok(())
    }

    /// Waits until the server has handled everything this client sent
    /// before the call: its subscriptions are in force, its publishes were
    /// forwarded. Waits through reconnects (bound it with
    /// `tokio::time::timeout` if you must).
    ///
    /// # Errors
    ///
    /// [`ChannelError::Closed`] when the client is closed meanwhile.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only stops the waiting.
    pub async fn sync(&self) -> Result<(), ChannelError> {
        let (tx, rx) = oneshot::channel();
        {
            let shared = self.shared();
            if shared.closed.is_cancelled() {
                return Err(ChannelError::Closed);
            }
            let mut state = shared.lock();
            state.next_waiter += 1;
            let id = state.next_waiter;
            state.waiters.push(Waiter {
                id,
                sent: false,
                done: tx,
            });
            shared.kick(&mut state);
        }
        rx.await.map_err(|_| ChannelError::Closed)
    }

    /// Whether the link to the server is up now.
    pub fn is_connected(&self) -> bool {
        self.shared().lock().connected
    }

    /// The events this client is subscribed to.
    pub fn events(&self) -> Vec<String> {
        self.shared().lock().handlers.keys().cloned().collect()
    }

    /// This client's counters.
    pub fn stats(&self) -> ChannelStats {
        let c = &self.shared().counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ChannelStats {
            published: get(&c.published),
            sent: get(&c.sent),
            dropped: get(&c.dropped),
            received: get(&c.received),
            unhandled: get(&c.unhandled),
            failed: get(&c.failed),
            connects: get(&c.connects),
        }
    }

    /// Closes the client: the link closes (after flushing what the socket
    /// already holds), it stops reconnecting, unsent publishes are dropped
    /// and `sync` callers get [`ChannelError::Closed`]. Dropping every
    /// handle does the same (a handler that holds a handle keeps the
    /// client alive: call `close` then).
    pub fn close(&self) {
        close(self.shared());
    }
}

fn close(shared: &Arc<Shared>) {
    if shared.closed.is_cancelled() {
        return;
    }
    shared.closed.cancel();
    {
        let mut state = shared.lock();
        state.waiters.clear();
        while state.pending.pop().is_some() {}
        // Handlers may hold client handles; dropping them breaks the cycle.
        state.handlers.clear();
    }
    if let Some(Link::Frame(link)) = shared.link.get() {
        link.close();
    }
    shared.work.notify_one();
    tracing::debug!(address = %shared.config.address, "channel client closed");
}

/// Settings for a [`ChannelClient`], from [`ChannelClient::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until connect()"]
pub struct ChannelClientBuilder {
    config: Config,
}

impl ChannelClientBuilder {
    /// How many publishes may wait while the link is down or slow (default
    /// [`DEFAULT_MAX_PENDING`], 1024). Past it the oldest are dropped.
    pub fn max_pending(mut self, messages: usize) -> Self {
        self.config.max_pending = messages;
        self
    }

    /// How many bytes of publishes (event names plus JSON data) may wait
    /// (default [`DEFAULT_MAX_PENDING_BYTES`], 1 MiB). Past it the oldest
    /// are dropped.
    pub fn max_pending_bytes(mut self, bytes: usize) -> Self {
        self.config.max_pending_bytes = bytes;
        self
    }

    /// How long to wait before reconnecting (default 1 s, as Workerman).
    pub fn reconnect_delay(mut self, delay: Duration) -> Self {
        self.config.reconnect_delay = delay;
        self
    }

    /// How often a `frame://` link sends its keep-alive, an empty frame
    /// (default 55 s, as Workerman). Not used by the Redis backend.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.config.ping_interval = interval;
        self
    }

    /// How long one connection attempt may take (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// The prefix of the Redis channel names (default
    /// [`DEFAULT_REDIS_PREFIX`]); clients share events only with clients
    /// using the same prefix. Not used by the `frame://` backend.
    pub fn redis_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.redis_prefix = prefix.into();
        self
    }

    /// Starts the client; see [`ChannelClient::connect`].
    ///
    /// # Errors
    ///
    /// A malformed address, or no tokio runtime.
    pub fn connect(self) -> Result<ChannelClient, ChannelError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ChannelError::NoRuntime)?;
        let target = Target::parse(&self.config.address)?;
        let config = self.config;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                handlers: HashMap::new(),
                dirty: HashSet::new(),
                pending: Pending::new(config.max_pending, config.max_pending_bytes),
                waiters: Vec::new(),
                next_waiter: 0,
                connected: false,
            }),
            config,
            counters: Counters::default(),
            closed: CancellationToken::new(),
            work: tokio::sync::Notify::new(),
            link: std::sync::OnceLock::new(),
        });
        match target {
            Target::Frame(address) => {
                let link = crate::link_frame::FrameLink::start(&shared, &address)?;
                // Set once, right here; nothing else sets it.
                let _ = shared.link.set(Link::Frame(link));
            }
            Target::Redis(url) => {
                let client = redis::Client::open(url.as_str())?;
                let _ = shared.link.set(Link::Redis);
                runtime.spawn(crate::link_redis::run(Arc::clone(&shared), client));
            }
        }
        Ok(ChannelClient {
            handle: Arc::new(Handle { shared }),
        })
    }
}

/// Where a client connects, from its address.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A `frame://` address for `AsyncTcpConnection`.
    Frame(String),
    /// A Redis URL.
    Redis(String),
}

impl Target {
    pub(crate) fn parse(address: &str) -> Result<Target, ChannelError> {
        let invalid = |reason| ChannelError::InvalidAddress {
            address: address.to_owned(),
            reason,
        };
        let Some((scheme, rest)) = address.split_once("://") else {
            if address.is_empty() {
                return Err(invalid("empty address"));
            }
            return Ok(Target::Frame(format!("frame://{address}")));
        };
        match scheme {
            "frame" => Ok(Target::Frame(address.to_owned())),
            "unix" if rest.starts_with('/') => Ok(Target::Frame(format!("frame://{rest}"))),
            "redis" | "rediss" | "redis+unix" | "unix+redis" | "valkey" | "valkeys" => {
                Ok(Target::Redis(address.to_owned()))
            }
            _ => Err(invalid(
                "the scheme must be frame:// (a ChannelServer) or redis://",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_pick_the_backend() {
        let f = |s: &str| Target::Frame(s.to_owned());
        assert_eq!(
            Target::parse("127.0.0.1:2206").unwrap(),
            f("frame://127.0.0.1:2206")
        );
        assert_eq!(
            Target::parse("frame://[::1]:2206").unwrap(),
            f("frame://[::1]:2206")
        );
        assert_eq!(
            Target::parse("unix:///run/c.sock").unwrap(),
            f("frame:///run/c.sock")
        );
        assert_eq!(
            Target::parse("redis://127.0.0.1:6379/").unwrap(),
            Target::Redis("redis://127.0.0.1:6379/".into())
        );
        assert!(matches!(
            Target::parse("text://127.0.0.1:1"),
            Err(ChannelError::InvalidAddress { .. })
        ));
        assert!(Target::parse("").is_err());
    }
}
