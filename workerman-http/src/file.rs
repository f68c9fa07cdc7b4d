//! [`FileResponse`]: sending a file, with conditional and range requests.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use workerman_core::{Connection, SendError};
use workerman_protocols::http::{Chunk, Http, HttpSettings, Method, Request, Response};

use crate::stream::send_ready;

/// Files smaller than this (2 MiB, Workerman's threshold) are read whole
/// and sent as one response; larger ones are streamed.
pub const MEMORY_THRESHOLD: u64 = 2 * 1024 * 1024;

/// How much of a large file is read and queued at a time.
const STREAM_CHUNK: usize = 256 * 1024;

/// Why a file was not (completely) sent. Missing and unreadable files are
/// not errors: they are answered with 404 and 403.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The connection refused a send (closed by the client, usually).
    #[error("send failed: {0}")]
    Send(#[from] SendError),
    /// Reading the file failed after the response had started; the
    /// connection is closed, so the client sees a short body.
    #[error("reading the file failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A file as a response (Workerman's `Response::withFile`).
///
/// [`send`](FileResponse::send) answers the request with:
///
/// * 404 `<h3>404 Not Found</h3>` when the file does not exist (or is a
///   directory), 403 when it cannot be read;
/// * 304 when `If-None-Match` matches the file's `ETag`, or (without
///   `If-None-Match`) `If-Modified-Since` is not older than its
///   modification time;
/// * 206 with `Content-Range` for a satisfiable single `Range: bytes=...`
///   on GET (honouring `If-Range`), 416 for an unsatisfiable one; several
///   ranges get the whole file;
/// * otherwise 200 with the whole file.
///
/// Every answer carries `Last-Modified`, `ETag` and `Accept-Ranges: bytes`;
/// `Content-Type` comes from the extension (`application/octet-stream`
/// with `Content-Disposition: attachment` for an unknown one, as in
/// Workerman). A body under [`MEMORY_THRESHOLD`] is read at once and sent
/// in one response; a larger one is streamed in 256 KiB pieces, each sent
/// when the connection's send buffer has room, so memory stays bounded
/// by `max_send_buffer_size` whatever the file size.
///
/// # Examples
///
/// ```no_run
/// # #![allow(dead_code, unused_variables)]
/// # use workerman_core::Connection;
/// # use workerman_http::{FileResponse, Http, Request};
/// # async fn f(conn: &Connection<Http>, req: &Request) {
/// let status = FileResponse::new("/srv/report.pdf")
///     .attachment("report.pdf")
///     .header("Cache-Control", "max-age=60")
///     .send(conn, req)
///     .await;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FileResponse {
    path: PathBuf,
    content_type: Option<String>,
    attachment: Option<String>,
    headers: Vec<(String, String)>,
    memory_threshold: u64,
}

