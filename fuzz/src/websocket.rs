//! `websocket_server` and `websocket_client`: [`WebSocketCodec`] (the
//! upgrade request, then masked frames) and [`WsClientCodec`] (the `101`,
//! then plain frames), and the round trip between them.

use bytes::{Bytes as Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};
use workerman_protocols::websocket::{
    CloseCode, HandshakeError, Message, WebSocketCodec, WebSocketConfig, WebSocketError,
    WsClientCodec,
};
use workerman_protocols::Conversation;

use crate::MAX_PIECE;
use crate::{digest, drive, is_eof_leftover, pick, serial, variant, Bytes, Harness, Input};

/// Message limits: tiny ones so the size checks bite, and 64 KiB.
const LIMITS: [usize; 8] = [0, 1, 16, 125, 126, 1024, 4096, 64 * 1024];

/// Handshake head limits: small (so 431 is reachable with short inputs)
/// and the default 16 KiB.
const HEAD_LIMITS: [usize; 2] = [256, 16 * 1024];

/// A valid upgrade request, for inputs that skip the handshake.
const UPGRADE: &[u8] = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\nOrigin: https://example.com\r\n\r\n";

/// The same, offering permessage-deflate.
const UPGRADE_DEFLATE: &[u8] =
    b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

/// Room for zlib: an inflate state with its 32 KiB window (made on the
/// first compressed message; tens of KiB). Decoding never compresses
/// (pongs and close replies are not compressed), so no deflate state is
/// made while a peer's bytes are decoded. 256 KiB leaves room for the
/// allocator's rounding and the harness' small buffers.
const ZLIB: usize = 256 * 1024;

/// Fixed costs of a call besides zlib: the parsed handshake (at most 100
/// header lines, each a String and a Vec), the `101` and its header
/// values, small control frames.
const FIXED: usize = 64 * 1024;

/// The digest of a message (handshakes by what a handler can read).
fn message_digest(m: &Message) -> u64 {
    match m {
        Message::Text(t) => digest(&(0u8, t.as_bytes())),
        Message::Binary(b) => digest(&(1u8, &b[..])),
        Message::Ping(b) => digest(&(2u8, &b[..])),
        Message::Pong(b) => digest(&(3u8, &b[..])),
        Message::Close(f) => digest(&(
            4u8,
            f.as_ref().map(|f| (u16::from(f.code), f.reason.clone())),
        )),
        Message::Handshake(hs) => {
            let r = hs.request();
            let mut parts: Vec<u64> = vec![
                digest(r.method()),
                digest(r.uri()),
                digest(r.path()),
                digest(&r.query()),
                digest(r.version()),
                digest(&hs.is_upgrade()),
                digest(&hs.protocol()),
                digest(&r.origin()),
            ];
            for (k, v) in r.query_pairs() {
                parts.push(digest(&(k, v)));
            }
            for (n, v) in r.headers() {
                parts.push(digest(&(n, v)));
            }
            for (k, v) in r.cookies() {
                parts.push(digest(&(k, v)));
            }
            for p in r.protocols() {
                parts.push(digest(p));
            }
            parts.push(digest(&r.cookie("session")));
            parts.push(digest(&r.query_param("room")));
            parts.push(digest(&r.header_has_token("connection", "upgrade")));
            digest(&(5u8, parts))
        }
        other => digest(&format!("{other:?}")),
    }
}

fn config(cfg0: u8, cfg1: u8) -> WebSocketConfig {
    let mut c = WebSocketConfig::default()
        .deflate(cfg0 & 1 != 0)
        .control_messages(cfg0 & 0x10 != 0)
        .handshake_messages(cfg0 & 0x20 != 0)
        .max_head_size(pick(&HEAD_LIMITS, cfg0 >> 6))
        .protocols(["chat", "v2.chat"])
        .max_pending_size(4096);
    if cfg1 & 0x10 != 0 {
        c = c.allowed_origins(["https://example.com"]);
    }
    c
}

/// Bound of one decode call: a message is split off the read buffer and
/// unmasked in place; a fragmented one is reassembled in a BytesMut of at
/// most `limit` bytes that may double (2x), text is copied into a String
/// (3x), inflated data grows in a Vec to at most `limit + 1` that may
/// double (plus the compressed payload: 4x in all). Pongs and close
/// replies written of the codec's own accord are at most the size of the
/// frames consumed (`buffered`). Handshake: the head is copied once
/// (header names and values) into the request a handler reads.
fn ws_call_bound(limit: usize, head: usize, buffered: usize) -> usize {
    4 * limit + 2 * head + buffered + FIXED + ZLIB
}

