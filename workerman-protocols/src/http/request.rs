//! [`Request`]: one HTTP request as the handler receives it.

use std::fmt;
use std::sync::OnceLock;

use bytes::Bytes;

use super::chunked::Trailers;
use super::form::Params;
use super::multipart::{self, UploadedFile};
use super::parse::{HeaderSpan, ParsedHead, Span};

/// The request methods this server implements (Workerman's list). Any other
/// method is answered with 501 Not Implemented before it reaches a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`: answered like `GET` without the body (the codec drops it).
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
    /// `PATCH`
    Patch,
}

impl Method {
    /// The method for a request-line token (case-sensitive, as RFC 9110
    /// says); `None` for one this server does not implement.
    pub fn from_token(token: &str) -> Option<Method> {
        Some(match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "PATCH" => Method::Patch,
            _ => return None,
        })
    }

    /// The method's token (`"GET"`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Patch => "PATCH",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Method {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Method {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The protocol version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// HTTP/1.0: the connection closes after the response unless the
    /// request asked for `Connection: keep-alive`.
    Http10,
    /// HTTP/1.1: the connection stays open unless a side says
    /// `Connection: close`.
    Http11,
}

impl Version {
    /// `"1.0"` or `"1.1"` (Workerman's `protocolVersion()`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Version::Http10 => "1.0",
            Version::Http11 => "1.1",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP/{}", self.as_str())
    }
}

/// Limits for the parts of a request parsed on demand.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LazyLimits {
    pub(crate) max_params: u32,
    pub(crate) max_parts: u32,
}

/// The form part of a body, parsed on first use.
#[derive(Debug, Default)]
struct Form {
    fields: Params,
    files: Vec<UploadedFile>,
}

/// One HTTP request (Workerman's `Workerman\Protocols\Http\Request`).
///
/// Every byte the client sent is kept: the head in one buffer (header
/// names and values are ranges of it) and the body in another (de-chunked
/// if it came chunked). The query string, the form body, the uploaded files
/// and the cookies are parsed the first time they are asked for, then
/// cached.
///
/// The remote address is not part of the request (the codec does not know
/// it): use `Connection::remote_addr`, or
/// [`TrustedProxies::client_ip`](super::TrustedProxies::client_ip) behind a
/// reverse proxy.
///
/// # Examples
///
/// ```
/// use workerman_protocols::http::{Method, Request};
///
/// let req = Request::parse(
///     b"POST /form?lang=en HTTP/1.1\r\nHost: example.com\r\n\
///       Content-Type: application/x-www-form-urlencoded\r\n\
///       Cookie: PHPSID=abc; theme=dark\r\nContent-Length: 13\r\n\r\n\
///       name=Ann&age=",
/// )
/// .unwrap();
/// assert_eq!(req.method(), Method::Post);
/// assert_eq!(req.path(), "/form");
/// assert_eq!(req.get("lang"), Some("en"));
/// assert_eq!(req.post("name"), Some("Ann"));
/// assert_eq!(req.post("age"), Some(""));
/// assert_eq!(req.cookie("theme"), Some("dark"));
/// assert_eq!(req.header("HOST"), Some("example.com"));
/// assert_eq!(req.host_without_port(), Some("example.com"));
/// ```
pub struct Request {
    head: Bytes,
    method: Method,
    target: Span,
    path: Option<Span>,
    query_span: Option<Span>,
    version: Version,
    headers: Vec<HeaderSpan>,
    body: Bytes,
    trailers: Option<Box<Trailers>>,
    keep_alive: bool,
    limits: LazyLimits,
    /// What is parsed on first use, in a box made on first use: a request
    /// is moved several times on its way to the handler, and most never
    /// ask for any of it.
    lazy: OnceLock<Box<Lazy>>,
}

