//! The `frame://` backend: one [`AsyncTcpConnection`] to a
//! [`ChannelServer`](crate::ChannelServer), reconnected from `on_close`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use workerman_core::{async_trait, AsyncTcpConnection, Connection, SendError, Service};
use workerman_protocols::{Frame, Payload};
use workerman_timer::{Timer, TimerId};

use crate::client::{Counters, Link, Shared, State};
use crate::wire::{self, Reply};
use crate::ChannelError;

/// The connection of a `frame://` client.
pub(crate) struct FrameLink {
    conn: Connection<Frame>,
    keepalive: Option<TimerId>,
}

/// Why a flush stopped early.
enum Stuck {
    /// The connection refused the send (full or closing): try again on
    /// drain or after the reconnect.
    Refused,
}

impl FrameLink {
    pub(crate) fn start(shared: &Arc<Shared>, address: &str) -> Result<FrameLink, ChannelError> {
        let service = FrameService {
            shared: Arc::downgrade(shared),
            down_logged: AtomicBool::new(false),
        };
        let conn = AsyncTcpConnection::new(address, service)
            .connect_timeout(shared.config.connect_timeout)
            .start()?;
        let weak = Arc::downgrade(shared);
        let keepalive = Timer::add(shared.config.ping_interval, move || {
            let Some(shared) = weak.upgrade().filter(|s| !s.closed.is_cancelled()) else {
                if let Some(me) = Timer::current() {
                    Timer::del(me);
                }
                return;
            };
            let up = shared.lock().connected;
            if let (true, Some(Link::Frame(link))) = (up, shared.link.get()) {
                // An empty frame (`00 00 00 04`); a refusal is harmless:
                // the next tick tries again.
                let _ = link.conn.send(Payload::from(Vec::new()));
            }
        });
        let keepalive = match keepalive {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::debug!(error = %e, "channel: no keep-alive timer");
                None
            }
        };
        Ok(FrameLink { conn, keepalive })
    }

    /// Sends, in this order, the subscription changes, the waiting
    /// publishes and the pings of `sync` callers, until the connection
    /// refuses one (then the rest waits for `on_buffer_drain` or the
    /// reconnect).
    pub(crate) fn flush(&self, shared: &Shared, state: &mut State) {
        if !state.connected {
            return;
        }
        let _ = self.flush_inner(shared, state);
    }

    fn flush_inner(&self, shared: &Shared, state: &mut State) -> Result<(), Stuck> {
        if !state.dirty.is_empty() {
            let (subscribe, unsubscribe) = state.take_dirty();
            for (on, names) in [(true, subscribe), (false, unsubscribe)] {
                if names.is_empty() {
                    continue;
                }
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                if self.send(wire::subscription(on, &refs)).is_err() {
                    // Told nobody: still dirty.
                    state.dirty.extend(names);
                    return Err(Stuck::Refused);
                }
            }
        }
        while let Some(p) = state.pending.pop() {
            match self.send(wire::publish(&p.event, &p.data)) {
                Ok(()) => Counters::add(&shared.counters.sent, 1),
                Err(SendError::Encode(e)) => {
                    Counters::add(&shared.counters.dropped, 1);
                    tracing::warn!(event = %p.event, error = %e, "channel: publish too large for a frame, dropped");
                }
                Err(_) => {
                    state.pending.push_front(p);
                    return Err(Stuck::Refused);
                }
            }
        }
        for w in state.waiters.iter_mut().filter(|w| !w.sent) {
            if self.send(wire::ping(w.id)).is_err() {
                return Err(Stuck::Refused);
            }
            w.sent = true;
        }
        Ok(())
    }

    fn send(&self, body: Vec<u8>) -> Result<(), SendError> {
        self.conn.send(Payload::from(body)).map(|_| ())
    }

    pub(crate) fn close(&self) {
        if let Some(id) = self.keepalive {
            // From another runtime this finds nothing; the timer then
            // deletes itself on its next tick.
            Timer::del(id);
        }
        self.conn.close(None);
    }
}

/// The callbacks of the link's connection. Holds the client weakly: the
/// client owns the connection, not the other way round.
struct FrameService {
    shared: Weak<Shared>,
    /// Whether the current outage was logged (once per outage, not once
    /// per failed attempt).
    down_logged: AtomicBool,
}

impl FrameService {
    fn live(&self, conn: &Connection<Frame>) -> Option<Arc<Shared>> {
        match self.shared.upgrade() {
            Some(s) if !s.closed.is_cancelled() => Some(s),
            _ => {
                conn.destroy();
                None
            }
        }
    }
}

#[async_trait]
impl Service for FrameService {
    type Protocol = Frame;

    async fn on_connect(&self, conn: &Connection<Frame>) {
        let Some(shared) = self.live(conn) else {
            return;
        };
        self.down_logged.store(false, Ordering::Relaxed);
        tracing::info!(address = %shared.config.address, "channel connected");
        Counters::add(&shared.counters.connects, 1);
        let mut state = shared.lock();
        state.connected = true;
        // A new connection knows nothing: subscribe to every event again,
        // and ask again for every sync.
        let names: Vec<String> = state.handlers.keys().cloned().collect();
        state.dirty.extend(names);
        for w in &mut state.waiters {
            w.sent = false;
        }
        shared.kick(&mut state);
    }

    async fn on_message(&self, conn: &Connection<Frame>, msg: Payload) {
        if msg.is_empty() {
            return;
        }
        let Some(shared) = self.live(conn) else {
            return;
        };
        match wire::parse_reply(&msg) {
            Ok(Reply::Event { channel, data }) => {
                shared.dispatch(&channel, data.get().as_bytes()).await;
            }
            Ok(Reply::Pong { id }) => shared.lock().complete_waiters(id),
            Err(e) => {
                tracing::warn!(error = %e, "channel: the server sent something that is not a Channel reply, ignored");
            }
        }
    }

    async fn on_buffer_drain(&self, conn: &Connection<Frame>) {
        let Some(shared) = self.live(conn) else {
            return;
        };
        let mut state = shared.lock();
        shared.kick(&mut state);
    }

    async fn on_close(&self, conn: &Connection<Frame>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        {
            let mut state = shared.lock();
            state.connected = false;
            for w in &mut state.waiters {
                w.sent = false;
            }
        }
        if shared.closed.is_cancelled() {
            return;
        }
        let delay = shared.config.reconnect_delay;
        if self.down_logged.swap(true, Ordering::Relaxed) {
            tracing::debug!(address = %shared.config.address, "channel still unreachable, retrying");
        } else {
            tracing::warn!(
                address = %shared.config.address,
                retry_in = ?delay,
                "channel connection closed, reconnecting"
            );
        }
        conn.reconnect(delay);
    }
}
