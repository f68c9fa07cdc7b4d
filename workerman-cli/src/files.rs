//! The files of a running program: pid file, log file, stdout file and
//! control socket, with Workerman's defaults; the master-alive check; log
//! lines, and the master's log writer thread.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::sys::signal::kill;
use nix::unistd::Pid;
use workerman_core::Server;

/// Where a program's process files live.
///
/// Defaults, for a binary `<dir>/<name>` (Workerman 5 puts them beside the
/// start file): `<dir>/workerman.<name>.pid`, `<dir>/workerman.<name>.log`,
/// the control socket `<dir>/workerman.<name>.sock` (beside the pid file,
/// mode 0600), and `/dev/null` for the daemon's stdout and stderr. Several
/// programs on one machine therefore never share files.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessFiles {
    /// The running master's pid.
    pub pid_file: PathBuf,
    /// Timestamped lifecycle lines (start, stop, reload, exits, restarts).
    pub log_file: PathBuf,
    /// Where a daemon's stdout and stderr go.
    pub stdout_file: PathBuf,
    /// The master's control socket.
    pub control_socket: PathBuf,
    /// The program's name in messages (`Workerman[<name>] ...`).
    pub program: String,
}

impl ProcessFiles {
    /// The defaults for the executable `exe`, with any file given in
    /// `overrides` replacing its default. The control socket always sits
    /// beside the pid file.
    pub(crate) fn resolve(
        exe: &Path,
        pid_file: Option<&Path>,
        log_file: Option<&Path>,
        stdout_file: Option<&Path>,
    ) -> ProcessFiles {
        let dir = exe.parent().unwrap_or(Path::new("."));
        let program = exe
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "workerman".to_owned());
        let pid_file = pid_file
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.join(format!("workerman.{program}.pid")));
        let control_socket = pid_file.with_extension("sock");
        ProcessFiles {
            log_file: log_file
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dir.join(format!("workerman.{program}.log"))),
            stdout_file: stdout_file
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("/dev/null")),
            pid_file,
            control_socket,
            program,
        }
    }

    /// The pid of the running master, if there is one: the pid file names
    /// a live process whose command line carries the master's title. A
    /// stale pid file (dead master, or a reused pid) gives `None`.
    pub fn master_pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(&self.pid_file).ok()?;
        let pid: i32 = text.trim().parse().ok()?;
        if pid <= 0 || pid == std::process::id() as i32 {
            return None;
        }
        if !pid_alive(pid) {
            return None;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !cmdline.is_empty() && !String::from_utf8_lossy(&cmdline).contains(MASTER_TITLE) {
            return None;
        }
        Some(pid)
    }

    /// Appends a timestamped line `YYYY-MM-DD HH:MM:SS pid:<pid> <message>`
    /// to the log file, and prints the message when `echo`.
    pub fn log(&self, message: &str, echo: bool) {
        log_line(&self.log_file, message, echo);
    }
}

/// Whether process `pid` exists and is not a zombie (a dead process that
/// nobody has reaped yet still answers `kill(pid, 0)`).
pub fn pid_alive(pid: i32) -> bool {
    if kill(Pid::from_raw(pid), None).is_err() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => true,
    }
}

/// The start of the master's process title (its `argv[0]`), which `ps`
/// shows and the alive check looks for.
pub(crate) const MASTER_TITLE: &str = "WorkerMan: master process";

/// The binary the master was started from (and starts workers from).
pub(crate) const ENV_EXE: &str = "WORKERMAN_EXE";
/// `1` when the master runs as a daemon.
pub(crate) const ENV_DAEMON: &str = "WORKERMAN_DAEMON";

/// The binary to run for the master and workers: the path this program
/// was started from, so that a rebuilt binary is what `reload` runs.
pub(crate) fn exe() -> io::Result<PathBuf> {
    if let Some(p) = std::env::var_os(ENV_EXE) {
        return Ok(PathBuf::from(p));
    }
    std::env::current_exe()?.canonicalize()
}

/// The process files of the program `server` belongs to (see
/// [`ProcessFiles`]).
///
/// # Errors
///
/// When the path of the running executable cannot be found.
pub fn process_files(server: &Server) -> io::Result<ProcessFiles> {
    let config = server.process_config();
    Ok(ProcessFiles::resolve(
        &exe()?,
        config.pid_file.as_deref(),
        config.log_file.as_deref(),
        config.stdout_file.as_deref(),
    ))
}