/// Bound of a whole run fed in pieces: the read buffer (at most the
/// largest frame or head plus a piece, 4x as for `text`), the decoder's
/// own data (4x the limit, as in a call), and the output buffer between
/// drains.
fn ws_session_bound(limit: usize, head: usize) -> usize {
    4 * (limit + 14 + head + MAX_PIECE) + 4 * limit + 2 * head + MAX_PIECE + FIXED + ZLIB
}

struct Server {
    limit: usize,
    /// The config's max_head_size.
    head: usize,
    config: WebSocketConfig,
    /// Reject upgrades (handshake_messages on): answer with 403.
    reject: bool,
}

impl Harness for Server {
    type Codec = WebSocketCodec;

    fn codec(&mut self) -> WebSocketCodec {
        WebSocketCodec::with_config(self.limit, self.config.clone())
    }

    fn message(&mut self, _: &mut WebSocketCodec, m: Message) -> u64 {
        if let Some(b) = m.as_bytes() {
            if m.is_data() {
                assert!(b.len() <= self.limit, "message over the limit");
            }
        }
        if let Message::Handshake(hs) = &m {
            if self.reject {
                hs.reject(403);
            } else {
                hs.select_protocol("chat");
                hs.add_header("X-Fuzz", "1");
            }
        }
        message_digest(&m)
    }

    fn drain(&mut self, codec: &mut WebSocketCodec, out: &mut Vec<u8>) {
        let mut dst = BytesMut::new();
        codec.take_output(&mut dst);
        out.extend_from_slice(&dst);
    }

    /// During the handshake a head that is malformed past the first
    /// `max_head_size` bytes is `MalformedRequest` when it came in one
    /// buffer but `HeadTooLarge` when it came in pieces (a partial head
    /// over the limit is refused before the rest is seen), and a
    /// malformed head that never ends is an error in one buffer but bytes
    /// left at end of stream in pieces: one class. After the handshake
    /// the error must be exactly the same.
    fn error_class(&mut self, codec: &mut WebSocketCodec, e: &WebSocketError, _: bool) -> String {
        let class = match e {
            WebSocketError::Handshake(
                HandshakeError::MalformedRequest | HandshakeError::HeadTooLarge,
            ) => "bad-head".to_owned(),
            WebSocketError::Io(io) if is_eof_leftover(io) && !codec.is_open() => {
                "bad-head".to_owned()
            }
            other => variant(other, true),
        };
        // What the framework answers with (its bytes differ with the
        // class above, so they are not compared).
        let _ = codec.error_response(e);
        class
    }

    fn call_bound(&self, buffered: usize) -> usize {
        ws_call_bound(self.limit, self.head, buffered)
    }

    fn session_bound(&self, _: usize) -> usize {
        ws_session_bound(self.limit, self.head)
    }

    fn buffered_bound(&self) -> usize {
        // A partial frame (header and payload within the limit), or a
        // partial head under max_head_size.
        (self.limit + 14).max(self.head)
    }
}

struct Client {
    limit: usize,
    config: WebSocketConfig,
    /// 0: raw input; 1: the first `{accept}` in the input becomes the
    /// right Sec-WebSocket-Accept; 2 and 3: a valid `101` (3: accepting
    /// permessage-deflate) is put before the input.
    mode: u8,
}

impl Harness for Client {
    type Codec = WsClientCodec;

    fn codec(&mut self) -> WsClientCodec {
        WsClientCodec::builder()
            .config(self.config.clone())
            .max_message_size(self.limit)
            .header("Cookie", "session=1")
            .build_url("ws://127.0.0.1:1/chat?room=1")
            .expect("a valid URL")
    }

