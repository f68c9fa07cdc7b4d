//! The WebSocket codecs on byte buffers: the handshake, frames at every
//! split point, fragmentation, control frames, the close handshake, and
//! every bad input with the exact answer (HTTP status or close code).

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};
use workerman_protocols::websocket::{
    CloseCode, CloseFrame, HandshakeError, Message, ProtocolError, Settings, WebSocket,
    WebSocketCodec, WebSocketConfig, WebSocketError, WsClient, WsClientCodec,
};
use workerman_protocols::Conversation;
use workerman_protocols::{ClientTarget, Protocol};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn request_with(extra: &str) -> String {
    format!(
        "GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

fn request() -> String {
    request_with("")
}

/// A client frame: `b0` is FIN/RSV/opcode, the payload masked with MASK.
fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![b0];
    push_len(&mut f, 0x80, payload.len() as u64);
    f.extend_from_slice(&MASK);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    f
}

/// A server frame (unmasked).
fn plain(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![b0];
    push_len(&mut f, 0, payload.len() as u64);
    f.extend_from_slice(payload);
    f
}

fn push_len(f: &mut Vec<u8>, mask_bit: u8, len: u64) {
    if len < 126 {
        f.push(mask_bit | len as u8);
    } else if len <= 0xffff {
        f.push(mask_bit | 126);
        f.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        f.push(mask_bit | 127);
        f.extend_from_slice(&len.to_be_bytes());
    }
}

fn output(codec: &mut WebSocketCodec) -> Vec<u8> {
    let mut out = BytesMut::new();
    codec.take_output(&mut out);
    out.to_vec()
}

/// A server codec past the handshake, its 101 taken.
fn open(max: usize) -> WebSocketCodec {
    open_with(max, WebSocketConfig::default())
}

fn open_with(max: usize, config: WebSocketConfig) -> WebSocketCodec {
    let mut c = WebSocketCodec::with_config(max, config);
    let mut buf = BytesMut::from(request().as_str());
    assert_eq!(c.decode(&mut buf).unwrap(), None);
    assert!(c.is_open());
    let out = output(&mut c);
    assert!(
        out.starts_with(b"HTTP/1.1 101 "),
        "{}",
        String::from_utf8_lossy(&out)
    );
    c
}

fn decode_all(c: &mut WebSocketCodec, bytes: &[u8]) -> Result<Vec<Message>, WebSocketError> {
    let mut buf = BytesMut::from(bytes);
    let mut msgs = Vec::new();
    while let Some(m) = c.decode(&mut buf)? {
        msgs.push(m);
    }
    Ok(msgs)
}

/// The code of the close frame in `bytes` (unmasked).
fn close_code_of(bytes: &[u8]) -> u16 {
    assert_eq!(bytes[0], 0x88, "not a close frame: {bytes:02x?}");
    assert!(bytes[1] >= 2 && bytes[1] <= 125);
    u16::from_be_bytes([bytes[2], bytes[3]])
}

/// Feeds `frames` to an open server codec; it must fail, answer with a
/// close frame carrying `code`, and be finished.
fn assert_closes_with(max: usize, frames: &[u8], code: u16) -> WebSocketError {
    let mut c = open(max);
    let err = decode_all(&mut c, frames).expect_err("must be rejected");
    assert_eq!(err.close_code().map(u16::from), Some(code), "{err}");
    let answer = c.error_response(&err).expect("a close frame");
    assert_eq!(close_code_of(&answer), code, "{err}");
    assert!(c.is_finished());
    // Only one close frame ever goes out.
    assert_eq!(c.error_response(&err), None);
    err
}

/// Feeds a request head to a fresh server codec; it must fail with an
/// HTTP answer of `status`.
fn assert_refused(config: WebSocketConfig, head: &[u8], status: u16) -> (HandshakeError, String) {
    let mut c = WebSocketCodec::with_config(1024, config);
    let mut buf = BytesMut::from(head);
    let err = c.decode(&mut buf).expect_err("must be refused");
    assert_eq!(err.http_status(), Some(status), "{err}");
    let answer = c.error_response(&err).expect("an HTTP answer");
    let text = String::from_utf8(answer.to_vec()).unwrap();
    assert!(text.starts_with(&format!("HTTP/1.1 {status} ")), "{text}");
    assert!(text.contains("Connection: close\r\n"));
    assert!(c.is_finished());
    match err {
        WebSocketError::Handshake(h) => (h, text),
        other => panic!("not a handshake error: {other}"),
    }
}

// ---------------------------------------------------------------- handshake

#[test]
fn handshake_answers_101_with_the_rfc_accept_key() {
    let mut c = WebSocketCodec::new(1024);
    let mut buf = BytesMut::from(request().as_str());
    assert_eq!(c.decode(&mut buf).unwrap(), None);
    assert!(buf.is_empty());
    let out = String::from_utf8(output(&mut c)).unwrap();
    assert_eq!(
        out,
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
        )
    );
    assert!(!c.is_finished());
}

#[test]
fn handshake_at_every_split_point_then_frames_in_the_same_read() {
    let mut wire = request().into_bytes();
    wire.extend(masked(0x81, b"first"));
    for split in 0..wire.len() {
        let mut c = WebSocketCodec::new(1024);
        let mut buf = BytesMut::from(&wire[..split]);
        let mut got = c.decode(&mut buf).unwrap();
        buf.extend_from_slice(&wire[split..]);
        if got.is_none() {
            got = c.decode(&mut buf).unwrap();
        }
        assert_eq!(got, Some(Message::from("first")), "split at {split}");
        assert!(output(&mut c).starts_with(b"HTTP/1.1 101 "));
    }
}

