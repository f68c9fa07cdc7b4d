//! The socket under a connection, split in two: the reader half is owned
//! by the connection task; the writer half is kept in the connection's
//! shared state, under its lock, where the task and every `send` caller
//! write through it (`&self`).
//!
//! Reading goes through tokio's `AsyncRead` (`read_buf`), which clears the
//! socket's readiness after a short read: a connection that receives one
//! message at a time makes one `recv` per message, not a second one that
//! returns `EAGAIN`.

use std::io::{self, IoSlice};
use std::net::Shutdown;

use bytes::{Bytes, BytesMut};
use socket2::SockRef;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{tcp, unix, TcpStream, UnixStream};
use tokio_rustls::TlsStream;

pub(crate) enum Io {
    Tcp(TcpStream),
    Unix(UnixStream),
    /// TLS over TCP. Never written directly from `send` (as in Workerman,
    /// TLS sends always go through the queue): only the connection task
    /// writes, through rustls.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Io {
    pub(crate) fn split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Io::Tcp(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Tcp(r), WriteHalf::Tcp(w))
            }
            Io::Unix(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Unix(r), WriteHalf::Unix(w))
            }
            Io::Tls(s) => {
                let (r, w) = tokio::io::split(*s);
                (
                    ReadHalf::Tls(r),
                    WriteHalf::Tls(std::sync::Arc::new(tokio::sync::Mutex::new(w))),
                )
            }
        }
    }
}

pub(crate) enum ReadHalf {
    Tcp(tcp::OwnedReadHalf),
    Unix(unix::OwnedReadHalf),
    Tls(tokio::io::ReadHalf<TlsStream<TcpStream>>),
}

impl ReadHalf {
    /// Ready when the socket may be readable (a plain poll: waiting costs
    /// the task's future no space).
    pub(crate) fn poll_read_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match self {
            ReadHalf::Tcp(r) => r.as_ref().poll_read_ready(cx),
            ReadHalf::Unix(r) => r.as_ref().poll_read_ready(cx),
            // rustls decides when plaintext is ready: read_buf waits.
            ReadHalf::Tls(_) => std::task::Poll::Ready(Ok(())),
        }
    }

    /// Reads into the spare capacity of `buf` if the socket has data now;
    /// `Pending` (with the task registered for readiness) if it has none.
    /// Like [`read_buf`](Self::read_buf), a short read clears the socket's
    /// readiness, so the next wait costs no `recv` that returns `EAGAIN`.
    pub(crate) fn poll_read_buf(
        &mut self,
        cx: &mut std::task::Context<'_>,
        buf: &mut BytesMut,
    ) -> std::task::Poll<io::Result<usize>> {
        use std::pin::Pin;
        match self {
            ReadHalf::Tcp(r) => tokio_util::io::poll_read_buf(Pin::new(r), cx, buf),
            ReadHalf::Unix(r) => tokio_util::io::poll_read_buf(Pin::new(r), cx, buf),
            ReadHalf::Tls(r) => tokio_util::io::poll_read_buf(Pin::new(r), cx, buf),
        }
    }

    /// TLS: the plaintext side has no readiness of its own (see
    /// [`readable`](Self::readable)).
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, ReadHalf::Tls(_))
    }

    /// Reads into the spare capacity of `buf`; 0 means end of stream (the
    /// caller makes sure there is spare capacity). Cancel safe.
    pub(crate) async fn read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            ReadHalf::Tcp(r) => r.read_buf(buf).await,
            ReadHalf::Unix(r) => r.read_buf(buf).await,
            ReadHalf::Tls(r) => r.read_buf(buf).await,
        }
    }
}

/// The TLS write half: only the connection task writes, through an async
/// lock it alone takes (a clone of this, taken out of the connection's
/// state, so that no other lock is held while it writes).
pub(crate) type TlsWriter =
    std::sync::Arc<tokio::sync::Mutex<tokio::io::WriteHalf<TlsStream<TcpStream>>>>;

/// Kept in the connection's shared state (under its lock), so sends from
/// any task write directly; the connection task takes it out when it ends,
/// and dropping it shuts down the write direction (tokio's owned halves
/// do); the socket closes when both halves are gone.
///
/// 24 bytes: the rarer variants are behind pointers, as every connection
/// keeps one.
pub(crate) enum WriteHalf {
    Tcp(tcp::OwnedWriteHalf),
    Unix(unix::OwnedWriteHalf),
    Tls(TlsWriter),
}

impl WriteHalf {
    /// Ready when the socket may be writable (a plain poll, like
    /// [`ReadHalf::poll_read_ready`]).
    pub(crate) fn poll_write_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match self {
            WriteHalf::Tcp(s) => s.as_ref().poll_write_ready(cx),
            WriteHalf::Unix(s) => s.as_ref().poll_write_ready(cx),
            WriteHalf::Tls(_) => std::task::Poll::Ready(Ok(())),
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, WriteHalf::Tls(_))
    }

    /// A direct write; always `WouldBlock` for TLS (queue instead).
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(s) => s.try_write(buf),
            WriteHalf::Unix(s) => s.try_write(buf),
            WriteHalf::Tls(_) => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(s) => s.try_write_vectored(bufs),
            WriteHalf::Unix(s) => s.try_write_vectored(bufs),
            WriteHalf::Tls(_) => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// The TLS writer, to write through without holding the lock this
    /// half is kept under.
    pub(crate) fn tls(&self) -> Option<TlsWriter> {
        match self {
            WriteHalf::Tls(w) => Some(std::sync::Arc::clone(w)),
            _ => None,
        }
    }

    /// Sends FIN (TCP, Unix). TLS sends a close_notify first,
    /// asynchronously: see [`shutdown_tls`].
    pub(crate) fn shutdown_plain(&self) -> io::Result<()> {
        match self {
            WriteHalf::Tcp(s) => SockRef::from(s.as_ref()).shutdown(Shutdown::Write),
            WriteHalf::Unix(s) => SockRef::from(s.as_ref()).shutdown(Shutdown::Write),
            WriteHalf::Tls(_) => Ok(()),
        }
    }
}

/// Writes `bufs` through TLS and flushes. Cancel safe in the sense that
/// matters here: it is only cancelled when the connection is being
/// destroyed.
pub(crate) async fn write_tls(w: &TlsWriter, bufs: &[Bytes]) -> io::Result<()> {
    let mut w = w.lock().await;
    for b in bufs {
        w.write_all(b).await?;
    }
    w.flush().await
}

/// Sends a TLS close_notify, then FIN.
pub(crate) async fn shutdown_tls(w: &TlsWriter) -> io::Result<()> {
    w.lock().await.shutdown().await
}
