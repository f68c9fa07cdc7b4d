//! The Redis backend: the same commands on Redis, for several machines.
//!
//! Each key is a Redis string holding the value's canonical JSON (object
//! keys sorted), under a prefix (`workerman:globaldata:` by default). A
//! null is never stored: setting one deletes the key. `add` is `SET NX`;
//! `cas` and `increment` are Lua scripts, so each runs atomically in
//! Redis.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::wire::{canonical, ErrorCode, Reply, Request};
use crate::GlobalDataError;

/// `cas`: replace the value if its JSON text is `ARGV[1]` (`null`: the
/// key is absent) with `ARGV[2]` (`null`: delete). Returns 1 or 0.
const CAS: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur == false then cur = 'null' end
if cur ~= ARGV[1] then return 0 end
if ARGV[2] == 'null' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
return 1
";

/// `increment`: `absent` when the key has no value, `overflow` when
/// INCRBY refuses, else the new value as decimal text (read back with GET:
/// Lua numbers are doubles and would round large integers).
const INCREMENT: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur == false then return 'absent' end
if string.match(cur, '^%-?%d+$') then
  local r = redis.pcall('INCRBY', KEYS[1], ARGV[1])
  if type(r) == 'table' and r.err then return 'overflow' end
  return redis.call('GET', KEYS[1])
end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
";

pub(crate) struct RedisNode {
    pub(crate) address: String,
    client: redis::Client,
    prefix: String,
    io_timeout: Duration,
    /// Made on first use (it needs the runtime); it reconnects by itself.
    conn: OnceCell<ConnectionManager>,
    cas: redis::Script,
    increment: redis::Script,
}

impl std::fmt::Debug for RedisNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisNode")
            .field("address", &self.address)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisNode {
    pub(crate) fn new(
        address: String,
        prefix: String,
        io_timeout: Duration,
    ) -> Result<RedisNode, GlobalDataError> {
        let client = redis::Client::open(address.as_str())?;
        Ok(RedisNode {
            address,
            client,
            prefix,
            io_timeout,
            conn: OnceCell::new(),
            cas: redis::Script::new(CAS),
            increment: redis::Script::new(INCREMENT),
        })
    }

    async fn conn(&self) -> Result<ConnectionManager, GlobalDataError> {
        let manager = self
            .conn
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.io_timeout))
                    .set_response_timeout(Some(self.io_timeout))
                    .set_number_of_retries(2);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await?;
        Ok(manager.clone())
    }

    /// Applies `req` in Redis, within the I/O timeout.
    pub(crate) async fn call(&self, req: &Request) -> Result<Reply, GlobalDataError> {
        match tokio::time::timeout(self.io_timeout, self.apply(req)).await {
            Ok(r) => r,
            Err(_) => Err(GlobalDataError::Timeout {
                address: self.address.clone(),
                timeout: self.io_timeout,
            }),
        }
    }

    async fn apply(&self, req: &Request) -> Result<Reply, GlobalDataError> {
        let mut conn = self.conn().await?;
        let key = format!("{}{}", self.prefix, req.key());
        Ok(match req {
            Request::Get { .. } => {
                let text: Option<String> =
                    redis::cmd("GET").arg(&key).query_async(&mut conn).await?;
                match text {
                    None => Reply::value(None),
                    Some(t) => {
                        Reply::value(Some(serde_json::from_str::<Value>(&t).map_err(|_| {
                            GlobalDataError::BadReply {
                                address: self.address.clone(),
                            }
                        })?))
                    }
                }
            }
            Request::Isset { .. } => {
                let n: i64 = redis::cmd("EXISTS")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await?;
                Reply::ok(n > 0)
            }
            Request::Set { value, .. } => {
                if value.is_null() {
                    redis::cmd("DEL")
                        .arg(&key)
                        .query_async::<i64>(&mut conn)
                        .await?;
                } else {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(canonical(value))
                        .query_async::<()>(&mut conn)
                        .await?;
                }
                Reply::ok(true)
            }
            Request::Add { value, .. } => {
                if value.is_null() {
                    let n: i64 = redis::cmd("EXISTS")
                        .arg(&key)
                        .query_async(&mut conn)
                        .await?;
                    Reply::ok(n == 0)
                } else {
                    let set: Option<String> = redis::cmd("SET")
                        .arg(&key)
                        .arg(canonical(value))
                        .arg("NX")
                        .query_async(&mut conn)
                        .await?;
                    Reply::ok(set.is_some())
                }
            }
            Request::Cas { old, value, .. } => {
                let done: i64 = self
                    .cas
                    .key(&key)
                    .arg(canonical(old))
                    .arg(canonical(value))
                    .invoke_async(&mut conn)
                    .await?;
                Reply::ok(done == 1)
            }
            Request::Increment { step, .. } => {
                let out: String = self
                    .increment
                    .key(&key)
                    .arg(*step)
                    .invoke_async(&mut conn)
                    .await?;
                match out.as_str() {
                    "absent" => Reply::value(None),
                    "overflow" => Reply::error(ErrorCode::Overflow),
                    n => match n.parse::<i64>() {
                        Ok(n) => Reply::value(Some(Value::from(n))),
                        Err(_) => {
                            return Err(GlobalDataError::BadReply {
                                address: self.address.clone(),
                            })
                        }
                    },
                }
            }
            Request::Delete { .. } => {
                redis::cmd("DEL")
                    .arg(&key)
                    .query_async::<i64>(&mut conn)
                    .await?;
                Reply::ok(true)
            }
        })
    }
}
