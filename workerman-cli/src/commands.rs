//! The command line's commands: each talks to the running master over its
//! control socket, or (`start`) becomes the master.

use std::io::{self, BufRead, Write};
use std::os::unix::process::CommandExt;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use workerman_core::process::{ControlRequest, ControlResponse, ENV_ROLE};
use workerman_core::Server;

use crate::args::Command;
use crate::files::{
    exe, pid_alive, process_files, ProcessFiles, ENV_DAEMON, ENV_EXE, MASTER_TITLE,
};
use crate::output::{say, screen};
use crate::render::{connections_table, status_table};

/// Runs one command against this program's server.
pub fn execute(server: Server, command: Command) -> ExitCode {
    let files = match process_files(&server) {
        Ok(f) => f,
        Err(e) => {
            say(&format!("cannot find the program's executable: {e}"));
            return ExitCode::FAILURE;
        }
    };
    match command {
        Command::Start { daemon } => start(server, daemon),
        Command::Stop { graceful } => stop(&files, graceful, server_wait(&server, graceful)),
        Command::Restart { daemon, graceful } => {
            if files.master_pid().is_some() {
                let code = stop(&files, graceful, server_wait(&server, graceful));
                if code != ExitCode::SUCCESS {
                    return code;
                }
            }
            start(server, daemon)
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

/// Sends a request to the running master; prints `not run` when there is
/// none.
fn ask(files: &ProcessFiles, req: &ControlRequest) -> Option<ControlResponse> {
    if files.master_pid().is_none() {
        files.log(&format!("Workerman[{}] not run", files.program), true);
        return None;
    }
    match request(files, req) {
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
    while pid_alive(pid) {
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
            screen(&format!(
                "\x1b[H\x1b[2J\x1b(B\x1b[m{}\nPress Ctrl+C to quit.\n",
                status_table(&report)
            ));
            std::thread::sleep(Duration::from_secs(1));
        } else {
            say(&status_table(&report));
            return ExitCode::SUCCESS;
        }
    }
}

/// `start [-d]`: refuses if a master runs, else becomes (or starts) the
/// master. In the foreground this only returns on failure.
pub(crate) fn start(server: Server, daemon: bool) -> ExitCode {
    let daemon = daemon || server.process_config().daemonize;
    let (files, exe) = match process_files(&server).and_then(|f| Ok((f, exe()?))) {
        Ok(x) => x,
        Err(e) => {
            say(&format!("cannot find the program's executable: {e}"));
            return ExitCode::FAILURE;
        }
    };
    if let Some(pid) = files.master_pid() {
        files.log(
            &format!(
                "Workerman[{}] already running (master pid {pid})",
                files.program
            ),
            true,
        );
        return ExitCode::FAILURE;
    }
    let mut cmd = std::process::Command::new(&exe);
    cmd.arg0(format!("{}  start_file={}", MASTER_TITLE, exe.display()))
        .args(std::env::args_os().skip(1))
        .env(ENV_ROLE, "master")
        .env(ENV_EXE, &exe)
        .env(ENV_DAEMON, if daemon { "1" } else { "0" });
    if !daemon {
        // Same pid, same terminal: the master in the foreground.
        let e = cmd.exec();
        say(&format!(
            "Workerman[{}] cannot start the master: {e}",
            files.program
        ));
        return ExitCode::FAILURE;
    }
    let out = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&files.stdout_file)
        .and_then(|f| Ok((f.try_clone()?, f)))
    {
        Ok(x) => x,
        Err(e) => {
            files.log(
                &format!(
                    "Can not open stdoutFile {}: {e}",
                    files.stdout_file.display()
                ),
                true,
            );
            return ExitCode::FAILURE;
        }
    };
    cmd.stdin(Stdio::null()).stdout(out.0).stderr(out.1);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            files.log(
                &format!("Workerman[{}] cannot start the master: {e}", files.program),
                true,
            );
            return ExitCode::FAILURE;
        }
    };
    // Wait until the master answers on its control socket.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            say(&format!(
                "Workerman[{}] start failed ({status}); last lines of {}:",
                files.program,
                files.log_file.display()
            ));
            print_log_tail(&files, 5);
            return ExitCode::FAILURE;
        }
        if matches!(
            request(&files, &ControlRequest::Status),
            Ok(ControlResponse::Status(_))
        ) {
            break;
        }
        if Instant::now() > deadline {
            say(&format!(
                "Workerman[{}] master did not answer in time",
                files.program
            ));
            return ExitCode::FAILURE;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    say(&format!(
        "Workerman[{}] start in DAEMON mode (master pid {})\nInput \"{} stop\" to stop. Start success.\n",
        files.program,
        child.id(),
        exe.display()
    ));
    ExitCode::SUCCESS
}

fn print_log_tail(files: &ProcessFiles, n: usize) {
    if let Ok(f) = std::fs::File::open(&files.log_file) {
        let lines: Vec<String> = io::BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .collect();
        for l in &lines[lines.len().saturating_sub(n)..] {
            say(l);
        }
    }
}

/// Sends one request to the running master and returns its answer.
///
/// # Errors
///
/// No master listens on the control socket, or it answered nonsense.
pub fn request(files: &ProcessFiles, req: &ControlRequest) -> io::Result<ControlResponse> {
    let mut stream = std::os::unix::net::UnixStream::connect(&files.control_socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = serde_json::to_vec(req).map_err(io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut answer = String::new();
    io::BufReader::new(stream).read_line(&mut answer)?;
    serde_json::from_str(&answer).map_err(io::Error::other)
}
