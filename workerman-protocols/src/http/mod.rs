//! The `http://` protocol: HTTP/1.1 (and 1.0) server side.
//!
//! [`Http`] is the protocol; its codec, [`HttpCodec`], decodes each request
//! into a [`Request`] and encodes what the handler sends ([`Outgoing`]: a
//! [`Response`], a [`Chunk`] of a streamed body, or a [`ServerSentEvent`]).
//! Parsing uses `httparse`; everything here works on byte buffers alone.
//!
//! ```
//! use bytes::BytesMut;
//! use tokio_util::codec::{Decoder, Encoder};
//! use workerman_protocols::http::{Http, HttpConfig, HttpCodec, Response};
//! use workerman_protocols::Protocol;
//!
//! let mut codec = Http::<workerman_protocols::http::DefaultSettings>::codec(1 << 20);
//! let mut buf = BytesMut::from("GET /hello?name=you HTTP/1.1\r\nHost: example.com\r\n\r\n");
//! let req = codec.decode(&mut buf).unwrap().unwrap();
//! assert_eq!(req.get("name"), Some("you"));
//!
//! // What a handler does with `conn.send(...)`:
//! let mut out = BytesMut::new();
//! let mut quiet = HttpCodec::new(HttpConfig::default().date_header(false), 1 << 20);
//! quiet.decode(&mut BytesMut::from("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).unwrap();
//! quiet.encode(Response::new(200).with_body("hi"), &mut out).unwrap();
//! assert_eq!(
//!     &out[..],
//!     &b"HTTP/1.1 200 OK\r\nServer: workerman\r\nConnection: keep-alive\r\n\
//!        Content-Type: text/html;charset=utf-8\r\nContent-Length: 2\r\n\r\nhi"[..]
//! );
//! ```
//!
//! In a service (through the `workerman` crate):
//!
//! ```text
//! impl Service for Hello {
//!     type Protocol = Http;
//!     async fn on_message(&self, conn: &Connection<Http>, req: Request) {
//!         let _ = conn.send(Response::text("Hello World"));
//!     }
//! }
//! ```
//!
//! # Requests
//!
//! * Request line: one of `GET HEAD POST PUT DELETE OPTIONS PATCH` (another
//!   method gets 501), an origin-form (`/p?q`), absolute-form
//!   (`http://h/p`) or `*` target (ASCII only), `HTTP/1.0` or `HTTP/1.1`
//!   (another well-formed version gets 505).
//! * Headers: at most [`HttpConfig::max_headers`]; the head (request line,
//!   headers, blank line) at most [`HttpConfig::max_head_size`] bytes, or
//!   431. HTTP/1.1 needs exactly one valid `Host`; HTTP/1.0 at most one.
//! * Body: `Content-Length` (digits only; duplicates must agree) or
//!   `Transfer-Encoding: chunked` (HTTP/1.1 only, never with
//!   `Content-Length`: both are request-smuggling shapes and get 400), at
//!   most the worker's `max_package_size` bytes or 413, refused as soon as
//!   the head announces it, without reading the body. `Expect:
//!   100-continue` is answered with `100 Continue` when the body is
//!   accepted.
//! * Deadlines ([`HttpConfig`]): the head must arrive within `head_timeout`
//!   of its first byte (slowloris) and a body may not stall longer than
//!   `body_timeout`, or 408 and close; an idle keep-alive connection closes
//!   after `keep_alive_timeout` (without an answer). No deadline runs
//!   while the handler owes a response.
//!
//! Every refusal is answered with its status and `Connection: close`, and
//! the connection closes.
//!
//! # Responses and keep-alive
//!
//! Responses pair with requests in order. The connection stays open after a
//! response unless the request was HTTP/1.0 without `Connection:
//! keep-alive`, the request or the response said `Connection: close`, or
//! the response was an event stream; then it closes once the response is
//! written, and nothing the client sent after that request is read.
//! Pipelined requests are handed to the handler one at a time, the next
//! after `on_message` of the previous returned (a request that arrives
//! while a streamed response is open waits for the stream's end).
//!
//! # Where we differ from Workerman
//!
//! * Keep-alive follows HTTP/1.0 and 1.1 rules and idle connections time
//!   out; Workerman never closes by itself and advertises keep-alive to
//!   everyone.
//! * Chunked request bodies are accepted (Workerman 4 refuses any
//!   `Transfer-Encoding`); an oversize head gets 431 (4.x: 413); unknown
//!   methods get 501 (4.x: 400).
//! * A `Date` header is sent (RFC 9110 requires it); turn it off with
//!   [`HttpConfig::date_header`].
//! * The response to `HEAD` has no body; file responses answer `Range`
//!   with 206 and `If-Modified-Since` with 304 (in the `workerman` crate's
//!   `http` module).
//! * Query and form names are kept as sent (`a[]`), not turned into nested
//!   arrays; see [`Params`]. Only urlencoded (or untyped) and multipart
//!   bodies are parsed into [`Request::form`]; JSON and other bodies are
//!   left to the handler (Workerman decodes JSON and parses anything else
//!   as a query string).
//! * Uploaded files are slices of the in-memory body, not temporary files;
//!   the facade's `TempUpload` makes one when a path is needed.
//!
//! # Configuration
//!
//! Settings are chosen by type: `Http` uses [`HttpConfig::default`];
//! `Http<MySettings>` uses what `MySettings::config()` returns (see
//! [`HttpSettings`]). The body limit is the worker's `max_package_size`.
#![allow(clippy::module_name_repetitions)]

