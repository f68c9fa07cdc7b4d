//! The server side of the opening handshake (RFC 6455 4.2): checking the
//! upgrade request, the [`Handshake`] a handler answers, and the HTTP
//! answers themselves.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{BufMut, Bytes, BytesMut};
use tungstenite::handshake::derive_accept_key;

use super::deflate::{self, Params};
use super::{HandshakeError, Request, WebSocketConfig};

/// What a valid upgrade request leads to before any handler has a say.
#[derive(Debug)]
pub(crate) struct Upgrade {
    /// `Sec-WebSocket-Accept` for the `101`.
    pub(crate) accept: String,
    /// The subprotocol chosen from the configured ones, if any.
    pub(crate) protocol: Option<String>,
    /// permessage-deflate, when configured and offered acceptably: the
    /// response header value and our parameters.
    pub(crate) deflate: Option<(String, Params)>,
}

/// How a handshake was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answered {
    /// `101`: frames follow, compressed with these parameters if any.
    Upgraded(Option<Params>),
    /// An HTTP response: the connection ends.
    Refused,
}

/// Checks an upgrade request (RFC 6455 4.2.1) and the configured origin
/// list; chooses a subprotocol. `NotUpgrade` for a plain HTTP `GET`.
pub(crate) fn check_request(
    req: &Request,
    config: &WebSocketConfig,
) -> Result<Upgrade, HandshakeError> {
    if req.method() != "GET" {
        return Err(HandshakeError::NotGet);
    }
    if !req.header_has_token("upgrade", "websocket") {
        return Err(HandshakeError::NotUpgrade);
    }
    if !req.is_http11() {
        return Err(HandshakeError::NotHttp11);
    }
    if !req.header_has_token("connection", "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    match req.header("sec-websocket-version").map(str::trim) {
        None => return Err(HandshakeError::MissingVersion),
        Some("13") => {}
        Some(_) => return Err(HandshakeError::UnsupportedVersion),
    }
    let key = req
        .header("sec-websocket-key")
        .map(str::trim)
        .filter(|k| is_key(k))
        .ok_or(HandshakeError::BadKey)?;
    if !origin_allowed(req, config) {
        return Err(HandshakeError::ForbiddenOrigin);
    }
    let protocol = config
        .protocols
        .iter()
        .find(|ours| req.protocols().any(|theirs| theirs == ours.as_str()))
        .cloned();
    let deflate = if config.deflate {
        deflate::negotiate(req.header_values("sec-websocket-extensions"))
    } else {
        None
    };
    Ok(Upgrade {
        accept: derive_accept_key(key.as_bytes()),
        protocol,
        deflate,
    })
}