/// Removes a Unix socket's file (a missing one is fine).
pub(crate) fn remove_socket_file(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove unix socket file");
        }
    }
}

/// Lines waiting for the master's log writer; beyond this, new lines are
/// dropped (and counted in a warning) rather than stalling the master.
const LOG_BACKLOG: usize = 1024;

enum LogMsg {
    Line(String),
    /// Terminal text (the banner), printed in order with the lines.
    Print(String),
    Flush(SyncSender<()>),
}

/// The master's log: lines go to a writer thread, so a slow disk or a
/// stalled terminal never blocks the master's event loop.
#[derive(Clone)]
pub(crate) struct Logger {
    tx: SyncSender<LogMsg>,
    path: PathBuf,
    echo: bool,
}

impl Logger {
    /// Starts the writer thread for `path`; `echo` also prints each line.
    pub(crate) fn start(path: PathBuf, echo: bool) -> Logger {
        let (tx, rx) = sync_channel::<LogMsg>(LOG_BACKLOG);
        let file = path.clone();
        let spawned = std::thread::Builder::new()
            .name("workerman-log".to_owned())
            .spawn(move || {
                for msg in rx {
                    match msg {
                        LogMsg::Line(line) => log_line(&file, &line, echo),
                        LogMsg::Print(text) => crate::output::screen(&text),
                        LogMsg::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the log writer; writing in place");
        }
        Logger { tx, path, echo }
    }

    /// Logs one line (and prints it in the foreground) without waiting.
    pub(crate) fn line(&self, message: &str) {
        match self.tx.try_send(LogMsg::Line(message.to_owned())) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!(message, "the log writer is behind; line dropped");
            }
            // No writer thread: write in place.
            Err(TrySendError::Disconnected(_)) => log_line(&self.path, message, self.echo),
        }
    }

    /// Prints `text` on the terminal after the lines logged so far,
    /// without waiting.
    pub(crate) fn print(&self, text: String) {
        match self.tx.try_send(LogMsg::Print(text)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => tracing::warn!("the log writer is behind; text dropped"),
            Err(TrySendError::Disconnected(LogMsg::Print(text))) => crate::output::screen(&text),
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Waits until every line logged so far is written.
    pub(crate) fn finish(&self) {
        let (done_tx, done_rx) = sync_channel(1);
        if self.tx.send(LogMsg::Flush(done_tx)).is_ok() {
            let _ = done_rx.recv();
        }
    }
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger").field("path", &self.path).finish()
    }
}

/// Appends `YYYY-MM-DD HH:MM:SS pid:<pid> <message>` (UTC) to the log
/// file, and prints the message when `echo` (not daemonized). A log file
/// that cannot be written is reported once on stderr, never fatal.
pub(crate) fn log_line(path: &Path, message: &str, echo: bool) {
    let line = format!(
        "{} pid:{} {}\n",
        timestamp(SystemTime::now()),
        std::process::id(),
        message
    );
    let written = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), error = %e, "cannot write the log file");
    }
    if echo {
        crate::output::say(message);
    }
    tracing::debug!(message, "log");
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub(crate) fn timestamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's
/// algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The system load averages.
pub(crate) fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_civil_dates() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01 00:00:00");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_690_000);
        assert_eq!(timestamp(t), "2026-11-26 10:46:40");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(timestamp(leap), "2000-02-29 00:00:00");
    }

    #[test]
    fn default_files_sit_beside_the_binary() {
        let f = ProcessFiles::resolve(Path::new("/srv/app/bin/chat"), None, None, None);
        assert_eq!(f.pid_file, Path::new("/srv/app/bin/workerman.chat.pid"));
        assert_eq!(
            f.control_socket,
            Path::new("/srv/app/bin/workerman.chat.sock")
        );
        assert_eq!(f.log_file, Path::new("/srv/app/bin/workerman.chat.log"));
        assert_eq!(f.stdout_file, Path::new("/dev/null"));
        let f = ProcessFiles::resolve(
            Path::new("/x/chat"),
            Some(Path::new("/run/chat.pid")),
            None,
            None,
        );
        assert_eq!(f.control_socket, Path::new("/run/chat.sock"));
    }
}
