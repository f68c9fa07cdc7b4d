//! The [`Protocol`] trait: what a URL scheme means on the wire.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use tokio_util::codec::{Decoder, Encoder};

/// Workerman's `TcpConnection::$defaultMaxPackageSize`: 10 MiB (10 485 760 bytes).
///
/// Every built-in protocol uses it unless the worker sets another limit with
/// `max_package_size`. It may change in a later minor version only together
/// with Workerman's own default.
pub const DEFAULT_MAX_PACKAGE_SIZE: usize = 10 * 1024 * 1024;

/// A wire protocol: a URL scheme plus a [`tokio_util::codec`] Decoder/Encoder
/// pair with typed inbound and outbound messages and a package size limit.
///
/// The type implementing `Protocol` is usually a unit marker (such as
/// [`Text`](crate::Text)); the codec that does the work is
/// [`Protocol::Codec`], created once per connection by [`Protocol::codec`].
/// Nothing about the built-in protocols is special: a user type implementing
/// this trait is used exactly like them, by naming its scheme in the worker
/// address (`"myproto://127.0.0.1:9000"`).
///
/// # The codec contract
///
/// * `decode` returns `Ok(None)` when more bytes are needed, never an error.
/// * An error from `decode` means the peer broke the protocol: the framework
///   reports it to `on_error` and closes that connection (data already queued
///   for sending is still flushed). The error should say what was wrong.
/// * The codec must bound what it buffers by the `max_package_size` it was
///   created with: a peer must not be able to grow a buffer without limit.
/// * `encode` appends the wire form of one outbound message to the buffer.
///
/// # Examples
///
/// A JSON-lines protocol (one JSON document per line):
///
/// ```
/// use bytes::{BufMut, BytesMut};
/// use tokio_util::codec::{Decoder, Encoder};
/// use workerman_protocols::{Protocol, TextCodec, TextCodecError};
///
/// struct JsonLines;
///
/// struct JsonLinesCodec(TextCodec);
///
/// #[derive(Debug, thiserror::Error)]
/// enum JsonLinesError {
///     #[error(transparent)]
///     Text(#[from] TextCodecError),
///     #[error("line is not UTF-8")]
///     NotUtf8,
///     #[error(transparent)]
///     Io(#[from] std::io::Error),
/// }
///
/// impl Decoder for JsonLinesCodec {
///     type Item = String;
///     type Error = JsonLinesError;
///     fn decode(&mut self, src: &mut BytesMut) -> Result<Option<String>, JsonLinesError> {
///         match self.0.decode(src)? {
///             None => Ok(None),
///             Some(line) => line.into_string().map(Some).map_err(|_| JsonLinesError::NotUtf8),
///         }
///     }
/// }
///
/// impl Encoder<String> for JsonLinesCodec {
///     type Error = JsonLinesError;
///     fn encode(&mut self, item: String, dst: &mut BytesMut) -> Result<(), JsonLinesError> {
///         dst.put_slice(item.as_bytes());
///         dst.put_u8(b'\n');
///         Ok(())
///     }
/// }
///
/// impl Protocol for JsonLines {
///     const SCHEME: &'static str = "jsonl";
///     type Inbound = String;
///     type Outbound = String;
///     type Error = JsonLinesError;
///     type Codec = JsonLinesCodec;
///     fn codec(max_package_size: usize) -> JsonLinesCodec {
///         JsonLinesCodec(TextCodec::new(max_package_size))
///     }
/// }
///
/// // The framework picks the protocol by its scheme and makes one codec per
/// // connection, exactly as for the built-in ones:
/// assert_eq!(JsonLines::SCHEME, "jsonl");
/// let mut codec = JsonLines::codec(1024);
/// let mut buf = BytesMut::from("{\"id\":1}\n{\"id\"");
/// assert_eq!(codec.decode(&mut buf).unwrap().as_deref(), Some("{\"id\":1}"));
/// assert_eq!(codec.decode(&mut buf).unwrap(), None); // waits for the LF
/// let mut out = BytesMut::new();
/// codec.encode(String::from("{}"), &mut out).unwrap();
/// assert_eq!(&out[..], b"{}\n");
/// ```
pub trait Protocol: Send + Sync + 'static {
    /// The URL scheme that selects this protocol in a worker address, in
    /// lower case and without `://` (`"text"` for `text://127.0.0.1:5678`).
    const SCHEME: &'static str;

    /// The value handed to `on_message` for each decoded package.
    type Inbound: Send + 'static;

    /// The value `Connection::send` takes and the encoder turns into bytes.
    type Outbound: Send + 'static;

    /// Why decoding or encoding failed. `From<io::Error>` is required by the
    /// [`Decoder`] contract.
    type Error: StdError + From<io::Error> + Send + Sync + 'static;

    /// The codec, one instance per connection.
    type Codec: Decoder<Item = Self::Inbound, Error = Self::Error>
        + Encoder<Self::Outbound, Error = Self::Error>
        + Send
        + 'static;

    /// Creates the codec for one connection. `max_package_size` is the
    /// largest package (in bytes, as the protocol counts them) the codec may
    /// accept or buffer; a larger one is a decode error.
    fn codec(max_package_size: usize) -> Self::Codec;

    /// Creates the codec for an outgoing connection to `target` (the URL
    /// given to `AsyncTcpConnection`): a client handshake needs the host and
    /// path. Defaults to [`codec`](Protocol::codec).
    fn client_codec(target: &ClientTarget, max_package_size: usize) -> Self::Codec {
        let _ = target;
        Self::codec(max_package_size)
    }

    // The hooks below let a protocol that has a conversation of its own
    // (a handshake, control frames, its own close, request deadlines) drive
    // the connection. Their defaults do nothing: a plain framing protocol
    // ignores them.

    /// Bytes the codec wants written by itself, not in answer to a `send`:
    /// a handshake answer, a pong, a close frame, messages held back until a
    /// handshake completed. The framework calls it once when the connection
    /// opens (a client handshake goes out there) and after every `decode`
    /// call, and writes what was appended to `dst` ahead of anything sent
    /// later, regardless of the send buffer limit.
    fn poll_output(codec: &mut Self::Codec, dst: &mut BytesMut) {
        let _ = (codec, dst);
    }

    /// Whether the protocol has finished with the connection (a close
    /// handshake done, an HTTP response with `Connection: close` encoded):
    /// checked after every `decode` and `encode`; when true the connection
    /// closes once everything queued is written.
    fn should_close(codec: &Self::Codec) -> bool {
        let _ = codec;
        false
    }

    /// What to tell the peer before closing when `decode` failed with `err`
    /// (an HTTP 400/413/431 response, a WebSocket close frame with 1002,
    /// 1007 or 1009). Written raw, then the connection closes.
    fn error_response(codec: &mut Self::Codec, err: &Self::Error) -> Option<Bytes> {
        let _ = (codec, err);
        None
    }

    /// How long the connection may stay without receiving a byte before
    /// the protocol gives up on it, asked each time the connection starts
    /// waiting for data: for example the time allowed for the rest of an
    /// HTTP request head (slowloris), or a keep-alive idle timeout. `None`
    /// (the default) waits forever.
    fn read_timeout(codec: &Self::Codec) -> Option<Duration> {
        let _ = codec;
        None
    }

    /// What to tell the peer when the read timeout passes (an HTTP 408),
    /// before the connection closes.
    fn timeout_response(codec: &mut Self::Codec) -> Option<Bytes> {
        let _ = codec;
        None
    }

    /// What to tell the peer when this side closes the connection
    /// gracefully (`Connection::close`, or its worker stopping: then
    /// `shutdown` is true), after any last message and before the FIN: a
    /// WebSocket close frame (1000, or 1001 "going away" on shutdown).
    /// Appended to `dst` and written regardless of the send buffer limit.
    /// A protocol that already said goodbye writes nothing. The default
    /// writes nothing.
    fn close_output(codec: &mut Self::Codec, dst: &mut BytesMut, shutdown: bool) {
        let _ = (codec, dst, shutdown);
    }
}

