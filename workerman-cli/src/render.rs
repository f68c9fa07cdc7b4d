//! The `status` and `connections` tables, laid out as Workerman's.

use std::fmt::Write as _;

use workerman_core::process::{ConnectionRow, StatusReport};

/// Renders the status report as Workerman's `status` table: the global
/// section, then one row per worker process and a summary.
pub fn status_table(r: &StatusReport) -> String {
    let mut out = String::new();
    let rule = |title: &str| format!("{:-^100}\n", title);
    out.push_str(&rule("GLOBAL STATUS"));
    let _ = writeln!(
        out,
        "workerman-rs version:{}          master pid:{}   phase:{}",
        r.version, r.master_pid, r.phase
    );
    let days = r.uptime_secs / 86_400;
    let hours = r.uptime_secs % 86_400 / 3600;
    let mins = r.uptime_secs % 3600 / 60;
    let _ = writeln!(
        out,
        "start time:{}   run {days} days {hours} hours {mins} minutes",
        start_time(r.start_time)
    );
    let load = r
        .load_average
        .map(|l| format!("{:.2}, {:.2}, {:.2}", l[0], l[1], l[2]))
        .unwrap_or_else(|| "-".to_owned());
    let _ = writeln!(
        out,
        "load average: {load}   event-loop:tokio current-thread"
    );
    let _ = writeln!(
        out,
        "{} workers       {} processes",
        r.workers.len(),
        r.processes.len()
    );
    let name_w = r
        .workers
        .iter()
        .map(|w| w.name.len())
        .max()
        .unwrap_or(4)
        .max(11)
        + 2;
    let _ = writeln!(
        out,
        "{:<name_w$}{:<17}exit_count",
        "worker_name", "exit_status"
    );
    for w in &r.workers {
        if w.exit_statuses.is_empty() {
            let _ = writeln!(out, "{:<name_w$}{:<17}{}", w.name, 0, 0);
        }
        for e in &w.exit_statuses {
            let _ = writeln!(out, "{:<name_w$}{:<17}{}", w.name, e.status, e.count);
        }
    }
    out.push_str(&rule("PROCESS STATUS"));
    let listen_w = r
        .processes
        .iter()
        .map(|p| p.listen.len())
        .max()
        .unwrap_or(0)
        .max(9)
        + 2;
    let pname_w = r
        .processes
        .iter()
        .map(|p| p.worker.len())
        .max()
        .unwrap_or(0)
        .max(11)
        + 2;
    let _ = writeln!(
        out,
        "pid\tmemory    {:<listen_w$}{:<pname_w$}{:<4}{:<12}{:<10}{:<8}{:<14}{:<9}status",
        "listening",
        "worker_name",
        "id",
        "connections",
        "send_fail",
        "timers",
        "total_request",
        "qps"
    );
    let na = || "N/A".to_owned();
    let (mut mem, mut conns, mut fails, mut timers, mut reqs, mut qps) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0f64);
    for p in &r.processes {
        mem += p.memory_bytes.unwrap_or(0);
        conns += p.connections.unwrap_or(0);
        fails += p.send_fail.unwrap_or(0);
        timers += p.timers.unwrap_or(0);
        reqs += p.total_request.unwrap_or(0);
        qps += p.qps.unwrap_or(0.0);
        let state = match (p.busy, p.retiring) {
            (true, _) => "[busy]",
            (false, true) => "[retiring]",
            (false, false) => "[idle]",
        };
        let _ = writeln!(
            out,
            "{}\t{:<10}{:<listen_w$}{:<pname_w$}{:<4}{:<12}{:<10}{:<8}{:<14}{:<9}{state}",
            p.pid,
            p.memory_bytes.map(mib).unwrap_or_else(na),
            p.listen,
            p.worker,
            p.id,
            p.connections.map(|v| v.to_string()).unwrap_or_else(na),
            p.send_fail.map(|v| v.to_string()).unwrap_or_else(na),
            p.timers.map(|v| v.to_string()).unwrap_or_else(na),
            p.total_request.map(|v| v.to_string()).unwrap_or_else(na),
            p.qps.map(|v| format!("{v:.0}")).unwrap_or_else(na),
        );
    }
    out.push_str(&rule("PROCESS STATUS"));
    let _ = writeln!(
        out,
        "Summary\t{:<10}{:<listen_w$}{:<pname_w$}{:<4}{:<12}{:<10}{:<8}{:<14}{:<9}[Summary]",
        format!("{}M", mem / (1024 * 1024)),
        "-",
        "-",
        "-",
        conns,
        fails,
        timers,
        reqs,
        format!("{qps:.0}"),
    );
    out
}

fn mib(bytes: u64) -> String {
    format!("{:.2}M", bytes as f64 / (1024.0 * 1024.0))
}

fn start_time(unix: u64) -> String {
    // Same UTC format as the log file.
    let secs = unix;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Renders the connections as Workerman's `connections` table.
pub fn connections_table(rows: &[ConnectionRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:-^160}", " WORKERMAN CONNECTION STATUS ");
    let _ = writeln!(
        out,
        "{:<9}{:<16}{:<10}{:<8}{:<16}{:<13}{:<13}{:<13} {:<14} {:<30} Foreign Address",
        "PID",
        "Worker",
        "CID",
        "Trans",
        "Protocol",
        "Send-Q",
        "Bytes-R",
        "Bytes-W",
        "Status",
        "Local Address"
    );
    for r in rows {
        let worker = r.worker.clone().unwrap_or_else(|| "(outgoing)".to_owned());
        let _ = writeln!(
            out,
            "{:<9}{:<16}{:<10}{:<8}{:<16}{:<13}{:<13}{:<13} {:<14} {:<30} {}",
            r.pid,
            cut(&worker, 14),
            r.id,
            r.transport,
            cut(r.protocol.as_str(), 15),
            human(r.send_queue),
            human(r.bytes_read),
            human(r.bytes_written),
            r.state.as_str().to_uppercase(),
            r.local,
            r.remote
        );
    }
    out
}

/// Cuts `s` to `max` characters, marking the cut with `..`.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!(
            "{}..",
            s.chars().take(max.saturating_sub(2)).collect::<String>()
        )
    }
}

/// Workerman's byte counts: `1.5KB`, `2.0MB`, `12B`.
fn human(n: u64) -> String {
    const K: f64 = 1024.0;
    let f = n as f64;
    if f > K * K * K * K {
        format!("{:.1}TB", f / (K * K * K * K))
    } else if f > K * K * K {
        format!("{:.1}GB", f / (K * K * K))
    } else if f > K * K {
        format!("{:.1}MB", f / (K * K))
    } else if f > K {
        format!("{:.1}KB", f / K)
    } else {
        format!("{n}B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_are_humanised_like_workerman() {
        assert_eq!(human(0), "0B");
        assert_eq!(human(1024), "1024B");
        assert_eq!(human(1536), "1.5KB");
        assert_eq!(human(3 * 1024 * 1024), "3.0MB");
        assert_eq!(cut("a-very-long-worker-name", 14), "a-very-long-..");
        assert_eq!(cut("short", 14), "short");
    }

    #[test]
    fn start_time_is_a_utc_date() {
        assert_eq!(start_time(0), "1970-01-01 00:00:00");
        assert_eq!(start_time(951_782_400), "2000-02-29 00:00:00");
    }
}
