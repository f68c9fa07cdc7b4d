//! [`GlobalDataClient`]: the typed API over either backend.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use workerman_protocols::DEFAULT_MAX_PACKAGE_SIZE;

use crate::node_frame::{FrameNode, Target};
use crate::node_redis::RedisNode;
use crate::wire::{ErrorCode, Reply, Request};
use crate::GlobalDataError;

/// How long one call may take, connecting included (Workerman's client
/// uses 5 s for connecting and for each read or write).
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The prefix of the Redis keys used by the Redis backend: variable
/// `count` is Redis key `workerman:globaldata:count`.
pub const DEFAULT_REDIS_PREFIX: &str = "workerman:globaldata:";

/// One server of a cluster.
#[derive(Debug)]
enum Node {
    Frame(FrameNode),
    Redis(RedisNode),
}

impl Node {
    async fn call(&self, req: &Request) -> Result<Reply, GlobalDataError> {
        let reply = match self {
            Node::Frame(n) => n.call(req).await?,
            Node::Redis(n) => n.call(req).await?,
        };
        match reply.error {
            None => Ok(reply),
            Some(ErrorCode::Overflow) => Err(GlobalDataError::Overflow),
            Some(ErrorCode::BadRequest) => Err(GlobalDataError::BadRequest),
        }
    }

    fn address(&self) -> &str {
        match self {
            Node::Frame(n) => &n.address,
            Node::Redis(n) => &n.address,
        }
    }
}

/// A GlobalData client: variables shared by every process (and machine)
/// that uses the same server, with atomic `add`, `cas` and `increment`
/// (Workerman's `GlobalData\Client`).
///
/// Values are any `serde` value (sent as JSON). A value that serialises
/// to JSON `null` is no value: storing it removes the key, as Workerman's
/// `isset` treats a stored null as unset. Compound values are replaced
/// whole: to change one field, read, change and write back, with
/// [`cas`](GlobalDataClient::cas) if others may write at the same time.
///
/// A cheap, cloneable handle; clones share the connections. The client
/// connects on first use and again after a failure, each call waiting at
/// most the I/O timeout ([`DEFAULT_IO_TIMEOUT`], 5 s), connecting
/// included: a call made while the server is starting waits for it. Calls
/// through one handle (and its clones) to one server go one at a time;
/// make several clients for more parallelism.
///
/// The backend comes from the address:
///
/// | address | backend |
/// |---|---|
/// | `frame://127.0.0.1:2207`, `127.0.0.1:2207` | a [`GlobalDataServer`](crate::GlobalDataServer) |
/// | `frame:///run/gd.sock`, `unix:///run/gd.sock` | a [`GlobalDataServer`](crate::GlobalDataServer) on a Unix socket |
/// | `redis://127.0.0.1:6379/`, `rediss://...`, `redis+unix:///...` | Redis |
///
/// With several addresses ([`cluster`](GlobalDataClient::cluster)) each
/// key lives on one of them, chosen by the CRC-32 of the key modulo the
/// number of servers, as Workerman routes.
///
/// # Examples
///
/// ```no_run
/// # #![allow(dead_code)]
/// use workerman_globaldata::GlobalDataClient;
///
/// # async fn f() -> Result<(), workerman_globaldata::GlobalDataError> {
/// let global = GlobalDataClient::new("frame://127.0.0.1:2207")?;
/// global.set("motd", "welcome").await?;
/// let motd: Option<String> = global.get("motd").await?;
/// global.add("visits", &0).await?;
/// let n = global.increment("visits", 1).await?; // Some(1)
/// # let _ = (motd, n);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GlobalDataClient {
    nodes: Arc<[Node]>,
}

impl fmt::Debug for GlobalDataClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.nodes.iter().map(Node::address))
            .finish()
    }
}

impl GlobalDataClient {
    /// A client of the server at `address`, with the default settings.
    /// Nothing is connected until the first call.
    ///
    /// # Errors
    ///
    /// [`GlobalDataError::InvalidAddress`] (or a Redis URL error).
    pub fn new(address: impl Into<String>) -> Result<GlobalDataClient, GlobalDataError> {
        Self::builder().connect([address.into()])
    }

