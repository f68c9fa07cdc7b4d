//! The HTTP codec on byte buffers: framing, keep-alive, streams, every bad
//! input, and the exact bytes of spec B.5.

use std::time::Duration;

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};
use workerman_protocols::http::{
    Chunk, Cookie, HttpCodec, HttpCodecError, HttpConfig, Method, Outgoing, Request, Response,
    SameSite, ServerSentEvent, Version,
};
use workerman_protocols::Conversation;

const MAX_BODY: usize = 64 * 1024;

fn codec() -> HttpCodec {
    HttpCodec::new(HttpConfig::default().date_header(false), MAX_BODY)
}

fn decode_all(codec: &mut HttpCodec, bytes: &[u8]) -> Vec<Request> {
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(req) = codec.decode(&mut buf).unwrap() {
        out.push(req);
    }
    assert!(
        buf.is_empty(),
        "left over: {:?}",
        String::from_utf8_lossy(&buf)
    );
    out
}

fn decode_one(bytes: &[u8]) -> Request {
    let mut c = codec();
    let mut v = decode_all(&mut c, bytes);
    assert_eq!(v.len(), 1);
    v.remove(0)
}

fn encode(codec: &mut HttpCodec, msg: impl Into<Outgoing>) -> String {
    let mut out = BytesMut::new();
    codec.encode(msg.into(), &mut out).unwrap();
    String::from_utf8(out.to_vec()).unwrap()
}

/// Decodes `bytes` until an error, which it returns with the codec's answer.
fn refuse(bytes: &[u8]) -> (HttpCodecError, String) {
    refuse_with(&mut codec(), bytes)
}

fn refuse_with(c: &mut HttpCodec, bytes: &[u8]) -> (HttpCodecError, String) {
    let mut buf = BytesMut::from(bytes);
    loop {
        match c.decode(&mut buf) {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("accepted or waiting: {:?}", String::from_utf8_lossy(bytes)),
            Err(e) => {
                let answer = c.error_response(&e).expect("an answer");
                assert!(c.wants_close());
                return (e, String::from_utf8(answer.to_vec()).unwrap());
            }
        }
    }
}

fn status_of(answer: &str) -> u16 {
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    answer[9..12].parse().unwrap()
}

// ---------------------------------------------------------------------------
// Spec B.5: the exact bytes

#[test]
fn b5_send_string() {
    let mut c = codec();
    decode_all(&mut c, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        encode(&mut c, "hi"),
        "HTTP/1.1 200 OK\r\nServer: workerman\r\nConnection: keep-alive\r\n\
         Content-Type: text/html;charset=utf-8\r\nContent-Length: 2\r\n\r\nhi"
    );
    assert!(!c.wants_close());
}

