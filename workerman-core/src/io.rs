//! The socket under a connection, split in two: the reader half is owned
//! by the connection task; the writer half is shared (through `&self`) by
//! the task and every `send` caller.
//!
//! Reading goes through tokio's `AsyncRead` (`read_buf`), which clears the
//! socket's readiness after a short read: a connection that receives one
//! message at a time makes one `recv` per message, not a second one that
//! returns `EAGAIN`.

use std::io::{self, IoSlice};
use std::net::Shutdown;

use bytes::BytesMut;
use socket2::SockRef;
use tokio::io::AsyncReadExt;
use tokio::net::{tcp, unix, TcpStream, UnixStream};

#[derive(Debug)]
pub(crate) enum Io {
    Tcp(TcpStream),
    Unix(UnixStream),
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
        }
    }
}

#[derive(Debug)]
pub(crate) enum ReadHalf {
    Tcp(tcp::OwnedReadHalf),
    Unix(unix::OwnedReadHalf),
}

impl ReadHalf {
    /// Waits until the socket may be readable. Cancel safe.
    pub(crate) async fn readable(&self) -> io::Result<()> {
        match self {
            ReadHalf::Tcp(r) => r.readable().await,
            ReadHalf::Unix(r) => r.readable().await,
        }
    }

    /// Reads into the spare capacity of `buf`; 0 means end of stream (the
    /// caller makes sure there is spare capacity). Cancel safe.
    pub(crate) async fn read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            ReadHalf::Tcp(r) => r.read_buf(buf).await,
            ReadHalf::Unix(r) => r.read_buf(buf).await,
        }
    }
}

/// Dropping it shuts down the write direction (tokio's owned halves do);
/// the socket closes when both halves are gone.
#[derive(Debug)]
pub(crate) enum WriteHalf {
    Tcp(tcp::OwnedWriteHalf),
    Unix(unix::OwnedWriteHalf),
}

impl WriteHalf {
    /// Waits until the socket may be writable. Cancel safe.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        match self {
            WriteHalf::Tcp(s) => s.writable().await,
            WriteHalf::Unix(s) => s.writable().await,
        }
    }

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(s) => s.try_write(buf),
            WriteHalf::Unix(s) => s.try_write(buf),
        }
    }

    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(s) => s.try_write_vectored(bufs),
            WriteHalf::Unix(s) => s.try_write_vectored(bufs),
        }
    }

    /// Sends FIN once queued kernel data is out.
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        match self {
            WriteHalf::Tcp(s) => SockRef::from(s.as_ref()).shutdown(Shutdown::Write),
            WriteHalf::Unix(s) => SockRef::from(s.as_ref()).shutdown(Shutdown::Write),
        }
    }
}
