//! The client side: [`WsClient`] (`ws://`) and [`WsClientCodec`], with a
//! builder for headers and subprotocols.

use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};
use tungstenite::handshake::client::generate_key;
use tungstenite::handshake::derive_accept_key;

use super::deflate;
use super::frame::Role;
use super::request::MAX_HEADERS;
use super::session::Session;
use super::{CloseCode, HandshakeError, Message, WebSocketConfig, WebSocketError};
use crate::{ClientTarget, Conversation, Protocol, DEFAULT_MAX_PACKAGE_SIZE};

/// The `ws://` protocol: a WebSocket client for
/// `AsyncTcpConnection` (Workerman's `ws://` client).
///
/// The connection sends the upgrade request as soon as it is established
/// (with a random `Sec-WebSocket-Key`), checks the `101` answer (status and
/// `Sec-WebSocket-Accept`, which Workerman does not), then exchanges
/// messages like the server, masking every frame with a fresh random key.
/// Messages sent before the `101` arrives are held and written right after
/// it. Pings are answered automatically.
///
/// For custom headers, an `Origin` or subprotocols, give the connection a
/// codec from [`WsClientCodec::builder`]. For `wss://`, give the connection
/// a TLS config (`AsyncTcpConnection::tls`) and keep the `ws://` URL. For a periodic ping, send
/// [`Message::Ping`] from a timer (see the `ws_client` example): the codec
/// cannot run timers, and a timer shows in the handler what the
/// connection does.
#[derive(Debug, Clone, Copy, Default)]
pub struct WsClient;

impl Protocol for WsClient {
    const SCHEME: &'static str = "ws";
    type Inbound = Message;
    type Outbound = Message;
    type Error = WebSocketError;
    type Codec = WsClientCodec;

    /// A client codec for `ws://localhost/` (outgoing connections use
    /// [`client_codec`](Protocol::client_codec) with their URL).
    fn codec(max_package_size: usize) -> WsClientCodec {
        WsClientCodec::builder()
            .max_message_size(max_package_size)
            .build(&ClientTarget::new("localhost", None, "/"))
    }

    fn client_codec(target: &ClientTarget, max_package_size: usize) -> WsClientCodec {
        WsClientCodec::builder()
            .max_message_size(max_package_size)
            .build(target)
    }

    crate::conversation_hooks!();
}

/// Builds a [`WsClientCodec`] with custom headers, an `Origin`,
/// subprotocols and limits.
///
/// # Examples
///
/// ```
/// use workerman_protocols::websocket::WsClientCodec;
/// use workerman_protocols::ClientTarget;
///
/// let codec = WsClientCodec::builder()
///     .header("Authorization", "Bearer 42")
///     .origin("https://example.com")
///     .protocol("chat.v2")
///     .build(&ClientTarget::new("example.com", Some(8080), "/chat?room=1"));
/// # let _ = codec;
/// // or, from the URL: .build_url("ws://example.com:8080/chat?room=1")
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct WsClientBuilder {
    config: WebSocketConfig,
    headers: Vec<(String, String)>,
    origin: Option<String>,
    max_message_size: usize,
}

