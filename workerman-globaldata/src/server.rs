//! [`GlobalDataServer`]: the shared-variable server, a `frame://` worker.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::Value;
use workerman_core::{async_trait, Connection, Service, Worker};
use workerman_protocols::{Frame, Payload};

use crate::wire::{ErrorCode, Reply, Request};

/// Where the GlobalData server listens by default: loopback, port 2207.
///
/// Workerman's `GlobalData\Server` binds `0.0.0.0:2207`; we default to
/// loopback so that a server started with defaults is not reachable from
/// the network (the protocol has no authentication). Give
/// `frame://0.0.0.0:2207` to serve other machines, behind a firewall.
pub const DEFAULT_SERVER_ADDRESS: &str = "frame://127.0.0.1:2207";

/// The GlobalData server: a [`Service`] on `frame://` holding a map from
/// keys to JSON values in memory, changed one request at a time
/// (Workerman's `GlobalData\Server`).
///
/// Every request is handled whole under one lock, so `add`, `cas` and
/// `increment` are atomic however many processes and machines call them.
/// Run it as one process: [`GlobalDataServer::worker`] sets `count(1)`,
/// `reloadable(false)` (the data survives `reload`) and the name
/// `globalDataServer`. The data lives only in memory: it is lost when the
/// server stops or restarts.
///
/// # Examples
///
/// ```no_run
/// use workerman_globaldata::GlobalDataServer;
///
/// fn main() -> Result<(), workerman_core::Error> {
///     GlobalDataServer::worker("frame://127.0.0.1:2207").run()
/// }
/// ```
#[derive(Debug, Default)]
pub struct GlobalDataServer {
    /// The variables. A std mutex: each request holds it for one map
    /// operation and never across an await. No null is ever stored (a
    /// null value removes its key), so "present" means "set".
    data: Mutex<HashMap<String, Value>>,
}

impl GlobalDataServer {
    /// An empty server.
    pub fn new() -> Self {
        Self::default()
    }

    /// The server as a [`Worker`] on `address` (see
    /// [`DEFAULT_SERVER_ADDRESS`]): `count(1)`, `reloadable(false)`, named
    /// `globalDataServer`. The address must be `frame://host:port` or
    /// `frame:///unix/path`.
    pub fn worker(address: impl Into<String>) -> Worker<GlobalDataServer> {
        Worker::new(address, GlobalDataServer::new())
            .name("globalDataServer")
            .count(1)
            .reloadable(false)
    }

    /// How many keys are set.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Value>> {
        // Each request changes the map with one call: a panic elsewhere
        // cannot leave it half-changed.
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies one request.
    pub(crate) fn apply(&self, req: Request) -> Reply {
        let mut data = self.lock();
        match req {
            Request::Get { key } => Reply::value(data.get(&key).cloned()),
            Request::Isset { key } => Reply::ok(data.contains_key(&key)),
            Request::Set { key, value } => {
                store(&mut data, key, value);
                Reply::ok(true)
            }
            Request::Add { key, value } => {
                if data.contains_key(&key) {
                    Reply::ok(false)
                } else {
                    store(&mut data, key, value);
                    Reply::ok(true)
                }
            }
            Request::Cas { key, old, value } => {
                let current = data.get(&key).unwrap_or(&Value::Null);
                if *current == old {
                    store(&mut data, key, value);
                    Reply::ok(true)
                } else {
                    Reply::ok(false)
                }
            }
            Request::Increment { key, step } => match data.get_mut(&key) {
                None => Reply::value(None),
                Some(v) => {
                    // An integer grows by `step`; anything else counts as 0,
                    // as in Workerman.
                    let next = match v.as_i64() {
                        Some(n) => n.checked_add(step),
                        None => Some(step),
                    };
                    match next {
                        Some(n) => {
                            *v = Value::from(n);
                            Reply::value(Some(Value::from(n)))
                        }
                        None => Reply::error(ErrorCode::Overflow),
                    }
                }
            },
            Request::Delete { key } => {
                data.remove(&key);
                Reply::ok(true)
            }
        }
    }
}

