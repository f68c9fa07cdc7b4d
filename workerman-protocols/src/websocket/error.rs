//! [`WebSocketError`]: why a WebSocket codec failed, and what the peer is
//! told about it (an HTTP status during the handshake, a close code after).

use std::io;

use super::CloseCode;

/// Why a [`WebSocketCodec`](super::WebSocketCodec) or
/// [`WsClientCodec`](super::WsClientCodec) failed.
///
/// A decode error closes the connection after the protocol's answer:
/// [`http_status`](WebSocketError::http_status) during the server handshake,
/// a close frame with [`close_code`](WebSocketError::close_code) once the
/// connection is open.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebSocketError {
    /// The opening handshake failed (a bad upgrade request on the server,
    /// a bad `101` answer on the client).
    #[error("websocket handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// The peer broke RFC 6455 framing: close code 1002.
    #[error("websocket protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// A text message or a close reason is not UTF-8: close code 1007.
    #[error("websocket text is not valid UTF-8")]
    InvalidUtf8,
    /// A compressed message (permessage-deflate) does not inflate: close
    /// code 1007.
    #[error("websocket compressed data is invalid")]
    BadCompressedData,
    /// A message (all its fragments together, or inflated) is larger than
    /// the limit: close code 1009.
    #[error("websocket message exceeds the {max}-byte limit")]
    MessageTooLarge {
        /// The limit in force, in bytes.
        max: usize,
    },
    /// Encoding: a ping or pong payload over 125 bytes.
    #[error("control frame payload over 125 bytes")]
    ControlTooLong,
    /// Encoding: a close code that may not be sent (1005, 1006, 1015, or
    /// one outside the ranges RFC 6455 allows).
    #[error("close code {0} may not be sent")]
    InvalidCloseCode(u16),
    /// Encoding: more than the configured `max_pending_size` bytes were
    /// sent before the handshake completed.
    #[error("more than {max} bytes sent before the websocket handshake completed")]
    PendingTooLarge {
        /// The limit in force, in bytes.
        max: usize,
    },
    /// Encoding: the connection has finished (a close frame went either
    /// way, or the handshake was refused).
    #[error("the websocket connection is closed")]
    Closed,
    /// Client builder: a header name that is not an HTTP token, or a
    /// header value, origin or subprotocol with CR or LF.
    #[error("invalid header in the websocket client request")]
    InvalidHeader,
    /// Client builder: not a `ws://host[:port][/path]` URL.
    #[error("invalid ws:// URL")]
    InvalidUrl,
    /// Reading from or writing to the socket failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl WebSocketError {
    /// The close code the peer is sent for this error once the connection
    /// is open: 1002 for protocol errors, 1007 for bad UTF-8 or compressed
    /// data, 1009 for an oversize message; `None` for handshake, encode and I/O errors.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            WebSocketError::Protocol(_) => Some(CloseCode::Protocol),
            WebSocketError::InvalidUtf8 | WebSocketError::BadCompressedData => {
                Some(CloseCode::Invalid)
            }
            WebSocketError::MessageTooLarge { .. } => Some(CloseCode::Size),
            _ => None,
        }
    }

    /// The HTTP status the server answers a failed handshake with
    /// (400, 403, 426, 431); `None` for other errors.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            WebSocketError::Handshake(h) => h.http_status(),
            _ => None,
        }
    }
}