#[test]
fn bad_handshakes_get_400() {
    let cfg = WebSocketConfig::default;
    let cases: Vec<(String, HandshakeError)> = vec![
        (request().replacen("GET", "POST", 1), HandshakeError::NotGet),
        (
            request().replace("Upgrade: websocket\r\n", ""),
            HandshakeError::NotUpgrade,
        ),
        (
            request().replace("Connection: Upgrade\r\n", "Connection: keep-alive\r\n"),
            HandshakeError::MissingConnectionUpgrade,
        ),
        (
            request().replace(&format!("Sec-WebSocket-Key: {KEY}\r\n"), ""),
            HandshakeError::BadKey,
        ),
        (request().replace(KEY, "c2hvcnQ="), HandshakeError::BadKey),
        (
            request().replace("Sec-WebSocket-Version: 13\r\n", ""),
            HandshakeError::MissingVersion,
        ),
        (
            request().replace("HTTP/1.1", "HTTP/1.0"),
            HandshakeError::NotHttp11,
        ),
        (
            "GARBAGE\x01 / HTTP/1.1\r\n\r\n".to_owned(),
            HandshakeError::MalformedRequest,
        ),
    ];
    for (head, want) in cases {
        let (got, _) = assert_refused(cfg(), head.as_bytes(), 400);
        assert_eq!(got, want, "{head}");
    }
    // Anything not starting like HTTP is refused at once, before a head
    // could complete (Workerman: "data not starting with GET").
    let (got, _) = assert_refused(cfg(), b"\x16\x03\x01\x02\x00", 400);
    assert_eq!(got, HandshakeError::MalformedRequest);
}

#[test]
fn another_version_gets_426_naming_13() {
    let head = request().replace("Version: 13", "Version: 8");
    let (err, text) = assert_refused(WebSocketConfig::default(), head.as_bytes(), 426);
    assert_eq!(err, HandshakeError::UnsupportedVersion);
    assert!(text.contains("Sec-WebSocket-Version: 13\r\n"), "{text}");
}

#[test]
fn oversize_heads_get_431() {
    let cfg = || WebSocketConfig::default().max_head_size(256);
    // Incomplete and already over the limit.
    let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(300));
    assert_refused(cfg(), long.as_bytes(), 431);
    // Complete but over the limit.
    let head = request_with(&format!("X-Pad: {}\r\n", "p".repeat(300)));
    assert_refused(cfg(), head.as_bytes(), 431);
    // Too many header lines.
    let many: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
    assert_refused(
        WebSocketConfig::default(),
        request_with(&many).as_bytes(),
        431,
    );
    // Exactly at the limit is fine.
    let head = request();
    let mut c =
        WebSocketCodec::with_config(1024, WebSocketConfig::default().max_head_size(head.len()));
    assert_eq!(c.decode(&mut BytesMut::from(head.as_str())).unwrap(), None);
    assert!(c.is_open());
}

#[test]
fn origin_check() {
    let cfg = || WebSocketConfig::default().allowed_origins(["https://good.example"]);
    let head = request_with("Origin: https://evil.example\r\n");
    let (err, _) = assert_refused(cfg(), head.as_bytes(), 403);
    assert_eq!(err, HandshakeError::ForbiddenOrigin);
    for ok in [
        request_with("Origin: https://GOOD.example\r\n"),
        request(), // no Origin: not a browser
    ] {
        let mut c = WebSocketCodec::with_config(1024, cfg());
        assert_eq!(c.decode(&mut BytesMut::from(ok.as_str())).unwrap(), None);
        assert!(c.is_open());
    }
}

#[test]
fn subprotocol_chosen_by_server_preference() {
    let cfg = WebSocketConfig::default().protocols(["v2", "v1"]);
    let mut c = WebSocketCodec::with_config(1024, cfg.clone());
    let head = request_with("Sec-WebSocket-Protocol: v1, v2\r\n");
    c.decode(&mut BytesMut::from(head.as_str())).unwrap();
    let out = String::from_utf8(output(&mut c)).unwrap();
    assert!(out.contains("Sec-WebSocket-Protocol: v2\r\n"), "{out}");
    // None in common: no header.
    let mut c = WebSocketCodec::with_config(1024, cfg);
    let head = request_with("Sec-WebSocket-Protocol: v3\r\n");
    c.decode(&mut BytesMut::from(head.as_str())).unwrap();
    assert!(!String::from_utf8(output(&mut c))
        .unwrap()
        .contains("Sec-WebSocket-Protocol"));
}

#[test]
fn messages_sent_before_the_handshake_follow_the_101() {
    let mut c = WebSocketCodec::new(1024);
    let mut dst = BytesMut::new();
    c.encode(Message::from("early"), &mut dst).unwrap();
    assert!(dst.is_empty());
    c.decode(&mut BytesMut::from(request().as_str())).unwrap();
    let out = output(&mut c);
    assert!(out.starts_with(b"HTTP/1.1 101 "));
    assert!(out.ends_with(b"\r\n\r\n\x81\x05early"));

    // The held bytes are bounded.
    let mut c = WebSocketCodec::with_config(1024, WebSocketConfig::default().max_pending_size(10));
    c.encode(Message::from("0123456789"), &mut dst).unwrap();
    let err = c.encode(Message::from("x"), &mut dst).unwrap_err();
    assert!(matches!(err, WebSocketError::PendingTooLarge { max: 10 }));
}

#[test]
fn handshake_timeout_answers_408_and_idle_timeout_closes_1001() {
    let mut c = WebSocketCodec::new(1024);
    let t = c.read_timeout().unwrap();
    assert!(t <= Duration::from_secs(10) && t > Duration::from_secs(9));
    let answer = c.timeout_response().unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 408 Request Timeout\r\n"));
    assert!(c.is_finished());

    let c = open(1024);
    assert_eq!(c.read_timeout(), None);
    let mut c = open_with(
        1024,
        WebSocketConfig::default().idle_timeout(Some(Duration::from_secs(3))),
    );
    assert_eq!(c.read_timeout(), Some(Duration::from_secs(3)));
    assert_eq!(close_code_of(&c.timeout_response().unwrap()), 1001);
    assert!(c.is_finished());
}

// ------------------------------------------------------------- handshake hook

struct Hooked;

impl Settings for Hooked {
    fn config() -> WebSocketConfig {
        WebSocketConfig::default()
            .handshake_messages(true)
            .control_messages(true)
    }
}

fn hooked() -> WebSocketCodec {
    <WebSocket<Hooked> as Protocol>::codec(1024)
}

fn take_handshake(c: &mut WebSocketCodec, head: &str) -> workerman_protocols::websocket::Handshake {
    match c.decode(&mut BytesMut::from(head)).unwrap() {
        Some(Message::Handshake(hs)) => hs,
        other => panic!("expected the handshake, got {other:?}"),
    }
}