    fn prepare(&mut self, codec: &mut WsClientCodec, stream: &[u8]) -> Vec<u8> {
        let mut request = BytesMut::new();
        codec.take_output(&mut request);
        let accept = accept_for(&request);
        match self.mode & 3 {
            0 => stream.to_vec(),
            1 => {
                let needle = b"{accept}";
                match stream.windows(needle.len()).position(|w| w == needle) {
                    Some(i) => {
                        let mut v = stream[..i].to_vec();
                        v.extend_from_slice(accept.as_bytes());
                        v.extend_from_slice(&stream[i + needle.len()..]);
                        v
                    }
                    None => stream.to_vec(),
                }
            }
            m => {
                let mut v = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                     Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
                )
                .into_bytes();
                if m == 3 {
                    v.extend_from_slice(b"Sec-WebSocket-Extensions: permessage-deflate\r\n");
                }
                v.extend_from_slice(b"\r\n");
                v.extend_from_slice(stream);
                v
            }
        }
    }

    fn message(&mut self, _: &mut WsClientCodec, m: Message) -> u64 {
        if let Some(b) = m.as_bytes() {
            if m.is_data() {
                assert!(b.len() <= self.limit, "message over the limit");
            }
        }
        assert!(!matches!(m, Message::Handshake(_)));
        message_digest(&m)
    }

    fn drain(&mut self, codec: &mut WsClientCodec, out: &mut Vec<u8>) {
        let mut dst = BytesMut::new();
        codec.take_output(&mut dst);
        // Masked with random keys: only the length is stable.
        out.extend(std::iter::repeat_n(0u8, dst.len()));
    }

    /// As for the server: during the handshake, a malformed head, a head
    /// over the limit and a head that never ends are one class.
    fn error_class(&mut self, codec: &mut WsClientCodec, e: &WebSocketError, _: bool) -> String {
        let class = match e {
            WebSocketError::Handshake(
                HandshakeError::MalformedResponse | HandshakeError::HeadTooLarge,
            ) => "bad-head".to_owned(),
            WebSocketError::Io(io) if is_eof_leftover(io) && !codec.is_open() => {
                "bad-head".to_owned()
            }
            other => variant(other, true),
        };
        let _ = codec.error_response(e);
        class
    }

    fn call_bound(&self, buffered: usize) -> usize {
        ws_call_bound(self.limit, 16 * 1024, buffered)
    }

    fn session_bound(&self, _: usize) -> usize {
        ws_session_bound(self.limit, 16 * 1024)
    }

    fn buffered_bound(&self) -> usize {
        (self.limit + 14).max(16 * 1024)
    }
}

/// The Sec-WebSocket-Accept for the key in a client's request.
fn accept_for(request: &[u8]) -> String {
    let text = String::from_utf8_lossy(request);
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap_or("");
    tungstenite::handshake::derive_accept_key(key.trim().as_bytes())
}

/// Decodes an upgrade request and frames as a server, checks the
/// invariants, then runs the round trip on messages from the input.
pub fn check_websocket_server(data: &[u8]) {
    let _g = serial();
    let input = Input::parse(data);
    let limit = pick(&LIMITS, input.cfg0 >> 1);
    let head = pick(&HEAD_LIMITS, input.cfg0 >> 6);
    let mut stream = Vec::new();
    match input.cfg1 & 3 {
        1 => stream.extend_from_slice(UPGRADE),
        2 => stream.extend_from_slice(UPGRADE_DEFLATE),
        _ => {}
    }
    stream.extend_from_slice(input.stream);
    let mut h = Server {
        limit,
        head,
        config: config(input.cfg0, input.cfg1),
        reject: input.cfg1 & 4 != 0,
    };
    drive(&mut h, &stream, input.splits);
    round_trip(input.stream, input.cfg0 & 1 != 0, limit);
}

/// Decodes a `101` and frames as a client, checks the invariants, then
/// runs the round trip on messages from the input.
pub fn check_websocket_client(data: &[u8]) {
    let _g = serial();
    let input = Input::parse(data);
    let limit = pick(&LIMITS, input.cfg0 >> 1);
    let mut h = Client {
        limit,
        config: config(input.cfg0, input.cfg1).max_head_size(16 * 1024),
        mode: input.cfg1,
    };
    drive(&mut h, input.stream, input.splits);
    round_trip(input.stream, input.cfg0 & 1 != 0, limit);
}

/// Messages built from fuzz bytes: text, binary, ping, pong; a close at
/// the end when asked.
fn messages(data: &[u8]) -> (Vec<Message>, Option<Message>) {
    let mut b = Bytes::new(data);
    let mut out = Vec::new();
    for _ in 0..6 {
        if b.is_empty() {
            break;
        }
        let kind = b.byte();
        let body = b.chunk();
        out.push(match kind % 5 {
            0 => Message::Text(String::from_utf8_lossy(body).into_owned()),
            1 => Message::Binary(Buf::copy_from_slice(body)),
            2 => Message::Ping(Buf::copy_from_slice(&body[..body.len().min(125)])),
            3 => Message::Pong(Buf::copy_from_slice(&body[..body.len().min(125)])),
            _ => {
                // A long message: the body repeated, to cross the 126 and
                // 65536 length encodings and the limits.
                let n = (b.byte() as usize) * 257;
                Message::Binary(Buf::from(body.repeat(n.min(70_000 / body.len().max(1)))))
            }
        });
    }
    let close = match b.byte() {
        0 => None,
        c => {
            let code = [1000u16, 1001, 1003, 1008, 3000, 4999][c as usize % 6];
            let reason = String::from_utf8_lossy(b.chunk()).into_owned();
            Some(Message::close(CloseCode::from(code), reason))
        }
    };
    (out, close)
}

