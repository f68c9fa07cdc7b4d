//! [`Response`]: what a handler answers, and how its head is written.

use std::borrow::Cow;
use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::cookie::Cookie;
use super::status::reason_phrase;

/// Workerman's default `Content-Type` (spec B.5).
pub(crate) const DEFAULT_CONTENT_TYPE: &str = "text/html;charset=utf-8";

/// How the body of a response is carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// The whole body, sent with `Content-Length`.
    Full(Bytes),
    /// A streamed body of unknown length: chunked on HTTP/1.1, delimited by
    /// the connection's close on HTTP/1.0. The bytes are the first chunk.
    Chunked(Bytes),
    /// A streamed body of a known length (`Content-Length`), sent in
    /// [`Chunk`](super::Chunk)s.
    Sized(u64),
    /// A Server-Sent Events stream: no length, ends when the connection
    /// closes.
    Events,
}

type HeaderText = Cow<'static, str>;

/// An HTTP response (Workerman's `Workerman\Protocols\Http\Response`).
///
/// Build it with [`Response::new`] (or [`text`](Response::text),
/// [`html`](Response::html), [`json`](Response::json),
/// [`redirect`](Response::redirect)) and the `with_*` methods, then
/// `conn.send(response)`. A plain string sent on an HTTP connection becomes
/// a 200 response with that body, as in Workerman.
///
/// What the codec adds when encoding (Workerman's defaults, spec B.5):
///
/// * `Server: workerman` and a `Date` unless set (both configurable in
///   [`HttpConfig`](super::HttpConfig));
/// * `Connection: keep-alive`, or `close` when the connection is going to
///   close (the request asked for it, HTTP/1.0 without keep-alive, or this
///   response says `Connection: close`);
/// * `Content-Type: text/html;charset=utf-8` unless set;
/// * the framing: `Content-Length`, or `Transfer-Encoding: chunked` for a
///   [`chunked`](Response::chunked) stream. `Content-Length` and
///   `Transfer-Encoding` set by hand are replaced by what the body needs.
///
/// A header name or value holding CR, LF or NUL is dropped when encoding
/// (header injection guard), and so is a name that is not an HTTP token.
/// The body of a response to `HEAD`, and of 1xx, 204 and 304 responses, is
/// not sent.
///
/// # Examples
///
/// ```
/// use workerman_protocols::http::{Cookie, Response};
///
/// let r = Response::new(404)
///     .with_header("Content-Type", "text/plain")
///     .with_cookie(Cookie::new("seen", "1"))
///     .with_body("nothing here");
/// assert_eq!(r.status(), 404);
/// assert_eq!(r.reason(), "Not Found");
/// assert_eq!(r.header("content-type"), Some("text/plain"));
/// assert_eq!(r.header("set-cookie"), Some("seen=1"));
/// assert_eq!(r.body().map(|b| &b[..]), Some(&b"nothing here"[..]));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    reason: Option<HeaderText>,
    headers: Vec<(HeaderText, HeaderText)>,
    pub(crate) body: Body,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field(
                "body",
                &match &self.body {
                    Body::Full(b) => format!("{} bytes", b.len()),
                    Body::Chunked(_) => "chunked stream".to_owned(),
                    Body::Sized(n) => format!("stream of {n} bytes"),
                    Body::Events => "event stream".to_owned(),
                },
            )
            .finish()
    }
}

impl Default for Response {
    /// 200 with an empty body.
    fn default() -> Self {
        Response::new(200)
    }
}

impl Response {
    /// A response with `status` and an empty body. A status outside
    /// 100..=999 is sent as 500.
    pub fn new(status: u16) -> Self {
        Response {
            status: if (100..=999).contains(&status) {
                status
            } else {
                500
            },
            reason: None,
            headers: Vec::new(),
            body: Body::Full(Bytes::new()),
        }
    }

    /// 200 with `Content-Type: text/plain; charset=utf-8`.
    pub fn text(body: impl Into<Bytes>) -> Self {
        Response::new(200)
            .with_header("Content-Type", "text/plain; charset=utf-8")
            .with_body(body)
    }

    /// 200 with `Content-Type: text/html; charset=utf-8`.
    pub fn html(body: impl Into<Bytes>) -> Self {
        Response::new(200)
            .with_header("Content-Type", "text/html; charset=utf-8")
            .with_body(body)
    }