#[test]
fn hook_sees_the_request_and_accepts_by_default() {
    let mut c = hooked();
    // Sent from on_connect: held.
    c.encode(Message::from("welcome"), &mut BytesMut::new())
        .unwrap();
    let head = request_with("Cookie: sid=abc; theme=dark\r\nX-Real-IP: 10.1.2.3\r\n");
    let mut buf = BytesMut::from(head.as_str());
    buf.extend_from_slice(&masked(0x81, b"after"));
    let hs = match c.decode(&mut buf).unwrap() {
        Some(Message::Handshake(hs)) => hs,
        other => panic!("{other:?}"),
    };
    // Nothing is answered while the handler runs.
    assert!(output(&mut c).is_empty());
    let req = hs.request();
    assert!(hs.is_upgrade());
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.query_param("room").as_deref(), Some("1"));
    assert_eq!(req.cookie("sid"), Some("abc"));
    assert_eq!(req.header("x-real-ip"), Some("10.1.2.3"));
    assert!(hs.add_header("X-Served-By", "test"));
    assert!(!hs.add_header("Bad\r\nName", "x"));
    // The handler returned: the next decode answers, then reads on.
    assert_eq!(c.decode(&mut buf).unwrap(), Some(Message::from("after")));
    let out = output(&mut c);
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 101 "), "{text}");
    assert!(text.contains("X-Served-By: test\r\n"));
    assert!(out.ends_with(b"\r\n\r\n\x81\x07welcome"));
}