/// A `Sec-WebSocket-Key`: 16 bytes in base64, so 22 characters of the
/// alphabet and `==`.
fn is_key(k: &str) -> bool {
    k.len() == 24
        && k.ends_with("==")
        && k[..22]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

fn origin_allowed(req: &Request, config: &WebSocketConfig) -> bool {
    if config.allowed_origins.is_empty() {
        return true;
    }
    match req.origin() {
        None => true,
        Some(o) => config
            .allowed_origins
            .iter()
            .any(|a| a.eq_ignore_ascii_case(o.trim())),
    }
}

/// The upgrade request handed to a handler as
/// [`Message::Handshake`](super::Message::Handshake) (with
/// [`handshake_messages`](WebSocketConfig::handshake_messages) on):
/// Workerman's `onWebSocketConnect`.
///
/// Read the request with [`request`](Handshake::request); then, before
/// `on_message` returns:
/// * do nothing to accept it (the `101` goes out when `on_message`
///   returns), optionally after [`select_protocol`](Handshake::select_protocol)
///   and [`add_header`](Handshake::add_header);
/// * [`reject`](Handshake::reject) it with an HTTP status, or
///   [`respond`](Handshake::respond) with a whole page (a plain HTTP `GET`,
///   [`is_upgrade`](Handshake::is_upgrade) false, gets 400 unless answered
///   so).
///
/// Messages sent before the answer (from `on_connect` or here) are held
/// and written right after the `101`, or dropped on a rejection. Sending
/// the handshake back (`conn.send(Message::Handshake(hs))`) answers it at
/// once, so an echo handler accepts it. An answer chosen after it went out
/// changes nothing.
///
/// # Examples
///
/// ```
/// use workerman_protocols::websocket::Handshake;
///
/// fn answer(hs: &Handshake) {
///     let req = hs.request();
///     if req.path() != "/chat" {
///         return hs.reject(404);
///     }
///     if req.query_param("token").as_deref() != Some("secret") {
///         return hs.reject(401);
///     }
///     hs.select_protocol("chat.v2");
/// }
/// # let _ = answer;
/// ```
#[derive(Clone)]
pub struct Handshake {
    inner: Arc<Inner>,
}

struct Inner {
    request: Request,
    /// `None` for a plain HTTP request.
    accept: Option<String>,
    deflate: Option<(String, Params)>,
    answer: Mutex<Answer>,
}

#[derive(Debug, Clone)]
enum Reply {
    Accept,
    Respond {
        status: u16,
        content_type: String,
        body: Bytes,
    },
}

#[derive(Debug, Clone)]
struct Answer {
    reply: Reply,
    protocol: Option<String>,
    headers: Vec<(String, String)>,
}

impl Handshake {
    pub(crate) fn new(request: Request, upgrade: Option<Upgrade>) -> Handshake {
        let (accept, protocol, deflate) = match upgrade {
            Some(u) => (Some(u.accept), u.protocol, u.deflate),
            None => (None, None, None),
        };
        Handshake {
            inner: Arc::new(Inner {
                request,
                accept,
                deflate,
                answer: Mutex::new(Answer {
                    reply: Reply::Accept,
                    protocol,
                    headers: Vec::new(),
                }),
            }),
        }
    }

    fn answer(&self) -> MutexGuard<'_, Answer> {
        // The lock only guards plain data; a panic while holding it leaves
        // that data usable.
        self.inner
            .answer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The upgrade request: path, query, headers, cookies.
    pub fn request(&self) -> &Request {
        &self.inner.request
    }

    /// Whether this is a WebSocket upgrade (false: a plain HTTP `GET`).
    pub fn is_upgrade(&self) -> bool {
        self.inner.accept.is_some()
    }

    /// The subprotocol the `101` will name: the configured one chosen, or
    /// the one set by [`select_protocol`](Handshake::select_protocol).
    pub fn protocol(&self) -> Option<String> {
        self.answer().protocol.clone()
    }

    /// Chooses the subprotocol for the `101`. It must be one the client
    /// offered ([`Request::protocols`]); returns false (and changes
    /// nothing) otherwise.
    pub fn select_protocol(&self, protocol: &str) -> bool {
        if !self.inner.request.protocols().any(|p| p == protocol) {
            return false;
        }
        self.answer().protocol = Some(protocol.to_owned());
        true
    }

    /// Adds a header to the answer (the `101`, or a page from
    /// [`respond`](Handshake::respond)). Returns false (and adds nothing)
    /// when the name is not an HTTP token or the value holds CR or LF.
    pub fn add_header(&self, name: &str, value: &str) -> bool {
        let name_ok = !name.is_empty() && name.bytes().all(is_token_byte);
        if !name_ok || value.contains(['\r', '\n']) {
            return false;
        }
        self.answer()
            .headers
            .push((name.to_owned(), value.to_owned()));
        true
    }

    /// Refuses the connection with HTTP `status` (401, 403, 404, ...) and
    /// a short text body naming it; the connection then closes.
    pub fn reject(&self, status: u16) {
        let body = Bytes::from(format!("{status} {}\n", reason_phrase(status)));
        self.respond(status, "text/plain; charset=utf-8", body);
    }

    /// Answers with a whole HTTP response instead of the upgrade (a page
    /// for a plain `GET`, a custom refusal); the connection then closes.
    pub fn respond(&self, status: u16, content_type: &str, body: impl Into<Bytes>) {
        let content_type = if content_type.contains(['\r', '\n']) {
            "application/octet-stream"
        } else {
            content_type
        };
        self.answer().reply = Reply::Respond {
            status,
            content_type: content_type.to_owned(),
            body: body.into(),
        };
    }

    pub(crate) fn same_as(&self, other: &Handshake) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Writes the answer into `dst`.
    pub(crate) fn write_answer(&self, dst: &mut BytesMut) -> Answered {
        let answer = self.answer().clone();
        match (&answer.reply, &self.inner.accept) {
            (Reply::Accept, Some(accept)) => {
                let deflate = self.inner.deflate.as_ref();
                switching_protocols(
                    accept,
                    answer.protocol.as_deref(),
                    deflate.map(|(header, _)| header.as_str()),
                    &answer.headers,
                    dst,
                );
                Answered::Upgraded(deflate.map(|(_, params)| *params))
            }
            (Reply::Accept, None) => {
                error_response(&HandshakeError::NotUpgrade, dst);
                Answered::Refused
            }
            (
                Reply::Respond {
                    status,
                    content_type,
                    body,
                },
                _,
            ) => {
                http_response(*status, &answer.headers, Some((content_type, body)), dst);
                Answered::Refused
            }
        }
    }
}

impl fmt::Debug for Handshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handshake")
            .field("uri", &self.inner.request.uri())
            .field("upgrade", &self.is_upgrade())
            .finish()
    }
}

