//! Which file-system events count as a change.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode};
use notify::EventKind;

/// Whether an event of this kind can mean new contents. Opening or
/// reading a file is not a change: the master executing the watched
/// binary on reload must not trigger another reload.
pub(crate) fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

/// Whether `path` is an editor's temporary or backup file: vim's swap
/// files (`.foo.swp`, `.swx`, `.swo`, `.swpx`) and its write test file
/// `4913`, backups ending in `~`, emacs lock (`.#foo`) and auto-save
/// (`#foo#`) files.
pub fn is_editor_temp_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(OsStr::to_str) else {
        return false;
    };
    name == "4913"
        || name.ends_with('~')
        || name.starts_with(".#")
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'))
        || [".swp", ".swx", ".swo", ".swpx"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

/// What one watched path accepts.
#[derive(Debug, Clone)]
pub(crate) enum Scope {
    /// Exactly this file (its folder is watched, so that a file replaced
    /// by a rename or a new link, as editors and cargo do, stays watched).
    File(PathBuf),
    /// Anything under this folder, with one of these extensions if any
    /// are given.
    Dir(PathBuf),
}

impl Scope {
    pub(crate) fn accepts(&self, path: &Path, extensions: &[String]) -> bool {
        if is_editor_temp_file(path) {
            return false;
        }
        match self {
            Scope::File(f) => path == f,
            Scope::Dir(d) => {
                path.starts_with(d)
                    && (extensions.is_empty()
                        || path
                            .extension()
                            .and_then(OsStr::to_str)
                            .is_some_and(|e| extensions.iter().any(|x| x == e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind, RemoveKind};

    #[test]
    fn editor_temp_files() {
        for t in [
            "/a/.main.rs.swp",
            "/a/.x.swx",
            "/a/.x.swo",
            "/a/4913",
            "/a/main.rs~",
            "/a/.#main.rs",
            "/a/#main.rs#",
        ] {
            assert!(is_editor_temp_file(Path::new(t)), "{t}");
        }
        for t in ["/a/main.rs", "/a/49130", "/a/#", "/a/app", "/a/swp"] {
            assert!(!is_editor_temp_file(Path::new(t)), "{t}");
        }
    }

    #[test]
    fn reads_are_not_changes() {
        assert!(is_change(&EventKind::Create(CreateKind::File)));
        assert!(is_change(&EventKind::Modify(ModifyKind::Any)));
        assert!(is_change(&EventKind::Remove(RemoveKind::File)));
        assert!(is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
    }

    #[test]
    fn scopes() {
        let f = Scope::File(PathBuf::from("/srv/app"));
        assert!(f.accepts(Path::new("/srv/app"), &[]));
        assert!(!f.accepts(Path::new("/srv/app.d"), &[]));
        let d = Scope::Dir(PathBuf::from("/srv/conf"));
        let toml = ["toml".to_owned()];
        assert!(d.accepts(Path::new("/srv/conf/a/b.toml"), &toml));
        assert!(!d.accepts(Path::new("/srv/conf/b.json"), &toml));
        assert!(d.accepts(Path::new("/srv/conf/b.json"), &[]));
        assert!(!d.accepts(Path::new("/srv/conf/.b.toml.swp"), &[]));
        assert!(!d.accepts(Path::new("/srv/other/b.toml"), &[]));
    }
}