#[test]
fn b5_response_404_and_chunks_and_events() {
    let mut c = codec();
    decode_all(&mut c, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    // Workerman's no-header fast path puts Content-Length before
    // Connection; we use one order for every response.
    assert_eq!(
        encode(&mut c, Response::new(404).with_body("x")),
        "HTTP/1.1 404 Not Found\r\nServer: workerman\r\nConnection: keep-alive\r\n\
         Content-Type: text/html;charset=utf-8\r\nContent-Length: 1\r\n\r\nx"
    );
    decode_all(&mut c, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    encode(&mut c, Response::new(200).chunked());
    assert_eq!(encode(&mut c, Chunk::new("hello")), "5\r\nhello\r\n");
    assert_eq!(encode(&mut c, Chunk::new("")), "0\r\n\r\n");
    assert_eq!(
        ServerSentEvent::new("some thing")
            .event("ping")
            .id("1000")
            .retry(5000)
            .to_bytes(),
        "event: ping\nid: 1000\nretry: 5000\ndata: some thing\n\n"
    );
}

#[test]
fn date_and_server_headers() {
    let mut c = HttpCodec::new(HttpConfig::default(), MAX_BODY);
    decode_all(&mut c, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let out = encode(&mut c, Response::text("x"));
    let date = out
        .lines()
        .find_map(|l| l.strip_prefix("Date: "))
        .expect("a Date header");
    assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
    decode_all(&mut c, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let out = encode(
        &mut c,
        Response::text("x")
            .with_header("Server", "mine")
            .with_header("Date", "yesterday"),
    );
    assert!(out.contains("Server: mine\r\n") && !out.contains("workerman"));
    assert!(out.contains("Date: yesterday\r\n"));
}

// ---------------------------------------------------------------------------
// Framing

const CHUNKED_REQUEST: &[u8] = b"POST /upload?x=1 HTTP/1.1\r\nHost: example.com\r\n\
    Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n\
    5;ext=1\r\nhello\r\n7\r\n, world\r\n00000\r\nX-Checksum: abc\r\n\r\n";

fn check_chunked(req: &Request) {
    assert_eq!(req.method(), Method::Post);
    assert_eq!(req.path(), "/upload");
    assert_eq!(req.get("x"), Some("1"));
    assert_eq!(&req.body()[..], b"hello, world");
    assert_eq!(req.trailer("x-checksum"), Some(&b"abc"[..]));
}

#[test]
fn chunked_request_split_at_every_byte() {
    // One complete request, fed in two parts at every split point.
    for split in 0..=CHUNKED_REQUEST.len() {
        let mut c = codec();
        let mut buf = BytesMut::from(&CHUNKED_REQUEST[..split]);
        let first = c.decode(&mut buf).unwrap();
        let req = match first {
            Some(req) => {
                assert_eq!(split, CHUNKED_REQUEST.len());
                req
            }
            None => {
                buf.extend_from_slice(&CHUNKED_REQUEST[split..]);
                c.decode(&mut buf)
                    .unwrap()
                    .unwrap_or_else(|| panic!("split {split}: incomplete"))
            }
        };
        check_chunked(&req);
        assert!(buf.is_empty(), "split {split}");
    }
    // And one byte at a time.
    let mut c = codec();
    let mut buf = BytesMut::new();
    let mut got = None;
    for (i, &b) in CHUNKED_REQUEST.iter().enumerate() {
        buf.extend_from_slice(&[b]);
        if let Some(req) = c.decode(&mut buf).unwrap() {
            assert_eq!(i, CHUNKED_REQUEST.len() - 1);
            got = Some(req);
        }
    }
    check_chunked(&got.expect("decoded"));
}

#[test]
fn content_length_split_at_every_byte() {
    let req = b"PUT /r HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789";
    for split in 0..req.len() {
        let mut c = codec();
        let mut buf = BytesMut::from(&req[..split]);
        assert!(c.decode(&mut buf).unwrap().is_none(), "split {split}");
        buf.extend_from_slice(&req[split..]);
        let r = c.decode(&mut buf).unwrap().unwrap();
        assert_eq!(&r.body()[..], b"0123456789");
    }
}

#[test]
fn many_pipelined_requests_in_one_buffer() {
    let mut wire = Vec::new();
    for i in 0..200 {
        match i % 4 {
            0 => wire.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes()),
            1 => wire.extend_from_slice(
                format!("POST /{i} HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc").as_bytes(),
            ),
            2 => wire.extend_from_slice(
                format!(
                    "POST /{i} HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
                )
                .as_bytes(),
            ),
            _ => wire.extend_from_slice(format!("HEAD /{i} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes()),
        }
    }
    let mut c = codec();
    let reqs = decode_all(&mut c, &wire);
    assert_eq!(reqs.len(), 200);
    assert_eq!(c.awaiting_responses(), 200);
    for (i, r) in reqs.iter().enumerate() {
        assert_eq!(r.path(), format!("/{i}"));
        let body: &[u8] = match i % 4 {
            1 => b"abc",
            2 => b"xy",
            _ => b"",
        };
        assert_eq!(&r.body()[..], body);
    }
    // Answered in order: every HEAD answer has no body.
    for i in 0..200 {
        let out = encode(&mut c, Response::text(format!("r{i}")));
        let has_body = out.ends_with(&format!("r{i}"));
        assert_eq!(has_body, i % 4 != 3, "{out}");
        assert!(out.contains("Content-Length: "));
    }
    assert!(!c.wants_close());
}

#[test]
fn leading_empty_lines_and_bare_lf_heads() {
    let r = decode_one(b"\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(r.path(), "/x");
    let r = decode_one(b"GET /y HTTP/1.1\nHost: h\n\n");
    assert_eq!(r.path(), "/y");
}

// ---------------------------------------------------------------------------
// Keep-alive

#[test]
fn keep_alive_rules() {
    let cases: [(&[u8], bool); 6] = [
        (b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            false,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, CLOSE\r\n\r\n",
            false,
        ),
        (b"GET / HTTP/1.0\r\n\r\n", false),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
        (b"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", false),
    ];
    for (wire, keep) in cases {
        let mut c = codec();
        let req = decode_all(&mut c, wire).remove(0);
        assert_eq!(req.keep_alive(), keep);
        let out = encode(&mut c, Response::text("x"));
        let want = if keep {
            "Connection: keep-alive\r\n"
        } else {
            "Connection: close\r\n"
        };
        assert!(out.contains(want), "{out}");
        assert_eq!(c.wants_close(), !keep);
    }
}

#[test]
fn response_connection_close_is_honoured() {
    let mut c = codec();
    decode_all(&mut c, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let out = encode(
        &mut c,
        Response::text("x").with_header("Connection", "close"),
    );
    assert_eq!(out.matches("Connection:").count(), 1);
    assert!(c.wants_close());
    // A keep-alive header cannot keep a connection the request closes.
    let mut c = codec();
    decode_all(&mut c, b"GET / HTTP/1.0\r\n\r\n");
    let out = encode(
        &mut c,
        Response::text("x").with_header("Connection", "keep-alive"),
    );
    assert!(out.contains("Connection: close\r\n") && !out.contains("keep-alive"));
}

#[test]
fn nothing_is_read_after_a_closing_request() {
    let mut c = codec();
    let mut buf = BytesMut::from(
        &b"GET /1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"[..],
    );
    assert_eq!(c.decode(&mut buf).unwrap().unwrap().path(), "/1");
    assert!(c.decode(&mut buf).unwrap().is_none());
    assert!(buf.is_empty());
    assert_eq!(c.read_timeout(), None);
}

#[test]
fn head_requests_get_no_body() {
    let mut c = codec();
    decode_all(&mut c, b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n");
    let out = encode(&mut c, Response::text("hello"));
    assert!(out.ends_with("Content-Length: 5\r\n\r\n"), "{out}");
    // A streamed answer to HEAD: head only, the chunks are dropped.
    decode_all(&mut c, b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n");
    encode(&mut c, Response::new(200).chunked());
    assert_eq!(encode(&mut c, Chunk::new("dropped")), "");
    assert_eq!(encode(&mut c, Chunk::end()), "");
    assert!(!c.is_streaming());
}

#[test]
fn no_body_statuses() {
    let mut c = codec();
    decode_all(
        &mut c,
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    let out = encode(&mut c, Response::new(304).with_body("ignored"));
    assert!(out.ends_with("keep-alive\r\n\r\n"), "{out}");
    let out = encode(&mut c, Response::new(204));
    assert!(!out.contains("Content-Length") && !out.contains("Content-Type"));
}

#[test]
fn expect_100_continue() {
    let mut c = codec();
    let mut buf = BytesMut::from(
        &b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"[..],
    );
    assert!(c.decode(&mut buf).unwrap().is_none());
    let mut out = BytesMut::new();
    c.poll_output(&mut out);
    assert_eq!(&out[..], b"HTTP/1.1 100 Continue\r\n\r\n");
    buf.extend_from_slice(b"abc");
    assert_eq!(&c.decode(&mut buf).unwrap().unwrap().body()[..], b"abc");
    // Too large: 413 instead, without the body.
    let (e, answer) = refuse(
        b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 999999\r\n\r\n",
    );
    assert!(matches!(e, HttpCodecError::BodyTooLarge { .. }));
    assert_eq!(status_of(&answer), 413);
    // Other expectations: 417.
    let (_, answer) = refuse(b"POST / HTTP/1.1\r\nHost: h\r\nExpect: tea\r\n\r\n");
    assert_eq!(status_of(&answer), 417);
}

// ---------------------------------------------------------------------------
// Streams

#[test]
fn chunked_stream_and_pipelining_behind_it() {
    let mut c = codec();
    let mut buf = BytesMut::from(
        &b"GET /stream HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n"[..],
    );
    assert_eq!(c.decode(&mut buf).unwrap().unwrap().path(), "/stream");
    let head = encode(&mut c, Response::new(200).with_body("first").chunked());
    assert!(head.contains("Transfer-Encoding: chunked\r\n") && !head.contains("Content-Length"));
    assert!(head.ends_with("\r\n\r\n5\r\nfirst\r\n"), "{head}");
    // The next request waits while the stream is open.
    assert!(c.decode(&mut buf).unwrap().is_none());
    assert_eq!(c.read_timeout(), None);
    assert!(matches!(
        c.encode(Response::text("x"), &mut BytesMut::new()),
        Err(HttpCodecError::StreamInProgress)
    ));
    assert_eq!(
        encode(&mut c, ServerSentEvent::new("e")),
        "9\r\ndata: e\n\n\r\n"
    );
    assert_eq!(encode(&mut c, Chunk::end()), "0\r\n\r\n");
    assert!(!c.wants_close());
    assert_eq!(c.decode(&mut buf).unwrap().unwrap().path(), "/next");
    // Chunks without a stream are refused.
    assert!(matches!(
        c.encode(Chunk::new("x"), &mut BytesMut::new()),
        Err(HttpCodecError::NoStreamOpen)
    ));
}

#[test]
fn chunked_stream_to_http10_is_delimited_by_close() {
    let mut c = codec();
    decode_all(&mut c, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let head = encode(&mut c, Response::new(200).chunked());
    assert!(!head.contains("Transfer-Encoding") && head.contains("Connection: close"));
    assert_eq!(encode(&mut c, Chunk::new("raw")), "raw");
    assert!(!c.wants_close());
    assert_eq!(encode(&mut c, Chunk::end()), "");
    assert!(c.wants_close());
}

#[test]
fn sized_stream() {
    let mut c = codec();
    decode_all(&mut c, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let head = encode(
        &mut c,
        Response::new(200)
            .with_header("Content-Type", "application/octet-stream")
            .sized_stream(6),
    );
    assert!(head.contains("Content-Length: 6\r\n"));
    assert_eq!(encode(&mut c, Chunk::new("abc")), "abc");
    assert!(matches!(
        c.encode(Chunk::new("defg"), &mut BytesMut::new()),
        Err(HttpCodecError::BodyOverflow { declared: 3 })
    ));
    assert_eq!(encode(&mut c, Chunk::new("def")), "def");
    assert!(!c.is_streaming() && !c.wants_close());
    // Ended short: the connection must close.
    decode_all(&mut c, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    encode(&mut c, Response::new(200).sized_stream(10));
    encode(&mut c, Chunk::new("abc"));
    encode(&mut c, Chunk::end());
    assert!(c.wants_close());
}

#[test]
fn event_stream() {
    let mut c = codec();
    decode_all(&mut c, b"GET /events HTTP/1.1\r\nHost: h\r\n\r\n");
    let head = encode(&mut c, Response::event_stream());
    assert!(head.contains("Content-Type: text/event-stream\r\n"));
    assert!(head.contains("Cache-Control: no-cache\r\n"));
    assert!(!head.contains("Content-Length") && !head.contains("Transfer-Encoding"));
    assert!(head.ends_with("\r\n\r\n"));
    assert_eq!(c.read_timeout(), None, "no idle timeout on a live stream");
    assert_eq!(
        encode(
            &mut c,
            ServerSentEvent::new("x\r\ny").event("a\nb").comment("hi")
        ),
        ": hi\nevent: ab\ndata: x\ndata: y\n\n"
    );
    // Workerman's form: the content type on a plain response.
    let mut c = codec();
    decode_all(&mut c, b"GET /events HTTP/1.1\r\nHost: h\r\n\r\n");
    let head = encode(
        &mut c,
        Response::new(200)
            .with_header("Content-Type", "text/event-stream")
            .with_body("\r\n"),
    );
    assert!(head.ends_with("\r\n\r\n") && !head.contains("Content-Length"));
    assert!(c.is_streaming());
}

#[test]
fn workerman_chunked_header_starts_a_stream() {
    let mut c = codec();
    decode_all(&mut c, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let head = encode(
        &mut c,
        Response::new(200)
            .with_header("Transfer-Encoding", "chunked")
            .with_body("hi"),
    );
    assert_eq!(head.matches("Transfer-Encoding").count(), 1);
    assert!(head.ends_with("\r\n\r\n2\r\nhi\r\n"));
    assert!(c.is_streaming());
}

// ---------------------------------------------------------------------------
// Responses

#[test]
fn header_injection_is_dropped() {
    let mut c = codec();
    decode_all(&mut c, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let out = encode(
        &mut c,
        Response::text("x")
            .with_header("X-Ok", "fine")
            .with_header("X-Evil", "a\r\nSet-Cookie: pwned=1")
            .with_header("Bad Name", "v")
            .with_reason("Fine\r\nX: y"),
    );
    assert!(out.starts_with("HTTP/1.1 200 FineX: y\r\n"));
    assert!(out.contains("X-Ok: fine\r\n"));
    assert!(!out.contains("pwned") && !out.contains("Bad Name"));
}

#[test]
fn cookies_on_responses() {
    let mut c = codec();
    decode_all(&mut c, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let out = encode(
        &mut c,
        Response::text("x")
            .with_cookie(Cookie::new("a", "1 2;3").path("/").secure(true))
            .with_cookie(
                Cookie::new("b", "v")
                    .max_age(Duration::from_secs(60))
                    .domain("example.com")
                    .http_only(true)
                    .same_site(SameSite::Strict),
            )
            .with_cookie(Cookie::removal("old")),
    );
    assert!(
        out.contains("Set-Cookie: a=1%202%3B3; Path=/; Secure\r\n"),
        "{out}"
    );
    assert!(out.contains(
        "Set-Cookie: b=v; Max-Age=60; Domain=example.com; HttpOnly; SameSite=Strict\r\n"
    ));
    assert!(out.contains("Set-Cookie: old=; Max-Age=0\r\n"));
    // What a browser sends back decodes to the value.
    let r = decode_one(b"GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1%202%3B3; b=\"q\"\r\n\r\n");
    assert_eq!(r.cookie("a"), Some("1 2;3"));
    assert_eq!(r.cookie("b"), Some("q"));
}

// ---------------------------------------------------------------------------
// The request API

#[test]
fn request_accessors() {
    let r = decode_one(
        b"GET http://example.com:8080/a%20b/c?x=1&y=%E2%82%AC&x=2&list[]=a&list[]=b HTTP/1.1\r\n\
          Host: example.com:8080\r\nX-Multi: one\r\nx-multi: two\r\n\
          X-Requested-With: XMLHttpRequest\r\nCookie: k=v\r\nCookie: k2=v2\r\n\r\n",
    );
    assert_eq!(r.version(), Version::Http11);
    assert_eq!(r.path(), "/a%20b/c");
    assert_eq!(r.query_string(), "x=1&y=%E2%82%AC&x=2&list[]=a&list[]=b");
    assert_eq!(r.get("x"), Some("2"));
    assert_eq!(r.get("y"), Some("\u{20ac}"));
    assert_eq!(r.query().get_all("list[]").collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(r.header("x-MULTI"), Some("one"));
    assert_eq!(r.header_all("X-Multi").count(), 2);
    assert_eq!(r.host_without_port(), Some("example.com"));
    assert!(r.is_ajax());
    assert_eq!(r.cookie("k2"), Some("v2"));
    assert_eq!(r.headers().count(), 6);
    assert!(r.raw_head().ends_with(b"\r\n\r\n"));
    let r = decode_one(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(r.path(), "*");
    let r = decode_one(b"GET http://h HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!((r.path(), r.query_string()), ("/", ""));
    let r = decode_one(b"GET /v6 HTTP/1.1\r\nHost: [::1]:80\r\n\r\n");
    assert_eq!(r.host_without_port(), Some("[::1]"));
}

#[test]
fn urlencoded_and_json_forms() {
    let r = decode_one(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 20\r\n\r\na=1+2&b=%26&c&a=last",
    );
    assert_eq!(r.post("a"), Some("last"));
    assert_eq!(r.post("b"), Some("&"));
    assert_eq!(r.post("c"), Some(""));
    let r = decode_one(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n\
          Content-Length: 7\r\n\r\n{\"a\":1}",
    );
    assert!(r.form().is_empty());
    assert_eq!(&r.body()[..], b"{\"a\":1}");
}

#[test]
fn multipart_form_with_files() {
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHello\r\n\
        --XyZ\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"../../a.txt\"\r\n\
        Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n\
        --XyZ\r\nContent-Disposition: form-data; name=\"bin\"; filename=\"b.bin\"\r\n\
        Content-Type: application/octet-stream\r\n\r\n\x00\x01\x02\r\n\
        --XyZ\r\nContent-Disposition: form-data; name=\"empty\"; filename=\"\"\r\n\r\n\r\n\
        --XyZ--\r\n";
    let wire = format!(
        "POST /up HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let r = decode_one(wire.as_bytes());
    assert_eq!(r.post("title"), Some("Hello"));
    assert_eq!(r.files().len(), 2, "the empty file input is skipped");
    let doc = r.file("doc").unwrap();
    assert_eq!(doc.file_name(), "a.txt");
    assert_eq!(doc.content_type(), "text/plain");
    assert_eq!(&doc.data()[..], b"line1\r\nline2");
    let bin = r.file("bin").unwrap();
    assert_eq!((bin.size(), &bin.data()[..]), (3, &b"\x00\x01\x02"[..]));
    assert!(r.file("missing").is_none());
}

// ---------------------------------------------------------------------------
// Bad input: each gets its status and a close

#[test]
fn malformed_request_lines_and_headers_get_400() {
    let cases: &[&[u8]] = &[
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\nHost: h\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / FOO/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n",
        b"GET / HTTP/1.1\r\n: empty name\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
        b"GET nope HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET * HTTP/1.1\r\nHost: h\r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1,1\r\n\r\n",
    ];
    for wire in cases {
        let (e, answer) = refuse(wire);
        assert_eq!(
            status_of(&answer),
            400,
            "{:?} -> {e}",
            String::from_utf8_lossy(wire)
        );
        assert_eq!(
            answer,
            "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        );
    }
}

#[test]
fn smuggling_shapes_get_400() {
    let cases: &[&[u8]] = &[
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n",
    ];
    for wire in cases {
        let (e, answer) = refuse(wire);
        assert!(e.is_smuggling(), "{:?}: {e}", String::from_utf8_lossy(wire));
        assert_eq!(status_of(&answer), 400);
    }
    // The same length twice is one length.
    let r = decode_one(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
    );
    assert_eq!(&r.body()[..], b"ok");
}

#[test]
fn malformed_chunks_get_400() {
    let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    for body in [
        "zz\r\n",
        "5\nhello\r\n0\r\n\r\n",
        "5\r\nhelloXX0\r\n\r\n",
        "5x\r\nhello\r\n",
        "5;a\rb\r\nhello\r\n",
        "\r\n",
        "10000000000000000\r\n",
        "0\r\nbad trailer\r\n\r\n",
    ] {
        let (e, answer) = refuse(format!("{head}{body}").as_bytes());
        assert_eq!(status_of(&answer), 400, "{body:?}: {e}");
    }
}

#[test]
fn oversize_heads_get_431() {
    // Complete but too large.
    let big = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
        "a".repeat(16 * 1024)
    );
    let (e, answer) = refuse(big.as_bytes());
    assert!(matches!(e, HttpCodecError::HeadTooLarge { max: 16384 }));
    assert_eq!(status_of(&answer), 431);
    // Never ending: refused as soon as the limit is reached.
    let mut c = codec();
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: "[..]);
    assert!(c.decode(&mut buf).unwrap().is_none());
    buf.extend_from_slice(&[b'a'; 16 * 1024]);
    let e = c.decode(&mut buf).unwrap_err();
    assert_eq!(e.status(), Some(431));
    // Too many header lines.
    let mut many = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
    for i in 0..101 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let (e, answer) = refuse(many.as_bytes());
    assert!(matches!(e, HttpCodecError::TooManyHeaders { max: 100 }));
    assert_eq!(status_of(&answer), 431);
}

#[test]
fn oversize_bodies_get_413_without_reading_them() {
    // Announced by Content-Length: refused from the head alone.
    let mut c = codec();
    let mut buf = BytesMut::from(
        format!(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        )
        .as_bytes(),
    );
    let e = c.decode(&mut buf).unwrap_err();
    assert!(matches!(e, HttpCodecError::BodyTooLarge { max: MAX_BODY }));
    assert_eq!(
        &c.error_response(&e).unwrap()[..],
        b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    // Exactly at the limit is fine.
    let mut c = codec();
    let mut buf = BytesMut::from(
        format!("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {MAX_BODY}\r\n\r\n").as_bytes(),
    );
    buf.extend_from_slice(&vec![b'x'; MAX_BODY]);
    assert_eq!(c.decode(&mut buf).unwrap().unwrap().body().len(), MAX_BODY);
    // Chunked: refused at the chunk that crosses the limit.
    let mut c = codec();
    let mut buf =
        BytesMut::from(&b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"[..]);
    buf.extend_from_slice(format!("{:x}\r\n", MAX_BODY / 2).as_bytes());
    buf.extend_from_slice(&vec![b'x'; MAX_BODY / 2]);
    buf.extend_from_slice(format!("\r\n{:x}\r\n", MAX_BODY / 2 + 1).as_bytes());
    let e = c.decode(&mut buf).unwrap_err();
    assert_eq!(e.status(), Some(413));
}

#[test]
fn unsupported_methods_get_501_and_versions_505() {
    for m in ["CONNECT", "TRACE", "PROPFIND", "get"] {
        let (e, answer) = refuse(format!("{m} / HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes());
        assert!(matches!(e, HttpCodecError::MethodNotImplemented), "{m}");
        assert_eq!(status_of(&answer), 501);
    }
    let (_, answer) =
        refuse(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    assert_eq!(status_of(&answer), 501);
    for v in ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.0"] {
        let (e, answer) = refuse(format!("GET / {v}\r\nHost: h\r\n\r\n").as_bytes());
        assert!(matches!(e, HttpCodecError::VersionNotSupported), "{v}");
        assert!(answer.starts_with("HTTP/1.1 505 HTTP Version Not Supported\r\n"));
    }
}

#[test]
fn slowloris_and_idle_deadlines() {
    let config = HttpConfig::default()
        .head_timeout(Duration::from_secs(5))
        .body_timeout(Duration::from_secs(7))
        .keep_alive_timeout(Some(Duration::from_secs(9)));
    let mut c = HttpCodec::new(config, MAX_BODY);
    // Idle: the keep-alive timeout; no answer when it passes.
    assert_eq!(c.read_timeout(), Some(Duration::from_secs(9)));
    // A head started: what is left of the head deadline.
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHo"[..]);
    assert!(c.decode(&mut buf).unwrap().is_none());
    let left = c.read_timeout().unwrap();
    assert!(left <= Duration::from_secs(5) && left > Duration::from_secs(4));
    // More bytes do not restart it.
    std::thread::sleep(Duration::from_millis(20));
    buf.extend_from_slice(b"s");
    assert!(c.decode(&mut buf).unwrap().is_none());
    assert!(c.read_timeout().unwrap() < left);
    // A body arriving: the body timeout.
    buf.extend_from_slice(b"t: h\r\nContent-Length: 5\r\n\r\nab");
    assert!(c.decode(&mut buf).unwrap().is_none());
    assert_eq!(c.read_timeout(), Some(Duration::from_secs(7)));
    assert_eq!(
        &c.timeout_response().unwrap()[..],
        b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    assert!(c.wants_close());
    // While the handler owes a response, no deadline.
    let mut c = codec();
    decode_all(&mut c, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(c.read_timeout(), None);
    encode(&mut c, Response::text("x"));
    assert_eq!(c.read_timeout(), Some(Duration::from_secs(60)));
    assert!(
        c.timeout_response().is_none(),
        "idle: closed without an answer"
    );
}

#[test]
fn a_head_arriving_byte_by_byte_is_parsed_once_complete() {
    let wire = format!(
        "GET / HTTP/1.1\r\nHost: h\r\n{}\r\n",
        "X-Pad: 0123456789\r\n".repeat(500)
    );
    let mut c = HttpCodec::new(
        HttpConfig::default()
            .max_headers(256)
            .max_head_size(64 * 1024),
        MAX_BODY,
    );
    let mut buf = BytesMut::new();
    let start = std::time::Instant::now();
    let mut done = false;
    for &b in wire.as_bytes() {
        buf.extend_from_slice(&[b]);
        match c.decode(&mut buf) {
            Ok(Some(_)) => done = true,
            Ok(None) => {}
            Err(e) => {
                // 501 headers > 256: refused once complete, not earlier.
                assert!(matches!(e, HttpCodecError::TooManyHeaders { .. }));
                assert!(buf.ends_with(b"\r\n\r\n"));
                done = true;
            }
        }
    }
    assert!(done);
    // Quadratic re-parsing of a 10 KB head would take far longer.
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// A small deterministic fuzz: valid requests mutated (bytes flipped,
/// inserted, removed, truncated) and fed in random pieces must never make
/// the codec panic, and whatever it accepts must be answerable.
#[test]
fn mutated_requests_never_panic() {
    let seeds: [&[u8]; 5] = [
        CHUNKED_REQUEST,
        b"GET /a?b=c&d=%20 HTTP/1.1\r\nHost: h:80\r\nCookie: a=b; c=\"d\"\r\n\r\n",
        b"POST /f HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=X\r\n\
          Content-Length: 96\r\n\r\n--X\r\nContent-Disposition: form-data; name=\"a\"; filename=\"b\"\r\n\r\nbody\r\n--X--\r\n",
        b"GET http://h/x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    ];
    let alphabet = b"\r\n :;,=-0123456789aAfFxX\"%/?\x00\x7f\xff";
    let mut state: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..20_000 {
        let mut input = seeds[round % seeds.len()].to_vec();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % (input.len() + 1);
            match next() % 4 {
                0 if at < input.len() => input[at] = alphabet[(next() as usize) % alphabet.len()],
                1 => input.insert(at, alphabet[(next() as usize) % alphabet.len()]),
                2 if at < input.len() => {
                    input.remove(at);
                }
                _ => input.truncate(at),
            }
        }
        let mut c = HttpCodec::new(HttpConfig::default(), 4096);
        let mut buf = BytesMut::new();
        let mut rest = &input[..];
        while !rest.is_empty() {
            let n = 1 + (next() as usize) % rest.len();
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            match c.decode(&mut buf) {
                Ok(Some(req)) => {
                    // Touch the lazy parts too.
                    let _ = (req.query().len(), req.form().len(), req.files().len());
                    let _ = (
                        req.cookies().len(),
                        req.host_without_port(),
                        req.trailers().count(),
                    );
                    let mut out = BytesMut::new();
                    c.encode(Response::text("ok"), &mut out).unwrap();
                }
                Ok(None) => {}
                Err(e) => {
                    let _ = c.error_response(&e);
                    break;
                }
            }
        }
    }
}

#[test]
fn content_length_announcing_much_reserves_nothing() {
    // 9 MiB announced (under a 10 MiB limit), 1 KiB sent: the buffer holds
    // what arrived, nothing for what the head only announced.
    let mut c = HttpCodec::new(HttpConfig::default(), 10 << 20);
    let mut buf = BytesMut::new();
    buf.extend_from_slice(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 9437184\r\n\r\n");
    buf.extend_from_slice(&[7u8; 1024]);
    let cap = buf.capacity();
    assert!(c.decode(&mut buf).unwrap().is_none());
    // (The head was consumed: what remains is at most what there was.)
    assert!(buf.capacity() <= cap, "{} > {cap}", buf.capacity());
    assert!(buf.capacity() < 64 * 1024);
    // The body still completes as it arrives.
    buf.extend_from_slice(&vec![7u8; 9437184 - 1024]);
    let req = c.decode(&mut buf).unwrap().expect("the whole body");
    assert_eq!(req.body().len(), 9437184);
}
