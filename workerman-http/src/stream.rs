//! Streamed responses: chunked bodies and Server-Sent Events, sent without
//! ever being refused for a full send buffer.

use bytes::Bytes;
use workerman_core::{Connection, SendError, SendStatus};
use workerman_protocols::http::{Chunk, Http, HttpSettings, Outgoing, Response, ServerSentEvent};

/// Sends `msg` on `conn`, first waiting until its send buffer is below
/// `max_send_buffer_size`: the async `send` for large or many messages.
///
/// # Errors
///
/// [`SendError::Closed`] once the connection is closing or closed, and
/// [`SendError::Encode`] when the codec refuses the message (a chunk with
/// no stream open, for example).
///
/// # Cancel safety
///
/// Cancel safe: dropping the future before it completes sends nothing.
pub async fn send_when_ready<S: HttpSettings>(
    conn: &Connection<Http<S>>,
    msg: impl Into<Outgoing>,
) -> Result<SendStatus, SendError> {
    let msg = msg.into();
    loop {
        conn.wait_for_room().await;
        if !conn.is_open() {
            return Err(SendError::Closed);
        }
        match conn.send(msg.clone()) {
            // Another task filled the buffer between the wait and the
            // send: wait again.
            Err(SendError::BufferFull) => continue,
            other => return other,
        }
    }
}

/// [`send_when_ready`] when the outcome beyond success does not matter.
pub(crate) async fn send_ready<S: HttpSettings>(
    conn: &Connection<Http<S>>,
    msg: impl Into<Outgoing>,
) -> Result<(), SendError> {
    send_when_ready(conn, msg).await.map(drop)
}

/// After a stream ends outside `on_message` (from a timer or a task), a
/// request the client pipelined behind it is already in the connection's
/// read buffer, and nothing would decode it until more bytes arrive.
/// Resuming reception delivers what is buffered at once.
fn deliver_buffered<S: HttpSettings>(conn: &Connection<Http<S>>) {
    conn.pause_recv();
    conn.resume_recv();
}

/// A chunked response being sent (`Transfer-Encoding: chunked`; on an
/// HTTP/1.0 request, a body ended by the close).
///
/// # Examples
///
/// ```no_run
/// # #![allow(dead_code, unused_variables)]
/// # use workerman_core::Connection;
/// # use workerman_http::{ChunkedBody, Http, Response};
/// # async fn f(conn: &Connection<Http>) -> Result<(), workerman_core::SendError> {
/// let body = ChunkedBody::start(conn, Response::text("")).await?;
/// for i in 0..3 {
///     body.send(format!("line {i}\n")).await?;
/// }
/// body.finish().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a chunked response must be finished"]
pub struct ChunkedBody<S: HttpSettings = workerman_protocols::http::DefaultSettings> {
    conn: Connection<Http<S>>,
}

impl<S: HttpSettings> ChunkedBody<S> {
    /// Sends `head` (its status and headers; its body, if any, as the
    /// first chunk) as the start of a chunked response.
    ///
    /// # Errors
    ///
    /// As [`send_when_ready`].
    pub async fn start(conn: &Connection<Http<S>>, head: Response) -> Result<Self, SendError> {
        send_ready(conn, head.chunked()).await?;
        Ok(ChunkedBody { conn: conn.clone() })
    }

    /// Sends one chunk (an empty `data` sends nothing: an empty chunk
    /// would end the body).
    ///
    /// # Errors
    ///
    /// As [`send_when_ready`].
    pub async fn send(&self, data: impl Into<Bytes>) -> Result<(), SendError> {
        let data = data.into();
        if data.is_empty() {
            return Ok(());
        }
        send_ready(&self.conn, Chunk::new(data)).await
    }

    /// Ends the body (`0\r\n\r\n`).
    ///
    /// # Errors
    ///
    /// As [`send_when_ready`].
    pub async fn finish(self) -> Result<(), SendError> {
        send_ready(&self.conn, Chunk::end()).await?;
        deliver_buffered(&self.conn);
        Ok(())
    }

    /// The connection.
    pub fn connection(&self) -> &Connection<Http<S>> {
        &self.conn
    }
}

/// A Server-Sent Events stream being sent: a `text/event-stream` response
/// that stays open, then events as they happen. The stream (and the
/// connection) ends when either side closes.
///
/// Its handle is cheap to clone into a timer or a task; check
/// [`is_open`](EventStream::is_open) there and stop when the browser has
/// gone.
///
/// # Examples
///
/// ```no_run
/// # #![allow(dead_code, unused_variables)]
/// # use workerman_core::Connection;
/// # use workerman_http::{EventStream, Http, ServerSentEvent};
/// # async fn f(conn: &Connection<Http>) -> Result<(), workerman_core::SendError> {
/// let events = EventStream::start(conn).await?;
/// events.send(ServerSentEvent::new("hello").event("greeting")).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct EventStream<S: HttpSettings = workerman_protocols::http::DefaultSettings> {
    conn: Connection<Http<S>>,
}

impl<S: HttpSettings> Clone for EventStream<S> {
    fn clone(&self) -> Self {
        EventStream {
            conn: self.conn.clone(),
        }
    }
}

impl<S: HttpSettings> EventStream<S> {
    /// Sends [`Response::event_stream`] and returns the stream.
    ///
    /// # Errors
    ///
    /// As [`send_when_ready`].
    pub async fn start(conn: &Connection<Http<S>>) -> Result<Self, SendError> {
        Self::start_with(conn, Response::event_stream()).await
    }

    /// Sends `head` as the head of an event stream (its status and
    /// headers kept, `Content-Type: text/event-stream` forced) and returns
    /// the stream.
    ///
    /// # Errors
    ///
    /// As [`send_when_ready`].
    pub async fn start_with(conn: &Connection<Http<S>>, head: Response) -> Result<Self, SendError> {
        let mut r = Response::event_stream();
        for (n, v) in head.headers() {
            if n.eq_ignore_ascii_case("content-type") {
                continue;
            }
            r = if n.eq_ignore_ascii_case("cache-control") {
                r.with_header(n.to_owned(), v.to_owned())
            } else {
                // Several `Set-Cookie` lines stay several.
                r.append_header(n.to_owned(), v.to_owned())
            };
        }
        send_ready(conn, r.with_status(head.status())).await?;
        Ok(EventStream { conn: conn.clone() })
    }

    /// Sends one event, waiting for room in the send buffer.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] once the browser has gone.
    pub async fn send(&self, event: ServerSentEvent) -> Result<(), SendError> {
        send_ready(&self.conn, event).await
    }

    /// Sends one event without waiting (from a timer callback): the
    /// outcomes of `Connection::send`.
    ///
    /// # Errors
    ///
    /// As `Connection::send`.
    pub fn try_send(&self, event: ServerSentEvent) -> Result<SendStatus, SendError> {
        self.conn.send(event)
    }

    /// Whether the stream is still open.
    pub fn is_open(&self) -> bool {
        self.conn.is_open()
    }

    /// Ends the stream by closing the connection (after what is queued).
    pub fn close(&self) {
        self.conn.close(None);
    }

    /// The connection.
    pub fn connection(&self) -> &Connection<Http<S>> {
        &self.conn
    }
}
