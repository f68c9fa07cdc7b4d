//! Chunked transfer coding: the incremental decoder of request bodies and
//! [`Chunk`], one piece of a streamed response.
//!
//! ```text
//! chunked-body = *chunk last-chunk trailer-section CRLF
//! chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! last-chunk   = 1*("0") [ chunk-ext ] CRLF
//! ```
//!
//! Line endings in the chunk framing must be CRLF (a bare LF is refused:
//! parsers that disagree on it are a request-smuggling vector).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::error::HttpCodecError;
use super::parse::{HeaderSpan, Span};

/// The longest chunk-size line (size, extensions, CRLF) accepted.
const MAX_SIZE_LINE: usize = 4096;
/// The most trailer fields accepted.
const MAX_TRAILERS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    Data { remaining: u64 },
    DataEnd,
    Trailer,
}

/// Decodes a chunked body as it arrives, copying the data into one buffer.
#[derive(Debug)]
pub(crate) struct ChunkedDecoder {
    state: State,
    body: BytesMut,
    /// Limit on the decoded body.
    max_body: usize,
    /// Limit on the trailer section.
    max_trailer: usize,
}

/// The trailer section of a chunked body.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trailers {
    pub(crate) block: Bytes,
    pub(crate) fields: Vec<HeaderSpan>,
}

impl ChunkedDecoder {
    pub(crate) fn new(max_body: usize, max_trailer: usize) -> Self {
        ChunkedDecoder {
            state: State::Size,
            body: BytesMut::new(),
            max_body,
            max_trailer,
        }
    }

    /// Consumes what it can from `src`. `Ok(Some(..))`: the body is
    /// complete (its bytes and its trailers); `Ok(None)`: more is needed.
    pub(crate) fn decode(
        &mut self,
        src: &mut BytesMut,
    ) -> Result<Option<(Bytes, Trailers)>, HttpCodecError> {
        loop {
            match self.state {
                State::Size => {
                    let Some(lf) = memchr::memchr(b'\n', &src[..src.len().min(MAX_SIZE_LINE)])
                    else {
                        if src.len() >= MAX_SIZE_LINE {
                            return Err(HttpCodecError::MalformedChunk("chunk-size line too long"));
                        }
                        return Ok(None);
                    };
                    let size = parse_size_line(&src[..lf])?;
                    src.advance(lf + 1);
                    if size == 0 {
                        self.state = State::Trailer;
                        continue;
                    }
                    let total = (self.body.len() as u64).saturating_add(size);
                    if total > self.max_body as u64 {
                        return Err(HttpCodecError::BodyTooLarge { max: self.max_body });
                    }
                    // Nothing reserved for the announced size: the body
                    // grows as the chunk's data arrives.
                    self.state = State::Data { remaining: size };
                }
                State::Data { remaining } => {
                    if src.is_empty() {
                        return Ok(None);
                    }
                    let n = remaining.min(src.len() as u64) as usize;
                    self.body.put_slice(&src[..n]);
                    src.advance(n);
                    let remaining = remaining - n as u64;
                    self.state = if remaining == 0 {
                        State::DataEnd
                    } else {
                        State::Data { remaining }
                    };
                }
                State::DataEnd => match &src[..src.len().min(2)] {
                    b"\r\n" => {
                        src.advance(2);
                        self.state = State::Size;
                    }
                    [] | b"\r" => return Ok(None),
                    _ => return Err(HttpCodecError::MalformedChunk("no CRLF after chunk data")),
                },
                State::Trailer => {
                    if src.starts_with(b"\r\n") {
                        src.advance(2);
                        return Ok(Some((self.take_body(), Trailers::default())));
                    }
                    if src.len() < 2 {
                        return Ok(None);
                    }
                    let window = &src[..src.len().min(self.max_trailer + 4)];
                    let Some(end) = memchr::memmem::find(window, b"\r\n\r\n") else {
                        if src.len() >= self.max_trailer + 4 {
                            return Err(HttpCodecError::HeadTooLarge {
                                max: self.max_trailer,
                            });
                        }
                        return Ok(None);
                    };
                    let block = src.split_to(end + 4).freeze();
                    let fields = parse_trailers(&block)?;
                    return Ok(Some((self.take_body(), Trailers { block, fields })));
                }
            }
        }
    }

    fn take_body(&mut self) -> Bytes {
        self.state = State::Size;
        std::mem::take(&mut self.body).freeze()
    }
}

