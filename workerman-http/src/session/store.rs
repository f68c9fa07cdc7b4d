//! [`SessionStore`]: where session data lives, and the two built-in stores.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;

use super::SessionError;

/// Where sessions are kept (Workerman's session handlers: open / read /
/// write / destroy / gc / updateTimestamp).
///
/// Data is opaque bytes (the session serialised as JSON). `id` is always
/// 1 to 128 ASCII letters and digits, so a store may use it in a file name
/// or a key as it is. Implement it for another backend (Redis: `GET`,
/// `SETEX` with the lifetime, `DEL`, `EXPIRE`; `gc` can return 0 since
/// Redis expires keys itself).
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// The data of session `id`, or `None` when there is none or it is
    /// older than `lifetime` (not written or touched for that long).
    async fn read(&self, id: &str, lifetime: Duration) -> Result<Option<Vec<u8>>, SessionError>;

    /// Stores the data of session `id`, to expire after `lifetime`.
    async fn write(&self, id: &str, data: &[u8], lifetime: Duration) -> Result<(), SessionError>;

    /// Deletes session `id` (nothing to delete is fine).
    async fn destroy(&self, id: &str) -> Result<(), SessionError>;

    /// Restarts the expiry of an unmodified session (when
    /// `auto_update_timestamp` is on). Default: does nothing.
    async fn touch(&self, id: &str, lifetime: Duration) -> Result<(), SessionError> {
        let _ = (id, lifetime);
        Ok(())
    }

    /// Deletes sessions older than `lifetime`; returns how many.
    async fn gc(&self, lifetime: Duration) -> Result<usize, SessionError>;
}

/// Sessions in this process's memory: fast, lost on restart, and not
/// shared between worker processes (each process of a multi-process worker
/// has its own; use [`FileStore`] or a shared store there).
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// Held only for map operations, never across an await.
    entries: Mutex<HashMap<String, (Vec<u8>, Instant)>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// How many sessions are held (expired ones included until `gc`).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Vec<u8>, Instant)>> {
        // A panic while holding this lock cannot leave the map half
        // updated (every operation is one call), so the data stays usable.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn read(&self, id: &str, lifetime: Duration) -> Result<Option<Vec<u8>>, SessionError> {
        let entries = self.lock();
        Ok(entries
            .get(id)
            .filter(|(_, at)| at.elapsed() <= lifetime)
            .map(|(data, _)| data.clone()))
    }

    async fn write(&self, id: &str, data: &[u8], _lifetime: Duration) -> Result<(), SessionError> {
        self.lock()
            .insert(id.to_owned(), (data.to_vec(), Instant::now()));
        Ok(())
    }

    async fn destroy(&self, id: &str) -> Result<(), SessionError> {
        self.lock().remove(id);
        Ok(())
    }

    async fn touch(&self, id: &str, _lifetime: Duration) -> Result<(), SessionError> {
        if let Some(entry) = self.lock().get_mut(id) {
            entry.1 = Instant::now();
        }
        Ok(())
    }

    async fn gc(&self, lifetime: Duration) -> Result<usize, SessionError> {
        let mut entries = self.lock();
        let before = entries.len();
        entries.retain(|_, (_, at)| at.elapsed() <= lifetime);
        Ok(before - entries.len())
    }
}

/// Sessions as files `session_<id>` in a folder (Workerman's default
/// handler): shared by every worker process on the machine, kept across
/// restarts. Expiry goes by the file's modification time. Files are
/// written whole to a temporary name and renamed, so a reader never sees
/// half a session, and created with mode 0600.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// A store in `dir` (created if missing, mode 0700).
    ///
    /// # Errors
    ///
    /// When the folder cannot be created.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir)?;
        Ok(FileStore { dir })
    }

    /// A store in `workerman-sessions-<uid>` under the system temporary
    /// folder (PHP's default `session.save_path` is the temporary folder).
    ///
    /// The temporary folder is shared by every user of the machine, so the
    /// folder is per user and must be this user's own and closed to others
    /// (mode 0700): one that someone else made there is refused rather
    /// than trusted with session data.
    ///
    /// # Errors
    ///
    /// When the folder cannot be created, or exists but belongs to another
    /// user or is open to others (`PermissionDenied`, naming the folder).
    pub fn in_temp_dir() -> std::io::Result<Self> {
        let uid = nix::unistd::geteuid().as_raw();
        let store = FileStore::new(std::env::temp_dir().join(format!("workerman-sessions-{uid}")))?;
        private_to(&store.dir, uid)?;
        Ok(store)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("session_{id}"))
    }
}