/// The parts of a [`Request`] parsed the first time they are asked for.
#[derive(Default)]
struct Lazy {
    query: OnceLock<Params>,
    form: OnceLock<Form>,
    cookies: OnceLock<Params>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("uri", &self.uri())
            .field("version", &self.version)
            .field("headers", &self.headers.len())
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Request {
    pub(crate) fn from_parts(
        head: Bytes,
        parsed: ParsedHead,
        body: Bytes,
        trailers: Option<Trailers>,
        limits: LazyLimits,
    ) -> Request {
        Request {
            head,
            method: parsed.method,
            target: parsed.target,
            path: parsed.path,
            query_span: parsed.query,
            version: parsed.version,
            headers: parsed.headers,
            body,
            trailers: trailers.filter(|t| !t.fields.is_empty()).map(Box::new),
            keep_alive: parsed.keep_alive,
            limits,
            lazy: OnceLock::new(),
        }
    }

    /// Parses one complete request from `bytes` with the default limits
    /// (for tests, and for tools that hold a request in memory).
    ///
    /// # Errors
    ///
    /// What the codec would answer the request with, or
    /// [`MalformedHead`](super::HttpCodecError::MalformedHead) when `bytes`
    /// does not hold a whole request.
    pub fn parse(bytes: &[u8]) -> Result<Request, super::HttpCodecError> {
        use tokio_util::codec::Decoder;
        let mut codec = super::HttpCodec::default();
        let mut buf = bytes::BytesMut::from(bytes);
        codec
            .decode(&mut buf)?
            .ok_or(super::HttpCodecError::MalformedHead("incomplete request"))
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The request target as sent (`/path?query`; Workerman's `uri()`).
    pub fn uri(&self) -> &str {
        self.str_at(self.target)
    }

    /// The path part of the target, not percent-decoded (`/` for an
    /// absolute-form target without one, `*` for `OPTIONS *`).
    pub fn path(&self) -> &str {
        self.path.map_or("/", |s| self.str_at(s))
    }

    /// The query string without `?` (empty when there is none).
    pub fn query_string(&self) -> &str {
        self.query_span.map_or("", |s| self.str_at(s))
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Whether the connection stays open after this request's response
    /// (HTTP/1.1 without `Connection: close`, or HTTP/1.0 with
    /// `Connection: keep-alive`). The codec follows it by itself.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// The first value of header `name` (any case), if it is UTF-8 (header
    /// values almost always are ASCII; see
    /// [`header_bytes`](Request::header_bytes) otherwise).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_bytes(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first value of header `name` (any case), as bytes.
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|h| h.name.get(&self.head).eq_ignore_ascii_case(name.as_bytes()))
            .map(|h| h.value.get(&self.head))
    }

    /// Every value of header `name` (any case), in order. Workerman joins
    /// them with `,`; here each line is its own item.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.get(&self.head).eq_ignore_ascii_case(name.as_bytes()))
            .map(|h| h.value.get(&self.head))
    }

    /// Every header line, in order: name as sent, value.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers
            .iter()
            .map(|h| (self.str_at(h.name), h.value.get(&self.head)))
    }

    /// The `Host` header.
    pub fn host(&self) -> Option<&str> {
        self.header("host")
    }

    /// The `Host` header without a trailing `:port`.
    pub fn host_without_port(&self) -> Option<&str> {
        let host = self.host()?;
        match host.rfind(':') {
            Some(i)
                if !host[i + 1..].is_empty()
                    && host[i + 1..].bytes().all(|b| b.is_ascii_digit())
                    && (!host.starts_with('[') || host[..i].ends_with(']')) =>
            {
                Some(&host[..i])
            }
            _ => Some(host),
        }
    }

    /// The `Content-Type` header.
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// Whether the request came from `XMLHttpRequest`
    /// (`X-Requested-With: XMLHttpRequest`).
    pub fn is_ajax(&self) -> bool {
        self.header("x-requested-with")
            .is_some_and(|v| v.eq_ignore_ascii_case("XMLHttpRequest"))
    }

    /// The query parameters (Workerman's `get()` without a name).
    pub fn query(&self) -> &Params {
        self.lazy().query.get_or_init(|| {
            Params::parse_urlencoded_limited(
                self.query_string().as_bytes(),
                self.limits.max_params as usize,
            )
        })
    }

