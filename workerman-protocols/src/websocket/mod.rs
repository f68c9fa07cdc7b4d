//! The WebSocket protocol (RFC 6455, version 13): `websocket://` servers
//! ([`WebSocket`]) and `ws://` clients ([`WsClient`]).
//!
//! Both exchange [`Message`]s: `Text` (UTF-8 checked) and `Binary`, plus
//! `Ping`, `Pong` and `Close` to send (and to receive, when asked for).
//! The codecs are sans-IO: they turn bytes into messages and back, and
//! collect the bytes they answer with by themselves (the handshake, pongs,
//! close replies) for the framework's `Protocol::poll_output`.
//!
//! # Server
//!
//! ```text
//! client                                   server (WebSocketCodec)
//!   GET /chat HTTP/1.1, Upgrade, Key  --->  checked; 400/403/426/431 + close if bad
//!                                      <---  101 Switching Protocols, then any
//!                                            messages sent before it
//!   masked frames                     --->  Text / Binary to on_message
//!   ping                              --->  pong, automatically
//!   close 1000                        --->  close 1000 echoed, connection closed
//! ```
//!
//! * The upgrade request must be `GET`, HTTP/1.1, with `Upgrade:
//!   websocket`, `Connection: Upgrade`, a 16-byte `Sec-WebSocket-Key` and
//!   `Sec-WebSocket-Version: 13`; anything else gets `400 Bad Request`
//!   (`426 Upgrade Required` for another version) and the connection
//!   closes. A head over [`max_head_size`](WebSocketConfig::max_head_size)
//!   (16 KiB) gets `431`; an origin not allowed gets `403`; a head still
//!   incomplete after [`handshake_timeout`](WebSocketConfig::handshake_timeout)
//!   (10 s) gets `408`.
//! * Bad frames close the connection with a close frame naming why:
//!   1002 (protocol error) for an unmasked client frame, reserved bits or
//!   opcodes, a fragmented or over-125-byte control frame, a continuation
//!   out of place, a bad close code; 1007 for text (or a close reason)
//!   that is not UTF-8; 1009 for a message larger than the connection's
//!   `max_package_size` (all fragments together, checked from the frame
//!   header before the payload is buffered).
//! * Fragmented messages are reassembled; control frames may come between
//!   fragments. With permessage-deflate, compressed messages are inflated
//!   (bad data: 1007; inflating past the limit: 1009). A peer's close frame is answered with the same code and
//!   ends the connection.
//! * `conn.close(None)` sends a close frame 1000 and closes;
//!   `conn.close(Some(Message::close(code, reason)))` sends that close
//!   frame instead. A stopping worker sends 1001 (going away) to every
//!   open connection.
//!
//! # Handshake hook, origins, subprotocols
//!
//! A server picks its settings by type: `WebSocket<MySettings>` where
//! `MySettings` implements [`Settings`]. With
//! [`handshake_messages`](WebSocketConfig::handshake_messages) on, the
//! handler first receives [`Message::Handshake`]: the request's path,
//! query, headers and cookies, to accept, reject with a status, answer
//! with a page, or choose a subprotocol (Workerman's
//! `onWebSocketConnect`). [`allowed_origins`](WebSocketConfig::allowed_origins)
//! and [`protocols`](WebSocketConfig::protocols) work without it.
//!
//! ```
//! use workerman_protocols::websocket::{Settings, WebSocket};
//! use workerman_protocols::websocket::WebSocketConfig;
//!
//! struct Chat;
//!
//! impl Settings for Chat {
//!     fn config() -> WebSocketConfig {
//!         WebSocketConfig::default()
//!             .handshake_messages(true)
//!             .allowed_origins(["https://chat.example.com"])
//!     }
//! }
//!
//! // In the service: `type Protocol = WebSocket<Chat>;`
//! type ChatProtocol = WebSocket<Chat>;
//! # let _ = std::marker::PhantomData::<ChatProtocol>;
//! ```
//!
//! # Where we differ from Workerman
//!
//! * `close` sends a close frame (1000, or the `Message::Close` given;
//!   1001 when the worker stops); Workerman's only closes TCP. A peer's
//!   close code is echoed (Workerman answers 1000).
//! * Text is checked for UTF-8 (1007), the message kind is reported, the
//!   version, `Upgrade` and `Connection` headers are checked, the head is
//!   limited to 16 KiB and the handshake to 10 s.
//! * The client draws a random key for every frame's mask (Workerman uses
//!   zeros) and checks the `101` status.
//! * permessage-deflate (RFC 7692) is negotiated when
//!   [`deflate`](WebSocketConfig::deflate) is on (off by default):
//!   Workerman inflates only if the application negotiated it by hand, and
//!   never compresses.
//! * A ping interval is the application's timer, not a codec setting.
//!
//! # wss
//!
//! TLS is the transport's business, not the protocol's: a `websocket://`
//! worker with `.transport(Transport::Tls(..))` serves `wss://`, and an
//! `AsyncTcpConnection` to `ws://host:port/` with `.tls(..)` is a `wss://`
//! client (Workerman's `transport = 'ssl'`).

