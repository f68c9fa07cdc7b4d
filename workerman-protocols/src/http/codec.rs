//! [`HttpCodec`]: requests in, responses out, and the per-connection state
//! that ties them: keep-alive decisions, streamed responses, deadlines.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::chunked::{put_chunk, Chunk, ChunkedDecoder, Trailers, LAST_CHUNK};
use super::error::HttpCodecError;
use super::parse::{parse_head, Framing as RequestFraming, ParsedHead};
use super::request::{LazyLimits, Method, Request, Version};
use super::response::{Body, Framing, HeadOptions, Response};
use super::sse::ServerSentEvent;
use super::status::reason_phrase;
use super::{HttpConfig, Outgoing};
use crate::{Conversation, DEFAULT_MAX_PACKAGE_SIZE};

/// Requests decoded but not answered yet beyond which a connection is
/// refused: only handlers that answer later (from another task) let them
/// pile up, and a client must not be able to grow the queue for ever.
const MAX_AWAITING: usize = 1024;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Where the decoder is in the current request.
#[derive(Debug)]
enum Reading {
    /// Between requests.
    Idle,
    /// Part of a head has arrived.
    Head {
        /// When its first bytes were seen (the head deadline runs from
        /// there).
        started: Instant,
        /// How far the buffer was searched for the end of the head.
        scanned: usize,
    },
    /// The head is parsed; the body is arriving.
    Body {
        head: Bytes,
        parsed: Box<ParsedHead>,
        body: BodyReader,
    },
}

#[derive(Debug)]
enum BodyReader {
    Length(u64),
    Chunked(ChunkedDecoder),
}

/// What a decoded request said about its response.
#[derive(Debug, Clone, Copy)]
struct Exchange {
    keep_alive: bool,
    head: bool,
    version: Version,
}

impl Exchange {
    /// For a response sent with no request waiting for one.
    const UNSOLICITED: Exchange = Exchange {
        keep_alive: true,
        head: false,
        version: Version::Http11,
    };
}

