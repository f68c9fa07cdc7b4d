//! [`Message`]: what a WebSocket connection receives and sends.

use std::fmt;

use bytes::Bytes;

use super::{CloseCode, Handshake};

/// One WebSocket message, inbound (`on_message`) and outbound (`send`).
///
/// Workerman's `binaryType` becomes the message kind: a [`Text`] message
/// travels in a text frame (UTF-8 checked on the way in), a [`Binary`] one
/// in a binary frame. `send` takes anything that converts:
///
/// ```
/// use workerman_protocols::websocket::Message;
///
/// assert_eq!(Message::from("hi"), Message::Text("hi".into()));
/// assert_eq!(Message::from(vec![1u8, 2]), Message::Binary(vec![1u8, 2].into()));
/// ```
///
/// By default `on_message` receives only `Text` and `Binary`: pings are
/// answered, pongs consumed and the close handshake done by the codec.
/// With [`control_messages`](super::WebSocketConfig::control_messages)
/// the handler sees `Ping`, `Pong` and `Close` too (after the codec has
/// answered them); with
/// [`handshake_messages`](super::WebSocketConfig::handshake_messages) a
/// server handler first receives the upgrade request as `Handshake`.
///
/// [`Text`]: Message::Text
/// [`Binary`]: Message::Binary
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A text message (UTF-8).
    Text(String),
    /// A binary message.
    Binary(Bytes),
    /// A ping. Sending one asks the peer for a pong with the same payload
    /// (at most 125 bytes); a received one was already answered.
    Ping(Bytes),
    /// A pong. Sending one unsolicited is a one-way heartbeat (at most 125
    /// bytes).
    Pong(Bytes),
    /// A close frame, with a status code and reason or none. Sending one
    /// starts the close handshake: `conn.close(Some(Message::close(..)))`.
    /// A received one was already answered with the same code.
    Close(Option<CloseFrame>),
    /// Server only, inbound only: the upgrade request, for the handler to
    /// accept, reject or answer (Workerman's `onWebSocketConnect`). See
    /// [`Handshake`]. Sending it back answers it at once.
    Handshake(Handshake),
}

impl Message {
    /// A close message with `code` and `reason` (cut to 123 bytes, the
    /// room a close frame has, at a character boundary).
    ///
    /// ```
    /// use workerman_protocols::websocket::{CloseCode, Message};
    ///
    /// let bye = Message::close(CloseCode::Away, "server restarting");
    /// let custom = Message::close(CloseCode::from(4000), "kicked");
    /// # let _ = (bye, custom);
    /// ```
    pub fn close(code: impl Into<CloseCode>, reason: impl Into<String>) -> Message {
        Message::Close(Some(CloseFrame::new(code, reason)))
    }

    /// The text of a `Text` message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The payload bytes of a `Text`, `Binary`, `Ping` or `Pong` message.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Message::Text(t) => Some(t.as_bytes()),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => Some(b),
            _ => None,
        }
    }

    /// Whether this is a `Text` or `Binary` message.
    pub fn is_data(&self) -> bool {
        matches!(self, Message::Text(_) | Message::Binary(_))
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.to_owned())
    }
}

impl From<&String> for Message {
    fn from(s: &String) -> Self {
        Message::Text(s.clone())
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s)
    }
}

impl From<Vec<u8>> for Message {
    fn from(v: Vec<u8>) -> Self {
        Message::Binary(Bytes::from(v))
    }
}

impl From<&[u8]> for Message {
    fn from(v: &[u8]) -> Self {
        Message::Binary(Bytes::copy_from_slice(v))
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

impl From<CloseFrame> for Message {
    fn from(f: CloseFrame) -> Self {
        Message::Close(Some(f))
    }
}

/// The status code and reason of a close frame (RFC 6455 5.5.1, 7.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code: [`CloseCode::Normal`] (1000), [`CloseCode::Away`]
    /// (1001), ... or an application code (`CloseCode::from(4000)`).
    pub code: CloseCode,
    /// Why, for humans; at most 123 bytes of UTF-8 on the wire.
    pub reason: String,
}

/// Room for a reason in a close frame: 125 bytes less the code.
const MAX_REASON: usize = 123;

impl CloseFrame {
    /// A close frame with `code` and `reason`, the reason cut to 123 bytes
    /// at a character boundary.
    pub fn new(code: impl Into<CloseCode>, reason: impl Into<String>) -> CloseFrame {
        let mut reason = reason.into();
        if reason.len() > MAX_REASON {
            let mut end = MAX_REASON;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        CloseFrame {
            code: code.into(),
            reason,
        }
    }
}

impl fmt::Display for CloseFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.reason)
    }
}
