//! `http_request`: [`HttpCodec`] (heads, Content-Length and chunked
//! bodies, pipelining, responses that close or stream), and on every
//! decoded request each parser a handler can reach from it: query and
//! urlencoded forms, multipart fields and uploads, cookies, header
//! lookups, the client address behind proxies, static-folder paths, and
//! the Range / If-Range / conditional headers of file responses.

use std::net::IpAddr;
use std::path::Component;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};
use workerman_http::StaticDir;
use workerman_protocols::http::{
    Chunk, HttpCodec, HttpCodecError, HttpConfig, Method, Request, Response, TrustedProxies,
    Version,
};
use workerman_protocols::Conversation;

use crate::{
    digest, drive, is_eof_leftover, pick, serial, variant, Bytes, Harness, Input, Meter, MAX_PIECE,
};

const BODY_LIMITS: [usize; 4] = [0, 16, 1024, 64 * 1024];
const HEAD_LIMITS: [usize; 4] = [64, 512, 4096, 16 * 1024];
const HEADER_COUNTS: [usize; 4] = [1, 8, 32, 100];
const PARAM_LIMITS: [usize; 4] = [1, 4, 64, 1000];
const PART_LIMITS: [usize; 4] = [1, 4, 64, 1024];

/// Fixed costs: the request's header index (at most 256 spans of 16
/// bytes), the Request itself, a response, small buffers.
const FIXED: usize = 64 * 1024;

struct H {
    max_body: usize,
    max_head: usize,
    max_headers: usize,
    max_params: usize,
    max_parts: usize,
    /// 0: never answer; 1: answer each request; 2: answer with a chunked
    /// stream, then end it; 3: answer with `Connection: close`.
    respond: u8,
}

impl H {
    fn config(&self) -> HttpConfig {
        HttpConfig::default()
            .max_head_size(self.max_head)
            .max_headers(self.max_headers)
            .max_params(self.max_params)
            .max_file_uploads(self.max_parts)
            .date_header(false)
    }
}

impl Harness for H {
    type Codec = HttpCodec;

    fn codec(&mut self) -> HttpCodec {
        HttpCodec::new(self.config(), self.max_body)
    }

    fn message(&mut self, codec: &mut HttpCodec, req: Request) -> u64 {
        assert!(req.body().len() <= self.max_body, "body over the limit");
        assert!(req.raw_head().len() <= self.max_head, "head over the limit");
        let meter = Meter::start();
        let d = exercise(&req, self.max_params, self.max_parts);
        let grown = meter.finish();
        // Query, form and cookie values are decoded into Strings: `%XX`
        // makes a byte out of three, but a byte that is not UTF-8 becomes
        // U+FFFD, three bytes (3x the head and body, 4x with the Vec of
        // pairs doubling); each pair costs two String headers (48 bytes)
        // in a Vec that may double; an upload is a slice of the body plus
        // its names.
        let pairs = 3 * self.max_params + self.max_parts;
        let bound = 4 * (req.raw_head().len() + req.body().len()) + 256 * pairs + FIXED;
        assert!(
            grown <= bound,
            "parsing one request's parts grew the heap by {grown}, bound {bound}"
        );
        let mut out = BytesMut::new();
        let r = match self.respond {
            0 => Ok(()),
            1 => codec.encode(Response::new(200).with_body("ok"), &mut out),
            2 => codec
                .encode(Response::new(200).chunked(), &mut out)
                .and_then(|()| codec.encode(Chunk::new("x"), &mut out))
                .and_then(|()| codec.encode(Chunk::end(), &mut out)),
            _ => codec.encode(
                Response::new(200).with_header("Connection", "close"),
                &mut out,
            ),
        };
        r.expect("responses encode");
        d
    }

    fn drain(&mut self, codec: &mut HttpCodec, out: &mut Vec<u8>) {
        let mut dst = BytesMut::new();
        codec.poll_output(&mut dst);
        out.extend_from_slice(&dst);
    }

