//! The Redis backend: Redis pub/sub behind the same client API.
//!
//! One background task per client owns two Redis connections: a
//! multiplexed one that `PUBLISH`es, and a pub/sub one that `SUBSCRIBE`s
//! and receives. It reconciles the subscriptions with the handlers, sends
//! the waiting publishes, answers `sync` callers, and runs handlers as
//! events arrive. When either connection fails it starts over after the
//! reconnect delay, subscribing to every event again.

use std::sync::Arc;

use futures::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};

use crate::client::{Counters, Shared};

/// Why a session ended.
#[derive(Debug)]
enum End {
    /// `close()` was called.
    Closed,
    /// A Redis call failed or a connection went away.
    Lost(String),
}

/// The client's background task: connect, serve, reconnect, until closed.
pub(crate) async fn run(shared: Arc<Shared>, client: redis::Client) {
    let mut down_logged = false;
    loop {
        let end = match connect(&shared, &client).await {
            Ok((conn, sink, stream)) => {
                down_logged = false;
                tracing::info!(address = %shared.config.address, "channel connected (redis)");
                Counters::add(&shared.counters.connects, 1);
                let end = session(&shared, conn, sink, stream).await;
                let mut state = shared.lock();
                state.connected = false;
                end
            }
            Err(e) => End::Lost(e.to_string()),
        };
        match end {
            End::Closed => break,
            End::Lost(why) if !down_logged => {
                down_logged = true;
                tracing::warn!(
                    address = %shared.config.address,
                    error = %why,
                    retry_in = ?shared.config.reconnect_delay,
                    "channel connection to redis lost, reconnecting"
                );
            }
            End::Lost(why) => {
                tracing::debug!(error = %why, "channel: redis still unreachable, retrying");
            }
        }
        tokio::select! {
            () = shared.closed.cancelled() => break,
            () = tokio::time::sleep(shared.config.reconnect_delay) => {}
        }
    }
    tracing::debug!(address = %shared.config.address, "channel redis task ended");
}

async fn connect(
    shared: &Shared,
    client: &redis::Client,
) -> redis::RedisResult<(MultiplexedConnection, PubSubSink, PubSubStream)> {
    let timeout = shared.config.connect_timeout;
    let both = async {
        let conn = client.get_multiplexed_async_connection().await?;
        let (sink, stream) = client.get_async_pubsub().await?.split();
        Ok((conn, sink, stream))
    };
    tokio::select! {
        r = tokio::time::timeout(timeout, both) => match r {
            Ok(r) => r,
            Err(_) => Err(redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("connect timed out after {timeout:?}"),
            ))),
        },
        () = shared.closed.cancelled() => Err(redis::RedisError::from(std::io::Error::from(
            std::io::ErrorKind::ConnectionAborted,
        ))),
    }
}

/// Serves one pair of connections until one fails or the client closes.
async fn session(
    shared: &Shared,
    mut conn: MultiplexedConnection,
    mut sink: PubSubSink,
    mut stream: PubSubStream,
) -> End {
    let prefix = shared.config.redis_prefix.as_str();
    {
        // A new connection knows nothing: subscribe to every event again.
        let mut state = shared.lock();
        state.connected = true;
        let names: Vec<String> = state.handlers.keys().cloned().collect();
        state.dirty.extend(names);
    }
    loop {
        if let Err(e) = work(shared, prefix, &mut conn, &mut sink).await {
            return End::Lost(e.to_string());
        }
        // Each branch is cancel safe: `Notify::notified`, a cancellation
        // token, and `StreamExt::next` on an mpsc-backed stream.
        tokio::select! {
            biased;
            () = shared.closed.cancelled() => return End::Closed,
            () = shared.work.notified() => {}
            msg = stream.next() => match msg {
                Some(msg) => {
                    let Some(event) = msg.get_channel_name().strip_prefix(prefix) else {
                        continue;
                    };
                    shared.dispatch(event, msg.get_payload_bytes()).await;
                }
                None => return End::Lost("the pub/sub connection closed".to_owned()),
            },
        }
    }
}

/// Tells Redis about subscription changes, sends the waiting publishes,
/// then answers the `sync` callers that were waiting when it started.
async fn work(
    shared: &Shared,
    prefix: &str,
    conn: &mut MultiplexedConnection,
    sink: &mut PubSubSink,
) -> redis::RedisResult<()> {
    let (subscribe, unsubscribe, answered) = {
        let mut state = shared.lock();
        let (s, u) = state.take_dirty();
        (s, u, state.next_waiter)
    };
    let keys = |names: &[String]| -> Vec<String> {
        names.iter().map(|n| format!("{prefix}{n}")).collect()
    };
    for (on, names) in [(true, subscribe), (false, unsubscribe)] {
        if names.is_empty() {
            continue;
        }
        let r = if on {
            sink.subscribe(keys(&names)).await
        } else {
            sink.unsubscribe(keys(&names)).await
        };
        if let Err(e) = r {
            // Not done: still to do after the reconnect.
            shared.lock().dirty.extend(names);
            return Err(e);
        }
    }
    loop {
        let Some(p) = shared.lock().pending.pop() else {
            break;
        };
        let r: redis::RedisResult<i64> = redis::cmd("PUBLISH")
            .arg(format!("{prefix}{}", p.event))
            .arg(&p.data)
            .query_async(conn)
            .await;
        match r {
            Ok(_) => Counters::add(&shared.counters.sent, 1),
            Err(e) => {
                // Redis may or may not have published it before the
                // connection broke; sending it again could deliver it
                // twice, so it is dropped (at most once, as with the
                // frame:// backend). The rest waits for the reconnect.
                Counters::add(&shared.counters.dropped, 1);
                tracing::debug!(event = %p.event, "channel: publish lost with the redis connection");
                return Err(e);
            }
        }
    }
    shared.lock().complete_waiters(answered);
    Ok(())
}