    /// A client of several servers: each key lives on one of them (CRC-32
    /// of the key modulo their number). Every process must list them in
    /// the same order.
    ///
    /// # Errors
    ///
    /// As [`new`](GlobalDataClient::new), and for an empty list.
    pub fn cluster<I, S>(addresses: I) -> Result<GlobalDataClient, GlobalDataError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::builder().connect(addresses)
    }

    /// A builder, to change the settings.
    pub fn builder() -> GlobalDataClientBuilder {
        GlobalDataClientBuilder {
            io_timeout: DEFAULT_IO_TIMEOUT,
            redis_prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            max_package_size: DEFAULT_MAX_PACKAGE_SIZE,
        }
    }

    fn node(&self, key: &str) -> &Node {
        // Workerman: abs(crc32(key)) % count. PHP's crc32 is unsigned on
        // 64-bit builds, so abs() changes nothing there.
        let i = crc32fast::hash(key.as_bytes()) as usize % self.nodes.len();
        &self.nodes[i]
    }

    async fn call(&self, req: Request) -> Result<Reply, GlobalDataError> {
        self.node(req.key()).call(&req).await
    }

    /// The value of `key`, or `None` when it has none.
    ///
    /// # Errors
    ///
    /// [`GlobalDataError::Decode`] when the value does not fit `T`, or an
    /// I/O error (see [`GlobalDataError`]).
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, GlobalDataError> {
        let reply = self.call(Request::Get { key: key.into() }).await?;
        match reply.value {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(GlobalDataError::Decode),
        }
    }

    /// Sets `key` to `value` (one that serialises to null removes it).
    ///
    /// # Errors
    ///
    /// [`GlobalDataError::Encode`], or an I/O error.
    pub async fn set<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), GlobalDataError> {
        let value = to_value(value)?;
        self.call(Request::Set {
            key: key.into(),
            value,
        })
        .await
        .map(drop)
    }

    /// Whether `key` has a value.
    ///
    /// # Errors
    ///
    /// An I/O error.
    pub async fn isset(&self, key: &str) -> Result<bool, GlobalDataError> {
        let reply = self.call(Request::Isset { key: key.into() }).await?;
        self.yes_no(key, reply)
    }

    /// Removes `key` (nothing happens if it has no value).
    ///
    /// # Errors
    ///
    /// An I/O error.
    pub async fn unset(&self, key: &str) -> Result<(), GlobalDataError> {
        self.call(Request::Delete { key: key.into() })
            .await
            .map(drop)
    }

    /// Sets `key` to `value` only if it has no value; returns whether it
    /// did. Atomic: of several processes adding the same key at once,
    /// exactly one gets `true`.
    ///
    /// # Errors
    ///
    /// [`GlobalDataError::Encode`], or an I/O error.
    pub async fn add<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<bool, GlobalDataError> {
        let value = to_value(value)?;
        let reply = self
            .call(Request::Add {
                key: key.into(),
                value,
            })
            .await?;
        self.yes_no(key, reply)
    }

    /// Compare-and-swap: sets `key` to `new` only if its value is still
    /// `old` (compared as JSON values; `old` serialising to null means "has
    /// no value"); returns whether it did. Atomic. The usual loop:
    ///
    /// ```no_run
    /// # #![allow(dead_code)]
    /// # async fn f(global: workerman_globaldata::GlobalDataClient)
    /// #     -> Result<(), workerman_globaldata::GlobalDataError> {
    /// loop {
    ///     let old: Option<Vec<String>> = global.get("users").await?;
    ///     let mut new = old.clone().unwrap_or_default();
    ///     new.push("ann".to_owned());
    ///     if global.cas("users", &old, &new).await? {
    ///         break;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`GlobalDataError::Encode`], or an I/O error.
    pub async fn cas<T, U>(&self, key: &str, old: &T, new: &U) -> Result<bool, GlobalDataError>
    where
        T: Serialize + ?Sized,
        U: Serialize + ?Sized,
    {
        let (old, value) = (to_value(old)?, to_value(new)?);
        let reply = self
            .call(Request::Cas {
                key: key.into(),
                old,
                value,
            })
            .await?;
        self.yes_no(key, reply)
    }

    /// Adds `step` to the integer value of `key` and returns the new value,
    /// atomically; `None` when the key has no value (nothing is created,
    /// as in Workerman). A value that is not an integer counts as 0 (so it
    /// becomes `step`).
    ///
    /// # Errors
    ///
    /// [`GlobalDataError::Overflow`] when the result would not fit an
    /// `i64` (the value is unchanged), or an I/O error.
    pub async fn increment(&self, key: &str, step: i64) -> Result<Option<i64>, GlobalDataError> {
        let reply = self
            .call(Request::Increment {
                key: key.into(),
                step,
            })
            .await?;
        match reply.value {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| self.bad_reply(key)),
        }
    }

    fn yes_no(&self, key: &str, reply: Reply) -> Result<bool, GlobalDataError> {
        reply.ok.ok_or_else(|| self.bad_reply(key))
    }

    fn bad_reply(&self, key: &str) -> GlobalDataError {
        GlobalDataError::BadReply {
            address: self.node(key).address().to_owned(),
        }
    }
}

fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, GlobalDataError> {
    let value = serde_json::to_value(value).map_err(GlobalDataError::Encode)?;
    if !crate::wire::storable(&value) {
        return Err(GlobalDataError::Encode(serde::ser::Error::custom(format!(
            "object key {:?} is reserved by serde_json and cannot be stored",
            crate::wire::RESERVED_KEY
        ))));
    }
    Ok(value)
}