#[test]
fn hook_rejects_and_held_messages_are_dropped() {
    let mut c = hooked();
    c.encode(Message::from("secret"), &mut BytesMut::new())
        .unwrap();
    let hs = take_handshake(&mut c, &request());
    hs.reject(403);
    assert_eq!(c.decode(&mut BytesMut::new()).unwrap(), None);
    let out = String::from_utf8(output(&mut c)).unwrap();
    assert!(out.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{out}");
    assert!(!out.contains("secret"));
    assert!(c.is_finished());
    assert!(matches!(
        c.encode(Message::from("late"), &mut BytesMut::new()),
        Err(WebSocketError::Closed)
    ));
}

#[test]
fn hook_picks_a_subprotocol_and_sending_it_back_answers_at_once() {
    let mut c = hooked();
    let hs = take_handshake(&mut c, &request_with("Sec-WebSocket-Protocol: a, b\r\n"));
    assert_eq!(hs.protocol(), None);
    assert!(!hs.select_protocol("c"));
    assert!(hs.select_protocol("b"));
    let mut dst = BytesMut::new();
    c.encode(Message::Handshake(hs.clone()), &mut dst).unwrap();
    let out = String::from_utf8(dst.to_vec()).unwrap();
    assert!(out.contains("Sec-WebSocket-Protocol: b\r\n"), "{out}");
    assert!(c.is_open());
    // A later decision changes nothing.
    hs.reject(500);
    assert_eq!(c.decode(&mut BytesMut::new()).unwrap(), None);
    assert!(output(&mut c).is_empty());
    assert!(c.is_open());
}

#[test]
fn hook_serves_a_page_for_a_plain_get_and_400_if_unanswered() {
    let mut c = hooked();
    let hs = take_handshake(&mut c, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(!hs.is_upgrade());
    hs.respond(200, "text/html", "<h1>hi</h1>");
    c.decode(&mut BytesMut::new()).unwrap();
    let out = String::from_utf8(output(&mut c)).unwrap();
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("Content-Type: text/html\r\nContent-Length: 11\r\n"));
    assert!(out.ends_with("\r\n\r\n<h1>hi</h1>"));
    assert!(c.is_finished());

    let mut c = hooked();
    take_handshake(&mut c, "GET / HTTP/1.1\r\n\r\n");
    c.decode(&mut BytesMut::new()).unwrap();
    assert!(output(&mut c).starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
    assert!(c.is_finished());
}

#[test]
fn control_messages_are_delivered_when_asked_for() {
    let mut c = open_with(1024, Hooked::config().handshake_messages(false));
    let mut wire = masked(0x89, b"p");
    wire.extend(masked(0x8a, b"q"));
    wire.extend(masked(0x88, &[0x03, 0xe8, b'o', b'k']));
    let msgs = decode_all(&mut c, &wire).unwrap();
    assert_eq!(
        msgs,
        vec![
            Message::Ping(Bytes::from_static(b"p")),
            Message::Pong(Bytes::from_static(b"q")),
            Message::Close(Some(CloseFrame::new(CloseCode::Normal, "ok"))),
        ]
    );
    assert_eq!(output(&mut c), b"\x8a\x01p\x88\x02\x03\xe8");
}

// ------------------------------------------------------------------- frames

#[test]
fn frames_from_the_spec_appendix() {
    let mut c = open(1 << 20);
    let mut out = BytesMut::new();
    c.encode(Message::from("hello"), &mut out).unwrap();
    assert_eq!(&out[..], b"\x81\x05hello");
    out.clear();
    c.encode(Message::from(vec![0u8; 200]), &mut out).unwrap();
    assert_eq!(&out[..4], b"\x82\x7e\x00\xc8");
    assert_eq!(out.len(), 204);
    out.clear();
    c.encode(Message::from("x".repeat(70_000)), &mut out)
        .unwrap();
    assert_eq!(&out[..10], b"\x81\x7f\x00\x00\x00\x00\x00\x01\x11\x70");
    assert_eq!(out.len(), 70_010);
}

#[test]
fn text_and_binary_of_every_length_form_at_every_split_point() {
    let big = vec![0xabu8; 70_000];
    let mut wire = masked(0x81, "héllo".as_bytes());
    wire.extend(masked(0x82, &[0u8; 200]));
    wire.extend(masked(0x82, &big));
    wire.extend(masked(0x81, b""));
    let want = vec![
        Message::from("héllo"),
        Message::from(vec![0u8; 200]),
        Message::from(big),
        Message::from(""),
    ];
    // Every split point of the first frames, a sample of the big one.
    let splits: Vec<usize> = (0..300).chain((300..wire.len()).step_by(997)).collect();
    for split in splits {
        let mut c = open(1 << 20);
        let mut buf = BytesMut::from(&wire[..split]);
        let mut got = Vec::new();
        while let Some(m) = c.decode(&mut buf).unwrap() {
            got.push(m);
        }
        buf.extend_from_slice(&wire[split..]);
        while let Some(m) = c.decode(&mut buf).unwrap() {
            got.push(m);
        }
        assert_eq!(got, want, "split at {split}");
        assert!(buf.is_empty());
    }
}

#[test]
fn one_byte_at_a_time() {
    let mut wire = masked(0x01, b"frag");
    wire.extend(masked(0x89, b"ping"));
    wire.extend(masked(0x80, b"mented"));
    let mut c = open(1024);
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for b in wire {
        buf.put_u8(b);
        while let Some(m) = c.decode(&mut buf).unwrap() {
            got.push(m);
        }
    }
    assert_eq!(got, vec![Message::from("fragmented")]);
    assert_eq!(output(&mut c), b"\x8a\x04ping");
}

#[test]
fn fragmented_messages_with_control_frames_between() {
    let mut wire = masked(0x02, b"ab"); // binary, not FIN
    wire.extend(masked(0x89, b"1")); // ping between fragments
    wire.extend(masked(0x00, b"cd")); // continuation
    wire.extend(masked(0x8a, b"")); // pong: consumed
    wire.extend(masked(0x80, b"ef")); // final continuation
    wire.extend(masked(0x81, b"next"));
    let mut c = open(1024);
    let msgs = decode_all(&mut c, &wire).unwrap();
    assert_eq!(
        msgs,
        vec![Message::from(b"abcdef".to_vec()), Message::from("next")]
    );
    assert_eq!(output(&mut c), b"\x8a\x011");
}

#[test]
fn ping_answered_with_the_same_payload() {
    let mut c = open(1024);
    assert!(decode_all(&mut c, &masked(0x89, b"hello"))
        .unwrap()
        .is_empty());
    assert_eq!(output(&mut c), b"\x8a\x05hello");
    // A pong alone produces nothing.
    assert!(decode_all(&mut c, &masked(0x8a, b"x")).unwrap().is_empty());
    assert!(output(&mut c).is_empty());
}

#[test]
fn message_exactly_at_the_limit_is_accepted() {
    let mut c = open(10);
    let msgs = decode_all(&mut c, &masked(0x82, &[1; 10])).unwrap();
    assert_eq!(msgs.len(), 1);
    let mut wire = masked(0x01, b"12345");
    wire.extend(masked(0x80, b"67890"));
    assert_eq!(
        decode_all(&mut c, &wire).unwrap(),
        vec![Message::from("1234567890")]
    );
}

// ------------------------------------------------------------- close handshake

#[test]
fn peer_close_is_echoed_then_finished() {
    // Spec B.3: the close reply 88 02 03 E8.
    let mut c = open(1024);
    let mut wire = masked(0x88, &[0x03, 0xe8]);
    wire.extend(masked(0x81, b"ignored after close"));
    assert!(decode_all(&mut c, &wire).unwrap().is_empty());
    assert_eq!(output(&mut c), b"\x88\x02\x03\xe8");
    assert!(c.is_finished());
    // No status: an empty close back.
    let mut c = open(1024);
    decode_all(&mut c, &masked(0x88, b"")).unwrap();
    assert_eq!(output(&mut c), b"\x88\x00");
    // An application code is echoed.
    let mut c = open(1024);
    decode_all(&mut c, &masked(0x88, &[0x0f, 0xa0, b'b', b'y'])).unwrap();
    assert_eq!(output(&mut c), b"\x88\x02\x0f\xa0");
}

#[test]
fn our_close_sends_a_close_frame() {
    let mut c = open(1024);
    let mut out = BytesMut::new();
    c.encode(Message::close(CloseCode::Away, "bye"), &mut out)
        .unwrap();
    assert_eq!(&out[..], b"\x88\x05\x03\xe9bye");
    assert!(c.is_finished());
    assert!(matches!(
        c.encode(Message::from("x"), &mut out),
        Err(WebSocketError::Closed)
    ));
    // The peer's answer gets no second reply.
    decode_all(&mut c, &masked(0x88, &[0x03, 0xe9])).unwrap();
    assert!(output(&mut c).is_empty());
    // A reason is cut to fit 125 bytes.
    let mut c = open(1024);
    out.clear();
    c.encode(Message::close(CloseCode::Normal, "é".repeat(100)), &mut out)
        .unwrap();
    assert_eq!(out[1], 2 + 122);
}

#[test]
fn close_output_says_goodbye_once() {
    // Connection::close(None): 1000.
    let mut c = open(1024);
    let mut dst = BytesMut::new();
    c.close_output(&mut dst, false);
    assert_eq!(&dst[..], b"\x88\x02\x03\xe8");
    assert!(c.is_finished());
    dst.clear();
    c.close_output(&mut dst, true);
    assert!(dst.is_empty());
    // A stopping worker: 1001.
    let mut c = open(1024);
    c.close_output(&mut dst, true);
    assert_eq!(close_code_of(&dst), 1001);
    // After the application's own close frame: nothing more.
    let mut c = open(1024);
    c.encode(
        Message::close(CloseCode::from(4000), ""),
        &mut BytesMut::new(),
    )
    .unwrap();
    dst.clear();
    c.close_output(&mut dst, false);
    assert!(dst.is_empty());
    // Before the 101: nothing.
    let mut c = WebSocketCodec::new(1024);
    c.close_output(&mut dst, false);
    assert!(dst.is_empty());
}

#[test]
fn encode_errors() {
    let mut c = open(1024);
    let mut out = BytesMut::new();
    assert!(matches!(
        c.encode(Message::Ping(vec![0; 126].into()), &mut out),
        Err(WebSocketError::ControlTooLong)
    ));
    for code in [1005u16, 1006, 1015, 999, 2000, 5000] {
        assert!(matches!(
            c.encode(Message::close(CloseCode::from(code), ""), &mut out),
            Err(WebSocketError::InvalidCloseCode(c)) if c == code
        ));
    }
    assert!(out.is_empty());
    assert!(!c.is_finished());
}

// -------------------------------------------------------------- bad frames

#[test]
fn unmasked_client_frame_is_1002() {
    let err = assert_closes_with(1024, &plain(0x81, b"hi"), 1002);
    assert!(matches!(
        err,
        WebSocketError::Protocol(ProtocolError::UnmaskedFrame)
    ));
}

#[test]
fn reserved_bits_are_1002() {
    for rsv in [0x40u8, 0x20, 0x10] {
        let err = assert_closes_with(1024, &masked(0x81 | rsv, b"x"), 1002);
        assert!(matches!(
            err,
            WebSocketError::Protocol(ProtocolError::ReservedBits)
        ));
    }
}

#[test]
fn reserved_opcodes_are_1002() {
    for op in (3u8..=7).chain(11..=15) {
        let err = assert_closes_with(1024, &masked(0x80 | op, b""), 1002);
        assert!(
            matches!(err, WebSocketError::Protocol(ProtocolError::ReservedOpcode(o)) if o == op)
        );
    }
}

#[test]
fn fragmented_control_frames_are_1002() {
    for op in [0x08u8, 0x09, 0x0a] {
        let err = assert_closes_with(1024, &masked(op, b""), 1002);
        assert!(matches!(
            err,
            WebSocketError::Protocol(ProtocolError::FragmentedControl)
        ));
    }
}

#[test]
fn control_payload_over_125_is_1002() {
    let err = assert_closes_with(1024, &masked(0x89, &[0; 126]), 1002);
    assert!(matches!(
        err,
        WebSocketError::Protocol(ProtocolError::ControlTooLong)
    ));
    // Exactly 125 is fine.
    let mut c = open(1024);
    decode_all(&mut c, &masked(0x89, &[7; 125])).unwrap();
    assert_eq!(output(&mut c).len(), 127);
}

#[test]
fn continuation_without_a_message_is_1002() {
    let err = assert_closes_with(1024, &masked(0x80, b"x"), 1002);
    assert!(matches!(
        err,
        WebSocketError::Protocol(ProtocolError::UnexpectedContinuation)
    ));
}

#[test]
fn new_message_inside_a_fragmented_one_is_1002() {
    let mut wire = masked(0x01, b"part");
    wire.extend(masked(0x81, b"new"));
    let err = assert_closes_with(1024, &wire, 1002);
    assert!(matches!(
        err,
        WebSocketError::Protocol(ProtocolError::ExpectedContinuation)
    ));
}

#[test]
fn length_with_top_bit_set_is_1002() {
    let mut wire = vec![0x82, 0xff];
    wire.extend_from_slice(&u64::MAX.to_be_bytes());
    wire.extend_from_slice(&MASK);
    let err = assert_closes_with(usize::MAX, &wire, 1002);
    assert!(matches!(
        err,
        WebSocketError::Protocol(ProtocolError::LengthOverflow)
    ));
}

#[test]
fn bad_close_payloads() {
    let err = assert_closes_with(1024, &masked(0x88, &[0x03]), 1002);
    assert!(matches!(
        err,
        WebSocketError::Protocol(ProtocolError::ClosePayloadTooShort)
    ));
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
        let err = assert_closes_with(1024, &masked(0x88, &code.to_be_bytes()), 1002);
        assert!(
            matches!(err, WebSocketError::Protocol(ProtocolError::InvalidCloseCode(c)) if c == code),
            "{code}"
        );
    }
    // A close reason that is not UTF-8.
    assert_closes_with(1024, &masked(0x88, &[0x03, 0xe8, 0xff, 0xfe]), 1007);
}

#[test]
fn invalid_utf8_text_is_1007() {
    assert_closes_with(1024, &masked(0x81, &[b'a', 0xff]), 1007);
    // A sequence split across fragments is fine; a broken one is not.
    let mut c = open(1024);
    let e = "é".as_bytes();
    let mut wire = masked(0x01, &e[..1]);
    wire.extend(masked(0x80, &e[1..]));
    assert_eq!(decode_all(&mut c, &wire).unwrap(), vec![Message::from("é")]);
    let mut wire = masked(0x01, &e[..1]);
    wire.extend(masked(0x80, b"x"));
    assert_closes_with(1024, &wire, 1007);
    // Binary is never checked.
    let mut c = open(1024);
    assert_eq!(decode_all(&mut c, &masked(0x82, &[0xff])).unwrap().len(), 1);
}

#[test]
fn oversize_messages_are_1009_from_the_header_alone() {
    // One frame over the limit: refused from the header, payload unsent.
    let mut header = vec![0x82, 0xfe];
    header.extend_from_slice(&11u16.to_be_bytes());
    header.extend_from_slice(&MASK);
    let err = assert_closes_with(10, &header, 1009);
    assert!(matches!(err, WebSocketError::MessageTooLarge { max: 10 }));
    // A 2^62-byte announcement: refused before anything is buffered.
    let mut huge = vec![0x82, 0xff];
    huge.extend_from_slice(&(1u64 << 62).to_be_bytes());
    huge.extend_from_slice(&MASK);
    assert_closes_with(1 << 20, &huge, 1009);
    // Fragments adding up past the limit.
    let mut wire = masked(0x02, &[0; 6]);
    wire.extend(masked(0x00, &[0; 4]));
    wire.extend(masked(0x80, &[0; 1]));
    assert_closes_with(10, &wire, 1009);
}

#[test]
fn an_error_after_a_close_went_out_sends_no_second_close() {
    let mut c = open(1024);
    c.encode(Message::close(CloseCode::Normal, ""), &mut BytesMut::new())
        .unwrap();
    let err = decode_all(&mut c, &plain(0x81, b"x")).unwrap_err();
    assert_eq!(c.error_response(&err), None);
}

// ------------------------------------------------------------------- client

/// A client codec for ws://127.0.0.1:2346/chat and the request it sends.
fn client() -> (WsClientCodec, String) {
    let mut c = <WsClient as Protocol>::client_codec(
        &ClientTarget::new("127.0.0.1", Some(2346), "/chat?x=1"),
        1024,
    );
    let mut out = BytesMut::new();
    c.take_output(&mut out);
    (c, String::from_utf8(out.to_vec()).unwrap())
}

/// Runs a client's request through a server codec: the server's 101.
fn serve(request: &str) -> (WebSocketCodec, Vec<u8>) {
    let mut s = WebSocketCodec::new(1 << 20);
    assert_eq!(s.decode(&mut BytesMut::from(request)).unwrap(), None);
    let answer = output(&mut s);
    (s, answer)
}

fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(": ")?;
        n.eq_ignore_ascii_case(name).then_some(v)
    })
}