impl PartialEq for Handshake {
    /// The same handshake (not merely an equal request).
    fn eq(&self, other: &Handshake) -> bool {
        self.same_as(other)
    }
}

impl Eq for Handshake {}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Writes the `101 Switching Protocols` answer.
pub(crate) fn switching_protocols(
    accept: &str,
    protocol: Option<&str>,
    extensions: Option<&str>,
    headers: &[(String, String)],
    dst: &mut BytesMut,
) {
    dst.put_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
    dst.put_slice(accept.as_bytes());
    dst.put_slice(b"\r\n");
    if let Some(p) = protocol {
        put_header(dst, "Sec-WebSocket-Protocol", p);
    }
    if let Some(e) = extensions {
        put_header(dst, "Sec-WebSocket-Extensions", e);
    }
    for (n, v) in headers {
        put_header(dst, n, v);
    }
    dst.put_slice(b"\r\n");
}

/// Writes the HTTP answer to a failed handshake.
pub(crate) fn error_response(err: &HandshakeError, dst: &mut BytesMut) {
    let status = err.http_status().unwrap_or(400);
    let mut headers = Vec::new();
    if *err == HandshakeError::UnsupportedVersion {
        headers.push(("Sec-WebSocket-Version".to_owned(), "13".to_owned()));
        headers.push(("Upgrade".to_owned(), "websocket".to_owned()));
    }
    let body = Bytes::from(format!("{status} {}: {err}\n", reason_phrase(status)));
    http_response(
        status,
        &headers,
        Some(("text/plain; charset=utf-8", &body)),
        dst,
    );
}

/// `408 Request Timeout`, for a handshake that took too long.
pub(crate) fn timeout_response() -> Bytes {
    let mut dst = BytesMut::new();
    http_response(408, &[], None, &mut dst);
    dst.freeze()
}

/// Writes an HTTP/1.1 response that ends the connection.
fn http_response(
    status: u16,
    headers: &[(String, String)],
    body: Option<(&str, &Bytes)>,
    dst: &mut BytesMut,
) {
    let (content_type, body) = match body {
        Some((t, b)) => (Some(t), b.as_ref()),
        None => (None, &[][..]),
    };
    dst.reserve(128 + body.len());
    dst.put_slice(format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status)).as_bytes());
    dst.put_slice(b"Connection: close\r\n");
    if let Some(t) = content_type {
        put_header(dst, "Content-Type", t);
    }
    put_header(dst, "Content-Length", &body.len().to_string());
    for (n, v) in headers {
        put_header(dst, n, v);
    }
    dst.put_slice(b"\r\n");
    dst.put_slice(body);
}

fn put_header(dst: &mut BytesMut, name: &str, value: &str) {
    dst.put_slice(name.as_bytes());
    dst.put_slice(b": ");
    dst.put_slice(value.as_bytes());
    dst.put_slice(b"\r\n");
}

/// The reason phrase of the statuses a handshake is likely to answer.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => match status / 100 {
            2 => "OK",
            3 => "Redirect",
            4 => "Client Error",
            _ => "Server Error",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_accept_key() {
        // RFC 6455 1.3 (spec B.4).
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn keys() {
        assert!(is_key("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_key("dGhlIHNhbXBsZSBub25jZQ="));
        assert!(!is_key("dGhlIHNhbXBsZSBub25j*Q=="));
    }
}