mod chunked;
mod client_ip;
mod codec;
mod cookie;
mod date;
mod error;
mod form;
mod multipart;
mod parse;
mod request;
mod response;
mod sse;
mod status;

use std::marker::PhantomData;
use std::time::Duration;

use bytes::Bytes;

pub use chunked::Chunk;
pub use client_ip::{InvalidProxy, TrustedProxies};
pub use codec::HttpCodec;
pub use cookie::{Cookie, SameSite};
pub use error::HttpCodecError;
pub use form::{Params, DEFAULT_MAX_PARAMS};
pub use multipart::UploadedFile;
pub use request::{Method, Request, Version};
pub use response::Response;
pub use sse::ServerSentEvent;
pub use status::reason_phrase;

use crate::Protocol;

/// The settings of the HTTP codec. Every field has a setter; the defaults
/// are below and may change in a minor version only with a note.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use workerman_protocols::http::HttpConfig;
///
/// let config = HttpConfig::default()
///     .head_timeout(Duration::from_secs(10))
///     .keep_alive_timeout(None)
///     .server_header(None);
/// assert_eq!(config.max_head_size, 16 * 1024);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Largest request head (request line, headers, blank line) in bytes;
    /// a larger one gets 431. Default 16384 (Workerman's limit).
    pub max_head_size: usize,
    /// Most header lines in one request; more get 431. Default 100, at
    /// most 256.
    pub max_headers: usize,
    /// Time allowed for a whole request head, from its first byte; then
    /// 408 and close. Default 30 s.
    pub head_timeout: Duration,
    /// Longest silence while a request body arrives; then 408 and close.
    /// Default 30 s.
    pub body_timeout: Duration,
    /// Longest silence between requests (and before the first) before an
    /// idle connection is closed. Default 60 s; `None` waits for ever
    /// (Workerman's behaviour).
    pub keep_alive_timeout: Option<Duration>,
    /// The `Server` header added to responses that set none. Default
    /// `Some("workerman")`.
    pub server_header: Option<&'static str>,
    /// Whether a `Date` header is added to responses that set none.
    /// Default true.
    pub date_header: bool,
    /// Most query, form or cookie pairs parsed from one request (PHP's
    /// `max_input_vars`). Default 1000.
    pub max_params: usize,
    /// Most parts parsed from one multipart body (Workerman's
    /// `Request::$maxFileUploads`). Default 1024.
    pub max_file_uploads: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_head_size: 16 * 1024,
            max_headers: 100,
            head_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            keep_alive_timeout: Some(Duration::from_secs(60)),
            server_header: Some("workerman"),
            date_header: true,
            max_params: DEFAULT_MAX_PARAMS,
            max_file_uploads: 1024,
        }
    }
}

impl HttpConfig {
    /// Sets [`max_head_size`](HttpConfig::max_head_size).
    #[must_use]
    pub fn max_head_size(mut self, bytes: usize) -> Self {
        self.max_head_size = bytes.min(u32::MAX as usize / 2);
        self
    }

    /// Sets [`max_headers`](HttpConfig::max_headers) (capped at 256).
    #[must_use]
    pub fn max_headers(mut self, n: usize) -> Self {
        self.max_headers = n.clamp(1, parse::HEADERS_CAP);
        self
    }

    /// Sets [`head_timeout`](HttpConfig::head_timeout).
    #[must_use]
    pub fn head_timeout(mut self, d: Duration) -> Self {
        self.head_timeout = d;
        self
    }

    /// Sets [`body_timeout`](HttpConfig::body_timeout).
    #[must_use]
    pub fn body_timeout(mut self, d: Duration) -> Self {
        self.body_timeout = d;
        self
    }