#[test]
fn client_request_has_a_random_key() {
    let (_, req) = client();
    assert!(
        req.starts_with("GET /chat?x=1 HTTP/1.1\r\nHost: 127.0.0.1:2346\r\n"),
        "{req}"
    );
    assert!(req.contains("Upgrade: websocket\r\nConnection: Upgrade\r\n"));
    assert!(req.contains("Sec-WebSocket-Version: 13\r\n"));
    assert!(req.ends_with("\r\n\r\n"));
    let key = header_value(&req, "sec-websocket-key").unwrap();
    assert_eq!(key.len(), 24);
    let (_, other) = client();
    assert_ne!(Some(key), header_value(&other, "sec-websocket-key"));
}

#[test]
fn client_builder_headers_origin_protocols() {
    let mut c = WsClientCodec::builder()
        .header("Authorization", "Bearer t")
        .header("Host", "front.example")
        .origin("https://app.example")
        .protocol("v2")
        .protocol("v1")
        .build_url("ws://[::1]:9000/p")
        .unwrap();
    let mut out = BytesMut::new();
    c.take_output(&mut out);
    let req = String::from_utf8(out.to_vec()).unwrap();
    assert!(req.starts_with("GET /p HTTP/1.1\r\n"));
    assert_eq!(header_value(&req, "host"), Some("front.example"));
    assert_eq!(req.matches("Host:").count(), 1);
    assert_eq!(header_value(&req, "origin"), Some("https://app.example"));
    assert_eq!(header_value(&req, "sec-websocket-protocol"), Some("v2, v1"));
    assert_eq!(header_value(&req, "authorization"), Some("Bearer t"));

    // The server picks v1 (its only one); the client accepts and records it.
    let cfg = WebSocketConfig::default().protocols(["v1"]);
    let mut s = WebSocketCodec::with_config(1024, cfg);
    s.decode(&mut BytesMut::from(req.as_str())).unwrap();
    let mut buf = BytesMut::from(&output(&mut s)[..]);
    assert_eq!(c.decode(&mut buf).unwrap(), None);
    assert!(c.is_open());
    assert_eq!(c.protocol(), Some("v1"));

    assert!(matches!(
        WsClientCodec::builder()
            .header("Bad Name", "x")
            .build_url("ws://h:1/"),
        Err(WebSocketError::InvalidHeader)
    ));
    assert!(matches!(
        WsClientCodec::builder()
            .header("X", "a\r\nInjected: 1")
            .build_url("ws://h:1/"),
        Err(WebSocketError::InvalidHeader)
    ));
    assert!(matches!(
        WsClientCodec::builder().build_url("http://h:1/"),
        Err(WebSocketError::InvalidUrl)
    ));
}