mod client;
mod close;
mod config;
mod deflate;
mod error;
mod frame;
mod handshake;
mod mask;
mod message;
mod request;
mod server;
mod session;

use std::fmt;
use std::marker::PhantomData;

pub use client::{WsClient, WsClientBuilder, WsClientCodec};
pub use config::WebSocketConfig;
pub use error::{HandshakeError, ProtocolError, WebSocketError};
pub use handshake::Handshake;
pub use message::{CloseFrame, Message};
pub use request::Request;
pub use server::WebSocketCodec;
/// Close status codes (RFC 6455 7.4), from tungstenite.
pub use tungstenite::protocol::frame::coding::CloseCode;

use crate::Protocol;

/// The settings of a [`WebSocket`] server, chosen by type so that each
/// worker's protocol carries its own: `WebSocket<MySettings>`.
/// [`config`](Settings::config) is called once per connection; keep it
/// cheap.
pub trait Settings: Send + Sync + 'static {
    /// The settings for a new connection.
    fn config() -> WebSocketConfig;
}

/// The default [`Settings`]: [`WebSocketConfig::default`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultSettings;

impl Settings for DefaultSettings {
    fn config() -> WebSocketConfig {
        WebSocketConfig::default()
    }
}

/// The `websocket://` protocol: a WebSocket server (Workerman's
/// `websocket://`). See the [module docs](self) for the behaviour, and
/// [`Settings`] for settings.
///
/// # Examples
///
/// ```
/// use workerman_protocols::websocket::{Message, WebSocket};
/// use workerman_protocols::Protocol;
///
/// assert_eq!(<WebSocket>::SCHEME, "websocket");
/// // With `type Protocol = WebSocket;` a Service's on_message gets Messages:
/// fn reply(msg: Message) -> Option<Message> {
///     match msg {
///         Message::Text(t) => Some(Message::from(format!("you said {t}"))),
///         Message::Binary(b) => Some(Message::Binary(b)),
///         _ => None,
///     }
/// }
/// assert_eq!(reply("hi".into()), Some(Message::from("you said hi")));
/// ```
pub struct WebSocket<S = DefaultSettings>(PhantomData<fn() -> S>);

impl<S> fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebSocket")
    }
}

impl<S> Clone for WebSocket<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for WebSocket<S> {}

impl<S> Default for WebSocket<S> {
    fn default() -> Self {
        WebSocket(PhantomData)
    }
}

impl<S: Settings> Protocol for WebSocket<S> {
    const SCHEME: &'static str = "websocket";
    type Inbound = Message;
    type Outbound = Message;
    type Error = WebSocketError;
    type Codec = WebSocketCodec;

    fn codec(max_package_size: usize) -> WebSocketCodec {
        WebSocketCodec::with_config(max_package_size, S::config())
    }

    crate::conversation_hooks!();
}
