//! [`ChannelError`].

/// Why a Channel call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The address is not one the client understands.
    #[error("invalid channel address {address:?}: {reason}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The published value could not be turned into JSON (a map with
    /// non-string keys, a `Serialize` impl that failed, ...).
    #[error("cannot encode the published value as JSON: {0}")]
    Encode(#[source] serde_json::Error),
    /// The client was closed with [`ChannelClient::close`](crate::ChannelClient::close).
    #[error("the channel client is closed")]
    Closed,
    /// The client must be created inside a tokio runtime (a worker's
    /// `on_worker_start`, for example).
    #[error("the channel client needs a tokio runtime (create it in on_worker_start)")]
    NoRuntime,
    /// Starting the outgoing connection failed (a bad address for the
    /// `frame://` backend).
    #[error(transparent)]
    Connect(#[from] workerman_core::Error),
    /// The Redis backend's URL was refused by the `redis` crate.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}