#[test]
fn client_and_server_codecs_talk() {
    let (mut c, req) = client();
    // Held until the 101.
    let mut held = BytesMut::new();
    c.encode(Message::from("early"), &mut held).unwrap();
    assert!(held.is_empty());
    let (mut s, answer) = serve(&req);
    // The 101 and a server frame in one read.
    let mut buf = BytesMut::from(&answer[..]);
    s.encode(Message::from("welcome"), &mut buf).unwrap();
    assert_eq!(c.decode(&mut buf).unwrap(), Some(Message::from("welcome")));
    assert!(c.is_open());
    let mut to_server = BytesMut::new();
    c.take_output(&mut to_server);
    c.encode(Message::from(vec![1u8, 2, 3]), &mut to_server)
        .unwrap();
    c.encode(Message::Ping(Bytes::from_static(b"hb")), &mut to_server)
        .unwrap();
    c.encode(Message::close(CloseCode::Normal, "done"), &mut to_server)
        .unwrap();
    assert!(c.is_finished());
    let mut got = Vec::new();
    while let Some(m) = s.decode(&mut to_server).unwrap() {
        got.push(m);
    }
    assert_eq!(
        got,
        vec![Message::from("early"), Message::from(vec![1u8, 2, 3])]
    );
    assert!(s.is_finished());
    // Pong for the ping, then the echoed close.
    assert_eq!(output(&mut s), b"\x8a\x02hb\x88\x02\x03\xe8");
}

#[test]
fn client_frames_are_masked_with_fresh_keys() {
    let (mut c, req) = client();
    let (_, answer) = serve(&req);
    c.decode(&mut BytesMut::from(&answer[..])).unwrap();
    let mut a = BytesMut::new();
    let mut b = BytesMut::new();
    c.encode(Message::from("same"), &mut a).unwrap();
    c.encode(Message::from("same"), &mut b).unwrap();
    assert_eq!(a[1], 0x80 | 4);
    assert_ne!(a[2..6], b[2..6], "masking keys must differ");
    let key = [a[2], a[3], a[4], a[5]];
    let plain: Vec<u8> = a[6..]
        .iter()
        .enumerate()
        .map(|(i, x)| x ^ key[i % 4])
        .collect();
    assert_eq!(plain, b"same");
}

#[test]
fn client_answers_server_ping_masked_and_echoes_close() {
    let (mut c, req) = client();
    let (_, answer) = serve(&req);
    let mut buf = BytesMut::from(&answer[..]);
    buf.extend_from_slice(&plain(0x89, b"hi"));
    buf.extend_from_slice(&plain(0x88, &[0x03, 0xe9]));
    assert_eq!(c.decode(&mut buf).unwrap(), None);
    let mut out = BytesMut::new();
    c.take_output(&mut out);
    assert_eq!(out[0], 0x8a);
    assert_eq!(out[1], 0x82);
    assert_eq!(out[8], 0x88);
    assert!(c.is_finished());
}

