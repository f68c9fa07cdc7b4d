//! Which of its three parts a process of the program plays, told by the
//! environment it was started with (see the `process` module docs).

use std::io;
use std::path::PathBuf;

pub(super) const ENV_ROLE: &str = "WORKERMAN_ROLE";
pub(super) const ENV_WORKER_INDEX: &str = "WORKERMAN_WORKER_INDEX";
pub(super) const ENV_WORKER_ID: &str = "WORKERMAN_WORKER_ID";
pub(super) const ENV_EXE: &str = "WORKERMAN_EXE";
pub(super) const ENV_DAEMON: &str = "WORKERMAN_DAEMON";

/// Which part of the program this process plays (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// Started by the operator: parse the command line.
    CommandLine,
    /// The master process.
    Master,
    /// A worker process.
    Worker,
}

/// The role of this process, from its environment.
pub fn role() -> Role {
    match std::env::var(ENV_ROLE).as_deref() {
        Ok("master") => Role::Master,
        Ok("child") => Role::Worker,
        _ => Role::CommandLine,
    }
}

/// The binary to run for the master and workers: the path this program
/// was started from, so that a rebuilt binary is what `reload` runs.
pub(super) fn exe() -> io::Result<PathBuf> {
    if let Some(p) = std::env::var_os(ENV_EXE) {
        return Ok(PathBuf::from(p));
    }
    std::env::current_exe()?.canonicalize()
}