    /// A head is parsed when it first arrives, and after that only once
    /// its blank line is in (so a head trickling in costs linear time):
    /// the same bad head is then refused for what is wrong with it (one
    /// buffer), or as too large, or not at all before the end of the
    /// stream, where its bytes are left over (pieces). Every error found
    /// in a head is therefore one class; errors in bodies are exact.
    fn error_class(&mut self, codec: &mut HttpCodec, e: &HttpCodecError, _: bool) -> String {
        let _ = codec.error_response(e);
        match e {
            HttpCodecError::Io(io) if is_eof_leftover(io) => "head or leftover".to_owned(),
            HttpCodecError::MalformedChunk(_)
            | HttpCodecError::PipelineOverflow
            | HttpCodecError::BodyTooLarge { .. } => variant(e, true),
            HttpCodecError::HeadTooLarge { max } if *max != self.max_head => {
                // The trailer section of a chunked body.
                variant(e, true)
            }
            HttpCodecError::TooManyHeaders { max } if *max != self.max_headers => variant(e, true),
            _ => "head or leftover".to_owned(),
        }
    }

    /// One call: a head is split off (no copy) and indexed; a chunked body
    /// is copied into one BytesMut of at most `max_body` bytes that may
    /// double (2x).
    fn call_bound(&self, _: usize) -> usize {
        2 * self.max_body + 16 * self.max_headers + FIXED
    }

    /// A run in pieces: the read buffer holds at most a head, a body (a
    /// Content-Length body stays in it until complete) and a piece (4x as
    /// for `text`); the chunked body's own buffer (2x `max_body`).
    fn session_bound(&self, _: usize) -> usize {
        4 * (self.max_head + 4 + self.max_body + MAX_PIECE + 4096)
            + 2 * self.max_body
            + 16 * self.max_headers
            + FIXED
    }

    /// A partial head (under `max_head_size`), a partial Content-Length
    /// body, or in a chunked body a size line (under 4 KiB) or a trailer
    /// section (under `max_head_size + 4`).
    fn buffered_bound(&self) -> usize {
        self.max_head.max(self.max_body).max(4096) + 4
    }

    fn compare_output(&self) -> bool {
        // `100 Continue` is written only when the body is not there yet.
        false
    }
}

/// A folder for `StaticDir::resolve` (which only builds paths).
fn static_dir() -> &'static StaticDir {
    static DIR: OnceLock<StaticDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = std::env::temp_dir().join("workerman-fuzz-static");
        std::fs::create_dir_all(&root).expect("make the static folder");
        StaticDir::new(&root).expect("a static folder")
    })
}

fn proxies() -> &'static TrustedProxies {
    static P: OnceLock<TrustedProxies> = OnceLock::new();
    P.get_or_init(|| TrustedProxies::parse(["127.0.0.1", "10.0.0.0/8", "fd00::/8"]).unwrap())
}