impl WsClientBuilder {
    /// Adds a request header (sent after the standard ones; a `Host` here
    /// replaces the automatic one). A name that is not an HTTP token, or a
    /// value with CR or LF, makes `build` fail.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sends `Origin: <origin>` (Workerman's `websocketOrigin`).
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Offers a subprotocol (`Sec-WebSocket-Protocol`); call once per
    /// protocol, in order of preference (Workerman's
    /// `websocketClientProtocol`).
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.config.protocols.push(protocol.into());
        self
    }

    /// The shared WebSocket settings (timeouts, control messages, limits);
    /// its `protocols` are the ones offered.
    pub fn config(mut self, config: WebSocketConfig) -> Self {
        self.config = config;
        self
    }

    /// The largest message accepted from the server, in payload bytes
    /// (default 10 MiB). `AsyncTcpConnection` uses its `max_package_size`
    /// for the codecs it makes itself.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// The codec for a connection to `target` (host, port, path and query
    /// of the URL).
    ///
    /// # Panics
    ///
    /// When a header added with [`header`](WsClientBuilder::header) is
    /// invalid (a name that is not an HTTP token, a value with CR or LF):
    /// use [`try_build`](WsClientBuilder::try_build) for headers that come
    /// from input.
    pub fn build(self, target: &ClientTarget) -> WsClientCodec {
        match self.try_build(target) {
            Ok(codec) => codec,
            Err(e) => panic!("WsClientBuilder::build: {e}"),
        }
    }

    /// The codec for a connection to `target`.
    ///
    /// # Errors
    ///
    /// [`WebSocketError::InvalidHeader`] for a header name that is not an
    /// HTTP token or a value (or origin, subprotocol, path) with CR or LF.
    pub fn try_build(self, target: &ClientTarget) -> Result<WsClientCodec, WebSocketError> {
        let key = generate_key();
        let request = self.request(target, &key)?;
        Ok(WsClientCodec {
            deadline: self.config.handshake_timeout.map(|t| Instant::now() + t),
            session: Session::new(
                Role::Client,
                self.max_message_size,
                self.config.control_messages,
            ),
            accept: derive_accept_key(key.as_bytes()),
            request: Some(request),
            config: self.config,
            phase: Phase::Handshake,
            protocol: None,
            out: BytesMut::new(),
            held: BytesMut::new(),
        })
    }

    /// The codec for a connection to `url` (`ws://host:port/path?query`).
    ///
    /// # Errors
    ///
    /// [`WebSocketError::InvalidUrl`] when `url` is not a `ws://` URL with
    /// a host; [`WebSocketError::InvalidHeader`] as for
    /// [`try_build`](WsClientBuilder::try_build).
    pub fn build_url(self, url: &str) -> Result<WsClientCodec, WebSocketError> {
        let target = parse_url(url).ok_or(WebSocketError::InvalidUrl)?;
        self.try_build(&target)
    }

    fn request(&self, target: &ClientTarget, key: &str) -> Result<BytesMut, WebSocketError> {
        let bad = |s: &str| s.contains(['\r', '\n']);
        let custom_host = self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("host"));
        let mut r = BytesMut::with_capacity(256);
        let path = if target.path.is_empty() {
            "/"
        } else {
            &target.path
        };
        if bad(path) || path.contains(' ') {
            return Err(WebSocketError::InvalidUrl);
        }
        r.put_slice(b"GET ");
        r.put_slice(path.as_bytes());
        r.put_slice(b" HTTP/1.1\r\n");
        if !custom_host {
            put(&mut r, "Host", &host_header(target));
        }
        r.put_slice(b"Upgrade: websocket\r\nConnection: Upgrade\r\n");
        put(&mut r, "Sec-WebSocket-Key", key);
        r.put_slice(b"Sec-WebSocket-Version: 13\r\n");
        if let Some(o) = &self.origin {
            if bad(o) {
                return Err(WebSocketError::InvalidHeader);
            }
            put(&mut r, "Origin", o);
        }
        if self.config.deflate {
            put(&mut r, "Sec-WebSocket-Extensions", deflate::CLIENT_OFFER);
        }
        if !self.config.protocols.is_empty() {
            let list = self.config.protocols.join(", ");
            if bad(&list) {
                return Err(WebSocketError::InvalidHeader);
            }
            put(&mut r, "Sec-WebSocket-Protocol", &list);
        }
        for (n, v) in &self.headers {
            let token = !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token || bad(v) {
                return Err(WebSocketError::InvalidHeader);
            }
            put(&mut r, n, v);
        }
        r.put_slice(b"\r\n");
        Ok(r)
    }
}

fn put(dst: &mut BytesMut, name: &str, value: &str) {
    dst.put_slice(name.as_bytes());
    dst.put_slice(b": ");
    dst.put_slice(value.as_bytes());
    dst.put_slice(b"\r\n");
}

/// `Host: host[:port]`, IPv6 in brackets, port 80 left out (RFC 6455
/// 4.1).
fn host_header(target: &ClientTarget) -> String {
    let host = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else if target.host.is_empty() {
        "localhost".to_owned()
    } else {
        target.host.clone()
    };
    match target.port {
        Some(p) if p != 80 => format!("{host}:{p}"),
        _ => host,
    }
}

/// `ws://host[:port][/path][?query]` to a target.
fn parse_url(url: &str) -> Option<ClientTarget> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("ws") {
        return None;
    }
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_owned()),
        None => (rest, "/".to_owned()),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        (h, port)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p.parse().ok()?)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some(ClientTarget::new(host, port, path))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The request is (about to be) sent; waiting for the 101.
    Handshake,
    /// Frames both ways.
    Open,
    /// The handshake failed: nothing more.
    Done,
}