/// Where an outgoing connection goes, from its URL
/// (`ws://example.com:8080/chat?room=1` gives host `example.com`, port
/// 8080, path `/chat?room=1`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientTarget {
    /// The host as written in the URL (a name, an IPv4 address, or an IPv6
    /// address without brackets); empty for a Unix socket.
    pub host: String,
    /// The port, if the URL has one.
    pub port: Option<u16>,
    /// The path and query, `/` when the URL has none.
    pub path: String,
}

impl ClientTarget {
    /// A target from its parts.
    pub fn new(host: impl Into<String>, port: Option<u16>, path: impl Into<String>) -> Self {
        ClientTarget {
            host: host.into(),
            port,
            path: path.into(),
        }
    }
}

/// The inbound message type of protocol `P`.
pub type Inbound<P> = <P as Protocol>::Inbound;

/// The outbound message type of protocol `P`.
pub type Outbound<P> = <P as Protocol>::Outbound;

/// The conversation a codec carries on by itself, beside decoding and
/// encoding: bytes of its own to send (a handshake answer, pongs, `100
/// Continue`), when the connection is done, what to answer to a decode
/// error or a read deadline, and its goodbye.
///
/// These are the [`Protocol`] hooks, on the codec, where the state they
/// need lives. A protocol whose codec implements this trait writes its
/// hooks once with [`conversation_hooks!`](crate::conversation_hooks) in
/// its `impl Protocol`; each method has the no-op default of the hook of
/// the same name, so a codec writes only what differs. (A protocol can
/// also override the hooks on [`Protocol`] directly, which works with any
/// codec.) [`Http`](crate::http::Http),
/// [`WebSocket`](crate::websocket::WebSocket) and
/// [`WsClient`](crate::websocket::WsClient) are built this way.
pub trait Conversation: Decoder {
    /// See [`Protocol::poll_output`].
    fn poll_output(&mut self, dst: &mut BytesMut) {
        let _ = dst;
    }