/// Sets `key`; a null value removes it (Workerman treats a stored null as
/// unset).
fn store(data: &mut HashMap<String, Value>, key: String, value: Value) {
    if value.is_null() {
        data.remove(&key);
    } else {
        data.insert(key, value);
    }
}

fn encode(reply: &Reply) -> Payload {
    // A reply is plain JSON values: serialising it cannot fail.
    Payload::from(serde_json::to_vec(reply).unwrap_or_default())
}

#[async_trait]
impl Service for GlobalDataServer {
    type Protocol = Frame;

    async fn on_message(&self, conn: &Connection<Frame>, msg: Payload) {
        if msg.is_empty() || msg == "ping" {
            // Keep-alives (ours: an empty frame; Workerman's: "ping").
            return;
        }
        let req = match serde_json::from_slice::<Request>(&msg) {
            Ok(req) => req,
            Err(e) => {
                tracing::warn!(conn_id = conn.id(), error = %e, "globaldata: bad request, closing");
                conn.close(Some(encode(&Reply::error(ErrorCode::BadRequest))));
                return;
            }
        };
        tracing::trace!(conn_id = conn.id(), ?req, "request");
        let reply = self.apply(req);
        if let Err(e) = conn.send(encode(&reply)) {
            tracing::debug!(conn_id = conn.id(), error = %e, "reply not sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(k: &str) -> String {
        k.to_owned()
    }

    #[test]
    fn semantics_of_each_command() {
        let s = GlobalDataServer::new();
        let get = |k: &str| s.apply(Request::Get { key: key(k) });
        assert_eq!(get("a"), Reply::value(None));
        assert_eq!(s.apply(Request::Isset { key: key("a") }), Reply::ok(false));
        let add = |v| {
            s.apply(Request::Add {
                key: key("a"),
                value: v,
            })
        };
        assert_eq!(add(json!(1)), Reply::ok(true));
        assert_eq!(add(json!(2)), Reply::ok(false));
        assert_eq!(get("a"), Reply::value(Some(json!(1))));
        let incr = |k: &str, step| s.apply(Request::Increment { key: key(k), step });
        assert_eq!(incr("a", 5), Reply::value(Some(json!(6))));
        assert_eq!(incr("missing", 5), Reply::value(None));
        s.apply(Request::Set {
            key: key("s"),
            value: json!("abc"),
        });
        assert_eq!(incr("s", 3), Reply::value(Some(json!(3))));
        s.apply(Request::Set {
            key: key("max"),
            value: json!(i64::MAX),
        });
        assert_eq!(incr("max", 1), Reply::error(ErrorCode::Overflow));
        assert_eq!(get("max"), Reply::value(Some(json!(i64::MAX))));
        let cas = |old, new| {
            s.apply(Request::Cas {
                key: key("a"),
                old,
                value: new,
            })
        };
        assert_eq!(cas(json!(1), json!(7)), Reply::ok(false));
        assert_eq!(cas(json!(6), json!({"x": [1]})), Reply::ok(true));
        assert_eq!(get("a"), Reply::value(Some(json!({"x": [1]}))));
        // Absent is null for cas: it can create a key.
        let cas_new = s.apply(Request::Cas {
            key: key("new"),
            old: json!(null),
            value: json!(1),
        });
        assert_eq!(cas_new, Reply::ok(true));
        // A stored null is no value: set null removes.
        s.apply(Request::Set {
            key: key("a"),
            value: json!(null),
        });
        assert_eq!(s.apply(Request::Isset { key: key("a") }), Reply::ok(false));
        assert_eq!(add(json!(9)), Reply::ok(true));
        assert_eq!(s.apply(Request::Delete { key: key("a") }), Reply::ok(true));
        assert_eq!(get("a"), Reply::value(None));
        assert_eq!(s.len(), 3);
    }
}