/// Settings for a [`GlobalDataClient`], from
/// [`GlobalDataClient::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until connect()"]
pub struct GlobalDataClientBuilder {
    io_timeout: Duration,
    redis_prefix: String,
    max_package_size: usize,
}

impl GlobalDataClientBuilder {
    /// How long one call may take, connecting included (default
    /// [`DEFAULT_IO_TIMEOUT`], 5 s). A call that times out drops its
    /// connection; it may or may not have been applied.
    pub fn io_timeout(mut self, timeout: Duration) -> Self {
        self.io_timeout = timeout;
        self
    }

    /// The prefix of the Redis keys (default [`DEFAULT_REDIS_PREFIX`]).
    /// Not used by the `frame://` backend.
    pub fn redis_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.redis_prefix = prefix.into();
        self
    }

    /// The largest reply accepted from a `frame://` server, in bytes, the
    /// 4-byte header included (default 10 MiB).
    pub fn max_package_size(mut self, bytes: usize) -> Self {
        self.max_package_size = bytes;
        self
    }

    /// A client of these servers (one, or a cluster; see
    /// [`GlobalDataClient::cluster`]). Nothing is connected until the
    /// first call.
    ///
    /// # Errors
    ///
    /// [`GlobalDataError::InvalidAddress`] (or a Redis URL error), or an
    /// empty list.
    pub fn connect<I, S>(self, addresses: I) -> Result<GlobalDataClient, GlobalDataError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let nodes = addresses
            .into_iter()
            .map(|a| self.node(a.into()))
            .collect::<Result<Vec<_>, _>>()?;
        if nodes.is_empty() {
            return Err(GlobalDataError::InvalidAddress {
                address: String::new(),
                reason: "no server address given",
            });
        }
        Ok(GlobalDataClient {
            nodes: nodes.into(),
        })
    }

    fn node(&self, address: String) -> Result<Node, GlobalDataError> {
        let invalid = |reason| GlobalDataError::InvalidAddress {
            address: address.clone(),
            reason,
        };
        let (scheme, rest) = match address.split_once("://") {
            Some(x) => x,
            None if address.is_empty() => return Err(invalid("empty address")),
            None => ("frame", address.as_str()),
        };
        let frame = |target| {
            Ok(Node::Frame(FrameNode::new(
                address.clone(),
                target,
                self.io_timeout,
                self.max_package_size,
            )))
        };
        match scheme {
            "frame" | "unix" if rest.starts_with('/') => frame(Target::Unix(PathBuf::from(rest))),
            "frame" if rest.is_empty() || rest.contains('/') => Err(invalid(
                "expected frame://host:port or frame:///socket/path",
            )),
            "frame" => frame(Target::Tcp(rest.to_owned())),
            "redis" | "rediss" | "redis+unix" | "unix+redis" | "valkey" | "valkeys" => {
                Ok(Node::Redis(RedisNode::new(
                    address.clone(),
                    self.redis_prefix.clone(),
                    self.io_timeout,
                )?))
            }
            _ => Err(invalid(
                "the scheme must be frame:// (a GlobalDataServer) or redis://",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_pick_the_backend() {
        let kinds =
            |a: &str| match GlobalDataClient::new(a).map(|c| c.nodes[0].address().to_owned()) {
                Ok(_) => "ok",
                Err(GlobalDataError::InvalidAddress { .. }) => "invalid",
                Err(_) => "other",
            };
        assert_eq!(kinds("127.0.0.1:2207"), "ok");
        assert_eq!(kinds("frame://127.0.0.1:2207"), "ok");
        assert_eq!(kinds("frame:///run/gd.sock"), "ok");
        assert_eq!(kinds("unix:///run/gd.sock"), "ok");
        assert_eq!(kinds("redis://127.0.0.1:6379/"), "ok");
        assert_eq!(kinds("text://127.0.0.1:2207"), "invalid");
        assert_eq!(kinds("frame://host/path"), "invalid");
        assert_eq!(kinds(""), "invalid");
        assert!(GlobalDataClient::cluster(Vec::<String>::new()).is_err());
    }

    #[test]
    fn keys_route_by_crc32_like_workerman() {
        let c = GlobalDataClient::cluster(["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]).unwrap();
        // PHP: crc32("abc") = 891568578; 891568578 % 3 = 0.
        assert_eq!(crc32fast::hash(b"abc"), 891_568_578);
        assert_eq!(c.node("abc").address(), "127.0.0.1:1");
        // crc32("key") = 2324736937; % 3 = 1.
        assert_eq!(c.node("key").address(), "127.0.0.1:2");
    }
}