/// `1*HEXDIG [ BWS ";" ext ] CR`, the LF already removed.
fn parse_size_line(line: &[u8]) -> Result<u64, HttpCodecError> {
    let Some(line) = line.strip_suffix(b"\r") else {
        return Err(HttpCodecError::MalformedChunk(
            "chunk-size line not ended by CRLF",
        ));
    };
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(HttpCodecError::MalformedChunk("missing chunk size"));
    }
    // Leading zeros are allowed; the value must still fit in 64 bits.
    let mut size: u64 = 0;
    for &d in &line[..digits] {
        let v = (d as char).to_digit(16).unwrap_or(0);
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(u64::from(v)))
            .ok_or(HttpCodecError::MalformedChunk("chunk size overflows"))?;
    }
    let ext = &line[digits..];
    let after_ws = ext
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .map_or(&[][..], |i| &ext[i..]);
    if !(after_ws.is_empty() || after_ws[0] == b';') {
        return Err(HttpCodecError::MalformedChunk("invalid chunk size"));
    }
    if ext.iter().any(|&b| b == b'\r' || b == 0 || b == b'\n') {
        return Err(HttpCodecError::MalformedChunk(
            "control byte in chunk extension",
        ));
    }
    Ok(size)
}

fn parse_trailers(block: &[u8]) -> Result<Vec<HeaderSpan>, HttpCodecError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_TRAILERS];
    match httparse::parse_headers(block, &mut slots) {
        Ok(httparse::Status::Complete((_, parsed))) => Ok(parsed
            .iter()
            .map(|h| HeaderSpan {
                name: Span::of(block, h.name.as_bytes()),
                value: Span::of(block, h.value),
            })
            .collect()),
        Ok(httparse::Status::Partial) => Err(HttpCodecError::MalformedChunk("incomplete trailer")),
        Err(httparse::Error::TooManyHeaders) => {
            Err(HttpCodecError::TooManyHeaders { max: MAX_TRAILERS })
        }
        Err(_) => Err(HttpCodecError::MalformedChunk("invalid trailer field")),
    }
}

/// One piece of a streamed response body, sent with `Connection::send`
/// after a streamed [`Response`](super::Response) head (Workerman's
/// `Chunk`).
///
/// On a chunked response it is written as `<hex length>\r\n<bytes>\r\n`;
/// an empty chunk ([`Chunk::end`]) ends the response (`0\r\n\r\n`). On a
/// response with a known length, or an HTTP/1.0 one, the bytes are written
/// as they are.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::{Decoder, Encoder};
/// use workerman_protocols::http::{Chunk, HttpCodec, Response};
///
/// let mut codec = HttpCodec::default();
/// let mut req = BytesMut::from("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
/// codec.decode(&mut req).unwrap().unwrap();
///
/// let mut out = BytesMut::new();
/// codec.encode(Response::new(200).chunked(), &mut out).unwrap();
/// out.clear();
/// codec.encode(Chunk::new("hello"), &mut out).unwrap();
/// codec.encode(Chunk::end(), &mut out).unwrap();
/// assert_eq!(&out[..], b"5\r\nhello\r\n0\r\n\r\n");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk(Bytes);

impl Chunk {
    /// A chunk of body bytes. An empty one ends the response, as
    /// [`Chunk::end`].
    pub fn new(data: impl Into<Bytes>) -> Self {
        Chunk(data.into())
    }

    /// The last chunk: ends a streamed response.
    pub fn end() -> Self {
        Chunk(Bytes::new())
    }

    /// Whether this is the last chunk.
    pub fn is_end(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes.
    pub fn data(&self) -> &Bytes {
        &self.0
    }

    /// Gives the bytes back.
    pub fn into_data(self) -> Bytes {
        self.0
    }
}

/// Writes `data` as one chunk of a chunked body (`data` non-empty).
pub(crate) fn put_chunk(data: &[u8], dst: &mut BytesMut) {
    let mut hex = [0u8; 16];
    let mut n = data.len();
    let mut i = hex.len();
    loop {
        i -= 1;
        hex[i] = b"0123456789abcdef"[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    dst.reserve(hex.len() - i + data.len() + 4);
    dst.put_slice(&hex[i..]);
    dst.put_slice(b"\r\n");
    dst.put_slice(data);
    dst.put_slice(b"\r\n");
}

/// The last chunk with no trailers.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_lines() {
        assert_eq!(parse_size_line(b"0\r").unwrap(), 0);
        assert_eq!(parse_size_line(b"1a\r").unwrap(), 26);
        assert_eq!(parse_size_line(b"00F;name=value\r").unwrap(), 15);
        assert_eq!(parse_size_line(b"5 ;x\r").unwrap(), 5);
        assert!(parse_size_line(b"5").is_err());
        assert!(parse_size_line(b"\r").is_err());
        assert!(parse_size_line(b"-5\r").is_err());
        assert!(parse_size_line(b"5x\r").is_err());
        assert!(parse_size_line(b"1ffffffffffffffff\r").is_err());
    }

    #[test]
    fn chunk_hex() {
        let mut out = BytesMut::new();
        put_chunk(&[0u8; 255], &mut out);
        assert!(out.starts_with(b"ff\r\n"));
        out.clear();
        put_chunk(b"x", &mut out);
        assert_eq!(&out[..], b"1\r\nx\r\n");
    }
}
