//! Which of its three parts a process of the program plays, told by the
//! environment it was started with (see the `process` module docs).

/// `master` in the master process, `child` in a worker process; unset for
/// the command line.
pub const ENV_ROLE: &str = "WORKERMAN_ROLE";
/// A worker process's Worker: its index in the program's `Server`.
pub(crate) const ENV_WORKER_INDEX: &str = "WORKERMAN_WORKER_INDEX";
/// A worker process's id within its Worker (`0..count`).
pub(crate) const ENV_WORKER_ID: &str = "WORKERMAN_WORKER_ID";

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
