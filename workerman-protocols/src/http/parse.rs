//! Request head parsing: `httparse` for the grammar, then the checks that
//! decide how the body is framed (and refuse the request-smuggling shapes).

use std::mem::MaybeUninit;

use super::error::HttpCodecError;
use super::request::{Method, Version};

/// The most header lines any configuration may allow; the parser's header
/// array lives on the stack.
pub(crate) const HEADERS_CAP: usize = 256;

/// A byte range in the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Span {
    /// The range of `part` within `base` (empty if it is not inside).
    pub(crate) fn of(base: &[u8], part: &[u8]) -> Span {
        let start = (part.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
        if start > base.len() || part.len() > base.len() - start {
            return Span::default();
        }
        Span {
            start: start as u32,
            end: (start + part.len()) as u32,
        }
    }

    pub(crate) fn get<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.start as usize..self.end as usize]
    }

    fn sub(&self, from: usize, to: usize) -> Span {
        Span {
            start: self.start + from as u32,
            end: self.start + to as u32,
        }
    }
}

/// One header line: name and value ranges in the head.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeaderSpan {
    pub(crate) name: Span,
    pub(crate) value: Span,
}

/// How the body that follows a head is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Content-Length: n` (0 when absent).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head; ranges are relative to the start of the buffer
/// it was parsed from.
#[derive(Debug)]
pub(crate) struct ParsedHead {
    /// Bytes taken by the head, blank line included.
    pub(crate) len: usize,
    pub(crate) method: Method,
    pub(crate) target: Span,
    /// The path within the target; `None` for an absolute-form target with
    /// an empty path (it means `/`).
    pub(crate) path: Option<Span>,
    pub(crate) query: Option<Span>,
    pub(crate) version: Version,
    pub(crate) headers: Vec<HeaderSpan>,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
    pub(crate) framing: Framing,
}

