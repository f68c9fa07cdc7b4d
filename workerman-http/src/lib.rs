//! HTTP serving for workerman-rs: what needs a connection or the file
//! system on top of the `http://` codec.
//!
//! The codec ([`Http`], [`Request`], [`Response`], ...) lives in
//! `workerman-protocols` and does no I/O. This crate adds the parts that
//! do, as async helpers taking a [`Connection`](workerman_core::Connection):
//!
//! * [`FileResponse`]: a file with `Content-Type`, `Last-Modified` /
//!   `ETag` (304 on `If-Modified-Since` / `If-None-Match`) and single
//!   `Range`s (206, 416); small files (< 2 MiB) in one response, larger ones
//!   streamed in chunks that wait for room in the send buffer.
//! * [`StaticDir`]: a folder served safely (no way out of it: `..`,
//!   encoded separators, NUL, hidden files and symlinks that leave the
//!   root all give 404).
//! * [`ChunkedBody`] and [`EventStream`]: chunked and Server-Sent Events
//!   streams; [`send_when_ready`] sends anything, waiting for room first.
//! * [`Sessions`]: Workerman's sessions: an id cookie (`PHPSID`), data
//!   loaded from and saved to a [`SessionStore`] ([`MemoryStore`],
//!   [`FileStore`], or your own, such as Redis), expiry and garbage
//!   collection.
//! * [`client_ip`]: the client's address, believing `X-Forwarded-For` /
//!   `X-Real-IP` only from [`TrustedProxies`].
//! * [`TempUpload`]: an uploaded file written to a temporary file (for a
//!   tool that wants a path), removed when dropped;
//!   [`TempUpload::spool`] does it for every upload above a size
//!   threshold.
//!
//! # Why a crate of its own
//!
//! `workerman-core` knows connections and processes but no protocol;
//! `workerman-protocols` knows protocols but no sockets or files. These
//! helpers need both (a `Connection<Http>` and `tokio::fs`), so they sit
//! above the two, as the facade does, and neither lower crate grows a
//! dependency on the other's concerns. The facade re-exports this crate as
//! `workerman::http`.
//!
//! # Example
//!
//! ```no_run
//! use workerman_core::{async_trait, Connection, Service, Worker};
//! use workerman_http::{Http, Request, Response, StaticDir};
//!
//! struct Site {
//!     files: StaticDir,
//! }
//!
//! #[async_trait]
//! impl Service for Site {
//!     type Protocol = Http;
//!
//!     async fn on_message(&self, conn: &Connection<Http>, req: Request) {
//!         if req.path() == "/hello" {
//!             let _ = conn.send(Response::text("Hello World"));
//!         } else if let Err(e) = self.files.serve(conn, &req).await {
//!             tracing::debug!(error = %e, "file not fully sent");
//!         }
//!     }
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let site = Site { files: StaticDir::new("public")? };
//!     Worker::new("http://127.0.0.1:8080", site).run()?;
//!     Ok(())
//! }
//! ```
#![doc(test(attr(deny(warnings))))]

mod client_ip;
mod file;
mod session;
mod static_dir;
mod stream;
mod upload;

/// Internal: for the fuzz targets only (the `fuzzing` feature); not part
/// of the public API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::file::fuzz_api::{etag, if_range_ok, not_modified, parse_range};
}

pub use client_ip::client_ip;
pub use file::{FileError, FileResponse, MEMORY_THRESHOLD};
pub use session::{
    FileStore, MemoryStore, Session, SessionConfig, SessionData, SessionError, SessionStore,
    Sessions,
};
pub use static_dir::StaticDir;
pub use stream::{send_when_ready, ChunkedBody, EventStream};
pub use upload::{TempUpload, Upload};

pub use workerman_protocols::http::{
    reason_phrase, Chunk, Cookie, DefaultSettings, Http, HttpCodec, HttpCodecError, HttpConfig,
    HttpSettings, InvalidProxy, Method, Outgoing, Params, Request, Response, SameSite,
    ServerSentEvent, TrustedProxies, UploadedFile, Version,
};
