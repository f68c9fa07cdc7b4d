//! Process helpers for the component and service tests: a copy of an
//! example binary in its own directory, driven through its command line
//! (`start -d`, `status --json`, `stop`), and line clients. Included with
//! `#[path = "common/program.rs"] mod program;`.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const WAIT: Duration = Duration::from_secs(30);

pub fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/components-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} not built (cargo test builds the examples)",
        path.display()
    );
    path
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// A copy of an example binary in its own directory, with its settings.
pub struct Program {
    pub dir: PathBuf,
    pub bin: PathBuf,
    pub name: String,
    pub env: Vec<(String, String)>,
}

impl Program {
    pub fn new(example_name: &str, test: &str, env: &[(&str, String)]) -> Program {
        let dir = std::env::temp_dir().join(format!("wm-comp-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join(example_name);
        std::fs::copy(example(example_name), &bin).unwrap();
        let mut all = vec![("RUST_LOG".to_owned(), "warn".to_owned())];
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.clone())));
        Program {
            dir,
            bin,
            name: example_name.to_owned(),
            env: all,
        }
    }

    /// Runs the program's command line; bounded by WAIT.
    pub fn cmd(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn_retrying(&mut cmd);
        let deadline = Instant::now() + WAIT;
        loop {
            if child.try_wait().unwrap().is_some() {
                return child.wait_with_output().unwrap();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("`{}` did not finish", args.join(" "));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn start(&self) {
        let out = self.cmd(&["start", "-d"]);
        assert!(out.status.success(), "start -d failed: {}", text(&out));
    }

    pub fn master_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.join(format!("workerman.{}.pid", self.name)))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("workerman.{}.log", self.name)))
            .unwrap_or_default()
    }

    pub fn status(&self) -> Value {
        let out = self.cmd(&["status", "--json"]);
        assert!(out.status.success(), "status failed: {}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The pids of the live, non-retiring processes of `worker`, by id,
    /// once the master is not in the middle of a reload.
    pub fn pids(&self, worker: &str) -> Vec<u64> {
        let s = self.status();
        let mut v: Vec<(u64, u64)> = s["processes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["worker"] == worker && !p["retiring"].as_bool().unwrap())
            .map(|p| (p["id"].as_u64().unwrap(), p["pid"].as_u64().unwrap()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, pid)| pid).collect()
    }

    pub fn phase(&self) -> String {
        self.status()["phase"].as_str().unwrap_or("").to_owned()
    }

    /// Polls `check` until it holds, for up to WAIT.
    pub fn wait_for(&self, what: &str, mut check: impl FnMut(&Program) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !check(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        // Leave nothing running, whatever the test did.
        if let Some(pid) = self.master_pid() {
            if alive(pid) {
                let _ = self.cmd(&["stop"]);
            }
            if alive(pid) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Spawns `cmd`, retrying while the binary is "text file busy" (a copy
/// just made can be held open by a process another test thread forked).
pub fn spawn_retrying(cmd: &mut Command) -> std::process::Child {
    for _ in 0..100 {
        match cmd.spawn() {
            Ok(c) => return c,
            Err(e) if e.raw_os_error() == Some(26) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("spawn failed: {e}"),
        }
    }
    panic!("the binary stayed busy");
}

/// One line out, one line back, on a fresh connection.
pub fn request(addr: SocketAddr, line: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(WAIT))?;
    s.write_all(format!("{line}\n").as_bytes())?;
    let mut reply = String::new();
    BufReader::new(s).read_line(&mut reply)?;
    if reply.is_empty() {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(reply.trim_end().to_owned())
}

/// Waits until something answers `line` on `addr`.
pub fn request_when_up(addr: SocketAddr, line: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        match request(addr, line) {
            Ok(r) => return r,
            Err(e) => {
                assert!(Instant::now() < deadline, "{addr} never answered: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Fails the test with `why` and how to fix it. Tests that need a real
/// service are `#[ignore]`d without `--features interop`; with it, a
/// missing service is a failure, never a pass.
pub fn service_missing(why: String) -> ! {
    panic!("{why}. Start the services with `bash .ci/install-services.sh`.");
}

/// The Redis URL to test against (`WORKERMAN_REDIS_URL`, default
/// `redis://127.0.0.1:6379/`) once it answers PING.
pub fn redis_url() -> String {
    let url = std::env::var("WORKERMAN_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    let hostport = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or("")
        .rsplit('@')
        .next()
        .unwrap_or("")
        .to_owned();
    let reachable = hostport
        .parse::<SocketAddr>()
        .ok()
        .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(5)).ok())
        .and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
            s.write_all(b"PING\r\n").ok()?;
            let mut buf = [0u8; 7];
            s.read_exact(&mut buf).ok()?;
            (&buf == b"+PONG\r\n").then_some(())
        })
        .is_some();
    if reachable {
        return url;
    }
    service_missing(format!(
        "Redis is not reachable at {url} (PING to {hostport:?} failed; \
         WORKERMAN_REDIS_URL takes a redis://ip:port/ URL)"
    ))
}