impl FileResponse {
    /// The file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileResponse {
            path: path.into(),
            content_type: None,
            attachment: None,
            headers: Vec::new(),
            memory_threshold: MEMORY_THRESHOLD,
        }
    }

    /// Sets the `Content-Type` instead of guessing it from the extension.
    #[must_use]
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Asks the browser to save the file as `name`
    /// (`Content-Disposition: attachment`).
    #[must_use]
    pub fn attachment(mut self, name: impl Into<String>) -> Self {
        self.attachment = Some(name.into());
        self
    }

    /// Adds a header to every answer (`Cache-Control`, for example).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Files (or ranges) of at least this many bytes are streamed instead
    /// of read whole (default [`MEMORY_THRESHOLD`]).
    #[must_use]
    pub fn memory_threshold(mut self, bytes: u64) -> Self {
        self.memory_threshold = bytes;
        self
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Answers `req` on `conn` with the file; returns the status sent.
    ///
    /// # Errors
    ///
    /// When a send is refused (the client went away) or reading fails once
    /// the response has started.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropped while streaming, the response is left
    /// short (the connection should then be closed).
    pub async fn send<S: HttpSettings>(
        &self,
        conn: &Connection<Http<S>>,
        req: &Request,
    ) -> Result<u16, FileError> {
        let mut file = match tokio::fs::File::open(&self.path).await {
            Ok(f) => f,
            Err(e) => return self.refuse(conn, &e).await,
        };
        let meta = match file.metadata().await {
            Ok(m) if m.is_file() => m,
            Ok(_) => {
                return self
                    .refuse(conn, &std::io::ErrorKind::NotFound.into())
                    .await
            }
            Err(e) => return self.refuse(conn, &e).await,
        };
        let size = meta.len();
        let modified = meta.modified().ok().map(whole_seconds);
        let etag = etag(size, modified);
        let mut head = self.base_headers(Response::new(200), modified, &etag);

        if not_modified(req, &etag, modified) {
            head = head.with_status(304);
            send_ready(conn, head).await?;
            return Ok(304);
        }
        let range = if req.method() == Method::Get && if_range_ok(req, &etag, modified) {
            req.header("range").map(|r| parse_range(r, size))
        } else {
            None
        };
        let (status, start, len) = match range {
            None | Some(RangeSpec::Ignore) => (200, 0, size),
            Some(RangeSpec::Unsatisfiable) => {
                let r = head
                    .with_status(416)
                    .with_header("Content-Range", format!("bytes */{size}"))
                    .with_header("Content-Type", "text/html;charset=utf-8")
                    .without_header("Content-Disposition")
                    .with_body("<h3>416 Range Not Satisfiable</h3>");
                send_ready(conn, r).await?;
                return Ok(416);
            }
            Some(RangeSpec::Range { start, end }) => (206, start, end - start + 1),
        };
        if status == 206 {
            head = head.with_status(206).with_header(
                "Content-Range",
                format!("bytes {start}-{}/{size}", start + len - 1),
            );
        }
        if req.method() == Method::Head {
            send_ready(conn, head.sized_stream(len)).await?;
            return Ok(status);
        }
        if start > 0 {
            file.seek(SeekFrom::Start(start)).await?;
        }
        if len < self.memory_threshold {
            // Bounded by the threshold just checked.
            let mut body = vec![0u8; len as usize];
            file.read_exact(&mut body).await?;
            send_ready(conn, head.with_body(body)).await?;
            return Ok(status);
        }
        send_ready(conn, head.sized_stream(len)).await?;
        let mut left = len;
        while left > 0 {
            let want = left.min(STREAM_CHUNK as u64) as usize;
            let mut buf = BytesMut::zeroed(want);
            if let Err(e) = file.read_exact(&mut buf).await {
                // The head promised more: end short, which closes.
                let _ = conn.send(Chunk::end());
                return Err(FileError::Io(e));
            }
            send_ready(conn, Chunk::new(buf.freeze())).await?;
            left -= want as u64;
        }
        Ok(status)
    }

    fn base_headers(&self, mut r: Response, modified: Option<SystemTime>, etag: &str) -> Response {
        let content_type =
            self.content_type.clone().unwrap_or_else(|| {
                match mime_guess::from_path(&self.path).first_raw() {
                    Some(t) if t.starts_with("text/") || t == "application/javascript" => {
                        format!("{t}; charset=utf-8")
                    }
                    Some(t) => t.to_owned(),
                    None => "application/octet-stream".to_owned(),
                }
            });
        let download = self.attachment.clone().or_else(|| {
            (self.content_type.is_none() && mime_guess::from_path(&self.path).first_raw().is_none())
                .then(|| {
                    self.path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                })
        });
        r = r
            .with_header("Content-Type", content_type)
            .with_header("Accept-Ranges", "bytes")
            .with_header("ETag", etag.to_owned());
        if let Some(m) = modified {
            r = r.with_header("Last-Modified", httpdate::fmt_http_date(m));
        }
        if let Some(name) = download {
            let safe: String = name
                .chars()
                .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
                .collect();
            r = r.with_header(
                "Content-Disposition",
                format!("attachment; filename=\"{safe}\""),
            );
        }
        for (n, v) in &self.headers {
            r = r.append_header(n.clone(), v.clone());
        }
        r
    }

    async fn refuse<S: HttpSettings>(
        &self,
        conn: &Connection<Http<S>>,
        e: &std::io::Error,
    ) -> Result<u16, FileError> {
        let (status, body) = match e.kind() {
            std::io::ErrorKind::PermissionDenied => (403, "<h3>403 Forbidden</h3>"),
            _ => (404, "<h3>404 Not Found</h3>"),
        };
        tracing::debug!(path = %self.path.display(), error = %e, status, "file not served");
        send_ready(conn, Response::new(status).with_body(body)).await?;
        Ok(status)
    }
}

/// HTTP dates have whole seconds; so must the time they are compared with.
fn whole_seconds(t: SystemTime) -> SystemTime {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => t,
    }
}

/// A weak validator from the size and the modification time.
fn etag(size: u64, modified: Option<SystemTime>) -> String {
    let secs = modified
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    format!("W/\"{size:x}-{secs:x}\"")
}

/// RFC 9110 13.2.2: `If-None-Match` first; `If-Modified-Since` only
/// without it (and only for GET and HEAD).
fn not_modified(req: &Request, etag: &str, modified: Option<SystemTime>) -> bool {
    if !matches!(req.method(), Method::Get | Method::Head) {
        return false;
    }
    if let Some(inm) = req.header("if-none-match") {
        let ours = etag.trim_start_matches("W/");
        return inm
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == ours);
    }
    match (req.header("if-modified-since"), modified) {
        (Some(since), Some(m)) => httpdate::parse_http_date(since).is_ok_and(|since| m <= since),
        _ => false,
    }
}

