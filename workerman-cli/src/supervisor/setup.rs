//! Before the loop: the pid file's lock, and every Worker's sockets bound
//! once in the master (with the users its processes run as).

use std::collections::BTreeMap;
use std::fs::File;
use std::io;

use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Gid, Uid};
use workerman_core::Server;

use super::MasterWorker;
use crate::files::ProcessFiles;

pub(super) fn lock_pid_file(files: &ProcessFiles) -> io::Result<Flock<File>> {
    let path = files.pid_file.with_extension("lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    Flock::lock(f, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| io::Error::from(errno))
}

/// Binds every Worker's sockets in the master (so children inherit them,
/// privileged ports work, and a replaced process never drops the
/// connections waiting in a backlog), and resolves users.
pub(super) fn bind_all(server: &Server) -> Result<Vec<MasterWorker>, workerman_core::Error> {
    let mut out = Vec::new();
    for w in server.bind_worker_sockets()? {
        let ids = resolve_ids(w.user.as_deref(), w.group.as_deref());
        if let (Some(p), Some((uid, gid))) = (&w.unix_path, ids) {
            if let Err(e) = nix::unistd::chown(p, Some(uid), Some(gid)) {
                tracing::warn!(path = %p.display(), error = %e, "cannot chown the unix socket");
            }
        }
        out.push(MasterWorker {
            name: w.name,
            listen: w.listen,
            count: w.count,
            reloadable: w.reloadable,
            sockets: w.sockets,
            unix_path: w.unix_path,
            ids,
            exit_counts: BTreeMap::new(),
        });
    }
    Ok(out)
}

/// The uid and gid for a Worker's `user`/`group`; `None` (with a warning)
/// when not root or unknown, as Workerman does.
fn resolve_ids(user: Option<&str>, group: Option<&str>) -> Option<(Uid, Gid)> {
    let name = user?;
    if !Uid::effective().is_root() {
        tracing::warn!(
            user = name,
            "you must have the root privileges to change uid and gid"
        );
        return None;
    }
    let u = match nix::unistd::User::from_name(name) {
        Ok(Some(u)) => u,
        _ => {
            tracing::warn!(user = name, "user does not exist");
            return None;
        }
    };
    let gid = match group {
        None => u.gid,
        Some(g) => match nix::unistd::Group::from_name(g) {
            Ok(Some(g)) => g.gid,
            _ => {
                tracing::warn!(group = g, "group does not exist");
                u.gid
            }
        },
    };
    Some((u.uid, gid))
}
