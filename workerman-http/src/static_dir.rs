//! [`StaticDir`]: a folder served over HTTP, with no way out of it.

use std::path::{Component, Path, PathBuf};

use workerman_core::Connection;
use workerman_protocols::http::{Http, HttpSettings, Method, Request, Response};

use crate::file::{FileError, FileResponse};
use crate::stream::send_ready;

/// A folder served over HTTP (`GET` and `HEAD`; other methods get 405).
///
/// The URL path is percent-decoded once and split at `/`; the request gets
/// 404 if any segment is empty-after-decoding tricks (`.`, `..`), holds a
/// `\`, a NUL or a control character, or (unless
/// [`serve_hidden`](StaticDir::serve_hidden)) starts with `.`. The file
/// found is then resolved (symlinks followed) and must still lie inside
/// the canonical root, so a symlink cannot lead out either. A directory is
/// served through its `index.html` (a path without the trailing `/` is
/// redirected to it first, so relative links work).
///
/// Files are sent with [`FileResponse`]: `Last-Modified`/`ETag`, 304,
/// ranges, streaming of large files.
///
/// # Examples
///
/// ```
/// use workerman_http::StaticDir;
///
/// let dir = StaticDir::new(std::env::temp_dir()).unwrap();
/// assert!(dir.resolve("/a/b.txt").unwrap().ends_with("a/b.txt"));
/// assert!(dir.resolve("/../etc/passwd").is_none());
/// assert!(dir.resolve("/%2e%2e/etc/passwd").is_none());
/// assert!(dir.resolve("/a%2f..%2f..%2fetc").is_none());
/// assert!(dir.resolve("/.git/config").is_none());
/// ```
#[derive(Debug, Clone)]
pub struct StaticDir {
    root: PathBuf,
    index: Option<String>,
    hidden: bool,
    cache_control: Option<String>,
}

impl StaticDir {
    /// Serves the folder `root`.
    ///
    /// # Errors
    ///
    /// When `root` does not exist or is not a directory.
    pub fn new(root: impl AsRef<Path>) -> std::io::Result<Self> {
        let root = std::fs::canonicalize(root.as_ref())?;
        if !root.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(StaticDir {
            root,
            index: Some("index.html".to_owned()),
            hidden: false,
            cache_control: None,
        })
    }

    /// The file served for a directory (default `index.html`; `None`: a
    /// directory gets 404).
    #[must_use]
    pub fn index(mut self, name: Option<&str>) -> Self {
        self.index = name.map(str::to_owned);
        self
    }

    /// Whether names starting with `.` are served (default false:
    /// `.git`, `.env` and friends stay private).
    #[must_use]
    pub fn serve_hidden(mut self, serve: bool) -> Self {
        self.hidden = serve;
        self
    }

    /// A `Cache-Control` value for every file (default none).
    #[must_use]
    pub fn cache_control(mut self, value: impl Into<String>) -> Self {
        self.cache_control = Some(value.into());
        self
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where URL path `url_path` (as in [`Request::path`]) points inside
    /// the root, before symlinks are resolved; `None` if it is not allowed.
    pub fn resolve(&self, url_path: &str) -> Option<PathBuf> {
        let decoded = percent_encoding::percent_decode_str(url_path)
            .decode_utf8()
            .ok()?;
        let mut path = self.root.clone();
        for segment in decoded.split('/') {
            if segment.is_empty() {
                continue;
            }
            let bad = segment == "."
                || segment == ".."
                || (!self.hidden && segment.starts_with('.'))
                || segment.chars().any(|c| c == '\\' || c.is_control());
            if bad {
                return None;
            }
            // One normal component, nothing else (no root, no prefix).
            let mut comps = Path::new(segment).components();
            match (comps.next(), comps.next()) {
                (Some(Component::Normal(_)), None) => path.push(segment),
                _ => return None,
            }
        }
        Some(path)
    }

    /// Answers `req` from the folder; returns the status sent.
    ///
    /// # Errors
    ///
    /// As [`FileResponse::send`].
    pub async fn serve<S: HttpSettings>(
        &self,
        conn: &Connection<Http<S>>,
        req: &Request,
    ) -> Result<u16, FileError> {
        if !matches!(req.method(), Method::Get | Method::Head) {
            let r = Response::new(405)
                .with_header("Allow", "GET, HEAD")
                .with_body("<h3>405 Method Not Allowed</h3>");
            send_ready(conn, r).await?;
            return Ok(405);
        }
        let Some(candidate) = self.resolve(req.path()) else {
            return self.not_found(conn).await;
        };
        // Follow symlinks, then check we are still inside the root.
        let Ok(mut real) = tokio::fs::canonicalize(&candidate).await else {
            return self.not_found(conn).await;
        };
        if !real.starts_with(&self.root) {
            tracing::warn!(path = %req.path(), "static path leads outside the root; refused");
            return self.not_found(conn).await;
        }
        let is_dir = tokio::fs::metadata(&real).await.is_ok_and(|m| m.is_dir());
        if is_dir {
            let Some(index) = &self.index else {
                return self.not_found(conn).await;
            };
            if !req.path().ends_with('/') {
                // One leading slash: `//host/dir` must not become a
                // redirect to another site.
                let mut location = format!("/{}/", req.path().trim_start_matches('/'));
                if !req.query_string().is_empty() {
                    location.push('?');
                    location.push_str(req.query_string());
                }
                send_ready(conn, Response::new(301).with_header("Location", location)).await?;
                return Ok(301);
            }
            real.push(index);
        }
        let mut file = FileResponse::new(real);
        if let Some(cc) = &self.cache_control {
            file = file.header("Cache-Control", cc.clone());
        }
        file.send(conn, req).await
    }

    async fn not_found<S: HttpSettings>(
        &self,
        conn: &Connection<Http<S>>,
    ) -> Result<u16, FileError> {
        send_ready(conn, Response::new(404).with_body("<h3>404 Not Found</h3>")).await?;
        Ok(404)
    }
}