/// Opens a client and a server codec on each other (with or without
/// permessage-deflate), then sends each message both ways: the receiver
/// must give it back, or refuse it as too large exactly when it is.
fn round_trip(data: &[u8], deflate: bool, limit: usize) {
    let cfg = WebSocketConfig::default()
        .deflate(deflate)
        .control_messages(true);
    let mut client = WsClientCodec::builder()
        .config(cfg.clone())
        .max_message_size(limit)
        .build_url("ws://127.0.0.1:1/")
        .expect("a valid URL");
    let mut server = WebSocketCodec::with_config(limit, cfg);
    let mut wire = BytesMut::new();
    client.take_output(&mut wire);
    assert_eq!(server.decode(&mut wire).expect("upgrade accepted"), None);
    assert!(server.is_open() && wire.is_empty());
    server.take_output(&mut wire);
    assert_eq!(client.decode(&mut wire).expect("101 accepted"), None);
    assert!(client.is_open() && wire.is_empty());

    let (msgs, close) = messages(data);
    let mut s2c = true;
    let mut c2s = true;
    for m in msgs {
        if s2c {
            s2c = send(&mut server, &mut client, &m, limit, deflate);
        }
        if c2s {
            c2s = send(&mut client, &mut server, &m, limit, deflate);
        }
    }
    if let (Some(close), true, true) = (close, s2c, c2s) {
        // The client closes; the server echoes the code; the client sees
        // the echo.
        let mut wire = BytesMut::new();
        client
            .encode(close.clone(), &mut wire)
            .expect("close encodes");
        let got = server.decode(&mut wire).expect("close decodes");
        assert_eq!(got, Some(close.clone()), "close round trip");
        assert!(server.is_finished());
        // The server's output holds its pongs to the client's pings, then
        // the echo.
        let mut echo = BytesMut::new();
        server.take_output(&mut echo);
        let f = loop {
            match client.decode(&mut echo).expect("close echo decodes") {
                Some(Message::Close(Some(f))) => break f,
                Some(Message::Pong(_)) => {}
                other => panic!("close echo: {other:?}"),
            }
        };
        let Message::Close(Some(sent)) = close else {
            unreachable!()
        };
        assert_eq!(f.code, sent.code);
    }
}

/// Sends `m` from `tx` to `rx`; false once the receiver refused it (the
/// connection would be closed).
fn send<T, R>(tx: &mut T, rx: &mut R, m: &Message, limit: usize, deflate: bool) -> bool
where
    T: Encoder<Message, Error = WebSocketError>,
    R: Decoder<Item = Message, Error = WebSocketError>,
{
    let mut wire = BytesMut::new();
    tx.encode(m.clone(), &mut wire).expect("encode");
    let size = m.as_bytes().map_or(0, <[u8]>::len);
    let wire_len = payload_len(&wire);
    let r = rx.decode(&mut wire);
    match r {
        Ok(Some(got)) => {
            assert!(
                !m.is_data() || size <= limit,
                "accepted a message over the limit"
            );
            assert_eq!(&got, m, "websocket round trip");
            assert!(wire.is_empty());
            true
        }
        Err(WebSocketError::MessageTooLarge { max }) => {
            assert_eq!(max, limit);
            // Compressed, an incompressible message within the limit can
            // still exceed it on the wire: the limit is checked on the
            // frame's payload before it is inflated.
            assert!(
                size > limit || (deflate && wire_len > limit),
                "refused a message within the limit ({size} <= {limit}, {wire_len} compressed)"
            );
            false
        }
        other => panic!("websocket round trip of {m:?}: {other:?}"),
    }
}

/// The payload length of the one frame in `wire` (what the receiver
/// checks against its limit).
fn payload_len(wire: &[u8]) -> usize {
    let masked = wire.get(1).is_some_and(|b| b & 0x80 != 0);
    let header = match wire.get(1).map(|b| b & 0x7f) {
        Some(126) => 4,
        Some(127) => 10,
        _ => 2,
    } + if masked { 4 } else { 0 };
    wire.len().saturating_sub(header)
}
