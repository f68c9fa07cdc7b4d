//! Helpers shared by the load benches (each uses a part of them).
#![allow(dead_code)]

/// Clock ticks per second of /proc times (USER_HZ, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// Reads an environment variable as `T`; a value that does not parse is
/// reported and ignored.
pub(crate) fn env_parse<T: std::str::FromStr>(name: &str) -> Option<T> {
    let v = std::env::var(name).ok()?;
    match v.trim().parse() {
        Ok(x) => Some(x),
        Err(_) => {
            eprintln!("ignoring {name}={v:?} (not a valid value)");
            None
        }
    }
}

/// utime + stime, in seconds, from a /proc `stat` file.
pub(crate) fn cpu_secs(stat_path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // The command name (field 2) may hold spaces: split after its ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime field 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SEC)
}

/// The /proc stat path of this process's thread named `name` (a server
/// thread whose CPU time a bench reads).
pub(crate) fn thread_stat_path(name: &str) -> Option<String> {
    std::fs::read_dir("/proc/self/task")
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| std::fs::read_to_string(p.join("comm")).is_ok_and(|c| c.trim_end() == name))
        .map(|p| p.join("stat").to_string_lossy().into_owned())
}

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit
/// in force.
pub(crate) fn raise_nofile() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => hard,
            Err(e) => {
                eprintln!("cannot raise RLIMIT_NOFILE to {hard}: {e}");
                soft
            }
        },
        Ok((soft, _)) => soft,
        Err(e) => {
            eprintln!("getrlimit failed: {e}");
            1024
        }
    }
}

/// The live (not zombie) child processes of `parent`, sorted: a master's
/// workers.
pub(crate) fn children(parent: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields 3 (state) and 4 (ppid), after the command name in
        // parentheses (which may hold spaces).
        let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let ppid = fields.next().and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) && state != Some("Z") {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    pids
}