    /// 200 with `Content-Type: application/json` and `body` (already
    /// serialised).
    pub fn json(body: impl Into<Bytes>) -> Self {
        Response::new(200)
            .with_header("Content-Type", "application/json")
            .with_body(body)
    }

    /// 302 to `location`.
    pub fn redirect(location: impl Into<HeaderText>) -> Self {
        Response::new(302).with_header("Location", location)
    }

    /// The head of a Server-Sent Events stream: 200,
    /// `Content-Type: text/event-stream`, `Cache-Control: no-cache`. Send
    /// [`ServerSentEvent`](super::ServerSentEvent)s after it; the stream
    /// ends when the connection closes.
    pub fn event_stream() -> Self {
        let mut r = Response::new(200)
            .with_header("Content-Type", "text/event-stream")
            .with_header("Cache-Control", "no-cache");
        r.body = Body::Events;
        r
    }

    /// Makes this a streamed response of unknown length, its current body
    /// (if any) the first chunk: send [`Chunk`](super::Chunk)s after it and
    /// [`Chunk::end`](super::Chunk::end) last. Chunked on HTTP/1.1; on
    /// HTTP/1.0 the body ends with the connection.
    #[must_use]
    pub fn chunked(mut self) -> Self {
        let first = match std::mem::replace(&mut self.body, Body::Events) {
            Body::Full(b) | Body::Chunked(b) => b,
            Body::Sized(_) | Body::Events => Bytes::new(),
        };
        self.body = Body::Chunked(first);
        self
    }

    /// Makes this a streamed response of `len` bytes (`Content-Length:
    /// len`), sent in [`Chunk`](super::Chunk)s after it; it is complete
    /// once `len` bytes have been sent. Used for large files.
    #[must_use]
    pub fn sized_stream(mut self, len: u64) -> Self {
        self.body = Body::Sized(len);
        self
    }

