//! The command line of workerman-rs: Workerman's `start [-d] | stop [-g] |
//! restart [-d] [-g] | reload [-g] | status [-d] [--json] | connections`.
//!
//! A program hands its workers to [`run_all`] (or calls
//! [`RunAll::run_all`] on one worker or a server) and never returns: the
//! same binary is the command line, the master and every worker process
//! (see `workerman_core::process`).
//!
//! ```no_run
//! use workerman_cli::RunAll;
//! use workerman_core::{async_trait, Connection, Service, Worker};
//! use workerman_protocols::{Payload, Text};
//!
//! struct Echo;
//!
//! #[async_trait]
//! impl Service for Echo {
//!     type Protocol = Text;
//!     async fn on_message(&self, conn: &Connection<Text>, msg: Payload) {
//!         let _ = conn.send(msg);
//!     }
//! }
//!
//! fn main() {
//!     Worker::new("text://127.0.0.1:5678", Echo).count(4).run_all()
//! }
//! ```
//!
//! Then `./echo start -d`, `./echo status`, `./echo reload`, `./echo stop`.
//! An unknown command prints the usage and exits with status 2.
#![doc(test(attr(deny(warnings))))]

mod args;
mod render;

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use workerman_core::process::{self, ControlRequest, ControlResponse, ProcessFiles, Role};
use workerman_core::{Server, Service, Worker};

pub use args::{Cli, Command};
pub use render::{connections_table, status_table};

/// Runs the program as the command line says, and exits the process with
/// the command's exit status. Never returns.
pub fn run_all(server: Server) -> ! {
    let code = match process::role() {
        Role::Master => process::run_master(server),
        Role::Worker => process::run_worker_process(server),
        _ => match Cli::try_parse() {
            Ok(cli) => execute(server, cli.command),
            Err(e) => {
                // clap prints the usage; exit status 2 for a bad command
                // line, 0 for --help and --version.
                let _ = e.print();
                std::process::exit(if e.use_stderr() { 2 } else { 0 });
            }
        },
    };
    exit(code)
}

fn exit(code: ExitCode) -> ! {
    let _ = std::io::stdout().flush();
    std::process::exit(if code == ExitCode::SUCCESS { 0 } else { 1 })
}

/// `run_all` as a method: `Worker::new(...).run_all()` or
/// `Server::new().worker(a).worker(b).run_all()`.
pub trait RunAll {
    /// See [`run_all`].
    fn run_all(self) -> !;
}

impl RunAll for Server {
    fn run_all(self) -> ! {
        run_all(self)
    }
}

impl<S: Service> RunAll for Worker<S> {
    fn run_all(self) -> ! {
        run_all(Server::new().worker(self))
    }
}

/// Runs one command against this program's server.
pub fn execute(server: Server, command: Command) -> ExitCode {
    let files = match server.process_files() {
        Ok(f) => f,
        Err(e) => {
            say(&format!("cannot find the program's executable: {e}"));
            return ExitCode::FAILURE;
        }
    };
    match command {
        Command::Start { daemon } => process::start(server, daemon),
        Command::Stop { graceful } => stop(&files, graceful, server_wait(&server, graceful)),
        Command::Restart { daemon, graceful } => {
            if files.master_pid().is_some() {
                let code = stop(&files, graceful, server_wait(&server, graceful));
                if code != ExitCode::SUCCESS {
                    return code;
                }
            }
            process::start(server, daemon)
        }
        Command::Reload { graceful } => match ask(&files, &ControlRequest::Reload { graceful }) {
            Some(ControlResponse::Ok { .. }) => {
                files.log(&format!("Workerman[{}] reload", files.program), true);
                ExitCode::SUCCESS
            }
            _ => ExitCode::FAILURE,
        },
        Command::Status { live, json } => status(&files, live, json),
        Command::Connections { json } => match ask(&files, &ControlRequest::Connections) {
            Some(ControlResponse::Connections { rows }) => {
                if json {
                    say(&serde_json::to_string_pretty(&rows).unwrap_or_default());
                } else {
                    say(&connections_table(&rows));
                }
                ExitCode::SUCCESS
            }
            _ => ExitCode::FAILURE,
        },
    }
}

/// How long `stop` waits for the master to go away.
fn server_wait(server: &Server, graceful: bool) -> Duration {
    server.stop_deadline(graceful) + Duration::from_secs(3)
}

fn say(s: &str) {
    // The command line's output to the operator.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{s}");
}

/// Sends a request to the running master; prints `not run` when there is
/// none.
fn ask(files: &ProcessFiles, req: &ControlRequest) -> Option<ControlResponse> {
    if files.master_pid().is_none() {
        files.log(&format!("Workerman[{}] not run", files.program), true);
        return None;
    }
    match process::request(files, req) {
        Ok(ControlResponse::Error { message }) => {
            say(&format!("Workerman[{}] refused: {message}", files.program));
            None
        }
        Ok(r) => Some(r),
        Err(e) => {
            say(&format!(
                "Workerman[{}] cannot reach the master at {}: {e}",
                files.program,
                files.control_socket.display()
            ));
            None
        }
    }
}

fn stop(files: &ProcessFiles, graceful: bool, wait: Duration) -> ExitCode {
    let Some(pid) = files.master_pid() else {
        files.log(&format!("Workerman[{}] not run", files.program), true);
        return ExitCode::FAILURE;
    };
    let how = if graceful {
        "is gracefully stopping ..."
    } else {
        "is stopping ..."
    };
    say(&format!("Workerman[{}] {how}", files.program));
    if ask(files, &ControlRequest::Stop { graceful }).is_none() {
        return ExitCode::FAILURE;
    }
    let deadline = Instant::now() + wait;
    while process::pid_alive(pid) {
        if Instant::now() > deadline {
            files.log(&format!("Workerman[{}] stop fail", files.program), true);
            return ExitCode::FAILURE;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    files.log(&format!("Workerman[{}] stop success", files.program), true);
    ExitCode::SUCCESS
}

fn status(files: &ProcessFiles, live: bool, json: bool) -> ExitCode {
    loop {
        let Some(ControlResponse::Status(report)) = ask(files, &ControlRequest::Status) else {
            return ExitCode::FAILURE;
        };
        if json {
            say(&serde_json::to_string_pretty(&report).unwrap_or_default());
            return ExitCode::SUCCESS;
        }
        if live {
            // Workerman's screen clear, then the table and a footer.
            let mut out = std::io::stdout().lock();
            let _ = write!(
                out,
                "\x1b[H\x1b[2J\x1b(B\x1b[m{}\nPress Ctrl+C to quit.\n",
                status_table(&report)
            );
            let _ = out.flush();
            drop(out);
            std::thread::sleep(Duration::from_secs(1));
        } else {
            say(&status_table(&report));
            return ExitCode::SUCCESS;
        }
    }
}
