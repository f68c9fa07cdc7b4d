//! The command line's grammar.

use clap::{Parser, Subcommand};

/// `<program> <command> [mode]`, Workerman's command line.
#[derive(Debug, Parser)]
#[command(
    about = "A workerman-rs server: start, stop, reload and inspect it",
    after_help = "Signals for kill and systemd: SIGINT/SIGTERM stop, SIGQUIT graceful stop, \
                  SIGUSR1 reload, SIGUSR2 graceful reload."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Start the master and its worker processes.
    Start {
        /// Run as a daemon: detached from the terminal, output to the stdout file.
        #[arg(short = 'd', long = "daemon")]
        daemon: bool,
    },
    /// Stop the running server.
    Stop {
        /// Let open connections finish first (up to the grace timeout).
        #[arg(short = 'g', long = "graceful")]
        graceful: bool,
    },
    /// Stop, then start again.
    Restart {
        /// Start as a daemon.
        #[arg(short = 'd', long = "daemon")]
        daemon: bool,
        /// Stop gracefully.
        #[arg(short = 'g', long = "graceful")]
        graceful: bool,
    },
    /// Replace the worker processes, one at a time, with the binary now on disk.
    Reload {
        /// Let open connections of replaced processes finish first.
        #[arg(short = 'g', long = "graceful")]
        graceful: bool,
    },
    /// Show the master and every worker process.
    Status {
        /// Live: refresh every second until Ctrl+C.
        #[arg(short = 'd', long = "live", conflicts_with = "json")]
        live: bool,
        /// Print the report as JSON, for monitoring.
        #[arg(long)]
        json: bool,
    },
    /// List every live connection of every worker process.
    Connections {
        /// Print the rows as JSON.
        #[arg(long)]
        json: bool,
    },
}