/// Decoder/encoder for [`WsClient`]: the client side of RFC 6455.
///
/// Made by [`WsClient`] for each outgoing connection, or by
/// [`WsClientCodec::builder`] for custom headers and subprotocols and given
/// to `AsyncTcpConnection::codec`. A codec serves one connection: its
/// `Sec-WebSocket-Key` is drawn when it is built.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Encoder;
/// use workerman_protocols::websocket::{Message, WsClientCodec};
/// use workerman_protocols::ClientTarget;
///
/// let mut codec = WsClientCodec::builder().build(&ClientTarget::new("127.0.0.1", Some(2346), "/"));
/// let mut out = BytesMut::new();
/// codec.take_output(&mut out); // the upgrade request
/// assert!(out.starts_with(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:2346\r\n"));
///
/// // Sent before the 101: held, written after it.
/// out.clear();
/// codec.encode(Message::from("hi"), &mut out).unwrap();
/// assert!(out.is_empty());
/// ```
#[derive(Debug)]
pub struct WsClientCodec {
    config: WebSocketConfig,
    phase: Phase,
    session: Session,
    /// The upgrade request, until it is handed out.
    request: Option<BytesMut>,
    /// The `Sec-WebSocket-Accept` the server must answer.
    accept: String,
    /// The subprotocol the server chose.
    protocol: Option<String>,
    out: BytesMut,
    held: BytesMut,
    deadline: Option<Instant>,
}

impl WsClientCodec {
    /// A builder for a codec with custom headers, subprotocols and limits.
    pub fn builder() -> WsClientBuilder {
        WsClientBuilder {
            config: WebSocketConfig::default(),
            headers: Vec::new(),
            origin: None,
            max_message_size: DEFAULT_MAX_PACKAGE_SIZE,
        }
    }

    /// Whether the `101` arrived and frames flow.
    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    /// Whether the codec has finished: a close frame went out, or the
    /// handshake failed.
    pub fn is_finished(&self) -> bool {
        match self.phase {
            Phase::Open => self.session.finished(),
            Phase::Done => true,
            Phase::Handshake => false,
        }
    }

    /// The subprotocol the server chose, once open.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Moves what the codec wants written of its own accord to `dst`: the
    /// upgrade request first, then pongs, close replies and the messages
    /// held for the handshake.
    pub fn take_output(&mut self, dst: &mut BytesMut) {
        if let Some(req) = self.request.take() {
            dst.extend_from_slice(&req);
        }
        if !self.out.is_empty() {
            dst.extend_from_slice(&self.out);
            self.out.clear();
        }
    }

    /// Reads and checks the `101`; `Ok(false)` while it is incomplete.
    fn read_response(&mut self, src: &mut BytesMut) -> Result<bool, WebSocketError> {
        let max = self.config.max_head_size;
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut headers);
        let len = match resp.parse(src) {
            Ok(httparse::Status::Complete(n)) if n <= max => n,
            Ok(httparse::Status::Partial) if src.len() < max => return Ok(false),
            Ok(_) | Err(httparse::Error::TooManyHeaders) => {
                return Err(HandshakeError::HeadTooLarge.into())
            }
            Err(_) => return Err(HandshakeError::MalformedResponse.into()),
        };
        let status = resp.code.unwrap_or(0);
        if status != 101 {
            return Err(HandshakeError::UnexpectedStatus(status).into());
        }
        let values = |name: &'static str| {
            resp.headers
                .iter()
                .filter(move |h| h.name.eq_ignore_ascii_case(name))
                .filter_map(|h| std::str::from_utf8(h.value).ok())
        };
        let has_token = |name: &'static str, token: &str| {
            values(name)
                .flat_map(|v| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };
        if !has_token("upgrade", "websocket") || !has_token("connection", "upgrade") {
            return Err(HandshakeError::MissingUpgrade.into());
        }
        if values("sec-websocket-accept").next().map(str::trim) != Some(self.accept.as_str()) {
            return Err(HandshakeError::AcceptMismatch.into());
        }
        let extensions: Vec<&str> = values("sec-websocket-extensions")
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        match extensions.as_slice() {
            [] => {}
            [one] if self.config.deflate => {
                let params = deflate::accept_response(one)?;
                self.session.enable_deflate(params);
            }
            _ => return Err(HandshakeError::UnexpectedExtension.into()),
        }
        if let Some(p) = values("sec-websocket-protocol").next().map(str::trim) {
            if !self.config.protocols.iter().any(|o| o == p) {
                return Err(HandshakeError::UnexpectedProtocol.into());
            }
            self.protocol = Some(p.to_owned());
        }
        src.advance(len);
        Ok(true)
    }
}

