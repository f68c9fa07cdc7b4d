//! Protocol codecs for workerman-rs.
//!
//! A protocol says where one message ends in a byte stream and what its
//! bytes mean. Here each one is a [`Protocol`]: a URL scheme plus a
//! [`tokio_util::codec`] Decoder/Encoder pair with typed messages and a
//! package size limit. The codecs are pure: they work on byte buffers alone
//! and know nothing of sockets or processes, so they are tested and
//! benchmarked without any I/O.
//!
//! | scheme     | type     | package                                   | message     |
//! |------------|----------|-------------------------------------------|-------------|
//! | `text://`  | [`Text`] | a line ended by `\n`                      | [`Payload`] |
//! | `frame://` | [`Frame`]| 4-byte BE total length (header counted) + body | [`Payload`] |
//! | `tcp://`, `unix://` | [`Tcp`] | whatever one read returned       | [`Payload`] |
//! | `websocket://` | [`websocket::WebSocket`] | one WebSocket message (RFC 6455) | [`websocket::Message`] |
//! | `ws://` (client) | [`websocket::WsClient`] | one WebSocket message         | [`websocket::Message`] |
//! | `http://` | [`http::Http`] | one HTTP/1.1 request (head + body)        | [`http::Request`] |
//!
//! A user-defined protocol implements [`Protocol`] the same way and is used
//! exactly like these (see the trait docs for a JSON-lines example).
//!
//! # Example
//!
//! ```
//! use bytes::BytesMut;
//! use tokio_util::codec::Decoder;
//! use workerman_protocols::{Protocol, Text};
//!
//! let mut codec = Text::codec(1024);
//! let mut buf = BytesMut::from("one\ntwo\n");
//! assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "one");
//! assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "two");
//! ```
//!
//! # Layout
//!
//! * `protocol`: the [`Protocol`] trait and [`DEFAULT_MAX_PACKAGE_SIZE`].
//! * `payload`: [`Payload`], the bytes of one package.
//! * `text`, `frame`, `tcp`: the built-in codecs ([`Text`], [`Frame`], [`Tcp`]).
//! * [`websocket`]: the WebSocket server and client.
//! * [`http`]: the HTTP/1.1 server protocol (requests, responses, streams).
#![doc(test(attr(deny(warnings))))]

mod payload;
mod protocol;

mod frame;
pub mod http;
mod tcp;
mod text;
pub mod websocket;

// One path per public type: the simple protocols and the protocol trait
// here at the root, everything HTTP under `http`, everything WebSocket
// under `websocket`.
pub use frame::{Frame, FrameCodec, FrameCodecError, FRAME_HEADER_LEN};
pub use payload::Payload;
pub use protocol::{
    ClientTarget, Conversation, Inbound, Outbound, Protocol, DEFAULT_MAX_PACKAGE_SIZE,
};

/// For [`conversation_hooks!`]'s expansion; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use bytes::{Bytes, BytesMut};
}
pub use tcp::{Tcp, TcpCodec};
pub use text::{Text, TextCodec, TextCodecError};