/// Fails unless `dir` is a folder (not a link) of user `uid` that no one
/// else may enter.
fn private_to(dir: &Path, uid: u32) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0 {
        return Ok(());
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        format!(
            "{} is not a folder of user {uid} closed to others (mode 0700); \
             remove it or use FileStore::new with another folder",
            dir.display()
        ),
    ))
}

fn expired(modified: std::io::Result<SystemTime>, lifetime: Duration) -> bool {
    modified
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age > lifetime)
}

#[async_trait]
impl SessionStore for FileStore {
    async fn read(&self, id: &str, lifetime: Duration) -> Result<Option<Vec<u8>>, SessionError> {
        let path = self.path(id);
        match tokio::fs::metadata(&path).await {
            Ok(meta) if expired(meta.modified(), lifetime) => return Ok(None),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        match tokio::fs::read(&path).await {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn write(&self, id: &str, data: &[u8], _lifetime: Duration) -> Result<(), SessionError> {
        let tmp = self
            .dir
            .join(format!(".session_{id}.{:016x}", rand::random::<u64>()));
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        let written = async {
            let mut f = options.open(&tmp).await?;
            f.write_all(data).await?;
            f.flush().await?;
            tokio::fs::rename(&tmp, self.path(id)).await
        }
        .await;
        if written.is_err() {
            // Best effort: do not leave the temporary file behind.
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        Ok(written?)
    }

    async fn destroy(&self, id: &str) -> Result<(), SessionError> {
        match tokio::fs::remove_file(self.path(id)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn touch(&self, id: &str, _lifetime: Duration) -> Result<(), SessionError> {
        let path = self.path(id);
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .await?;
        let file = file.into_std().await;
        tokio::task::spawn_blocking(move || file.set_modified(SystemTime::now()))
            .await
            .map_err(|e| SessionError::Backend(Box::new(e)))??;
        Ok(())
    }

    async fn gc(&self, lifetime: Duration) -> Result<usize, SessionError> {
        let mut removed = 0;
        let mut dir = tokio::fs::read_dir(&self.dir).await?;
        while let Some(entry) = dir.next_entry().await? {
            let name = entry.file_name();
            if !name.to_string_lossy().starts_with("session_") {
                continue;
            }
            let Ok(meta) = entry.metadata().await else {
                continue;
            };
            if expired(meta.modified(), lifetime)
                && tokio::fs::remove_file(entry.path()).await.is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_temp_dir_store_is_private_to_its_user() {
        let store = FileStore::in_temp_dir().expect("own folder");
        let uid = nix::unistd::geteuid().as_raw();
        assert!(store.dir().ends_with(format!("workerman-sessions-{uid}")));
        private_to(store.dir(), uid).expect("mode 0700, ours");
    }

    #[test]
    fn a_folder_of_another_user_or_open_to_others_is_refused() {
        let base = std::env::temp_dir().join(format!("wm-private-{}", std::process::id()));
        let dir = base.join("s");
        FileStore::new(&dir).unwrap();
        let uid = nix::unistd::geteuid().as_raw();
        private_to(&dir, uid).unwrap();
        let other = private_to(&dir, uid.wrapping_add(1)).unwrap_err();
        assert_eq!(other.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(other.to_string().contains("wm-private"), "{other}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let open = private_to(&dir, uid).unwrap_err();
        assert_eq!(open.kind(), std::io::ErrorKind::PermissionDenied);
        let link = base.join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(private_to(&link, uid).is_err(), "a link is not trusted");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