    /// Sets [`keep_alive_timeout`](HttpConfig::keep_alive_timeout).
    #[must_use]
    pub fn keep_alive_timeout(mut self, d: Option<Duration>) -> Self {
        self.keep_alive_timeout = d;
        self
    }

    /// Sets [`server_header`](HttpConfig::server_header).
    #[must_use]
    pub fn server_header(mut self, server: Option<&'static str>) -> Self {
        self.server_header = server;
        self
    }

    /// Sets [`date_header`](HttpConfig::date_header).
    #[must_use]
    pub fn date_header(mut self, on: bool) -> Self {
        self.date_header = on;
        self
    }

    /// Sets [`max_params`](HttpConfig::max_params).
    #[must_use]
    pub fn max_params(mut self, n: usize) -> Self {
        self.max_params = n;
        self
    }

    /// Sets [`max_file_uploads`](HttpConfig::max_file_uploads).
    #[must_use]
    pub fn max_file_uploads(mut self, n: usize) -> Self {
        self.max_file_uploads = n;
        self
    }
}

/// Chooses the [`HttpConfig`] of an [`Http`] protocol type.
///
/// The settings travel in the protocol type, so each worker can have its
/// own (and tests running side by side in one process do not share a
/// global).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use workerman_protocols::http::{Http, HttpConfig, HttpSettings};
/// use workerman_protocols::Protocol;
///
/// struct Strict;
///
/// impl HttpSettings for Strict {
///     fn config() -> HttpConfig {
///         HttpConfig::default().head_timeout(Duration::from_secs(5))
///     }
/// }
///
/// // A service then says `type Protocol = Http<Strict>;`
/// let codec = Http::<Strict>::codec(1024);
/// assert_eq!(codec.config().head_timeout, Duration::from_secs(5));
/// ```
pub trait HttpSettings: Send + Sync + 'static {
    /// The settings, asked once per connection.
    fn config() -> HttpConfig {
        HttpConfig::default()
    }
}

/// [`HttpConfig::default`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultSettings;

impl HttpSettings for DefaultSettings {}

/// The `http://` protocol (HTTP/1.1 server). See the [module docs](self).
///
/// `Http` uses the default settings; `Http<S>` those of `S`.
pub struct Http<S: HttpSettings = DefaultSettings>(PhantomData<fn() -> S>);

impl<S: HttpSettings> std::fmt::Debug for Http<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Http")
    }
}

impl<S: HttpSettings> Protocol for Http<S> {
    const SCHEME: &'static str = "http";
    type Inbound = Request;
    type Outbound = Outgoing;
    type Error = HttpCodecError;
    type Codec = HttpCodec;

    fn codec(max_package_size: usize) -> HttpCodec {
        HttpCodec::new(S::config(), max_package_size)
    }

    crate::conversation_hooks!();
}

/// What a handler sends on an HTTP connection (the protocol's outbound
/// message): `conn.send(x)` takes anything that converts into it.
///
/// * a [`Response`];
/// * a [`Chunk`] of a streamed response ([`Chunk::end`] ends it);
/// * a [`ServerSentEvent`] on an event stream;
/// * a string or bytes: a 200 response with that body and Workerman's
///   default `Content-Type: text/html;charset=utf-8`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outgoing {
    /// A response, or the head of a streamed one.
    Response(Response),
    /// A piece of the open streamed response.
    Chunk(Chunk),
    /// An event of the open event stream.
    Event(ServerSentEvent),
}

impl From<Response> for Outgoing {
    fn from(r: Response) -> Self {
        Outgoing::Response(r)
    }
}

impl From<Chunk> for Outgoing {
    fn from(c: Chunk) -> Self {
        Outgoing::Chunk(c)
    }
}

impl From<ServerSentEvent> for Outgoing {
    fn from(e: ServerSentEvent) -> Self {
        Outgoing::Event(e)
    }
}

impl From<&str> for Outgoing {
    fn from(s: &str) -> Self {
        Outgoing::Response(Response::new(200).with_body(Bytes::copy_from_slice(s.as_bytes())))
    }
}

impl From<String> for Outgoing {
    fn from(s: String) -> Self {
        Outgoing::Response(Response::new(200).with_body(s))
    }
}

impl From<Bytes> for Outgoing {
    fn from(b: Bytes) -> Self {
        Outgoing::Response(Response::new(200).with_body(b))
    }
}

impl From<Vec<u8>> for Outgoing {
    fn from(b: Vec<u8>) -> Self {
        Outgoing::Response(Response::new(200).with_body(b))
    }
}

impl From<crate::Payload> for Outgoing {
    fn from(p: crate::Payload) -> Self {
        Outgoing::Response(Response::new(200).with_body(p.into_bytes()))
    }
}
