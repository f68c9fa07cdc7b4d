//! [`TempUpload`]: an uploaded file written to a temporary file.

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;
use workerman_protocols::http::UploadedFile;

/// An uploaded file copied to a temporary file, for code that wants a path
/// (an image tool, an antivirus): Workerman's `tmp_name`. The file is
/// created with mode 0600 as `workerman.upload.<random>` in the chosen
/// folder (the system temporary folder by default) and removed when this
/// value is dropped, unless [`persist`](TempUpload::persist) moved it.
///
/// The upload itself stays available in memory as the
/// [`UploadedFile`] (its bytes are a slice of the request body, which the
/// worker's `max_package_size` bounds), so most handlers need none of this.
///
/// # Examples
///
/// ```no_run
/// # #![allow(dead_code, unused_variables)]
/// # use workerman_http::{Request, TempUpload};
/// # async fn f(req: &Request) -> std::io::Result<()> {
/// if let Some(upload) = req.file("photo") {
///     let tmp = TempUpload::create(upload, None).await?;
///     // ... run a tool on tmp.path() ...
///     tmp.persist("/srv/photos/latest.jpg").await?;
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TempUpload {
    path: PathBuf,
    file_name: String,
    content_type: String,
    size: u64,
    keep: bool,
}

impl TempUpload {
    /// Writes `file` to a new temporary file in `dir` (default: the system
    /// temporary folder).
    ///
    /// # Errors
    ///
    /// When the file cannot be created or written.
    pub async fn create(file: &UploadedFile, dir: Option<&Path>) -> std::io::Result<TempUpload> {
        let dir = dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let name = format!("workerman.upload.{:032x}", rand::random::<u128>());
        let path = dir.join(name);
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        let mut out = options.open(&path).await?;
        // Made before writing, so a failed write removes the file on drop.
        let upload = TempUpload {
            path,
            file_name: file.file_name().to_owned(),
            content_type: file.content_type().to_owned(),
            size: file.size() as u64,
            keep: false,
        };
        out.write_all(file.data()).await?;
        out.flush().await?;
        Ok(upload)
    }

    /// Where the temporary file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The client's file name (without directories).
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The part's content type.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Moves the file to `dest` (renamed when on the same file system,
    /// copied otherwise) and keeps it.
    ///
    /// # Errors
    ///
    /// When neither rename nor copy works; the temporary file is then
    /// still removed on drop.
    pub async fn persist(mut self, dest: impl AsRef<Path>) -> std::io::Result<PathBuf> {
        let dest = dest.as_ref().to_path_buf();
        if tokio::fs::rename(&self.path, &dest).await.is_err() {
            tokio::fs::copy(&self.path, &dest).await?;
            tokio::fs::remove_file(&self.path).await?;
        }
        self.keep = true;
        Ok(dest)
    }
}

impl Drop for TempUpload {
    fn drop(&mut self) {
        if !self.keep {
            // One unlink: short enough to do in place, and a drop cannot
            // await. A file already gone is fine.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// An uploaded file as [`TempUpload::spool`] hands it out: small ones stay
/// in memory, large ones are in a temporary file.
#[derive(Debug)]
pub enum Upload<'a> {
    /// Below the threshold: the bytes in the request.
    Memory(&'a UploadedFile),
    /// At or above the threshold: a temporary file, removed when dropped.
    File(TempUpload),
}

impl Upload<'_> {
    /// The client's file name (without directories).
    pub fn file_name(&self) -> &str {
        match self {
            Upload::Memory(f) => f.file_name(),
            Upload::File(t) => t.file_name(),
        }
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            Upload::Memory(f) => f.size() as u64,
            Upload::File(t) => t.size(),
        }
    }
}

impl TempUpload {
    /// Every file uploaded with `req`, in order: those of at least
    /// `threshold` bytes written to temporary files in `dir` (default: the
    /// system temporary folder), the others left in memory (Workerman
    /// writes every upload to a temporary file; it has no threshold).
    ///
    /// # Errors
    ///
    /// When a temporary file cannot be written; those already written are
    /// removed.
    pub async fn spool<'r>(
        req: &'r workerman_protocols::http::Request,
        threshold: usize,
        dir: Option<&Path>,
    ) -> std::io::Result<Vec<Upload<'r>>> {
        let mut out = Vec::with_capacity(req.files().len());
        for f in req.files() {
            out.push(if f.size() >= threshold {
                Upload::File(TempUpload::create(f, dir).await?)
            } else {
                Upload::Memory(f)
            });
        }
        Ok(out)
    }
}