#[test]
fn client_rejects_bad_answers() {
    type Edit = Box<dyn Fn(&str) -> String>;
    let cases: Vec<(Edit, HandshakeError)> = vec![
        (
            Box::new(|a: &str| a.replace("101 Switching Protocols", "200 OK")),
            HandshakeError::UnexpectedStatus(200),
        ),
        (
            Box::new(|a: &str| a.replace("Sec-WebSocket-Accept: ", "Sec-WebSocket-Accept: x")),
            HandshakeError::AcceptMismatch,
        ),
        (
            Box::new(|a: &str| a.replace("Upgrade: websocket\r\n", "")),
            HandshakeError::MissingUpgrade,
        ),
        (
            Box::new(|a: &str| a.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: zz\r\n\r\n")),
            HandshakeError::UnexpectedProtocol,
        ),
        (
            Box::new(|a: &str| {
                a.replace(
                    "\r\n\r\n",
                    "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                )
            }),
            HandshakeError::UnexpectedExtension,
        ),
        (
            Box::new(|_: &str| "garbage\r\n\r\n".to_owned()),
            HandshakeError::MalformedResponse,
        ),
    ];
    for (edit, want) in cases {
        let (mut c, req) = client();
        let (_, answer) = serve(&req);
        let answer = edit(std::str::from_utf8(&answer).unwrap());
        let err = c.decode(&mut BytesMut::from(answer.as_str())).unwrap_err();
        match err {
            WebSocketError::Handshake(h) => assert_eq!(h, want),
            other => panic!("{other}"),
        }
        assert_eq!(c.error_response(&WebSocketError::Handshake(want)), None);
        assert!(c.is_finished());
    }
}

#[test]
fn client_rejects_masked_server_frames_with_1002() {
    let (mut c, req) = client();
    let (_, answer) = serve(&req);
    let mut buf = BytesMut::from(&answer[..]);
    buf.extend_from_slice(&masked(0x81, b"x"));
    let err = c.decode(&mut buf).unwrap_err();
    assert!(matches!(
        err,
        WebSocketError::Protocol(ProtocolError::MaskedFrame)
    ));
    let close = c.error_response(&err).unwrap();
    // A masked close frame with 1002.
    assert_eq!(close[0], 0x88);
    let key = [close[2], close[3], close[4], close[5]];
    assert_eq!(
        [close[6] ^ key[0], close[7] ^ key[1]],
        1002u16.to_be_bytes()
    );
}

// --------------------------------------------------------- permessage-deflate

fn deflate_server() -> WebSocketCodec {
    let mut c = WebSocketCodec::with_config(1 << 20, WebSocketConfig::default().deflate(true));
    let head =
        request_with("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
    assert_eq!(c.decode(&mut BytesMut::from(head.as_str())).unwrap(), None);
    let out = String::from_utf8(output(&mut c)).unwrap();
    assert!(
        out.contains("\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"),
        "{out}"
    );
    c
}

#[test]
fn deflate_negotiated_and_rfc_7692_frames_decoded() {
    let mut c = deflate_server();
    // RFC 7692 7.2.3.1: "Hello" compressed in one frame (RSV1 set).
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let mut wire = masked(0xc1, &hello);
    // 7.2.3.2: the same again, sharing the sliding window.
    wire.extend(masked(0xc1, &[0xf2, 0x00, 0x11, 0x00, 0x00]));
    // 7.2.3.1, fragmented: RSV1 on the first frame only.
    wire.extend(masked(0x41, &hello[..3]));
    wire.extend(masked(0x80, &hello[3..]));
    // An uncompressed message is still fine.
    wire.extend(masked(0x82, b"raw"));
    assert_eq!(
        decode_all(&mut c, &wire).unwrap(),
        vec![
            Message::from("Hello"),
            Message::from("Hello"),
            Message::from("Hello"),
            Message::from(b"raw".to_vec()),
        ]
    );
    // Our messages go out compressed: "Hello" as in the RFC.
    let mut out = BytesMut::new();
    c.encode(Message::from("Hello"), &mut out).unwrap();
    assert_eq!(
        &out[..],
        [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
    );
    // Control frames never are.
    out.clear();
    c.encode(Message::Ping(Bytes::from_static(b"p")), &mut out)
        .unwrap();
    assert_eq!(&out[..], b"\x89\x01p");
}

#[test]
fn deflate_offer_ignored_unless_configured() {
    let mut c = WebSocketCodec::new(1024);
    let head = request_with("Sec-WebSocket-Extensions: permessage-deflate\r\n");
    c.decode(&mut BytesMut::from(head.as_str())).unwrap();
    assert!(!String::from_utf8(output(&mut c))
        .unwrap()
        .contains("Extensions"));
    // So RSV1 is a protocol error.
    let err = decode_all(
        &mut c,
        &masked(0xc1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        WebSocketError::Protocol(ProtocolError::ReservedBits)
    ));
    assert_eq!(close_code_of(&c.error_response(&err).unwrap()), 1002);
}

#[test]
fn deflate_offers_we_cannot_honour_are_declined() {
    let mut c = WebSocketCodec::with_config(1024, WebSocketConfig::default().deflate(true));
    let head = request_with(
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8, \
         permessage-deflate; server_max_window_bits=10; server_no_context_takeover\r\n",
    );
    c.decode(&mut BytesMut::from(head.as_str())).unwrap();
    let out = String::from_utf8(output(&mut c)).unwrap();
    assert!(
        out.contains(
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; \
             server_max_window_bits=10\r\n"
        ),
        "{out}"
    );
    // No context takeover: the same message compresses the same each time.
    let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
    c.encode(Message::from("again and again"), &mut a).unwrap();
    c.encode(Message::from("again and again"), &mut b).unwrap();
    assert_eq!(a, b);
    assert_eq!(a[0], 0xc1);
}

#[test]
fn deflate_bad_frames() {
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let check = |wire: Vec<u8>, code: u16| {
        let mut c = deflate_server();
        let err = decode_all(&mut c, &wire).unwrap_err();
        assert_eq!(
            close_code_of(&c.error_response(&err).unwrap()),
            code,
            "{err}"
        );
        err
    };
    // RSV1 on a continuation frame, or on a control frame: 1002.
    let mut wire = masked(0x41, &hello[..3]);
    wire.extend(masked(0xc0, &hello[3..]));
    check(wire, 1002);
    check(masked(0xc9, b""), 1002);
    // RSV2 and RSV3 stay reserved.
    check(masked(0xa1, b"x"), 1002);
    // Data that does not inflate: 1007.
    let err = check(masked(0xc2, &[0xff, 0xff, 0xff, 0xff]), 1007);
    assert!(matches!(err, WebSocketError::BadCompressedData));
    // Inflated text that is not UTF-8: 1007.
    let mut z = WebSocketCodec::with_config(1 << 20, WebSocketConfig::default().deflate(true));
    let head = request_with("Sec-WebSocket-Extensions: permessage-deflate\r\n");
    z.decode(&mut BytesMut::from(head.as_str())).unwrap();
    let mut squeezed = BytesMut::new();
    z.encode(Message::from(vec![0xffu8, 0xfe]), &mut squeezed)
        .unwrap();
    check(masked(0xc1, &squeezed[2..]), 1007);
    // A small frame inflating past the message limit: 1009.
    let mut bomb = BytesMut::new();
    z.encode(Message::from(vec![0u8; 2 << 20]), &mut bomb)
        .unwrap();
    let payload_at = match bomb[1] {
        126 => 4,
        127 => 10,
        _ => 2,
    };
    assert!(bomb.len() < 1 << 16, "{}", bomb.len());
    let err = check(masked(0xc2, &bomb[payload_at..]), 1009);
    assert!(matches!(err, WebSocketError::MessageTooLarge { max } if max == 1 << 20));
}

#[test]
fn deflate_between_our_client_and_server() {
    let mut client = WsClientCodec::builder()
        .config(WebSocketConfig::default().deflate(true))
        .build(&ClientTarget::new("h", Some(1), "/"));
    let mut req = BytesMut::new();
    client.take_output(&mut req);
    let req = String::from_utf8(req.to_vec()).unwrap();
    assert!(
        req.contains("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")
    );
    let mut server = WebSocketCodec::with_config(1 << 20, WebSocketConfig::default().deflate(true));
    server.decode(&mut BytesMut::from(req.as_str())).unwrap();
    let mut wire = BytesMut::from(&output(&mut server)[..]);
    let text = "compress me ".repeat(100);
    server
        .encode(Message::from(text.as_str()), &mut wire)
        .unwrap();
    assert_eq!(
        client.decode(&mut wire).unwrap(),
        Some(Message::from(text.as_str()))
    );
    let mut up = BytesMut::new();
    client
        .encode(Message::from(text.as_str()), &mut up)
        .unwrap();
    assert_eq!(up[0], 0xc1, "compressed");
    assert!(up.len() < text.len() / 4);
    assert_eq!(
        server.decode(&mut up).unwrap(),
        Some(Message::from(text.as_str()))
    );

    // A server limiting our window and asking for no context takeover.
    let mut client = WsClientCodec::builder()
        .config(WebSocketConfig::default().deflate(true))
        .build(&ClientTarget::new("h", Some(1), "/"));
    let mut req = BytesMut::new();
    client.take_output(&mut req);
    let (_, answer) = serve(std::str::from_utf8(&req).unwrap());
    let answer = String::from_utf8(answer).unwrap().replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9; \
             client_no_context_takeover\r\n\r\n",
    );
    assert_eq!(
        client.decode(&mut BytesMut::from(answer.as_str())).unwrap(),
        None
    );
    assert!(client.is_open());
    let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
    client.encode(Message::from("same"), &mut a).unwrap();
    client.encode(Message::from("same"), &mut b).unwrap();
    let unmask = |f: &BytesMut| -> Vec<u8> {
        let key = [f[2], f[3], f[4], f[5]];
        f[6..]
            .iter()
            .enumerate()
            .map(|(i, x)| x ^ key[i % 4])
            .collect()
    };
    assert_eq!(unmask(&a), unmask(&b));
}

// ------------------------------------------------------------ random input

/// A tiny deterministic generator for the mutation test.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
}

/// Not a fuzzer (cargo-fuzz needs a nightly toolchain this machine does
/// not have), but the same idea on a budget: valid conversations with
/// random bytes flipped, cut at random points, fed to server and client
/// codecs with and without permessage-deflate. Nothing may panic or
/// buffer past the limit; every error must have its answer.
#[test]
fn mutated_input_never_panics() {
    let mut rng = Lcg(0x5eed);
    let mut seed_wire = Vec::new();
    seed_wire.extend(masked(0x01, b"frag"));
    seed_wire.extend(masked(0x89, b"ping"));
    seed_wire.extend(masked(0x80, b"ment"));
    seed_wire.extend(masked(0x82, &[0u8; 300]));
    seed_wire.extend(masked(0xc1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]));
    seed_wire.extend(masked(0x88, &[0x03, 0xe8]));
    let head = request_with("Sec-WebSocket-Extensions: permessage-deflate\r\n");
    for round in 0..20_000 {
        let mut wire = head.clone().into_bytes();
        wire.extend_from_slice(&seed_wire);
        for _ in 0..1 + rng.next() % 4 {
            let at = rng.next() as usize % wire.len();
            wire[at] ^= 1 << (rng.next() % 8);
        }
        let deflate = round % 2 == 0;
        let mut c = WebSocketCodec::with_config(256, WebSocketConfig::default().deflate(deflate));
        let mut buf = BytesMut::new();
        let mut rest = &wire[..];
        while !rest.is_empty() {
            let n = (1 + rng.next() as usize % 64).min(rest.len());
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            match c.decode(&mut buf) {
                Ok(_) => {}
                Err(e) => {
                    // Either an HTTP answer or a close frame (or nothing,
                    // when a close already went out).
                    let _ = c.error_response(&e);
                    break;
                }
            }
            assert!(buf.len() <= 256 + 16 * 1024 + 64, "buffered {}", buf.len());
            output(&mut c);
        }
    }
    // The client side: a valid 101 and server frames, mutated.
    for _ in 0..5000 {
        let (mut c, req) = client();
        let (mut s, answer) = serve(&req);
        let mut wire = answer.clone();
        let mut frames = BytesMut::new();
        s.encode(Message::from("hello"), &mut frames).unwrap();
        s.encode(Message::Ping(Bytes::from_static(b"p")), &mut frames)
            .unwrap();
        s.encode(Message::from(vec![7u8; 200]), &mut frames)
            .unwrap();
        wire.extend_from_slice(&frames);
        for _ in 0..1 + rng.next() % 3 {
            let at = rng.next() as usize % wire.len();
            wire[at] ^= 1 << (rng.next() % 8);
        }
        let mut buf = BytesMut::from(&wire[..]);
        loop {
            match c.decode(&mut buf) {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    let _ = c.error_response(&e);
                    break;
                }
            }
        }
    }
}
