//! Writes the seed corpus to `fuzz/corpus/<target>/` (or to the folder
//! given as the first argument): inputs shaped like those of the
//! repository's tests (`workerman-protocols/tests/{codecs,http,websocket}.rs`,
//! the unit tests of the codecs, `workerman-channel/tests/channel.rs`,
//! `workerman-globaldata/tests/global_data.rs` and the wire unit tests),
//! wrapped in the harness' input layout: two config bytes, a split-count
//! byte, the stream, the split lengths.
//!
//! Deterministic: masks are fixed, so running it twice writes the same
//! files (named by a hash of their contents).

use std::path::{Path, PathBuf};

/// The harness layout: config, stream, split lengths.
fn input(cfg0: u8, cfg1: u8, stream: &[u8], splits: &[u8]) -> Vec<u8> {
    let mut v = vec![cfg0, cfg1, splits.len() as u8];
    v.extend_from_slice(stream);
    v.extend_from_slice(splits);
    v
}

/// A WebSocket frame; masked with `key` when given.
fn ws_frame(fin: bool, rsv1: bool, opcode: u8, payload: &[u8], key: Option<[u8; 4]>) -> Vec<u8> {
    let mut v = vec![(u8::from(fin) << 7) | (u8::from(rsv1) << 6) | opcode];
    let mask = if key.is_some() { 0x80 } else { 0 };
    let n = payload.len();
    if n < 126 {
        v.push(mask | n as u8);
    } else if n <= 0xffff {
        v.push(mask | 126);
        v.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        v.push(mask | 127);
        v.extend_from_slice(&(n as u64).to_be_bytes());
    }
    match key {
        Some(k) => {
            v.extend_from_slice(&k);
            v.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => v.extend_from_slice(payload),
    }
    v
}

/// A client frame (masked).
fn cf(fin: bool, rsv1: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    ws_frame(fin, rsv1, opcode, payload, Some([1, 2, 3, 4]))
}

/// A server frame (plain).
fn sf(fin: bool, rsv1: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    ws_frame(fin, rsv1, opcode, payload, None)
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// RFC 7692 7.2.3.1: "Hello" compressed.
const HELLO_DEFLATED: &[u8] = &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn text() -> Vec<Vec<u8>> {
    let long = vec![b'a'; 300];
    vec![
        input(6, 0, b"one\ntwo\n", &[]),
        input(6, 0, b"hello\r\nwor", &[2]),
        input(6, 0, b"abc\r\n\r\nabc\r\r\n  inner  \n", &[0, 1]),
        input(3, 0, b"0123456789abcdef\n0123456789abcde\n", &[3]),
        input(5, 0, &cat(&[&long, b"\n"]), &[130]),
        input(7, 0, b"\xff\xfe not utf-8\n\n\n", &[]),
        input(1, 0, b"\n", &[]),
    ]
}

fn frame_seeds() -> Vec<Vec<u8>> {
    vec![
        input(6, 0, b"\x00\x00\x00\x09jhdxr", &[]),
        input(6, 0, b"\x00\x00\x00\x04\x00\x00\x00\x05x", &[0]),
        input(6, 0, b"\x00\x00\x00\x00", &[]),
        input(3, 0, b"\x00\x00\x00\x20short", &[]),
        input(6, 0, b"\xff\xff\xff\xff", &[]),
        input(
            7,
            0,
            &cat(&[&frame(b"hello"), &frame(b""), &frame(&[7; 200])]),
            &[4, 200],
        ),
    ]
}

fn websocket_server() -> Vec<Vec<u8>> {
    // cfg0: bit0 deflate, bits1-3 limit index, bit4 control messages,
    // bit5 handshake messages, bits6-7 head limit; cfg1: bits0-1 canned
    // upgrade (1 plain, 2 deflate), bit2 reject, bit4 allowed origins.
    let hi = cf(true, false, 1, b"Hi");
    let lim1k = 5 << 1;
    let full_head = 0xc0;
    vec![
        // The doc example: the head, then a masked "Hi".
        input(lim1k | full_head, 0, &cat(&[REQUEST, &hi]), &[]),
        input(lim1k | full_head, 0, &cat(&[REQUEST, &hi]), &[5, 40]),
        // Fragments, a ping between them, a close.
        input(
            lim1k | full_head | 0x10,
            1,
            &cat(&[
                &cf(false, false, 1, b"frag"),
                &cf(true, false, 9, b"ping"),
                &cf(true, false, 0, b"ment"),
                &cf(true, false, 2, &[0u8; 300]),
                &cf(true, false, 8, b"\x03\xe8bye"),
            ]),
            &[1, 9],
        ),
        // Too large, unmasked, reserved bits and opcodes, bad close.
        input(2 << 1 | full_head, 1, &cf(true, false, 1, &[b'x'; 20]), &[]),
        input(lim1k | full_head, 1, &sf(true, false, 1, b"unmasked"), &[]),
        input(lim1k | full_head, 1, &cf(true, true, 1, b"rsv1"), &[]),
        input(lim1k | full_head, 1, &cf(true, false, 3, b""), &[]),
        input(lim1k | full_head, 1, &cf(true, false, 8, b"\x03"), &[]),
        input(lim1k | full_head, 1, &cf(true, false, 8, b"\x03\xed"), &[]),
        input(lim1k | full_head, 1, &cf(true, false, 1, b"\xff\xfe"), &[]),
        input(lim1k | full_head, 1, &cf(false, false, 9, b"x"), &[]),
        input(lim1k | full_head, 1, &cf(true, false, 0, b"x"), &[]),
        input(lim1k | full_head, 1, &cf(true, false, 2, &[1; 70_000]), &[200]),
        // permessage-deflate: RFC 7692's "Hello", twice with context.
        input(
            lim1k | full_head | 1,
            2,
            &cat(&[
                &cf(true, true, 1, HELLO_DEFLATED),
                &cf(true, true, 1, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
                &cf(true, true, 2, &[0xff, 0xff]),
            ]),
            &[],
        ),
        // Handshake messages: accepted, rejected; a plain GET.
        input(lim1k | full_head | 0x20, 1, &hi, &[]),
        input(lim1k | full_head | 0x20, 5, &hi, &[]),
        input(
            lim1k | full_head | 0x20,
            0,
            b"GET /page?x=1 HTTP/1.1\r\nHost: a\r\nCookie: session=abc; theme=dark\r\n\r\n",
            &[],
        ),
        // Refused upgrades: method, version, key, origin, head size.
        input(lim1k | full_head, 0, &cat(&[b"POST", &REQUEST[3..]]), &[]),
        input(
            lim1k | full_head,
            0x10,
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n\
Origin: https://evil.example\r\n\r\n",
            &[],
        ),
        input(
            lim1k,
            0,
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
            &[7],
        ),
        input(
            lim1k | full_head | 1,
            0,
            b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Protocol: v2.chat, chat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_max_window_bits=10, permessage-deflate\r\n\r\n",
            &[],
        ),
    ]
}

fn websocket_client() -> Vec<Vec<u8>> {
    // cfg1 & 3: 0 raw, 1 `{accept}` replaced, 2 canned 101, 3 canned 101
    // with permessage-deflate.
    let lim1k = 5 << 1;
    vec![
        input(lim1k, 2, &sf(true, false, 1, b"hello"), &[]),
        input(
            lim1k | 0x10,
            2,
            &cat(&[
                &sf(true, false, 9, b"hb"),
                &sf(false, false, 2, b"ab"),
                &sf(true, false, 0, b"cd"),
                &sf(true, false, 8, b"\x03\xe9going away"),
            ]),
            &[0, 3],
        ),
        input(lim1k, 2, &cf(true, false, 1, b"masked"), &[]),
        input(lim1k | 1, 3, &sf(true, true, 1, HELLO_DEFLATED), &[]),
        input(
            lim1k | 1,
            1,
            &cat(&[
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10; client_no_context_takeover\r\n\
Sec-WebSocket-Protocol: chat\r\n\r\n",
                &sf(true, false, 1, b"after"),
            ]),
            &[10],
        ),
        input(
            lim1k,
            1,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: other\r\n\r\n",
            &[],
        ),
        input(lim1k, 0, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", &[]),
        input(
            lim1k,
            0,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
            &[],
        ),
        input(2 << 1, 2, &sf(true, false, 2, &[0; 40]), &[]),
    ]
}

fn http() -> Vec<Vec<u8>> {
    // cfg0: bits0-1 body limit, 2-3 head limit, 4-5 header count, 6-7
    // response mode; cfg1: bits0-1 param limit, 2-3 upload limit.
    let big = 3 | 3 << 2 | 3 << 4;
    let multipart = b"POST /upload HTTP/1.1\r\nHost: example.com\r\n\
Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: 185\r\n\r\n\
preamble\r\n--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"C:\\dir\\f.bin\"\r\n\
Content-Type: application/octet-stream\r\n\r\n\x00\x01\r\n--X\r\n--XX--\r\n";
    vec![
        input(big | 1 << 6, 3, b"GET /hello?name=you HTTP/1.1\r\nHost: example.com\r\n\r\n", &[]),
        input(
            big | 1 << 6,
            3,
            b"POST /form?lang=en HTTP/1.1\r\nHost: example.com\r\n\
Content-Type: application/x-www-form-urlencoded\r\n\
Cookie: PHPSID=abc; theme=dark\r\nContent-Length: 13\r\n\r\nname=Ann&age=",
            &[5],
        ),
        input(big | 1 << 6, 0xf, multipart, &[20, 1]),
        input(
            big | 2 << 6,
            3,
            b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
5\r\nhello\r\n00F;name=value\r\n0123456789abcde\r\n0\r\nX-Checksum: abc\r\n\r\n",
            &[3, 0, 7],
        ),
        input(
            big | 1 << 6,
            3,
            b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.0\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n",
            &[],
        ),
        input(
            big | 1 << 6,
            3,
            b"PUT /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
            &[60],
        ),
        input(
            big | 1 << 6,
            3,
            b"GET /static/../etc/passwd HTTP/1.1\r\nHost: [::1]:8080\r\nRange: bytes=0-99\r\n\
If-Range: \"abc\"\r\nIf-None-Match: W/\"x\", *\r\nX-Forwarded-For: 203.0.113.7, 10.1.2.3\r\n\
X-Real-IP: 1.2.3.4\r\nX-Requested-With: XMLHttpRequest\r\n\r\n",
            &[],
        ),
        input(
            big,
            3,
            b"GET /f%2e%2e/%2E%2e/x HTTP/1.1\r\nHost: a\r\nRange: bytes=-500\r\n\
If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT\r\n\r\n",
            &[],
        ),
        input(
            big,
            3,
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
            &[],
        ),
        input(
            big,
            3,
            b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\nGET http://example.com/p?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
            &[],
        ),
        input(big, 3, b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", &[]),
        input(big, 3, b"BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", &[]),
        input(1, 3, b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999\r\n\r\n", &[]),
        input(
            big | 3 << 6,
            3,
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            &[],
        ),
        input(
            big | 1 << 6,
            0,
            b"GET /?a=1&b=%20&c=%zz&a[]=x&a[]=y HTTP/1.1\r\nHost: a\r\n\
Cookie: a=1; b=\"q\"; c=%41\r\nCookie: d=4\r\n\r\n",
            &[],
        ),
        input(
            0x3f,
            3,
            &vec![b'A'; 600],
            &[],
        ),
    ]
}

fn channel() -> Vec<Vec<u8>> {
    let bodies: [&[u8]; 11] = [
        br#"{"type":"subscribe","channels":["a","b"]}"#,
        br#"{"type":"unsubscribe","channels":["a"]}"#,
        br#"{"type":"publish","channels":["say \"x\""],"data":{"content":"hi","to":3}}"#,
        br#"{"type":"publish","channels":["a"],"data":null}"#,
        br#"{"type":"ping","id":7}"#,
        br#"{"type":"pong","id":7}"#,
        br#"{"type":"event","channel":"news","data":[1,2]}"#,
        br#"{"type":"nope"}"#,
        br#"{"type":"publish","channels":["a"]}"#,
        br#"{"type":"subscribe","channels":"a"}"#,
        b"\xff\xfe",
    ];
    let mut out: Vec<Vec<u8>> = bodies.iter().map(|b| input(3, 0, &frame(b), &[])).collect();
    let all: Vec<u8> = bodies.iter().flat_map(|b| frame(b)).collect();
    out.push(input(3, 0, &cat(&[&frame(b""), &all]), &[]));
    out
}

fn globaldata() -> Vec<Vec<u8>> {
    let bodies: [&[u8]; 11] = [
        br#"{"cmd":"get","key":"abc"}"#,
        br#"{"cmd":"set","key":"abc","value":[1,"x"]}"#,
        br#"{"cmd":"cas","key":"k","old":null,"value":1}"#,
        br#"{"cmd":"increment","key":"n","step":-2}"#,
        br#"{"cmd":"delete","key":"k"}"#,
        br#"{"cmd":"add","key":"visits","value":0}"#,
        br#"{"cmd":"isset","key":"visits"}"#,
        br#"{"ok":true}"#,
        br#"{"value":null}"#,
        br#"{"error":"bad_request"}"#,
        b"ping",
    ];
    let mut out: Vec<Vec<u8>> = bodies.iter().map(|b| input(3, 0, &frame(b), &[])).collect();
    let seq: Vec<u8> = [
        &br#"{"cmd":"set","key":"max","value":9223372036854775807}"#[..],
        br#"{"cmd":"increment","key":"max","step":1}"#,
        br#"{"cmd":"set","key":"f","value":{"b":[{"z":1,"a":2}],"a":"\"q\""}}"#,
        br#"{"cmd":"cas","key":"f","old":{"a":"\"q\"","b":[{"a":2,"z":1}]},"value":0.1}"#,
        br#"{"cmd":"get","key":"f"}"#,
        b"",
    ]
    .iter()
    .flat_map(|b| frame(b))
    .collect();
    out.push(input(3, 0, &seq, &[]));
    out
}

fn write(root: &Path, target: &str, seeds: Vec<Vec<u8>>) -> std::io::Result<()> {
    let dir = root.join(target);
    std::fs::create_dir_all(&dir)?;
    for s in seeds {
        let name = format!("seed-{:016x}", workerman_fuzz::digest(&s));
        std::fs::write(dir.join(name), &s)?;
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let root: PathBuf = std::env::args_os().nth(1).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"),
        PathBuf::from,
    );
    write(&root, "text", text())?;
    write(&root, "frame", frame_seeds())?;
    write(&root, "websocket_server", websocket_server())?;
    write(&root, "websocket_client", websocket_client())?;
    write(&root, "http_request", http())?;
    write(&root, "channel_wire", channel())?;
    write(&root, "globaldata_wire", globaldata())?;
    println!("seeds written to {}", root.display());
    Ok(())
}