impl Default for WsClientCodec {
    /// A codec for `ws://localhost/` with the default settings.
    fn default() -> Self {
        WsClientCodec::builder().build(&ClientTarget::new("localhost", None, "/"))
    }
}

impl Conversation for WsClientCodec {
    /// The answer to a decode error: a close frame once open (nothing for
    /// a failed handshake).
    fn error_response(&mut self, err: &WebSocketError) -> Option<Bytes> {
        match self.phase {
            Phase::Open => self.session.error_close(err).map(BytesMut::freeze),
            _ => {
                self.phase = Phase::Done;
                None
            }
        }
    }

    /// What is left of the handshake timeout while waiting for the `101`;
    /// the idle timeout once open.
    fn read_timeout(&self) -> Option<Duration> {
        match self.phase {
            Phase::Handshake => self
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now())),
            Phase::Open if !self.session.finished() => self.config.idle_timeout,
            _ => None,
        }
    }

    /// A close frame 1001 when the idle timeout passed.
    fn timeout_response(&mut self) -> Option<Bytes> {
        match self.phase {
            Phase::Open => self
                .session
                .close_with(CloseCode::Away, "idle timeout")
                .map(BytesMut::freeze),
            _ => {
                self.phase = Phase::Done;
                None
            }
        }
    }

    /// Our goodbye when the application closes the connection: a masked
    /// close frame 1000 (1001 when `shutdown`) once open, unless one
    /// already went out.
    fn close_output(&mut self, dst: &mut BytesMut, shutdown: bool) {
        if self.phase != Phase::Open {
            return;
        }
        let code = if shutdown {
            CloseCode::Away
        } else {
            CloseCode::Normal
        };
        if let Some(frame) = self.session.close_with(code, "") {
            dst.extend_from_slice(&frame);
        }
    }

    fn poll_output(&mut self, dst: &mut BytesMut) {
        self.take_output(dst)
    }

    fn should_close(&self) -> bool {
        self.is_finished()
    }
}

impl Decoder for WsClientCodec {
    type Item = Message;
    type Error = WebSocketError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, WebSocketError> {
        match self.phase {
            Phase::Handshake => {
                if !self.read_response(src)? {
                    return Ok(None);
                }
                self.phase = Phase::Open;
                self.out.extend_from_slice(&self.held);
                self.held = BytesMut::new();
                self.session.read(src, &mut self.out)
            }
            Phase::Open => self.session.read(src, &mut self.out),
            Phase::Done => {
                src.clear();
                Ok(None)
            }
        }
    }
}

impl Encoder<Message> for WsClientCodec {
    type Error = WebSocketError;

    fn encode(&mut self, msg: Message, dst: &mut BytesMut) -> Result<(), WebSocketError> {
        match self.phase {
            // Only a server answers handshakes.
            _ if matches!(msg, Message::Handshake(_)) => Ok(()),
            Phase::Open => self.session.write(msg, dst),
            Phase::Handshake => {
                if self.held.len() >= self.config.max_pending_size {
                    return Err(WebSocketError::PendingTooLarge {
                        max: self.config.max_pending_size,
                    });
                }
                self.session.write(msg, &mut self.held)
            }
            Phase::Done => Err(WebSocketError::Closed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = parse_url("ws://example.com:8080/chat?room=1").unwrap();
        assert_eq!(
            t,
            ClientTarget::new("example.com", Some(8080), "/chat?room=1")
        );
        let t = parse_url("ws://[::1]:9/").unwrap();
        assert_eq!(t, ClientTarget::new("::1", Some(9), "/"));
        let t = parse_url("WS://h?x=1").unwrap();
        assert_eq!(t, ClientTarget::new("h", None, "/?x=1"));
        assert!(parse_url("http://h/").is_none());
        assert!(parse_url("ws://:80/").is_none());
        assert!(parse_url("ws://h:x/").is_none());
    }

    #[test]
    fn host_headers() {
        assert_eq!(
            host_header(&ClientTarget::new("::1", Some(9), "/")),
            "[::1]:9"
        );
        assert_eq!(host_header(&ClientTarget::new("h", Some(80), "/")), "h");
        assert_eq!(host_header(&ClientTarget::new("h", None, "/")), "h");
    }
}
