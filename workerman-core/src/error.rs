//! Errors: [`Error`] for starting workers and connecting, [`ConnectionError`]
//! for what happens on one connection, [`SendError`] for a refused send.

use std::error::Error as StdError;
use std::io;
use std::sync::Arc;

/// A boxed error from a protocol codec or a user callback.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a worker could not start, or an outgoing connection could not be
/// made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address is not `scheme://host:port` or `scheme:///absolute/path`.
    #[error("invalid address {address:?}: {reason}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The address names a protocol other than the one the service speaks.
    #[error(
        "address {address:?} uses scheme {scheme:?}, but the service's protocol is {expected:?} \
         (use {expected}://... or a service whose Protocol has SCHEME = {scheme:?})"
    )]
    SchemeMismatch {
        /// The address as given.
        address: String,
        /// The scheme in the address.
        scheme: String,
        /// The scheme of `Service::Protocol`.
        expected: &'static str,
    },
    /// Binding or listening on the address failed (address in use,
    /// permission denied, not a local address...).
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address as given.
        address: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Creating a worker thread or its runtime failed.
    #[error("cannot start worker {name:?}: {source}")]
    Runtime {
        /// The worker's name.
        name: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// An outgoing connection failed (Workerman's onError code 1,
    /// `CONNECT_FAIL`).
    #[error("connect to {address} failed: {source}")]
    Connect {
        /// The address as given.
        address: String,
        /// The operating system's error, or `TimedOut` after the connect
        /// timeout.
        #[source]
        source: io::Error,
    },
}

/// Something that went wrong on one connection, reported to
/// `Service::on_error`.
///
/// The Workerman error code of each kind is given by
/// [`code`](ConnectionError::code).
///
/// It is cheap to clone (the sources are shared behind an [`Arc`]), so a
/// handler can keep it or move it into a task: the closure form's
/// `on_error` receives it by value.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// `send` was refused because the application send buffer already held
    /// `max_send_buffer_size` bytes or more; the message was dropped and the
    /// connection stays open (Workerman: code 2, `send buffer full and drop
    /// package`).
    #[error("send buffer full and drop package")]
    SendBufferFull,
    /// A write found the peer gone; the connection is being closed
    /// (Workerman: code 2, `client closed`).
    #[error("client closed")]
    SendClosed(#[source] Arc<io::Error>),
    /// The peer broke the protocol (bad or oversize package); the connection
    /// is being closed. The payload is the codec's error:
    /// [`protocol_error`](ConnectionError::protocol_error) downcasts it to
    /// the protocol's error type.
    #[error("bad package: {0}")]
    Protocol(#[source] Arc<dyn StdError + Send + Sync + 'static>),
    /// Reading from the socket failed; the connection is being closed.
    #[error("read failed: {0}")]
    Io(#[source] Arc<io::Error>),
    /// An outgoing connection could not be made (Workerman: code 1,
    /// `CONNECT_FAIL`); `on_close` follows, where `reconnect` may be
    /// called.
    #[error("connect failed: {0}")]
    ConnectFailed(#[source] Arc<io::Error>),
    /// The protocol's read deadline passed (for example an HTTP request
    /// head that did not arrive in time); the connection is being closed.
    #[error("the peer sent nothing in time")]
    ReadTimeout,
}

impl ConnectionError {
    /// Workerman's `SEND_FAIL` error code.
    pub const SEND_FAIL: u16 = 2;
    /// Workerman's `CONNECT_FAIL` error code.
    pub const CONNECT_FAIL: u16 = 1;
    /// The code this project uses for protocol errors (Workerman reports
    /// bad packages on stdout instead of onError).
    pub const PROTOCOL_ERROR: u16 = 3;
    /// The code this project uses for read errors.
    pub const IO_ERROR: u16 = 4;
    /// The code this project uses for a passed read deadline.
    pub const READ_TIMEOUT: u16 = 5;

    /// The error code, as Workerman's `onError($connection, $code, $msg)`
    /// would receive it.
    pub fn code(&self) -> u16 {
        match self {
            ConnectionError::SendBufferFull | ConnectionError::SendClosed(_) => Self::SEND_FAIL,
            ConnectionError::Protocol(_) => Self::PROTOCOL_ERROR,
            ConnectionError::Io(_) => Self::IO_ERROR,
            ConnectionError::ReadTimeout => Self::READ_TIMEOUT,
            ConnectionError::ConnectFailed(_) => Self::CONNECT_FAIL,
        }
    }

    /// The protocol error, downcast to the protocol's error type, when this
    /// is a [`ConnectionError::Protocol`] of that type.
    pub fn protocol_error<E: StdError + 'static>(&self) -> Option<&E> {
        match self {
            ConnectionError::Protocol(e) => e.downcast_ref::<E>(),
            _ => None,
        }
    }
}

/// Why `Connection::send` refused a message: Workerman's `false` result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is closing or closed; nothing was sent and `on_error`
    /// is not called (as in Workerman), unless the write itself discovered
    /// the peer gone, which reports [`ConnectionError::SendClosed`].
    #[error("connection closed")]
    Closed,
    /// The send buffer already held `max_send_buffer_size` bytes or more;
    /// the message was dropped and `on_error` receives
    /// [`ConnectionError::SendBufferFull`].
    #[error("send buffer full")]
    BufferFull,
    /// The protocol could not encode the message (for example it exceeds
    /// the protocol's package size); nothing was sent.
    #[error("cannot encode message: {0}")]
    Encode(#[source] BoxError),
}