    /// See [`Protocol::should_close`].
    fn should_close(&self) -> bool {
        false
    }

    /// See [`Protocol::error_response`].
    fn error_response(&mut self, err: &<Self as Decoder>::Error) -> Option<Bytes> {
        let _ = err;
        None
    }

    /// See [`Protocol::read_timeout`].
    fn read_timeout(&self) -> Option<Duration> {
        None
    }

    /// See [`Protocol::timeout_response`].
    fn timeout_response(&mut self) -> Option<Bytes> {
        None
    }

    /// See [`Protocol::close_output`].
    fn close_output(&mut self, dst: &mut BytesMut, shutdown: bool) {
        let _ = (dst, shutdown);
    }
}

/// Writes the [`Protocol`] hooks of a protocol whose codec implements
/// [`Conversation`]: put `conversation_hooks!();` in the `impl Protocol`.
///
/// ```
/// use std::time::Duration;
/// use workerman_protocols::{conversation_hooks, Conversation, Payload, Protocol};
/// use workerman_protocols::{TextCodec, TextCodecError};
/// # use bytes::BytesMut;
/// # use tokio_util::codec::{Decoder, Encoder};
///
/// /// Lines, closed after a minute of silence.
/// struct Quiet;
/// struct QuietCodec(TextCodec);
/// # impl Decoder for QuietCodec {
/// #     type Item = Payload;
/// #     type Error = TextCodecError;
/// #     fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Payload>, TextCodecError> {
/// #         self.0.decode(src)
/// #     }
/// # }
/// # impl Encoder<Payload> for QuietCodec {
/// #     type Error = TextCodecError;
/// #     fn encode(&mut self, item: Payload, dst: &mut BytesMut) -> Result<(), TextCodecError> {
/// #         self.0.encode(item, dst)
/// #     }
/// # }
///
/// impl Conversation for QuietCodec {
///     fn read_timeout(&self) -> Option<Duration> {
///         Some(Duration::from_secs(60))
///     }
/// }
///
/// impl Protocol for Quiet {
///     const SCHEME: &'static str = "quiet";
///     type Inbound = Payload;
///     type Outbound = Payload;
///     type Error = TextCodecError;
///     type Codec = QuietCodec;
///
///     fn codec(max_package_size: usize) -> QuietCodec {
///         QuietCodec(TextCodec::new(max_package_size))
///     }
///
///     conversation_hooks!();
/// }
///
/// assert_eq!(Quiet::read_timeout(&Quiet::codec(1024)), Some(Duration::from_secs(60)));
/// ```
#[macro_export]
macro_rules! conversation_hooks {
    () => {
        fn poll_output(codec: &mut Self::Codec, dst: &mut $crate::__private::BytesMut) {
            $crate::Conversation::poll_output(codec, dst)
        }

        fn should_close(codec: &Self::Codec) -> bool {
            $crate::Conversation::should_close(codec)
        }

        fn error_response(
            codec: &mut Self::Codec,
            err: &Self::Error,
        ) -> ::std::option::Option<$crate::__private::Bytes> {
            $crate::Conversation::error_response(codec, err)
        }

        fn read_timeout(codec: &Self::Codec) -> ::std::option::Option<::std::time::Duration> {
            $crate::Conversation::read_timeout(codec)
        }

        fn timeout_response(
            codec: &mut Self::Codec,
        ) -> ::std::option::Option<$crate::__private::Bytes> {
            $crate::Conversation::timeout_response(codec)
        }

        fn close_output(
            codec: &mut Self::Codec,
            dst: &mut $crate::__private::BytesMut,
            shutdown: bool,
        ) {
            $crate::Conversation::close_output(codec, dst, shutdown)
        }
    };
}
