//! One GlobalData server reached over `frame://`: a lazily opened
//! connection, one request at a time.

use std::path::PathBuf;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_util::codec::Framed;
use workerman_protocols::{FrameCodec, Payload};

use crate::wire::{Reply, Request};
use crate::GlobalDataError;

/// A socket of either kind.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

type Conn = Framed<Box<dyn Stream>, FrameCodec>;

/// Where the server is.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// `host:port` (a name is resolved at each connect).
    Tcp(String),
    /// A Unix socket path.
    Unix(PathBuf),
}

/// How long to wait between connection attempts within one request.
const RETRY_STEP: Duration = Duration::from_millis(50);

pub(crate) struct FrameNode {
    pub(crate) address: String,
    target: Target,
    io_timeout: Duration,
    max_package_size: usize,
    /// The connection, taken out while a request uses it: a request that
    /// fails or is cancelled half-way drops it instead of leaving a reply
    /// in flight for the next request to read.
    conn: Mutex<Option<Conn>>,
}

impl std::fmt::Debug for FrameNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameNode")
            .field("address", &self.address)
            .field("io_timeout", &self.io_timeout)
            .finish()
    }
}

impl FrameNode {
    pub(crate) fn new(
        address: String,
        target: Target,
        io_timeout: Duration,
        max_package_size: usize,
    ) -> Self {
        FrameNode {
            address,
            target,
            io_timeout,
            max_package_size,
            conn: Mutex::new(None),
        }
    }

    /// Sends `req` and reads its reply, all within the I/O timeout.
    ///
    /// A request that finds its kept connection closed by the server (it
    /// restarted, say) is sent again once on a new connection: a server
    /// that closed the connection before reading the request did not apply
    /// it.
    pub(crate) async fn call(&self, req: &Request) -> Result<Reply, GlobalDataError> {
        let body = Payload::from(serde_json::to_vec(req).map_err(GlobalDataError::Encode)?);
        let deadline = Instant::now() + self.io_timeout;
        let attempt = async {
            let mut slot = self.conn.lock().await;
            let (mut conn, reused) = match slot.take() {
                Some(c) => (c, true),
                None => (self.connect(deadline).await?, false),
            };
            let reply = match self.exchange(&mut conn, body.clone()).await {
                Err(Failure::Closed) if reused => {
                    tracing::debug!(address = %self.address, "kept connection was closed; retrying on a new one");
                    conn = self.connect(deadline).await?;
                    self.exchange(&mut conn, body).await
                }
                other => other,
            };
            let reply = reply.map_err(|f| f.into_error(&self.address))?;
            *slot = Some(conn);
            Ok(reply)
        };
        match tokio::time::timeout_at(deadline, attempt).await {
            Ok(r) => r,
            Err(_) => Err(GlobalDataError::Timeout {
                address: self.address.clone(),
                timeout: self.io_timeout,
            }),
        }
    }

    async fn exchange(&self, conn: &mut Conn, body: Payload) -> Result<Reply, Failure> {
        conn.send(body).await.map_err(Failure::from_codec)?;
        loop {
            match conn.next().await {
                None => return Err(Failure::Closed),
                Some(Err(e)) => return Err(Failure::from_codec(e)),
                // The server never sends empty frames; skip them anyway.
                Some(Ok(frame)) if frame.is_empty() => continue,
                Some(Ok(frame)) => {
                    return serde_json::from_slice::<Reply>(&frame).map_err(|_| Failure::BadReply)
                }
            }
        }
    }

    /// Connects, trying again while the server refuses (it may be starting
    /// or restarting), until `deadline`.
    async fn connect(&self, deadline: Instant) -> Result<Conn, GlobalDataError> {
        loop {
            let attempt = match &self.target {
                Target::Tcp(addr) => tokio::net::TcpStream::connect(addr.as_str())
                    .await
                    .and_then(|s| {
                        s.set_nodelay(true)?;
                        Ok(Box::new(s) as Box<dyn Stream>)
                    }),
                Target::Unix(path) => tokio::net::UnixStream::connect(path)
                    .await
                    .map(|s| Box::new(s) as Box<dyn Stream>),
            };
            match attempt {
                Ok(stream) => {
                    tracing::debug!(address = %self.address, "globaldata connected");
                    return Ok(Framed::new(stream, FrameCodec::new(self.max_package_size)));
                }
                Err(e) if retryable(&e) && Instant::now() + RETRY_STEP < deadline => {
                    tracing::trace!(address = %self.address, error = %e, "connect refused, retrying");
                    tokio::time::sleep(RETRY_STEP).await;
                }
                Err(source) => {
                    return Err(GlobalDataError::Io {
                        address: self.address.clone(),
                        source,
                    })
                }
            }
        }
    }
}

fn retryable(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | NotFound | ConnectionReset)
}

/// How one exchange failed.
enum Failure {
    /// EOF or reset before a reply.
    Closed,
    BadReply,
    Io(std::io::Error),
}

impl Failure {
    fn from_codec(e: workerman_protocols::FrameCodecError) -> Failure {
        match e {
            workerman_protocols::FrameCodecError::Io(io)
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::UnexpectedEof
                ) =>
            {
                Failure::Closed
            }
            workerman_protocols::FrameCodecError::Io(io) => Failure::Io(io),
            other => Failure::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, other)),
        }
    }

    fn into_error(self, address: &str) -> GlobalDataError {
        let address = address.to_owned();
        match self {
            Failure::Closed => GlobalDataError::Disconnected { address },
            Failure::BadReply => GlobalDataError::BadReply { address },
            Failure::Io(source) => GlobalDataError::Io { address, source },
        }
    }
}