/// A framing rule of RFC 6455 the peer broke (answered with close code
/// 1002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A client frame without the MASK bit (RFC 6455 5.1).
    #[error("client frame not masked")]
    UnmaskedFrame,
    /// A server frame with the MASK bit.
    #[error("server frame masked")]
    MaskedFrame,
    /// RSV2 or RSV3 set, or RSV1 without permessage-deflate (or on a
    /// control or continuation frame).
    #[error("reserved bits set")]
    ReservedBits,
    /// An opcode RFC 6455 reserves (3-7, 11-15).
    #[error("reserved opcode {0:#x}")]
    ReservedOpcode(u8),
    /// A control frame (close, ping, pong) without FIN.
    #[error("fragmented control frame")]
    FragmentedControl,
    /// A control frame with a payload over 125 bytes.
    #[error("control frame payload over 125 bytes")]
    ControlTooLong,
    /// A continuation frame with no fragmented message started.
    #[error("continuation frame without a message to continue")]
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is unfinished.
    #[error("new data frame inside a fragmented message")]
    ExpectedContinuation,
    /// A 64-bit payload length with its most significant bit set.
    #[error("payload length has its top bit set")]
    LengthOverflow,
    /// A close frame whose payload is one byte long.
    #[error("close frame payload of one byte")]
    ClosePayloadTooShort,
    /// A close frame with a code that may not be sent on the wire.
    #[error("invalid close code {0}")]
    InvalidCloseCode(u16),
}

/// Why an opening handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// Server: the request head is not valid HTTP/1.x.
    #[error("malformed HTTP request")]
    MalformedRequest,
    /// Server: the method is not `GET`.
    #[error("method is not GET")]
    NotGet,
    /// Server: an upgrade request that is not HTTP/1.1.
    #[error("upgrade request is not HTTP/1.1")]
    NotHttp11,
    /// Server: no `Upgrade: websocket` header (a plain HTTP request).
    #[error("not a websocket upgrade request")]
    NotUpgrade,
    /// Server: `Connection` does not contain `Upgrade`.
    #[error("Connection header lacks Upgrade")]
    MissingConnectionUpgrade,
    /// Server: no `Sec-WebSocket-Key`, or not 16 bytes in base64.
    #[error("missing or malformed Sec-WebSocket-Key")]
    BadKey,
    /// Server: no `Sec-WebSocket-Version` header.
    #[error("missing Sec-WebSocket-Version")]
    MissingVersion,
    /// Server: a `Sec-WebSocket-Version` other than 13 (answered 426).
    #[error("unsupported Sec-WebSocket-Version")]
    UnsupportedVersion,
    /// Server: the `Origin` is not one of the allowed origins (403).
    #[error("origin not allowed")]
    ForbiddenOrigin,
    /// Either side: the head is larger than `max_head_size`, or has too
    /// many header lines (431 on the server).
    #[error("handshake head too large")]
    HeadTooLarge,
    /// Client: the response head is not valid HTTP/1.x.
    #[error("malformed HTTP response")]
    MalformedResponse,
    /// Client: the server answered with this status instead of 101.
    #[error("server answered status {0} instead of 101")]
    UnexpectedStatus(u16),
    /// Client: the `101` lacks `Upgrade: websocket` or
    /// `Connection: Upgrade`.
    #[error("101 response lacks Upgrade/Connection headers")]
    MissingUpgrade,
    /// Client: `Sec-WebSocket-Accept` missing or not derived from our key.
    #[error("Sec-WebSocket-Accept missing or wrong")]
    AcceptMismatch,
    /// Client: the server chose a subprotocol we did not offer.
    #[error("server chose a subprotocol that was not offered")]
    UnexpectedProtocol,
    /// Client: the server enabled an extension we did not offer.
    #[error("server enabled an extension that was not offered")]
    UnexpectedExtension,
}

impl HandshakeError {
    /// The HTTP status a server answers this error with (`None` for the
    /// client-side errors).
    pub fn http_status(&self) -> Option<u16> {
        use HandshakeError::*;
        match self {
            MalformedRequest
            | NotGet
            | NotHttp11
            | NotUpgrade
            | MissingConnectionUpgrade
            | BadKey
            | MissingVersion => Some(400),
            UnsupportedVersion => Some(426),
            ForbiddenOrigin => Some(403),
            HeadTooLarge => Some(431),
            MalformedResponse | UnexpectedStatus(_) | MissingUpgrade | AcceptMismatch
            | UnexpectedProtocol | UnexpectedExtension => None,
        }
    }
}