/// Calls what a handler can call on `req`, checks what can be checked,
/// and gives a digest of it all.
fn exercise(req: &Request, max_params: usize, max_parts: usize) -> u64 {
    let mut parts: Vec<u64> = vec![
        digest(req.method().as_str()),
        digest(req.uri()),
        digest(req.path()),
        digest(req.query_string()),
        digest(&req.version()),
        digest(&req.keep_alive()),
        digest(&req.body()[..]),
        digest(&req.host()),
        digest(&req.host_without_port()),
        digest(&req.content_type()),
        digest(&req.is_ajax()),
    ];
    for (n, v) in req.headers() {
        parts.push(digest(&(n, v)));
    }
    for (n, v) in req.trailers() {
        parts.push(digest(&(n, v)));
    }
    parts.push(digest(&req.trailer("x-checksum")));
    parts.push(digest(&req.header_all("cookie").count()));

    let query = req.query();
    assert!(query.len() <= max_params, "query pairs over the limit");
    for (k, v) in query {
        parts.push(digest(&(k, v)));
    }
    parts.push(digest(&req.get("a")));
    let form = req.form();
    assert!(form.len() <= max_params, "form fields over the limit");
    for (k, v) in form {
        parts.push(digest(&(k, v)));
    }
    parts.push(digest(&req.post("a")));
    let files = req.files();
    assert!(files.len() <= max_parts, "uploads over the limit");
    let body = req.body().as_ptr() as usize..req.body().as_ptr() as usize + req.body().len();
    for f in files {
        let data = f.data();
        if !data.is_empty() {
            let p = data.as_ptr() as usize;
            assert!(
                body.contains(&p) && p + data.len() <= body.end,
                "an upload is not a slice of the body"
            );
        }
        let name = f.file_name();
        assert!(!name.contains(['/', '\\']) && name != "." && name != "..");
        parts.push(digest(&(f.field_name(), name, f.content_type(), &data[..])));
    }
    parts.push(digest(&req.file("f").map(|f| f.size())));
    let cookies = req.cookies();
    assert!(cookies.len() <= max_params, "cookies over the limit");
    for (k, v) in cookies {
        parts.push(digest(&(k, v)));
    }
    parts.push(digest(&req.cookie("session")));

    // The client address: only a trusted peer's headers count.
    let stranger: IpAddr = "198.51.100.1".parse().unwrap();
    assert_eq!(proxies().client_ip(stranger, req), stranger);
    let nginx: IpAddr = "127.0.0.1".parse().unwrap();
    parts.push(digest(&proxies().client_ip(nginx, req)));

    // A static folder never leaves its root.
    let dir = static_dir();
    if let Some(p) = dir.resolve(req.path()) {
        let rest = p.strip_prefix(dir.root()).expect("a path under the root");
        for c in rest.components() {
            let Component::Normal(name) = c else {
                panic!("{c:?} in a resolved path {}", p.display());
            };
            assert!(
                !name.to_string_lossy().starts_with('.'),
                "hidden name served"
            );
        }
        parts.push(digest(rest));
    }
    parts.push(digest(&dir.resolve(req.uri()).is_some()));

    // File responses: Range, If-Range, conditionals.
    let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for size in [0u64, 1, 1000, u64::MAX] {
        if let Some(range) = req.header("range") {
            let r = workerman_http::fuzzing::parse_range(range, size);
            if let Some(Some((start, end))) = r {
                assert!(start <= end && end < size, "range {start}-{end} of {size}");
            }
            parts.push(digest(&r));
        }
        let etag = workerman_http::fuzzing::etag(size, Some(modified));
        parts.push(digest(&workerman_http::fuzzing::not_modified(
            req,
            &etag,
            Some(modified),
        )));
        parts.push(digest(&workerman_http::fuzzing::if_range_ok(
            req,
            &etag,
            Some(modified),
        )));
    }
    digest(&parts)
}

/// Decodes a stream of requests and checks the invariants, then writes a
/// request built from the input and decodes it back.
pub fn check_http_request(data: &[u8]) {
    let _g = serial();
    let input = Input::parse(data);
    let mut h = H {
        max_body: pick(&BODY_LIMITS, input.cfg0),
        max_head: pick(&HEAD_LIMITS, input.cfg0 >> 2),
        max_headers: pick(&HEADER_COUNTS, input.cfg0 >> 4),
        respond: input.cfg0 >> 6,
        max_params: pick(&PARAM_LIMITS, input.cfg1),
        max_parts: pick(&PART_LIMITS, input.cfg1 >> 2),
    };
    drive(&mut h, input.stream, input.splits);
    round_trip(input.stream);
}

/// Maps fuzz bytes onto a set of allowed bytes.
fn map(bytes: &[u8], set: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| set[b as usize % set.len()] as char)
        .collect()
}

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const TOKEN: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$&'*+.^_`|~";
const PATH: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/%!$&'()*+,;=:@";

