//! [`GlobalDataError`].

use std::time::Duration;

/// Why a GlobalData call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GlobalDataError {
    /// The address is not one the client understands.
    #[error("invalid GlobalData address {address:?}: {reason}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The value could not be turned into JSON.
    #[error("cannot encode the value as JSON: {0}")]
    Encode(#[source] serde_json::Error),
    /// The stored value does not decode into the type asked for.
    #[error("the stored value does not fit the type asked for: {0}")]
    Decode(#[source] serde_json::Error),
    /// Connecting, writing or reading failed.
    #[error("GlobalData server {address}: {source}")]
    Io {
        /// The server's address.
        address: String,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// No answer within the I/O timeout (the connection is dropped: the
    /// request may or may not have been applied).
    #[error("GlobalData server {address}: no answer within {timeout:?}")]
    Timeout {
        /// The server's address.
        address: String,
        /// The timeout in force.
        timeout: Duration,
    },
    /// The server closed the connection before answering.
    #[error("GlobalData server {address} closed the connection before answering")]
    Disconnected {
        /// The server's address.
        address: String,
    },
    /// The server answered something that is not a GlobalData reply.
    #[error("GlobalData server {address} sent a malformed reply")]
    BadReply {
        /// The server's address.
        address: String,
    },
    /// The server did not understand the request (and closed the
    /// connection): a client and server of different versions.
    #[error("the GlobalData server refused the request as malformed")]
    BadRequest,
    /// `increment` would take the value past `i64::MAX` or `i64::MIN`; the
    /// value is unchanged.
    #[error("increment overflows a 64-bit integer")]
    Overflow,
    /// The Redis backend failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}