/// `If-Range`: the range applies only if the validator still matches
/// (a weak ETag never does, RFC 9110 13.1.5).
fn if_range_ok(req: &Request, etag: &str, modified: Option<SystemTime>) -> bool {
    let Some(v) = req.header("if-range") else {
        return true;
    };
    let v = v.trim();
    if v.starts_with('"') || v.starts_with("W/") {
        return !etag.starts_with("W/") && v == etag;
    }
    match (httpdate::parse_http_date(v), modified) {
        (Ok(date), Some(m)) => m == date,
        _ => false,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum RangeSpec {
    /// Serve the whole file (unparseable, other unit, several ranges).
    Ignore,
    Unsatisfiable,
    /// Inclusive bounds.
    Range {
        start: u64,
        end: u64,
    },
}

/// One `bytes=` range (RFC 9110 14.1.2).
fn parse_range(header: &str, size: u64) -> RangeSpec {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeSpec::Ignore;
    };
    if spec.contains(',') {
        return RangeSpec::Ignore;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeSpec::Ignore;
    };
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim(), last.trim()) {
        ("", suffix) => match num(suffix) {
            Some(0) => RangeSpec::Unsatisfiable,
            Some(n) if size > 0 => RangeSpec::Range {
                start: size.saturating_sub(n),
                end: size - 1,
            },
            Some(_) => RangeSpec::Unsatisfiable,
            None => RangeSpec::Ignore,
        },
        (a, "") => match num(a) {
            Some(a) if a < size => RangeSpec::Range {
                start: a,
                end: size - 1,
            },
            Some(_) => RangeSpec::Unsatisfiable,
            None => RangeSpec::Ignore,
        },
        (a, b) => match (num(a), num(b)) {
            (Some(a), Some(b)) if a > b => RangeSpec::Ignore,
            (Some(a), Some(_)) if a >= size => RangeSpec::Unsatisfiable,
            (Some(a), Some(b)) => RangeSpec::Range {
                start: a,
                end: b.min(size - 1),
            },
            _ => RangeSpec::Ignore,
        },
    }
}

/// The fuzz targets' way in (the `fuzzing` feature): the parsers above,
/// which only `FileResponse::send` reaches otherwise.
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzz_api {
    use std::time::SystemTime;

    use workerman_protocols::http::Request;

    /// `Range: bytes=...` for a file of `size` bytes: `None` to serve the
    /// whole file, `Some(None)` for 416, `Some(Some((start, end)))` (both
    /// inclusive) for 206.
    pub fn parse_range(header: &str, size: u64) -> Option<Option<(u64, u64)>> {
        match super::parse_range(header, size) {
            super::RangeSpec::Ignore => None,
            super::RangeSpec::Unsatisfiable => Some(None),
            super::RangeSpec::Range { start, end } => Some(Some((start, end))),
        }
    }

    /// Whether `req` gets 304 for a file with this `ETag` and time.
    pub fn not_modified(req: &Request, etag: &str, modified: Option<SystemTime>) -> bool {
        super::not_modified(req, etag, modified)
    }

    /// Whether `If-Range` lets a range apply.
    pub fn if_range_ok(req: &Request, etag: &str, modified: Option<SystemTime>) -> bool {
        super::if_range_ok(req, etag, modified)
    }

    /// The `ETag` of a file of `size` bytes modified at `modified`.
    pub fn etag(size: u64, modified: Option<SystemTime>) -> String {
        super::etag(size, modified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeSpec::*;
        assert_eq!(parse_range("bytes=0-99", 1000), Range { start: 0, end: 99 });
        assert_eq!(
            parse_range("bytes=900-", 1000),
            Range {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            parse_range("bytes=-100", 1000),
            Range {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            parse_range("bytes=-5000", 1000),
            Range { start: 0, end: 999 }
        );
        assert_eq!(
            parse_range("bytes=990-2000", 1000),
            Range {
                start: 990,
                end: 999
            }
        );
        assert_eq!(parse_range("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Ignore);
        assert_eq!(parse_range("items=0-1", 1000), Ignore);
        assert_eq!(parse_range("bytes=5-1", 1000), Ignore);
        assert_eq!(parse_range("bytes=x-1", 1000), Ignore);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
    }

    #[test]
    fn validators() {
        let m = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let tag = etag(10, Some(m));
        let req = |h: &str| {
            Request::parse(format!("GET / HTTP/1.1\r\nHost: a\r\n{h}\r\n").as_bytes()).unwrap()
        };
        assert!(not_modified(
            &req(&format!("If-None-Match: {tag}\r\n")),
            &tag,
            Some(m)
        ));
        assert!(not_modified(&req("If-None-Match: *\r\n"), &tag, Some(m)));
        assert!(!not_modified(
            &req("If-None-Match: \"other\"\r\n"),
            &tag,
            Some(m)
        ));
        let date = httpdate::fmt_http_date(m);
        assert!(not_modified(
            &req(&format!("If-Modified-Since: {date}\r\n")),
            &tag,
            Some(m)
        ));
        let before = httpdate::fmt_http_date(m - Duration::from_secs(1));
        assert!(!not_modified(
            &req(&format!("If-Modified-Since: {before}\r\n")),
            &tag,
            Some(m)
        ));
        assert!(if_range_ok(
            &req(&format!("If-Range: {date}\r\n")),
            &tag,
            Some(m)
        ));
        assert!(!if_range_ok(
            &req(&format!("If-Range: {before}\r\n")),
            &tag,
            Some(m)
        ));
        assert!(!if_range_ok(
            &req(&format!("If-Range: {tag}\r\n")),
            &tag,
            Some(m)
        ));
    }
}