/// A streamed response in progress.
#[derive(Debug, Clone, Copy)]
struct Stream {
    kind: StreamKind,
    /// Close the connection when the stream ends.
    close_after: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamKind {
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// HTTP/1.0: the bytes as they are, ended by the close.
    UntilClose,
    /// `Content-Length` announced; this many bytes still to come.
    Sized { remaining: u64 },
    /// `text/event-stream`, ended by the close.
    Events,
    /// The response to HEAD: the body is dropped.
    Discard,
}

/// The codec of [`Http`](super::Http): decodes [`Request`]s, encodes
/// [`Response`]s, [`Chunk`]s and [`ServerSentEvent`]s.
///
/// One codec serves one connection and keeps what HTTP/1.1 needs across
/// messages: which requests still wait for their response and whether
/// each allows keep-alive (responses pair with requests in order), whether
/// a streamed response is open (further requests wait until it ends), and
/// whether the connection must close once the current response is out
/// ([`wants_close`](HttpCodec::wants_close)).
///
/// The framework drives the hooks; tests can call them directly, as below.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::{Decoder, Encoder};
/// use workerman_protocols::http::{HttpCodec, HttpConfig, Response};
///
/// let mut codec = HttpCodec::new(HttpConfig::default().date_header(false), 1 << 20);
/// let mut buf = BytesMut::from("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.0\r\n\r\n");
/// let a = codec.decode(&mut buf).unwrap().unwrap();
/// let b = codec.decode(&mut buf).unwrap().unwrap();
/// assert_eq!((a.path(), b.path()), ("/a", "/b"));
///
/// let mut out = BytesMut::new();
/// codec.encode(Response::text("A"), &mut out).unwrap();
/// assert!(!codec.wants_close()); // HTTP/1.1 keeps the connection
/// codec.encode(Response::text("B"), &mut out).unwrap();
/// assert!(codec.wants_close()); // HTTP/1.0 without keep-alive closes
/// ```
#[derive(Debug)]
pub struct HttpCodec {
    config: HttpConfig,
    /// Largest request body (the worker's `max_package_size`).
    max_body: usize,
    reading: Reading,
    /// A request that ends the connection was decoded: nothing after it is
    /// read (RFC 9112 9.6).
    closed_for_reading: bool,
    /// Bytes the codec writes by itself (`100 Continue`).
    out: BytesMut,
    /// Requests delivered whose response has not started, oldest first.
    awaiting: VecDeque<Exchange>,
    stream: Option<Stream>,
    /// The connection closes once what is queued is written.
    must_close: bool,
}

impl Default for HttpCodec {
    /// Default settings, bodies up to [`DEFAULT_MAX_PACKAGE_SIZE`].
    fn default() -> Self {
        HttpCodec::new(HttpConfig::default(), DEFAULT_MAX_PACKAGE_SIZE)
    }
}

impl HttpCodec {
    /// A codec with `config`, accepting request bodies of up to `max_body`
    /// bytes.
    pub fn new(mut config: HttpConfig, max_body: usize) -> Self {
        // Ranges into a head are 32-bit; the fields are public, so clamp
        // here what the setters clamp.
        config.max_head_size = config.max_head_size.min(u32::MAX as usize / 2);
        config.max_headers = config.max_headers.clamp(1, super::parse::HEADERS_CAP);
        HttpCodec {
            config,
            max_body,
            reading: Reading::Idle,
            closed_for_reading: false,
            out: BytesMut::new(),
            awaiting: VecDeque::new(),
            stream: None,
            must_close: false,
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// The largest request body accepted.
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// Whether the connection must close once everything queued is written
    /// (the `should_close` hook).
    pub fn wants_close(&self) -> bool {
        self.must_close
    }

    /// Whether a streamed response (chunked, sized, events) is open.
    pub fn is_streaming(&self) -> bool {
        self.stream.is_some()
    }

    /// How many decoded requests still wait for their response.
    pub fn awaiting_responses(&self) -> usize {
        self.awaiting.len()
    }

    /// A head that has not ended within the size limit is refused.
    fn check_head_size(&self, src: &BytesMut) -> Result<(), HttpCodecError> {
        if src.len() >= self.config.max_head_size {
            return Err(HttpCodecError::HeadTooLarge {
                max: self.config.max_head_size,
            });
        }
        Ok(())
    }

    fn limits(&self) -> LazyLimits {
        LazyLimits {
            max_params: self.config.max_params.min(u32::MAX as usize) as u32,
            max_parts: self.config.max_file_uploads.min(u32::MAX as usize) as u32,
        }
    }

    /// Parses a head at the start of `src` (already known to be worth
    /// parsing) and moves to reading its body, or gives the whole request
    /// when its body is already there (the usual `GET`: no state is kept
    /// for it).
    fn start_request(&mut self, src: &mut BytesMut) -> Result<Started, HttpCodecError> {
        let Some(parsed) = parse_head(src, self.config.max_headers)? else {
            return Ok(Started::Incomplete);
        };
        if parsed.len > self.config.max_head_size {
            return Err(HttpCodecError::HeadTooLarge {
                max: self.config.max_head_size,
            });
        }
        let body = match parsed.framing {
            RequestFraming::Length(n) if n > self.max_body as u64 => {
                return Err(HttpCodecError::BodyTooLarge { max: self.max_body })
            }
            RequestFraming::Length(n) => BodyReader::Length(n),
            RequestFraming::Chunked => BodyReader::Chunked(ChunkedDecoder::new(
                self.max_body,
                self.config.max_head_size,
            )),
        };
        let head = src.split_to(parsed.len).freeze();
        let body_missing = match body {
            BodyReader::Length(n) if (src.len() as u64) >= n => {
                self.reading = Reading::Idle;
                let body = match n {
                    0 => Bytes::new(),
                    n => src.split_to(n as usize).freeze(),
                };
                let request = self.complete(src, head, parsed, body, None)?;
                return Ok(Started::Complete(request));
            }
            BodyReader::Length(_) => true,
            BodyReader::Chunked(_) => true,
        };
        if parsed.expect_continue && body_missing {
            self.out.put_slice(CONTINUE);
        }
        self.reading = Reading::Body {
            head,
            parsed: Box::new(parsed),
            body,
        };
        Ok(Started::Reading)
    }

    fn finish_request(
        &mut self,
        src: &mut BytesMut,
        body: Bytes,
        trailers: Option<Trailers>,
    ) -> Result<Option<Request>, HttpCodecError> {
        let Reading::Body { head, parsed, .. } =
            std::mem::replace(&mut self.reading, Reading::Idle)
        else {
            return Ok(None);
        };
        self.complete(src, head, *parsed, body, trailers).map(Some)
    }

    /// A whole request has arrived: remember what its response needs.
    fn complete(
        &mut self,
        src: &mut BytesMut,
        head: Bytes,
        parsed: ParsedHead,
        body: Bytes,
        trailers: Option<Trailers>,
    ) -> Result<Request, HttpCodecError> {
        if self.awaiting.len() >= MAX_AWAITING {
            return Err(HttpCodecError::PipelineOverflow);
        }
        self.awaiting.push_back(Exchange {
            keep_alive: parsed.keep_alive,
            head: parsed.method == Method::Head,
            version: parsed.version,
        });
        if !parsed.keep_alive {
            self.closed_for_reading = true;
            src.clear();
        }
        Ok(Request::from_parts(
            head,
            parsed,
            body,
            trailers,
            self.limits(),
        ))
    }

    fn encode_response(
        &mut self,
        mut r: Response,
        dst: &mut BytesMut,
    ) -> Result<(), HttpCodecError> {
        if self.stream.is_some() {
            return Err(HttpCodecError::StreamInProgress);
        }
        let ex = self.awaiting.pop_front().unwrap_or(Exchange::UNSOLICITED);
        let scan = r.scan();
        // Workerman's way of starting a stream: a header on a plain
        // response.
        let body = match std::mem::replace(&mut r.body, Body::Full(Bytes::new())) {
            Body::Full(b) if scan.chunked => Body::Chunked(b),
            Body::Full(_) if scan.event_stream => Body::Events,
            other => other,
        };
        let status = r.status();
        let no_body = status < 200 || status == 204 || status == 304;
        let mut close = !ex.keep_alive || scan.close;
        let (framing, mut kind, first) = match body {
            _ if no_body => (Framing::NoBody, None, Bytes::new()),
            Body::Full(b) => (Framing::Length(b.len() as u64), None, b),
            Body::Sized(n) => (
                Framing::Length(n),
                (n > 0).then_some(StreamKind::Sized { remaining: n }),
                Bytes::new(),
            ),
            Body::Chunked(first) if ex.version == Version::Http10 => {
                close = true;
                (Framing::UntilClose, Some(StreamKind::UntilClose), first)
            }
            Body::Chunked(first) => (Framing::Chunked, Some(StreamKind::Chunked), first),
            Body::Events => {
                close = true;
                (Framing::UntilClose, Some(StreamKind::Events), Bytes::new())
            }
        };
        if ex.head && kind.is_some() {
            kind = match kind {
                // The announced length is the whole answer to HEAD.
                Some(StreamKind::Sized { .. }) => None,
                _ => Some(StreamKind::Discard),
            };
        }
        let opts = HeadOptions {
            server: self.config.server_header,
            date: self.config.date_header,
            close,
            framing,
        };
        r.write_head(&opts, &scan, dst);
        if !ex.head && !first.is_empty() {
            match kind {
                Some(StreamKind::Chunked) => put_chunk(&first, dst),
                _ => dst.extend_from_slice(&first),
            }
        }
        match kind {
            None => self.must_close |= close,
            Some(kind) => {
                self.stream = Some(Stream {
                    kind,
                    close_after: close,
                })
            }
        }
        Ok(())
    }

    fn encode_chunk(&mut self, chunk: Chunk, dst: &mut BytesMut) -> Result<(), HttpCodecError> {
        let Some(stream) = &mut self.stream else {
            return Err(HttpCodecError::NoStreamOpen);
        };
        if chunk.is_end() {
            match stream.kind {
                StreamKind::Chunked => dst.extend_from_slice(LAST_CHUNK),
                // Ended short of its announced length: the client can only
                // tell by the close.
                StreamKind::Sized { .. } => stream.close_after = true,
                StreamKind::UntilClose | StreamKind::Events | StreamKind::Discard => {}
            }
            self.end_stream();
            return Ok(());
        }
        let data = chunk.data();
        match &mut stream.kind {
            StreamKind::Chunked => put_chunk(data, dst),
            StreamKind::UntilClose | StreamKind::Events => dst.extend_from_slice(data),
            StreamKind::Sized { remaining } => {
                let len = data.len() as u64;
                if len > *remaining {
                    return Err(HttpCodecError::BodyOverflow {
                        declared: *remaining,
                    });
                }
                dst.extend_from_slice(data);
                *remaining -= len;
                if *remaining == 0 {
                    self.end_stream();
                }
            }
            StreamKind::Discard => {}
        }
        Ok(())
    }

    fn encode_event(
        &mut self,
        event: &ServerSentEvent,
        dst: &mut BytesMut,
    ) -> Result<(), HttpCodecError> {
        match self.stream.map(|s| s.kind) {
            Some(StreamKind::Events | StreamKind::UntilClose) => {
                event.put(dst);
                Ok(())
            }
            Some(StreamKind::Chunked) => {
                let mut text = BytesMut::new();
                event.put(&mut text);
                put_chunk(&text, dst);
                Ok(())
            }
            Some(StreamKind::Discard) => Ok(()),
            Some(StreamKind::Sized { .. }) | None => Err(HttpCodecError::NoStreamOpen),
        }
    }

    fn end_stream(&mut self) {
        if let Some(s) = self.stream.take() {
            self.must_close |= s.close_after;
        }
    }
}

impl Conversation for HttpCodec {
    /// Moves the bytes the codec wants written by itself (`100 Continue`)
    /// to `dst` (the `poll_output` hook).
    fn poll_output(&mut self, dst: &mut BytesMut) {
        if !self.out.is_empty() {
            dst.extend_from_slice(&self.out);
            self.out.clear();
        }
    }

    /// The answer to a decode error (the `error_response` hook): a status
    /// line with `Connection: close`, or nothing when the error has no
    /// status or a response is already under way (an answer now would be
    /// out of order).
    fn error_response(&mut self, err: &HttpCodecError) -> Option<Bytes> {
        self.must_close = true;
        if self.stream.is_some() || !self.awaiting.is_empty() {
            return None;
        }
        err.status().map(error_answer)
    }

    /// How long the connection may wait for data now (the `read_timeout`
    /// hook): the rest of the head deadline while a head arrives, the body
    /// timeout while a body arrives, the keep-alive timeout between
    /// requests; none while a response is owed or streaming.
    fn read_timeout(&self) -> Option<Duration> {
        if self.stream.is_some() || !self.awaiting.is_empty() || self.closed_for_reading {
            return None;
        }
        match &self.reading {
            Reading::Idle => self.config.keep_alive_timeout,
            Reading::Head { started, .. } => {
                Some(self.config.head_timeout.saturating_sub(started.elapsed()))
            }
            Reading::Body { .. } => Some(self.config.body_timeout),
        }
    }

    /// The answer when the read deadline passed (the `timeout_response`
    /// hook): 408 when a request was arriving, nothing on an idle
    /// keep-alive connection (a 408 there could be taken by the client as
    /// the answer to a request it is just sending).
    fn timeout_response(&mut self) -> Option<Bytes> {
        self.must_close = true;
        match self.reading {
            Reading::Idle => None,
            Reading::Head { .. } | Reading::Body { .. } => Some(error_answer(408)),
        }
    }

    fn should_close(&self) -> bool {
        self.wants_close()
    }
}

impl Decoder for HttpCodec {
    type Item = Request;
    type Error = HttpCodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Request>, HttpCodecError> {
        if self.closed_for_reading || self.must_close {
            // Nothing after a request that ends the connection is read.
            src.clear();
            return Ok(None);
        }
        if self.stream.is_some() {
            // The next request waits until the stream ends; what it may
            // hold meanwhile is bounded.
            if src.len() > self.max_body.saturating_add(self.config.max_head_size) {
                return Err(HttpCodecError::PipelineOverflow);
            }
            return Ok(None);
        }
        match &mut self.reading {
            Reading::Idle => {
                if src.is_empty() {
                    return Ok(None);
                }
                // First look: parse at once (the whole head usually came in
                // one read, and garbage is refused early).
                match self.start_request(src)? {
                    Started::Complete(request) => return Ok(Some(request)),
                    Started::Reading => {}
                    Started::Incomplete => {
                        self.check_head_size(src)?;
                        self.reading = Reading::Head {
                            started: Instant::now(),
                            scanned: src.len(),
                        };
                        return Ok(None);
                    }
                }
            }
            Reading::Head { scanned, .. } => {
                // Parse again only once the blank line has arrived, so a
                // head trickling in byte by byte costs linear time.
                let from = scanned.saturating_sub(3);
                let limit = src.len().min(self.config.max_head_size.saturating_add(4));
                let complete = head_end(&src[from.min(limit)..limit]);
                *scanned = src.len();
                let started = if complete {
                    self.start_request(src)?
                } else {
                    Started::Incomplete
                };
                match started {
                    Started::Complete(request) => return Ok(Some(request)),
                    Started::Reading => {}
                    Started::Incomplete => {
                        self.check_head_size(src)?;
                        return Ok(None);
                    }
                }
            }
            Reading::Body { .. } => {}
        }
        let Reading::Body { body, .. } = &mut self.reading else {
            return Ok(None);
        };
        match body {
            BodyReader::Length(n) => {
                let n = *n as usize;
                if src.len() >= n {
                    let body = src.split_to(n).freeze();
                    self.finish_request(src, body, None)
                } else {
                    // Nothing is reserved for what the head only announced:
                    // the read buffer grows as the body arrives.
                    Ok(None)
                }
            }
            BodyReader::Chunked(dec) => match dec.decode(src)? {
                Some((body, trailers)) => self.finish_request(src, body, Some(trailers)),
                None => Ok(None),
            },
        }
    }
}

/// What [`HttpCodec::start_request`] found.
enum Started {
    /// The head has not fully arrived.
    Incomplete,
    /// The head is parsed, its body is being read.
    Reading,
    /// The head had no body (or an empty one): the whole request.
    Complete(Request),
}

/// Whether `buf` holds the end of a head: a line end followed by an empty
/// line (`\n\n` or `\n\r\n`).
fn head_end(buf: &[u8]) -> bool {
    memchr::memchr_iter(b'\n', buf)
        .any(|i| matches!(&buf[i + 1..], [b'\n', ..] | [b'\r', b'\n', ..]))
}

/// An error answer: status line, `Connection: close`, empty body.
fn error_answer(status: u16) -> Bytes {
    let mut b = BytesMut::with_capacity(80);
    b.put_slice(b"HTTP/1.1 ");
    super::response::put_u64(u64::from(status), &mut b);
    b.put_u8(b' ');
    b.put_slice(reason_phrase(status).as_bytes());
    b.put_slice(b"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    b.freeze()
}

impl Encoder<Outgoing> for HttpCodec {
    type Error = HttpCodecError;

    fn encode(&mut self, item: Outgoing, dst: &mut BytesMut) -> Result<(), HttpCodecError> {
        match item {
            Outgoing::Response(r) => self.encode_response(r, dst),
            Outgoing::Chunk(c) => self.encode_chunk(c, dst),
            Outgoing::Event(e) => self.encode_event(&e, dst),
        }
    }
}

impl Encoder<Response> for HttpCodec {
    type Error = HttpCodecError;

    fn encode(&mut self, item: Response, dst: &mut BytesMut) -> Result<(), HttpCodecError> {
        self.encode_response(item, dst)
    }
}

impl Encoder<Chunk> for HttpCodec {
    type Error = HttpCodecError;

    fn encode(&mut self, item: Chunk, dst: &mut BytesMut) -> Result<(), HttpCodecError> {
        self.encode_chunk(item, dst)
    }
}

impl Encoder<ServerSentEvent> for HttpCodec {
    type Error = HttpCodecError;

    fn encode(&mut self, item: ServerSentEvent, dst: &mut BytesMut) -> Result<(), HttpCodecError> {
        self.encode_event(&item, dst)
    }
}