/// Parses the request head at the start of `buf`. `Ok(None)`: not complete
/// yet (the caller enforces the size limit).
pub(crate) fn parse_head(
    buf: &[u8],
    max_headers: usize,
) -> Result<Option<ParsedHead>, HttpCodecError> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; HEADERS_CAP];
    let slots = &mut slots[..max_headers.clamp(1, HEADERS_CAP)];
    let mut req = httparse::Request::new(&mut []);
    let status = httparse::ParserConfig::default()
        .parse_request_with_uninit_headers(&mut req, buf, slots)
        .map_err(|e| map_httparse_error(e, buf, max_headers))?;
    let len = match status {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => return Ok(None),
    };
    // All three are set once the parse is complete.
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(HttpCodecError::MalformedHead("incomplete request line"));
    };
    let version = if minor == 1 {
        Version::Http11
    } else {
        Version::Http10
    };
    let method = Method::from_token(method).ok_or(HttpCodecError::MethodNotImplemented)?;
    let target_span = Span::of(buf, target.as_bytes());
    let (path, query) = split_target(target.as_bytes(), target_span, method)?;

    let mut headers = Vec::with_capacity(req.headers.len());
    let mut hosts = 0usize;
    let mut content_length: Option<u64> = None;
    let mut transfer_encoding = false;
    let mut chunked = TeState::default();
    let mut conn_close = false;
    let mut conn_keep_alive = false;
    let mut expect_continue = false;
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        headers.push(HeaderSpan {
            name: Span::of(buf, name),
            value: Span::of(buf, h.value),
        });
        let value = trim(h.value);
        if name.eq_ignore_ascii_case(b"host") {
            hosts += 1;
            if !valid_host(value) {
                return Err(HttpCodecError::InvalidHost);
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_content_length(value)?;
            if content_length.is_some_and(|prev| prev != n) {
                return Err(HttpCodecError::ConflictingContentLength);
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            transfer_encoding = true;
            chunked.add(value);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(trim) {
                if token.eq_ignore_ascii_case(b"close") {
                    conn_close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    conn_keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            if value.eq_ignore_ascii_case(b"100-continue") {
                expect_continue = version == Version::Http11;
            } else {
                return Err(HttpCodecError::ExpectationFailed);
            }
        }
    }
    match (version, hosts) {
        (_, n) if n > 1 => return Err(HttpCodecError::DuplicateHost),
        (Version::Http11, 0) => return Err(HttpCodecError::MissingHost),
        _ => {}
    }
    let framing = if transfer_encoding {
        if content_length.is_some() {
            return Err(HttpCodecError::ContentLengthWithTransferEncoding);
        }
        if version == Version::Http10 {
            return Err(HttpCodecError::InvalidTransferEncoding);
        }
        chunked.framing()?
    } else {
        Framing::Length(content_length.unwrap_or(0))
    };
    let keep_alive = match version {
        Version::Http11 => !conn_close,
        Version::Http10 => conn_keep_alive && !conn_close,
    };
    Ok(Some(ParsedHead {
        len,
        method,
        target: target_span,
        path,
        query,
        version,
        headers,
        keep_alive,
        expect_continue,
        framing,
    }))
}

/// What the `Transfer-Encoding` lines said, in order.
#[derive(Default)]
struct TeState {
    codings: usize,
    chunked_count: usize,
    last_is_chunked: bool,
}

impl TeState {
    fn add(&mut self, value: &[u8]) {
        for coding in value.split(|&b| b == b',').map(trim) {
            if coding.is_empty() {
                continue;
            }
            self.codings += 1;
            let is_chunked = coding.eq_ignore_ascii_case(b"chunked");
            self.chunked_count += usize::from(is_chunked);
            self.last_is_chunked = is_chunked;
        }
    }

    fn framing(&self) -> Result<Framing, HttpCodecError> {
        // RFC 9112 6.3: chunked must be the final coding, and only once;
        // anything else cannot be framed and is refused as a whole.
        if !self.last_is_chunked || self.chunked_count != 1 {
            return Err(HttpCodecError::InvalidTransferEncoding);
        }
        if self.codings > 1 {
            return Err(HttpCodecError::TransferCodingNotImplemented);
        }
        Ok(Framing::Chunked)
    }
}

fn map_httparse_error(e: httparse::Error, buf: &[u8], max_headers: usize) -> HttpCodecError {
    match e {
        httparse::Error::TooManyHeaders => HttpCodecError::TooManyHeaders { max: max_headers },
        httparse::Error::Version if looks_like_other_version(buf) => {
            HttpCodecError::VersionNotSupported
        }
        httparse::Error::Version => HttpCodecError::MalformedHead("invalid HTTP version"),
        httparse::Error::Token => HttpCodecError::MalformedHead("invalid token"),
        httparse::Error::HeaderName => HttpCodecError::MalformedHead("invalid header name"),
        httparse::Error::HeaderValue => HttpCodecError::MalformedHead("invalid header value"),
        httparse::Error::NewLine => HttpCodecError::MalformedHead("invalid line ending"),
        httparse::Error::Status => HttpCodecError::MalformedHead("invalid status"),
    }
}

/// Whether the request line ends in a well-formed version other than 1.0
/// and 1.1 (`HTTP/2.0`, `HTTP/1.2`): that gets 505, not 400.
fn looks_like_other_version(buf: &[u8]) -> bool {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(0);
    let line = &buf[start..];
    let line = match memchr::memchr(b'\n', line) {
        Some(i) => &line[..i],
        None => line,
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Some(version) = line.rsplit(|&b| b == b' ').next() else {
        return false;
    };
    matches!(version, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
        if major.is_ascii_digit() && minor.is_ascii_digit())
}

/// Splits the request target into path and query, checking its form.
fn split_target(
    target: &[u8],
    span: Span,
    method: Method,
) -> Result<(Option<Span>, Option<Span>), HttpCodecError> {
    if !target.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
        return Err(HttpCodecError::MalformedHead("non-ASCII request target"));
    }
    let path_start = match target.first() {
        Some(b'/') => 0,
        Some(b'*') if target.len() == 1 && method == Method::Options => 0,
        _ => absolute_form_path(target).ok_or(HttpCodecError::InvalidTarget)?,
    };
    let rest = &target[path_start..];
    let (path_len, query) = match memchr::memchr(b'?', rest) {
        Some(q) => (q, Some(span.sub(path_start + q + 1, target.len()))),
        None => (rest.len(), None),
    };
    let path = (path_len > 0).then(|| span.sub(path_start, path_start + path_len));
    Ok((path, query))
}

/// For `http://authority/path?q`, the offset of the path (or query, or the
/// end when both are empty).
fn absolute_form_path(target: &[u8]) -> Option<usize> {
    let scheme_len = if starts_with_ignore_case(target, b"http://") {
        7
    } else if starts_with_ignore_case(target, b"https://") {
        8
    } else {
        return None;
    };
    let rest = &target[scheme_len..];
    let authority_len = rest
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(rest.len());
    if authority_len == 0 {
        return None;
    }
    Some(scheme_len + authority_len)
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// A decimal number, digits only, no sign, at most 19 digits (so it fits a
/// u64 without overflow checks failing silently).
fn parse_content_length(v: &[u8]) -> Result<u64, HttpCodecError> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return Err(HttpCodecError::InvalidContentLength);
    }
    v.iter()
        .try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .ok_or(HttpCodecError::InvalidContentLength)
}

/// `host[:port]`, `[v6][:port]`, or empty (RFC 9112 3.2).
fn valid_host(v: &[u8]) -> bool {
    let (host, port) = if let Some(rest) = v.strip_prefix(b"[") {
        let Some(close) = memchr::memchr(b']', rest) else {
            return false;
        };
        let inside = &rest[..close];
        if inside.is_empty()
            || !inside
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return false;
        }
        (&[][..], &rest[close + 1..])
    } else {
        match memchr::memchr(b':', v) {
            Some(i) => (&v[..i], &v[i..]),
            None => (v, &[][..]),
        }
    };
    let host_ok = host.iter().all(|&b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'%'
            )
    });
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => digits.len() <= 5 && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    host_ok && port_ok
}

/// Trims optional white space (SP, HTAB) at both ends.
pub(crate) fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &v[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for ok in [
            &b"example.com"[..],
            b"example.com:8080",
            b"[::1]",
            b"[::1]:80",
            b"127.0.0.1",
            b"",
        ] {
            assert!(valid_host(ok), "{:?}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b"a b"[..],
            b"a/b",
            b"[::1",
            b"[zz]",
            b"a:80:90",
            b"a:x",
            b"user@host",
        ] {
            assert!(!valid_host(bad), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn content_lengths() {
        assert_eq!(parse_content_length(b"0").unwrap(), 0);
        assert_eq!(parse_content_length(b"123").unwrap(), 123);
        for bad in [
            &b""[..],
            b"+1",
            b"-1",
            b"1 2",
            b"0x10",
            b"99999999999999999999",
        ] {
            assert!(parse_content_length(bad).is_err());
        }
    }

    #[test]
    fn other_versions() {
        assert!(looks_like_other_version(b"GET / HTTP/2.0\r\n"));
        assert!(looks_like_other_version(
            b"\r\nGET / HTTP/1.2\r\nHost: a\r\n"
        ));
        assert!(!looks_like_other_version(b"GET / FOO\r\n"));
        assert!(!looks_like_other_version(b"GET / HTTP/11\r\n"));
    }
}
