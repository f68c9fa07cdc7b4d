//! [`ServerSentEvent`]: one event of a `text/event-stream` response.

use bytes::{BufMut, BytesMut};

/// One Server-Sent Event (Workerman's `ServerSentEvents`), sent with
/// `Connection::send` after a [`Response::event_stream`](super::Response::event_stream)
/// head.
///
/// Written as an optional comment line, then `event:`, `id:`, `retry:`
/// and `data:` lines (each line of the data on its own `data:` line), each
/// ended by `\n`, then a blank line. Line breaks inside `event` and `id`
/// are removed, so a value can never start another field.
///
/// # Examples
///
/// ```
/// use workerman_protocols::http::ServerSentEvent;
///
/// let e = ServerSentEvent::new("some thing").event("ping").id("1000").retry(5000);
/// assert_eq!(e.to_bytes(), "event: ping\nid: 1000\nretry: 5000\ndata: some thing\n\n");
/// assert_eq!(ServerSentEvent::new("a\nb").to_bytes(), "data: a\ndata: b\n\n");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerSentEvent {
    comment: Option<String>,
    event: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    data: Option<String>,
}

impl ServerSentEvent {
    /// An event carrying `data` (the browser's `MessageEvent.data`).
    pub fn new(data: impl Into<String>) -> Self {
        ServerSentEvent {
            data: Some(data.into()),
            ..Default::default()
        }
    }

    /// A comment only (`: text`), ignored by browsers: a keep-alive ping
    /// through proxies.
    pub fn comment_only(text: impl Into<String>) -> Self {
        ServerSentEvent {
            comment: Some(text.into()),
            ..Default::default()
        }
    }

    /// The event type (`addEventListener(type, ...)` in the browser).
    #[must_use]
    pub fn event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }

    /// The event id (sent back by the browser as `Last-Event-ID` when it
    /// reconnects).
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The reconnection delay the browser should use, in milliseconds.
    #[must_use]
    pub fn retry(mut self, millis: u64) -> Self {
        self.retry = Some(millis);
        self
    }

    /// A comment line before the fields.
    #[must_use]
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        self.comment = Some(text.into());
        self
    }

    /// The wire form.
    pub fn to_bytes(&self) -> String {
        let mut out = BytesMut::new();
        self.put(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Appends the wire form to `dst`.
    pub(crate) fn put(&self, dst: &mut BytesMut) {
        if let Some(c) = &self.comment {
            for line in lines(c) {
                dst.put_slice(b": ");
                dst.put_slice(line.as_bytes());
                dst.put_u8(b'\n');
            }
        }
        if let Some(e) = &self.event {
            put_field(b"event", e, dst);
        }
        if let Some(id) = &self.id {
            put_field(b"id", id, dst);
        }
        if let Some(r) = self.retry {
            dst.put_slice(b"retry: ");
            super::response::put_u64(r, dst);
            dst.put_u8(b'\n');
        }
        if let Some(d) = &self.data {
            for line in lines(d) {
                dst.put_slice(b"data: ");
                dst.put_slice(line.as_bytes());
                dst.put_u8(b'\n');
            }
        }
        dst.put_u8(b'\n');
    }
}

/// A single-line field, line breaks removed.
fn put_field(name: &[u8], value: &str, dst: &mut BytesMut) {
    dst.put_slice(name);
    dst.put_slice(b": ");
    for part in value.split(['\r', '\n']) {
        dst.put_slice(part.as_bytes());
    }
    dst.put_u8(b'\n');
}

/// Lines as an event-stream parser sees them: split at CRLF, CR or LF.
fn lines(s: &str) -> impl Iterator<Item = &str> {
    s.split('\n')
        .flat_map(|l| l.strip_suffix('\r').unwrap_or(l).split('\r'))
}
