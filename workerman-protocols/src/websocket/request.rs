//! [`Request`]: the HTTP request that opened a WebSocket connection.

use std::borrow::Cow;

/// The upgrade request as the handshake handler sees it: method, path,
/// query, headers and cookies (Workerman's `$_SERVER`, `$_GET` and
/// `$_COOKIE` inside `onWebSocketConnect`).
///
/// # Examples
///
/// ```
/// use workerman_protocols::websocket::Request;
///
/// let head = b"GET /chat?room=a%20b&x HTTP/1.1\r\nHost: h\r\nCookie: sid=42; theme=dark\r\n\r\n";
/// let req = Request::parse(head).unwrap();
/// assert_eq!(req.path(), "/chat");
/// assert_eq!(req.query(), Some("room=a%20b&x"));
/// assert_eq!(req.query_param("room").as_deref(), Some("a b"));
/// assert_eq!(req.header("host"), Some("h"));
/// assert_eq!(req.cookie("theme"), Some("dark"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: String,
    target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    minor_version: u8,
    /// Names as sent (compared without regard to case), raw values.
    headers: Vec<(String, Vec<u8>)>,
}

/// At most this many header lines are accepted.
pub(crate) const MAX_HEADERS: usize = 100;

/// Why [`Request::parse`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Not a complete, valid HTTP/1.x request head.
    Malformed,
    /// More than [`MAX_HEADERS`] header lines.
    TooManyHeaders,
    /// The head is not complete yet.
    Partial,
}

impl Request {
    /// Parses a complete request head (through the blank line). Returns
    /// `None` when it is not one.
    pub fn parse(head: &[u8]) -> Option<Request> {
        Request::parse_head(head).ok().map(|(r, _)| r)
    }

    /// Parses the head at the start of `buf`: the request and the head's
    /// length.
    pub(crate) fn parse_head(buf: &[u8]) -> Result<(Request, usize), ParseError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(buf) {
            Ok(httparse::Status::Complete(n)) => {
                let request = Request {
                    method: req.method.unwrap_or_default().to_owned(),
                    target: req.path.unwrap_or_default().to_owned(),
                    minor_version: req.version.unwrap_or(0),
                    headers: req
                        .headers
                        .iter()
                        .map(|h| (h.name.to_owned(), h.value.to_vec()))
                        .collect(),
                };
                Ok((request, n))
            }
            Ok(httparse::Status::Partial) => Err(ParseError::Partial),
            Err(httparse::Error::TooManyHeaders) => Err(ParseError::TooManyHeaders),
            Err(_) => Err(ParseError::Malformed),
        }
    }

    /// The method (`GET` for every upgrade request).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target as sent: path and query (`/chat?room=1`).
    pub fn uri(&self) -> &str {
        &self.target
    }

    /// The path, without the query (`/chat`).
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(self.target.as_str(), |(p, _)| p)
    }

    /// The raw query string after `?`, if any (`room=1`).
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// The query's `name=value` pairs, percent-decoded (`+` is a space),
    /// in order (Workerman's `$_GET`).
    pub fn query_pairs(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        self.query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(k), percent_decode(v))
            })
    }

    /// The first value of query parameter `name`, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// `"HTTP/1.1"` or `"HTTP/1.0"`.
    pub fn version(&self) -> &'static str {
        if self.minor_version == 1 {
            "HTTP/1.1"
        } else {
            "HTTP/1.0"
        }
    }

    pub(crate) fn is_http11(&self) -> bool {
        self.minor_version == 1
    }

    /// Every header line in order: name as sent, raw value bytes.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The first value of header `name` (any case), if it is UTF-8
    /// (`headers` gives the raw bytes of any value).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// Every value of header `name` (any case) that is UTF-8.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .filter_map(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// Whether header `name` holds `token` in its comma-separated list
    /// (any case), as `Connection: keep-alive, Upgrade` holds `upgrade`.
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.header_values(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// The cookies of the `Cookie` headers, `name=value` pairs in order
    /// (Workerman's `$_COOKIE`; values as sent).
    pub fn cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        self.header_values("cookie")
            .flat_map(|v| v.split(';'))
            .filter_map(|c| {
                let (k, v) = c.split_once('=')?;
                Some((k.trim(), v.trim().trim_matches('"')))
            })
    }

    /// The value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// The `Origin` header (browsers always send it).
    pub fn origin(&self) -> Option<&str> {
        self.header("origin")
    }

    /// The subprotocols the client offers (`Sec-WebSocket-Protocol`), in
    /// its order.
    pub fn protocols(&self) -> impl Iterator<Item = &str> {
        self.header_values("sec-websocket-protocol")
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|p| !p.is_empty())
    }
}

/// Decodes `%XX` escapes and `+` (a space, as in forms). Invalid escapes
/// are kept as they are; bytes that do not form UTF-8 become U+FFFD.
fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(hex),
                bytes.get(i + 2).and_then(hex),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert!(matches!(percent_decode("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn headers_any_case_and_tokens() {
        let head = b"GET / HTTP/1.1\r\nconnection: keep-alive, Upgrade\r\nX-A: 1\r\nx-a: 2\r\n\r\n";
        let r = Request::parse(head).unwrap();
        assert!(r.header_has_token("Connection", "upgrade"));
        assert_eq!(r.header_values("X-A").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(r.version(), "HTTP/1.1");
        assert_eq!(Request::parse(b"GET / HTTP/1.1\r\n"), None);
    }
}