    /// Sets the status (Workerman's `withStatus`); the reason phrase goes
    /// back to the standard one.
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Response::new(status).status;
        self.reason = None;
        self
    }

    /// Sets a custom reason phrase (CR and LF are removed).
    #[must_use]
    pub fn with_reason(mut self, reason: impl Into<HeaderText>) -> Self {
        let reason: HeaderText = reason.into();
        self.reason = Some(if reason.contains(['\r', '\n']) {
            Cow::Owned(reason.replace(['\r', '\n'], ""))
        } else {
            reason
        });
        self
    }

    /// Sets header `name` to `value`, replacing any value it had (any case;
    /// Workerman's `header` / `withHeader`).
    #[must_use]
    pub fn with_header(
        mut self,
        name: impl Into<HeaderText>,
        value: impl Into<HeaderText>,
    ) -> Self {
        let name = name.into();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        self.headers.push((name, value.into()));
        self
    }

    /// Adds a header line, keeping the values `name` already has
    /// (`Set-Cookie`, `Link`, `Vary`...).
    #[must_use]
    pub fn append_header(
        mut self,
        name: impl Into<HeaderText>,
        value: impl Into<HeaderText>,
    ) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets several headers, each replacing the values of its name.
    #[must_use]
    pub fn with_headers<N, V>(mut self, headers: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: Into<HeaderText>,
        V: Into<HeaderText>,
    {
        for (n, v) in headers {
            self = self.with_header(n, v);
        }
        self
    }

    /// Removes every value of header `name` (any case).
    #[must_use]
    pub fn without_header(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// Adds a `Set-Cookie` line.
    #[must_use]
    pub fn with_cookie(self, cookie: Cookie) -> Self {
        self.append_header("Set-Cookie", cookie.to_string())
    }

    /// Sets the body (a streamed response becomes a complete one).
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Body::Full(body.into());
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase: the custom one, or the standard one for the
    /// status.
    pub fn reason(&self) -> &str {
        self.reason
            .as_deref()
            .unwrap_or_else(|| reason_phrase(self.status))
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    /// Every header line, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }

    /// The body, for a complete (not streamed) response.
    pub fn body(&self) -> Option<&Bytes> {
        match &self.body {
            Body::Full(b) => Some(b),
            _ => None,
        }
    }

    /// Whether this response is the head of a stream (chunked, sized or
    /// events).
    pub fn is_streamed(&self) -> bool {
        !matches!(self.body, Body::Full(_))
    }

    /// What the user's headers say, in one pass.
    pub(crate) fn scan(&self) -> HeaderScan {
        let mut s = HeaderScan::default();
        for (n, v) in &self.headers {
            let n = n.as_bytes();
            if n.eq_ignore_ascii_case(b"connection") {
                s.connection = true;
                s.close |= v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"));
            } else if n.eq_ignore_ascii_case(b"content-type") {
                s.content_type = true;
                s.event_stream |= v.trim().eq_ignore_ascii_case("text/event-stream");
            } else if n.eq_ignore_ascii_case(b"transfer-encoding") {
                s.chunked |= v
                    .split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("chunked"));
            } else if n.eq_ignore_ascii_case(b"server") {
                s.server = true;
            } else if n.eq_ignore_ascii_case(b"date") {
                s.date = true;
            }
        }
        s
    }

    /// Writes the status line and headers, up to and including the blank
    /// line.
    pub(crate) fn write_head(&self, opts: &HeadOptions<'_>, scan: &HeaderScan, dst: &mut BytesMut) {
        dst.reserve(128 + self.headers.len() * 48);
        dst.put_slice(b"HTTP/1.1 ");
        put_status(self.status, dst);
        dst.put_u8(b' ');
        dst.put_slice(self.reason().as_bytes());
        dst.put_slice(b"\r\n");
        if let (Some(server), false) = (opts.server, scan.server) {
            put_header(b"Server", server.as_bytes(), dst);
        }
        if opts.date && !scan.date {
            dst.put_slice(b"Date: ");
            super::date::put_date(dst);
            dst.put_slice(b"\r\n");
        }
        for (n, v) in &self.headers {
            let nb = n.as_bytes();
            if nb.eq_ignore_ascii_case(b"content-length")
                || nb.eq_ignore_ascii_case(b"transfer-encoding")
                || (opts.close && nb.eq_ignore_ascii_case(b"connection") && !scan.close)
                || !valid_name(nb)
                || !valid_value(v.as_bytes())
            {
                continue;
            }
            put_header(nb, v.as_bytes(), dst);
        }
        if !scan.connection || (opts.close && !scan.close) {
            dst.put_slice(if opts.close {
                b"Connection: close\r\n"
            } else {
                b"Connection: keep-alive\r\n"
            });
        }
        if !scan.content_type && opts.framing != Framing::NoBody {
            put_header(b"Content-Type", DEFAULT_CONTENT_TYPE.as_bytes(), dst);
        }
        match opts.framing {
            Framing::Length(n) => {
                dst.put_slice(b"Content-Length: ");
                put_u64(n, dst);
                dst.put_slice(b"\r\n");
            }
            Framing::Chunked => dst.put_slice(b"Transfer-Encoding: chunked\r\n"),
            Framing::UntilClose | Framing::NoBody => {}
        }
        dst.put_slice(b"\r\n");
    }
}

/// The user's headers that change what the codec adds.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct HeaderScan {
    pub(crate) connection: bool,
    pub(crate) close: bool,
    pub(crate) content_type: bool,
    pub(crate) event_stream: bool,
    pub(crate) chunked: bool,
    pub(crate) server: bool,
    pub(crate) date: bool,
}

/// How the head announces the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(u64),
    Chunked,
    /// No length: the body ends when the connection closes.
    UntilClose,
    /// 1xx, 204, 304: no body and no length.
    NoBody,
}

/// What the codec decided for one response head.
#[derive(Debug)]
pub(crate) struct HeadOptions<'a> {
    pub(crate) server: Option<&'a str>,
    pub(crate) date: bool,
    pub(crate) close: bool,
    pub(crate) framing: Framing,
}

fn put_header(name: &[u8], value: &[u8], dst: &mut BytesMut) {
    dst.put_slice(name);
    dst.put_slice(b": ");
    dst.put_slice(value);
    dst.put_slice(b"\r\n");
}

fn put_status(status: u16, dst: &mut BytesMut) {
    dst.put_slice(&[
        b'0' + (status / 100 % 10) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ]);
}

/// Writes `n` in decimal.
pub(crate) fn put_u64(mut n: u64, dst: &mut BytesMut) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    dst.put_slice(&buf[i..]);
}

/// RFC 9110 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

fn valid_name(n: &[u8]) -> bool {
    !n.is_empty() && n.iter().all(|&b| is_tchar(b))
}

fn valid_value(v: &[u8]) -> bool {
    !v.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0)
}
