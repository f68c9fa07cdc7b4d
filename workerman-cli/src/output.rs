//! Everything the operator reads on the terminal is written here: the
//! command line's answers and usage, the master's start-up banner, log
//! lines echoed in the foreground, and errors before anything else runs. (Tracing goes
//! wherever the program's subscriber sends it; this is the console.)

use std::io::Write;

use crate::files::Logger;

/// One line on standard output.
pub(crate) fn say(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{s}");
}

/// Text on standard output as it is, flushed (the live status screen).
pub(crate) fn screen(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

/// One line on standard error.
pub(crate) fn error(s: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{s}");
}

/// Flushes standard output before the process exits.
pub(crate) fn flush() {
    let _ = std::io::stdout().flush();
}

/// The command line's usage or version (clap's text: on standard output
/// for `--help` and `--version`, on standard error for a bad command line).
pub(crate) fn usage(e: &clap::Error) {
    let _ = e.print();
}

/// Logs the start, and in the foreground prints Workerman's banner: one
/// row per Worker (user, name, address, processes).
pub(crate) fn banner(rows: &[[String; 4]], echo: bool, log: &Logger, program: &str) {
    let mode = if echo { "DEBUG" } else { "DAEMON" };
    log.line(&format!("Workerman[{program}] start in {mode} mode"));
    if echo {
        // Through the log's writer, so it follows the line above.
        log.print(banner_text(rows));
    }
}

fn banner_text(rows: &[[String; 4]]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "------------------------------ WORKERMAN-RS ------------------------------\nworkerman-rs version:{}  master pid:{}\n------------------------------- WORKERS ----------------------------------\n",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    ));
    let head = ["user", "worker", "listen", "processes"];
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
                + 4
        })
        .collect();
    let fmt_row = |cells: [&str; 5]| {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate().take(4) {
            line.push_str(&format!("{c:<w$}", w = widths[i]));
        }
        line.push_str(cells[4]);
        line.push('\n');
        line
    };
    out.push_str(&fmt_row([head[0], head[1], head[2], head[3], "status"]));
    for r in rows {
        out.push_str(&fmt_row([&r[0], &r[1], &r[2], &r[3], "[OK]"]));
    }
    out.push_str("--------------------------------------------------------------------------\n");
    out.push_str("Press Ctrl+C to stop. Start success.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_aligns_its_columns() {
        let rows = [[
            "root".to_owned(),
            "chat".to_owned(),
            "websocket://0.0.0.0:8080".to_owned(),
            "4".to_owned(),
        ]];
        let text = banner_text(&rows);
        let head = text
            .lines()
            .find(|l| l.starts_with("user"))
            .expect("a header");
        let row = text.lines().find(|l| l.starts_with("root")).expect("a row");
        assert_eq!(head.find("worker"), row.find("chat"));
        assert_eq!(head.find("listen"), row.find("websocket://"));
        assert_eq!(head.find("status"), row.find("[OK]"));
        assert!(text.ends_with("Press Ctrl+C to stop. Start success.\n"));
    }
}
