//! [`WebSocketCodec`]: the server side, from the upgrade request to the
//! close handshake.

use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::frame::Role;
use super::handshake::{check_request, error_response, timeout_response, Answered, Handshake};
use super::request::{ParseError, Request};
use super::session::Session;
use super::{CloseCode, HandshakeError, Message, WebSocketConfig, WebSocketError};
use crate::{Conversation, DEFAULT_MAX_PACKAGE_SIZE};

/// Where a server connection is.
#[derive(Debug)]
enum Phase {
    /// Waiting for the upgrade request head.
    Request,
    /// The request went to the handler; the answer is written at the next
    /// decode (or when the handler sends the handshake back).
    Answering(Handshake),
    /// Frames both ways.
    Open,
    /// Refused or answered with a plain HTTP response: nothing more.
    Done,
}

/// Decoder/encoder for [`WebSocket`](super::WebSocket), the server side of
/// RFC 6455: the upgrade handshake, then frames.
///
/// The codec is sans-IO: bytes in, messages out, and bytes of its own
/// (the `101`, pongs, close replies) collected for the framework to write
/// (`Protocol::poll_output`). See the [module docs](super) for the
/// behaviour and the limits.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::{Decoder, Encoder};
/// use workerman_protocols::websocket::{Message, WebSocketCodec};
///
/// let mut codec = WebSocketCodec::new(1024);
/// let mut buf = BytesMut::from(
///     "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///      Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
/// );
/// // A masked "Hi" follows the head.
/// buf.extend_from_slice(&[0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2]);
/// assert_eq!(codec.decode(&mut buf).unwrap(), Some(Message::from("Hi")));
///
/// let mut out = BytesMut::new();
/// codec.take_output(&mut out);
/// assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
///
/// out.clear();
/// codec.encode(Message::from("hello"), &mut out).unwrap();
/// assert_eq!(&out[..], b"\x81\x05hello");
/// ```
#[derive(Debug)]
pub struct WebSocketCodec {
    config: WebSocketConfig,
    phase: Phase,
    session: Session,
    /// Bytes to write of our own accord (the 101, pongs, close replies).
    out: BytesMut,
    /// Frames sent before the handshake completed, written after the 101.
    held: BytesMut,
    /// When the request head must be in.
    deadline: Option<Instant>,
}

impl WebSocketCodec {
    /// A codec with the default [`WebSocketConfig`], accepting messages of
    /// up to `max_message_size` payload bytes.
    pub fn new(max_message_size: usize) -> Self {
        WebSocketCodec::with_config(max_message_size, WebSocketConfig::default())
    }

    /// A codec with `config`, accepting messages of up to
    /// `max_message_size` payload bytes.
    pub fn with_config(max_message_size: usize, config: WebSocketConfig) -> Self {
        WebSocketCodec {
            deadline: config.handshake_timeout.map(|t| Instant::now() + t),
            session: Session::new(Role::Server, max_message_size, config.control_messages),
            config,
            phase: Phase::Request,
            out: BytesMut::new(),
            held: BytesMut::new(),
        }
    }

    /// Whether the handshake completed and frames flow.
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open)
    }

    /// Whether the codec has finished with the connection: a close frame
    /// went out, or the handshake was refused or answered with a page.
    pub fn is_finished(&self) -> bool {
        match self.phase {
            Phase::Open => self.session.finished(),
            Phase::Done => true,
            Phase::Request | Phase::Answering(_) => false,
        }
    }

    /// Moves the bytes the codec wants written of its own accord (the
    /// handshake answer, pongs, close replies, messages held for the
    /// handshake) to `dst`.
    pub fn take_output(&mut self, dst: &mut BytesMut) {
        if !self.out.is_empty() {
            dst.extend_from_slice(&self.out);
            self.out.clear();
        }
    }

    /// Reads the request head; `Ok(None)` while it is incomplete.
    fn read_request(&mut self, src: &mut BytesMut) -> Result<Option<Message>, WebSocketError> {
        let max = self.config.max_head_size;
        let (request, len) = match Request::parse_head(src) {
            Ok(parsed) => parsed,
            Err(ParseError::Partial) if src.len() < max => return Ok(None),
            Err(ParseError::Partial | ParseError::TooManyHeaders) => {
                return Err(HandshakeError::HeadTooLarge.into())
            }
            Err(ParseError::Malformed) => return Err(HandshakeError::MalformedRequest.into()),
        };
        if len > max {
            return Err(HandshakeError::HeadTooLarge.into());
        }
        src.advance(len);
        let upgrade = match check_request(&request, &self.config) {
            Ok(u) => Some(u),
            // A plain GET, for a handler that serves pages too.
            Err(HandshakeError::NotUpgrade) if self.config.handshake_messages => None,
            Err(e) => return Err(e.into()),
        };
        let handshake = Handshake::new(request, upgrade);
        if self.config.handshake_messages {
            self.phase = Phase::Answering(handshake.clone());
            return Ok(Some(Message::Handshake(handshake)));
        }
        let mut out = std::mem::take(&mut self.out);
        self.answer(&handshake, &mut out);
        self.out = out;
        Ok(None)
    }

    /// Writes the handshake's answer (and the held messages after a 101).
    fn answer(&mut self, handshake: &Handshake, dst: &mut BytesMut) {
        match handshake.write_answer(dst) {
            Answered::Upgraded(deflate) => {
                self.phase = Phase::Open;
                if let Some(params) = deflate {
                    self.session.enable_deflate(params);
                }
                // Held frames were encoded before the negotiation: plain,
                // which permessage-deflate allows message by message.
                dst.extend_from_slice(&self.held);
            }
            Answered::Refused => self.phase = Phase::Done,
        }
        self.held = BytesMut::new();
    }
}