/// Builds a request from fuzz bytes, writes it as a client would, and
/// checks that it decodes to what was written.
fn round_trip(data: &[u8]) {
    let mut b = Bytes::new(data);
    let method = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Delete,
        Method::Options,
        Method::Patch,
        Method::Head,
    ][b.byte() as usize % 7];
    let http10 = b.byte().is_multiple_of(4);
    let path = format!("/{}", map(b.chunk(), PATH));
    let query: Vec<(String, String)> = (0..b.byte() % 4)
        .map(|_| {
            (
                String::from_utf8_lossy(b.chunk()).into_owned(),
                String::from_utf8_lossy(b.chunk()).into_owned(),
            )
        })
        .collect();
    let query_string = if query.is_empty() {
        None
    } else {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &query {
            s.append_pair(k, v);
        }
        Some(s.finish())
    };
    let target = match &query_string {
        Some(q) => format!("{path}?{q}"),
        None => path.clone(),
    };

    let mut headers: Vec<(String, String)> = vec![("Host".into(), "example.com:8080".into())];
    for _ in 0..b.byte() % 6 {
        let name = format!("X-F{}", map(b.chunk(), TOKEN));
        // Visible ASCII and inner spaces (no white space at the ends).
        let value: String = b.chunk().iter().map(|&c| (0x20 + c % 95) as char).collect();
        headers.push((name, value.trim_matches(' ').to_owned()));
    }
    let cookies: Vec<(String, String)> = (0..b.byte() % 4)
        .map(|_| (format!("c{}", map(b.chunk(), ALNUM)), map(b.chunk(), ALNUM)))
        .collect();
    if !cookies.is_empty() {
        let line: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        headers.push(("Cookie".into(), line.join("; ")));
    }

    // The body: none, a urlencoded form, a multipart form, or raw bytes.
    let kind = b.byte() % 4;
    let mut form: Vec<(String, String)> = Vec::new();
    let mut files: Vec<(String, String, Vec<u8>)> = Vec::new();
    let body: Vec<u8> = match kind {
        1 => {
            form = (0..b.byte() % 5)
                .map(|_| {
                    (
                        String::from_utf8_lossy(b.chunk()).into_owned(),
                        String::from_utf8_lossy(b.chunk()).into_owned(),
                    )
                })
                .collect();
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &form {
                s.append_pair(k, v);
            }
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
            s.finish().into_bytes()
        }
        2 => {
            let boundary = format!("B{}", map(b.chunk(), ALNUM));
            let boundary = &boundary[..boundary.len().min(70)];
            let delim = format!("\r\n--{boundary}");
            let mut body = format!("--{boundary}").into_bytes();
            for _ in 0..b.byte() % 5 {
                let name = format!("n{}", map(b.chunk(), ALNUM));
                let is_file = b.byte().is_multiple_of(2);
                let content = b.chunk().to_vec();
                // Content that holds the delimiter would end the part.
                let mut probe = content.clone();
                probe.extend_from_slice(delim.as_bytes());
                let at = memfind(&probe, delim.as_bytes());
                if at != Some(content.len()) {
                    continue;
                }
                body.extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"");
                body.extend_from_slice(name.as_bytes());
                body.push(b'"');
                if is_file {
                    let file_name = format!("f{}.bin", map(b.chunk(), ALNUM));
                    body.extend_from_slice(b"; filename=\"");
                    body.extend_from_slice(file_name.as_bytes());
                    body.extend_from_slice(b"\"\r\nContent-Type: application/octet-stream");
                    files.push((name, file_name, content.clone()));
                } else {
                    form.push((name, String::from_utf8_lossy(&content).into_owned()));
                }
                body.extend_from_slice(b"\r\n\r\n");
                body.extend_from_slice(&content);
                body.extend_from_slice(delim.as_bytes());
            }
            body.extend_from_slice(b"--\r\n");
            headers.push((
                "Content-Type".into(),
                format!("multipart/form-data; boundary={boundary}"),
            ));
            body
        }
        3 => {
            headers.push(("Content-Type".into(), "application/octet-stream".into()));
            b.chunk().to_vec()
        }
        _ => Vec::new(),
    };
    let chunked = !http10 && b.byte().is_multiple_of(2) && !body.is_empty();
    if chunked {
        headers.push(("Transfer-Encoding".into(), "chunked".into()));
    } else if !body.is_empty() || b.byte().is_multiple_of(2) {
        headers.push(("Content-Length".into(), body.len().to_string()));
    }
    if http10 {
        headers.push(("Connection".into(), "keep-alive".into()));
    }

    let mut wire = format!(
        "{} {target} HTTP/1.{}\r\n",
        method.as_str(),
        if http10 { 0 } else { 1 }
    )
    .into_bytes();
    for (n, v) in &headers {
        wire.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    wire.extend_from_slice(b"\r\n");
    let mut trailers = Vec::new();
    if chunked {
        let mut rest = &body[..];
        while !rest.is_empty() {
            let n = (b.byte() as usize % 64 + 1).min(rest.len());
            wire.extend_from_slice(format!("{n:x}\r\n").as_bytes());
            wire.extend_from_slice(&rest[..n]);
            wire.extend_from_slice(b"\r\n");
            rest = &rest[n..];
        }
        wire.extend_from_slice(b"0\r\n");
        if b.byte().is_multiple_of(2) {
            let v = map(b.chunk(), ALNUM);
            wire.extend_from_slice(format!("X-Checksum: {v}\r\n").as_bytes());
            trailers.push(v);
        }
        wire.extend_from_slice(b"\r\n");
    } else {
        wire.extend_from_slice(&body);
    }

    let mut codec = HttpCodec::new(HttpConfig::default().date_header(false), 1 << 20);
    let mut buf = BytesMut::from(&wire[..]);
    let req = match codec.decode(&mut buf) {
        Ok(Some(req)) => req,
        other => panic!(
            "http round trip: {other:?} for {:?}",
            String::from_utf8_lossy(&wire)
        ),
    };
    assert!(buf.is_empty(), "http round trip left bytes");
    assert_eq!(req.method(), method);
    assert_eq!(req.path(), path);
    assert_eq!(req.query_string(), query_string.as_deref().unwrap_or(""));
    assert_eq!(req.uri(), target);
    let version = if http10 {
        Version::Http10
    } else {
        Version::Http11
    };
    assert_eq!(req.version(), version);
    assert!(req.keep_alive());
    let got: Vec<(String, Vec<u8>)> = req
        .headers()
        .map(|(n, v)| (n.to_owned(), v.to_vec()))
        .collect();
    let want: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(n, v)| (n.clone(), v.as_bytes().to_vec()))
        .collect();
    assert_eq!(got, want, "http round trip headers");
    assert_eq!(&req.body()[..], &body[..], "http round trip body");
    if let Some(t) = trailers.first() {
        assert_eq!(req.trailer("x-checksum"), Some(t.as_bytes()));
    }
    let q: Vec<(&str, &str)> = req.query().iter().collect();
    let want_q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (&k[..], &v[..])).collect();
    assert_eq!(q, want_q, "http round trip query");
    let c: Vec<(&str, &str)> = req.cookies().iter().collect();
    let want_c: Vec<(&str, &str)> = cookies.iter().map(|(k, v)| (&k[..], &v[..])).collect();
    assert_eq!(c, want_c, "http round trip cookies");
    if kind == 1 || kind == 2 {
        let f: Vec<(&str, &str)> = req.form().iter().collect();
        let want_f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (&k[..], &v[..])).collect();
        assert_eq!(f, want_f, "http round trip form");
        let got: Vec<(&str, &str, &str, &[u8])> = req
            .files()
            .iter()
            .map(|f| {
                (
                    f.field_name(),
                    f.file_name(),
                    f.content_type(),
                    &f.data()[..],
                )
            })
            .collect();
        let want: Vec<(&str, &str, &str, &[u8])> = files
            .iter()
            .map(|(n, f, d)| (&n[..], &f[..], "application/octet-stream", &d[..]))
            .collect();
        assert_eq!(got, want, "http round trip uploads");
    }
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
