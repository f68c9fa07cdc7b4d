//! [`WebSocketConfig`]: the settings of a WebSocket codec, with safe
//! defaults.

use std::time::Duration;

/// Settings of a WebSocket codec, server or client.
///
/// A server gets its settings from the [`Settings`](super::Settings) type
/// named in its protocol (`WebSocket<MySettings>`); a client from
/// [`WsClientBuilder::config`](super::WsClientBuilder::config). The largest
/// message is the connection's `max_package_size` (10 MiB by default).
///
/// Defaults (may change in a minor version only with a note):
///
/// | setting | default |
/// |---|---|
/// | [`handshake_messages`](WebSocketConfig::handshake_messages) | off |
/// | [`control_messages`](WebSocketConfig::control_messages) | off |
/// | [`allowed_origins`](WebSocketConfig::allowed_origins) | any origin |
/// | [`protocols`](WebSocketConfig::protocols) | none |
/// | [`max_head_size`](WebSocketConfig::max_head_size) | 16 KiB |
/// | [`max_pending_size`](WebSocketConfig::max_pending_size) | 1 MiB |
/// | [`handshake_timeout`](WebSocketConfig::handshake_timeout) | 10 s |
/// | [`idle_timeout`](WebSocketConfig::idle_timeout) | none |
/// | [`deflate`](WebSocketConfig::deflate) | off |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use workerman_protocols::websocket::WebSocketConfig;
///
/// let config = WebSocketConfig::default()
///     .allowed_origins(["https://example.com"])
///     .protocols(["chat.v2", "chat.v1"])
///     .idle_timeout(Some(Duration::from_secs(120)));
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebSocketConfig {
    pub(crate) handshake_messages: bool,
    pub(crate) control_messages: bool,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) protocols: Vec<String>,
    pub(crate) max_head_size: usize,
    pub(crate) max_pending_size: usize,
    pub(crate) handshake_timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) deflate: bool,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        WebSocketConfig {
            handshake_messages: false,
            control_messages: false,
            allowed_origins: Vec::new(),
            protocols: Vec::new(),
            max_head_size: 16 * 1024,
            max_pending_size: 1024 * 1024,
            handshake_timeout: Some(Duration::from_secs(10)),
            idle_timeout: None,
            deflate: false,
        }
    }
}

impl WebSocketConfig {
    /// Server: deliver the upgrade request to `on_message` as
    /// [`Message::Handshake`](super::Message::Handshake) before any other
    /// message, so the handler can read its path, query, headers and
    /// cookies and accept, reject or answer it (Workerman's
    /// `onWebSocketConnect`). Plain HTTP `GET`s (no `Upgrade` header)
    /// reach the handler too, which may answer them with a page
    /// ([`Handshake::respond`](super::Handshake::respond)); unanswered they
    /// get 400. Default off: every valid upgrade is accepted at once.
    #[must_use]
    pub fn handshake_messages(mut self, on: bool) -> Self {
        self.handshake_messages = on;
        self
    }

    /// Deliver `Ping`, `Pong` and `Close` messages to `on_message` as well
    /// (Workerman's `onWebSocketPing`/`Pong`/`Close`). The codec still
    /// answers pings and close frames itself. Default off.
    #[must_use]
    pub fn control_messages(mut self, on: bool) -> Self {
        self.control_messages = on;
        self
    }

    /// Server: the `Origin` values allowed to connect, compared without
    /// regard to ASCII case (`https://example.com`, scheme and host and
    /// port as the browser sends them). A request from another origin gets
    /// 403. Requests without `Origin` (non-browser clients, which can send
    /// any header anyway) are allowed. Empty (the default): any origin.
    #[must_use]
    pub fn allowed_origins<I, T>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.allowed_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Subprotocols (`Sec-WebSocket-Protocol`). Server: the ones it speaks,
    /// in order of preference; the first one the client also offers is
    /// chosen (a handshake handler may choose another). Client: the ones
    /// offered. Default none.
    #[must_use]
    pub fn protocols<I, T>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// The largest handshake head (request or response line and headers)
    /// in bytes; a larger one is refused (431 on the server). Default
    /// 16 KiB, at most 100 header lines.
    #[must_use]
    pub fn max_head_size(mut self, bytes: usize) -> Self {
        self.max_head_size = bytes;
        self
    }

    /// How many bytes of messages sent before the handshake completes are
    /// held for it (they are written right after it); a send past this is
    /// refused with [`WebSocketError::PendingTooLarge`](super::WebSocketError).
    /// Default 1 MiB (Workerman's send buffer size).
    #[must_use]
    pub fn max_pending_size(mut self, bytes: usize) -> Self {
        self.max_pending_size = bytes;
        self
    }

    /// How long the whole opening handshake may take from the connection's
    /// start (server: until the request head is in, answered 408 after;
    /// client: until the `101` is in). `None`: no limit. Default 10 s: a
    /// peer that never finishes its head must not hold a connection.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Closes an open connection that received nothing for this long, with
    /// a close frame 1001 (going away): dead-peer detection. Pair it with
    /// pings from the other side, or from a timer on this side. Default
    /// `None`: wait forever (Workerman has no protocol-level timeout).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Compress messages with permessage-deflate (RFC 7692). Server: accept
    /// the first offer from the client whose parameters it can honour
    /// (windows of 9 to 15 bits, with or without context takeover); client:
    /// offer it. Then every text and binary message is compressed (control
    /// frames never are), and compressed messages from the peer are
    /// inflated, their inflated size held to the message limit (1009) and
    /// bad data answered with 1007. Compression uses zlib's fastest level
    /// (1): per message, CPU matters more than the last few percent of
    /// size. Default off: compression costs CPU per
    /// message, and each connection's zlib state (about 300 KiB with the
    /// default 15-bit window, made at its first compressed message) stays
    /// for the connection's life.
    #[must_use]
    pub fn deflate(mut self, on: bool) -> Self {
        self.deflate = on;
        self
    }
}