    /// Query parameter `name` (Workerman's `get(name)`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.query().get(name)
    }

    /// The form fields of the body (Workerman's `post()` without a name):
    /// from a `multipart/form-data` body (its files are in
    /// [`files`](Request::files)), or from an
    /// `application/x-www-form-urlencoded` one (or one without a
    /// `Content-Type`). Other bodies give no fields: Workerman decodes JSON
    /// into an array and parses anything else as a query string; here, read
    /// [`body`](Request::body) (with a JSON library for JSON).
    pub fn form(&self) -> &Params {
        &self.parsed_form().fields
    }

    /// Form field `name` (Workerman's `post(name)`).
    pub fn post(&self, name: &str) -> Option<&str> {
        self.form().get(name)
    }

    /// The uploaded files of a `multipart/form-data` body, in order
    /// (parts whose file input was left empty are skipped).
    pub fn files(&self) -> &[UploadedFile] {
        &self.parsed_form().files
    }

    /// The first file uploaded under field `name` (Workerman's
    /// `file(name)`).
    pub fn file(&self, name: &str) -> Option<&UploadedFile> {
        self.files().iter().find(|f| f.field_name() == name)
    }

    /// The cookies of the `Cookie` header(s).
    pub fn cookies(&self) -> &Params {
        self.lazy().cookies.get_or_init(|| {
            let max = self.limits.max_params as usize;
            let mut all = Params::new();
            for line in self.header_all("cookie") {
                for (k, v) in &Params::parse_cookie_header(line, max) {
                    if all.len() < max {
                        all.push(k, v);
                    }
                }
            }
            all
        })
    }

    /// Cookie `name`. When a name comes twice, the first wins (browsers
    /// send the most specific cookie first).
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies()
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// The body as received (de-chunked if it came chunked; Workerman's
    /// `rawBody()`).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The head as received: request line, headers, blank line
    /// (Workerman's `rawHead()`).
    pub fn raw_head(&self) -> &Bytes {
        &self.head
    }

    /// Trailer field `name` of a chunked body (any case).
    pub fn trailer(&self, name: &str) -> Option<&[u8]> {
        let t = self.trailers.as_deref()?;
        t.fields
            .iter()
            .find(|h| h.name.get(&t.block).eq_ignore_ascii_case(name.as_bytes()))
            .map(|h| h.value.get(&t.block))
    }

    /// Every trailer field of a chunked body.
    pub fn trailers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.trailers.iter().flat_map(|t| {
            t.fields.iter().map(move |h| {
                (
                    std::str::from_utf8(h.name.get(&t.block)).unwrap_or(""),
                    h.value.get(&t.block),
                )
            })
        })
    }

    fn lazy(&self) -> &Lazy {
        self.lazy.get_or_init(Box::default)
    }

    fn parsed_form(&self) -> &Form {
        self.lazy().form.get_or_init(|| {
            let max_params = self.limits.max_params as usize;
            let ct = self.header_bytes("content-type").unwrap_or(b"");
            if let Some(boundary) = multipart::boundary(ct) {
                let (fields, files) = multipart::parse(
                    &self.body,
                    boundary,
                    self.limits.max_parts as usize,
                    max_params,
                );
                return Form { fields, files };
            }
            let media = super::parse::trim(ct.split(|&b| b == b';').next().unwrap_or(b""));
            // Workerman parses any other body as a query string; only a
            // form (or a body that names no type) is parsed here, so binary
            // and JSON bodies are not torn apart at `&` and `=`.
            if !(media.is_empty()
                || media.eq_ignore_ascii_case(b"application/x-www-form-urlencoded"))
            {
                return Form::default();
            }
            Form {
                fields: Params::parse_urlencoded_limited(&self.body, max_params),
                files: Vec::new(),
            }
        })
    }

    /// Header and target bytes are ASCII-checked by the parser (the target
    /// strictly; header names are tokens), so this never loses data for
    /// them.
    fn str_at(&self, span: Span) -> &str {
        std::str::from_utf8(span.get(&self.head)).unwrap_or("")
    }
}
