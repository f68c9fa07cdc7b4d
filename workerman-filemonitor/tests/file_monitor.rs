//! FileMonitor against the real file system (inotify), with an
//! `on_change` action that reports to the test. The reload through the
//! master is tested as processes in the workspace's `tests/file_monitor.rs`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use workerman_filemonitor::{FileMonitor, FileMonitorError};

const WAIT: Duration = Duration::from_secs(10);
const DEBOUNCE: Duration = Duration::from_millis(150);

/// A fresh folder, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("wm-fm-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d.canonicalize().unwrap())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

type Changes = mpsc::UnboundedReceiver<Vec<PathBuf>>;

fn monitor(m: FileMonitor) -> (workerman_filemonitor::FileMonitorHandle, Changes) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handle = m
        .debounce(DEBOUNCE)
        .on_change(move |paths| {
            // The test may be over.
            let _ = tx.send(paths.to_vec());
        })
        .spawn()
        .unwrap();
    (handle, rx)
}

async fn next(rx: &mut Changes) -> Vec<PathBuf> {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("no change reported")
        .unwrap()
}

/// Nothing is reported for a while (several debounce periods).
async fn quiet(rx: &mut Changes) {
    if let Ok(Some(c)) = tokio::time::timeout(DEBOUNCE * 6, rx.recv()).await {
        panic!("unexpected change: {c:?}");
    }
}

fn touch(p: &Path) {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .unwrap();
    f.set_modified(std::time::SystemTime::now()).unwrap();
}

#[tokio::test]
async fn a_burst_of_writes_is_one_change() {
    let dir = Dir::new("burst");
    let file = dir.path("app.toml");
    std::fs::write(&file, "v0").unwrap();
    let (_h, mut rx) = monitor(FileMonitor::new().watch(&file));
    for i in 0..5 {
        std::fs::write(&file, format!("v{i}")).unwrap();
    }
    touch(&file);
    assert_eq!(next(&mut rx).await, std::slice::from_ref(&file));
    quiet(&mut rx).await;
    // And again later: one more.
    touch(&file);
    assert_eq!(next(&mut rx).await, [file]);
    quiet(&mut rx).await;
}

#[tokio::test]
async fn editor_temp_files_other_files_and_reads_do_not_count() {
    let dir = Dir::new("ignore");
    let file = dir.path("main.rs");
    let other = dir.path("other.rs");
    std::fs::write(&file, "fn main() {}").unwrap();
    std::fs::write(&other, "").unwrap();
    let (_h, mut rx) = monitor(FileMonitor::new().watch(&file));
    for t in [".main.rs.swp", "main.rs~", "4913", ".#main.rs", "#main.rs#"] {
        std::fs::write(dir.path(t), "x").unwrap();
    }
    std::fs::write(&other, "changed").unwrap();
    // Reading the watched file (as exec does) is not a change.
    let _ = std::fs::read(&file).unwrap();
    quiet(&mut rx).await;
    std::fs::write(&file, "fn main() { }").unwrap();
    assert_eq!(next(&mut rx).await, [file]);
}

#[tokio::test]
async fn a_file_replaced_like_cargo_does_stays_watched() {
    let dir = Dir::new("replace");
    let bin = dir.path("app");
    std::fs::write(&bin, "build 1").unwrap();
    let (_h, mut rx) = monitor(FileMonitor::new().watch(&bin));
    for build in 2..=3 {
        // cargo: remove, then hard-link the new build into place.
        let fresh = dir.path(&format!("app-{build}"));
        std::fs::write(&fresh, format!("build {build}")).unwrap();
        std::fs::remove_file(&bin).unwrap();
        std::fs::hard_link(&fresh, &bin).unwrap();
        assert_eq!(next(&mut rx).await, std::slice::from_ref(&bin));
        quiet(&mut rx).await;
    }
    // An editor: write a new file, rename it over the old one.
    let tmp = dir.path("app.new");
    std::fs::write(&tmp, "edited").unwrap();
    std::fs::rename(&tmp, &bin).unwrap();
    assert_eq!(next(&mut rx).await, [bin]);
}

#[tokio::test]
async fn folders_are_watched_recursively_with_an_extension_filter() {
    let dir = Dir::new("folder");
    std::fs::create_dir_all(dir.path("conf/sub")).unwrap();
    let (h, mut rx) = monitor(
        FileMonitor::new()
            .watch(dir.path("conf"))
            .extensions(["toml"]),
    );
    std::fs::write(dir.path("conf/sub/notes.txt"), "x").unwrap();
    quiet(&mut rx).await;
    std::fs::write(dir.path("conf/sub/db.toml"), "x").unwrap();
    assert_eq!(next(&mut rx).await, [dir.path("conf/sub/db.toml")]);
    // Stopped: nothing more.
    h.stop();
    tokio::task::yield_now().await;
    std::fs::write(dir.path("conf/sub/db.toml"), "y").unwrap();
    quiet(&mut rx).await;
}

#[tokio::test]
async fn reloading_needs_a_worker_process_of_the_process_model() {
    let dir = Dir::new("nomaster");
    let err = FileMonitor::new().watch(dir.path("x")).spawn().unwrap_err();
    assert!(matches!(err, FileMonitorError::NotAWorkerProcess), "{err}");
    let err = FileMonitor::new().on_change(|_| {}).spawn().unwrap_err();
    assert!(matches!(err, FileMonitorError::NoPaths));
    let err = FileMonitor::new()
        .watch("/no/such/folder/file")
        .on_change(|_| {})
        .spawn()
        .unwrap_err();
    assert!(matches!(err, FileMonitorError::Path { .. }), "{err}");
}

#[test]
fn spawning_needs_a_runtime() {
    let err = FileMonitor::new()
        .watch("/tmp")
        .on_change(|_| {})
        .spawn()
        .unwrap_err();
    assert!(matches!(err, FileMonitorError::NoRuntime));
}
