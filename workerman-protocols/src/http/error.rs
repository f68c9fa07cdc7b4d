//! [`HttpCodecError`]: why a request was refused or a response could not
//! be encoded.

use std::io;

/// Why [`HttpCodec`](super::HttpCodec) failed.
///
/// Decoding errors are the peer's fault: the framework answers with
/// [`status`](HttpCodecError::status) (400, 408, 413, 417, 431, 501, 505),
/// `Connection: close`, and closes the connection. Encoding errors are the
/// handler's: `Connection::send` returns them and nothing is written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpCodecError {
    /// The request line or a header line does not follow the grammar
    /// (reported by `httparse`), or the request target has bytes that are
    /// not allowed there. 400.
    #[error("malformed request head: {0}")]
    MalformedHead(&'static str),
    /// The request target is neither origin-form (`/path?query`),
    /// absolute-form (`http://host/path`), nor `*` for OPTIONS. 400.
    #[error("invalid request target")]
    InvalidTarget,
    /// An HTTP/1.1 request without a `Host` header. 400.
    #[error("HTTP/1.1 request without Host")]
    MissingHost,
    /// More than one `Host` header. 400.
    #[error("more than one Host header")]
    DuplicateHost,
    /// A `Host` value that is not `host[:port]` or `[v6]:port`. 400.
    #[error("invalid Host header")]
    InvalidHost,
    /// A `Content-Length` that is not a plain decimal number. 400.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// Two `Content-Length` headers with different values (request
    /// smuggling). 400.
    #[error("conflicting Content-Length headers")]
    ConflictingContentLength,
    /// Both `Content-Length` and `Transfer-Encoding` (request smuggling).
    /// 400.
    #[error("both Content-Length and Transfer-Encoding")]
    ContentLengthWithTransferEncoding,
    /// A `Transfer-Encoding` whose last coding is not `chunked`, or one on
    /// an HTTP/1.0 request. 400.
    #[error("invalid Transfer-Encoding")]
    InvalidTransferEncoding,
    /// A chunked body that breaks the chunk grammar. 400.
    #[error("malformed chunked body: {0}")]
    MalformedChunk(&'static str),
    /// The request head (request line and headers) is not complete within
    /// `max_head_size` bytes. 431.
    #[error("request head exceeds {max} bytes")]
    HeadTooLarge {
        /// The limit in force.
        max: usize,
    },
    /// More header lines than `max_headers`. 431.
    #[error("more than {max} request headers")]
    TooManyHeaders {
        /// The limit in force.
        max: usize,
    },
    /// The body (as announced by `Content-Length`, or as received so far in
    /// chunks) is larger than the worker's `max_package_size`. 413.
    #[error("request body exceeds {max} bytes")]
    BodyTooLarge {
        /// The limit in force.
        max: usize,
    },
    /// A method this server does not implement (`CONNECT`, `TRACE`, an
    /// extension method). 501.
    #[error("method not implemented")]
    MethodNotImplemented,
    /// A transfer coding other than `chunked` (`gzip, chunked`). 501.
    #[error("transfer coding not implemented")]
    TransferCodingNotImplemented,
    /// A protocol version other than HTTP/1.0 and HTTP/1.1. 505.
    #[error("HTTP version not supported")]
    VersionNotSupported,
    /// An `Expect` header other than `100-continue`. 417.
    #[error("unsupported expectation")]
    ExpectationFailed,
    /// The peer sent more than `max_package_size` bytes of further requests
    /// while a streamed response was still open. Closed without an answer
    /// (one cannot be put in the middle of the stream).
    #[error("too much pipelined data during a streamed response")]
    PipelineOverflow,
    /// Encoding: a [`Chunk`](super::Chunk) or
    /// [`ServerSentEvent`](super::ServerSentEvent) was sent with no streamed
    /// response open (or an event on a stream that is not an event stream).
    #[error("no streamed response is open")]
    NoStreamOpen,
    /// Encoding: a [`Response`](super::Response) was sent while a streamed
    /// response is still open; end the stream first.
    #[error("a streamed response is still open")]
    StreamInProgress,
    /// Encoding: more body bytes than the streamed response announced in its
    /// `Content-Length`.
    #[error("streamed body longer than its announced {declared} bytes")]
    BodyOverflow {
        /// The length announced in the response head.
        declared: u64,
    },
    /// Reading from or writing to the socket failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl HttpCodecError {
    /// The status code the peer is answered with, for an error that gets an
    /// answer (`None` for encoding errors, I/O errors and
    /// [`PipelineOverflow`](HttpCodecError::PipelineOverflow)).
    pub fn status(&self) -> Option<u16> {
        use HttpCodecError::*;
        match self {
            MalformedHead(_)
            | InvalidTarget
            | MissingHost
            | DuplicateHost
            | InvalidHost
            | InvalidContentLength
            | ConflictingContentLength
            | ContentLengthWithTransferEncoding
            | InvalidTransferEncoding
            | MalformedChunk(_) => Some(400),
            HeadTooLarge { .. } | TooManyHeaders { .. } => Some(431),
            BodyTooLarge { .. } => Some(413),
            MethodNotImplemented | TransferCodingNotImplemented => Some(501),
            VersionNotSupported => Some(505),
            ExpectationFailed => Some(417),
            PipelineOverflow | NoStreamOpen | StreamInProgress | BodyOverflow { .. } | Io(_) => {
                None
            }
        }
    }

    /// Whether the request was refused as a possible request-smuggling
    /// shape (conflicting framing headers).
    pub fn is_smuggling(&self) -> bool {
        matches!(
            self,
            HttpCodecError::ConflictingContentLength
                | HttpCodecError::ContentLengthWithTransferEncoding
                | HttpCodecError::InvalidTransferEncoding
        )
    }
}