impl Default for WebSocketCodec {
    /// Uses [`DEFAULT_MAX_PACKAGE_SIZE`] (10 MiB) and the default config.
    fn default() -> Self {
        WebSocketCodec::new(DEFAULT_MAX_PACKAGE_SIZE)
    }
}

impl Conversation for WebSocketCodec {
    /// The answer to a decode error: an HTTP error during the handshake, a
    /// close frame with the error's code after it.
    fn error_response(&mut self, err: &WebSocketError) -> Option<Bytes> {
        match (&self.phase, err) {
            (Phase::Request, WebSocketError::Handshake(h)) => {
                self.phase = Phase::Done;
                let mut dst = BytesMut::new();
                error_response(h, &mut dst);
                Some(dst.freeze())
            }
            (Phase::Open, _) => self.session.error_close(err).map(BytesMut::freeze),
            _ => None,
        }
    }

    /// How long to wait for the peer now: what is left of the handshake
    /// timeout while the request head is awaited, the idle timeout once
    /// open.
    fn read_timeout(&self) -> Option<Duration> {
        match self.phase {
            Phase::Request => self
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now())),
            Phase::Open if !self.session.finished() => self.config.idle_timeout,
            _ => None,
        }
    }

    /// The answer when [`read_timeout`](WebSocketCodec::read_timeout)
    /// passed: 408 during the handshake, a close frame 1001 after it.
    fn timeout_response(&mut self) -> Option<Bytes> {
        match self.phase {
            Phase::Request => {
                self.phase = Phase::Done;
                Some(timeout_response())
            }
            Phase::Open => self
                .session
                .close_with(CloseCode::Away, "idle timeout")
                .map(BytesMut::freeze),
            _ => None,
        }
    }

    /// Our goodbye when the application (or a stopping worker: `shutdown`)
    /// closes the connection: a close frame 1000 (1001 on shutdown) once
    /// open, unless one already went out; nothing before the `101`.
    fn close_output(&mut self, dst: &mut BytesMut, shutdown: bool) {
        if !matches!(self.phase, Phase::Open) {
            return;
        }
        let (code, reason) = if shutdown {
            (CloseCode::Away, "server shutting down")
        } else {
            (CloseCode::Normal, "")
        };
        if let Some(frame) = self.session.close_with(code, reason) {
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

impl Decoder for WebSocketCodec {
    type Item = Message;
    type Error = WebSocketError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, WebSocketError> {
        loop {
            match &self.phase {
                Phase::Request => {
                    if let Some(msg) = self.read_request(src)? {
                        return Ok(Some(msg));
                    }
                    if matches!(self.phase, Phase::Request) {
                        return Ok(None);
                    }
                }
                Phase::Answering(handshake) => {
                    // The handler has returned: its answer goes out now.
                    let handshake = handshake.clone();
                    let mut out = std::mem::take(&mut self.out);
                    self.answer(&handshake, &mut out);
                    self.out = out;
                }
                Phase::Open => return self.session.read(src, &mut self.out),
                Phase::Done => {
                    src.clear();
                    return Ok(None);
                }
            }
        }
    }
}

impl Encoder<Message> for WebSocketCodec {
    type Error = WebSocketError;

    fn encode(&mut self, msg: Message, dst: &mut BytesMut) -> Result<(), WebSocketError> {
        match (&self.phase, msg) {
            (Phase::Answering(pending), Message::Handshake(hs)) => {
                if pending.same_as(&hs) {
                    self.answer(&hs, dst);
                }
                Ok(())
            }
            (_, Message::Handshake(_)) => Ok(()),
            (Phase::Open, msg) => self.session.write(msg, dst),
            (Phase::Request | Phase::Answering(_), msg) => {
                if self.held.len() >= self.config.max_pending_size {
                    return Err(WebSocketError::PendingTooLarge {
                        max: self.config.max_pending_size,
                    });
                }
                self.session.write(msg, &mut self.held)
            }
            (Phase::Done, _) => Err(WebSocketError::Closed),
        }
    }
}
