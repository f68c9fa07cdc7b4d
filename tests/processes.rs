//! The process model as processes: the `supervisor_demo` example is copied
//! into a fresh directory (its pid, log and control-socket files sit beside
//! it), started with `start -d`, driven with its own command line and with
//! signals, and checked from outside: `status --json`, `/proc`, the files,
//! and plain TCP clients. Every wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(path.exists(), "{} not built", path.display());
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn alive(pid: i32) -> bool {
    // A zombie is not alive.
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
struct Program {
    dir: PathBuf,
    bin: PathBuf,
    env: Vec<(String, String)>,
    addr: SocketAddr,
}

impl Program {
    fn new(test: &str, env: &[(&str, &str)]) -> Program {
        let dir = std::env::temp_dir().join(format!("wm-proc-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // World-readable and searchable: worker processes may run as another user.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.join("demo");
        std::fs::copy(example("supervisor_demo"), &bin).unwrap();
        let port = free_port();
        let mut all = vec![
            (
                "WORKERMAN_ADDR".to_owned(),
                format!("text://127.0.0.1:{port}"),
            ),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Program {
            dir,
            bin,
            env: all,
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
        }
    }

    /// Runs the program's command line; bounded by WAIT.
    fn cmd(&self, args: &[&str]) -> Output {
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

    fn start(&self) {
        let out = self.cmd(&["start", "-d"]);
        assert!(out.status.success(), "start -d failed: {}", text(&out));
        assert!(text(&out).contains("Start success"), "{}", text(&out));
    }

    fn master_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.join("workerman.demo.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    fn status(&self) -> Value {
        let out = self.cmd(&["status", "--json"]);
        assert!(out.status.success(), "status failed: {}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// (pid, id) of every live worker process that is not retiring.
    fn workers(&self) -> Vec<(u64, u64)> {
        let mut v: Vec<_> = self.status()["processes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| !p["retiring"].as_bool().unwrap())
            .map(|p| (p["pid"].as_u64().unwrap(), p["id"].as_u64().unwrap()))
            .collect();
        v.sort_by_key(|&(_, id)| id);
        v
    }

    /// Polls `check` until it holds, for up to WAIT.
    fn wait_for(&self, what: &str, mut check: impl FnMut(&Program) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !check(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn request(&self, line: &str) -> String {
        request(self.addr, line).unwrap()
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

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One request on a fresh connection: a line out, a line back.
fn request(addr: SocketAddr, line: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(format!("{line}\n").as_bytes())?;
    let mut reply = String::new();
    BufReader::new(s).read_line(&mut reply)?;
    if reply.is_empty() {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(reply.trim_end().to_owned())
}

fn pid_of(reply: &str) -> u64 {
    reply
        .split("pid=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn start_status_crash_restart_second_start_stop() {
    let p = Program::new("lifecycle", &[("WORKERS", "2")]);
    p.start();
    let master = p.master_pid().expect("pid file written");
    assert!(alive(master));
    let cmdline = std::fs::read_to_string(format!("/proc/{master}/cmdline")).unwrap();
    assert!(
        cmdline.starts_with("WorkerMan: master process"),
        "{cmdline}"
    );
    assert!(p.dir.join("workerman.demo.sock").exists());

    let workers = p.workers();
    assert_eq!(workers.iter().map(|w| w.1).collect::<Vec<_>>(), vec![0, 1]);
    for (pid, _) in &workers {
        let title = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
        assert!(
            title.starts_with("WorkerMan: worker process  demo"),
            "{title}"
        );
    }
    assert!(p.request("hi").starts_with("hello pid="));

    // kill -9 one: it comes back with the same id and a new pid.
    let (victim, victim_id) = workers[0];
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    p.wait_for("the killed worker's successor", |p| {
        let w = p.workers();
        w.len() == 2 && w.iter().any(|&(pid, id)| id == victim_id && pid != victim)
    });
    let status = p.status();
    let exits = &status["workers"][0]["exit_statuses"];
    assert_eq!(
        exits,
        &serde_json::json!([{"status": 9, "count": 1}]),
        "{status}"
    );

    // A worker that crashes (abort) is restarted too.
    let before = p.workers();
    let _ = request(p.addr, "crash");
    p.wait_for("the crashed worker's successor", |p| {
        let w = p.workers();
        w.len() == 2 && w != before
    });

    // A second start is refused.
    let out = p.cmd(&["start", "-d"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("already running"), "{}", text(&out));
    assert_eq!(p.master_pid(), Some(master));

    let log = std::fs::read_to_string(p.dir.join("workerman.demo.log")).unwrap();
    assert!(log.contains("start in DAEMON mode"), "{log}");
    assert!(log.contains("exit with status 9"), "{log}");

    let out = p.cmd(&["stop"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("stop success"));
    assert!(!alive(master));
    for (pid, _) in &workers {
        assert!(!alive(*pid as i32));
    }
    assert!(!p.dir.join("workerman.demo.pid").exists());
    assert!(!p.dir.join("workerman.demo.sock").exists());
    let out = p.cmd(&["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("not run"));
}

#[test]
fn reload_under_load_fails_no_request_and_runs_the_new_binary() {
    let greeting = std::env::temp_dir().join(format!("wm-greeting-{}", std::process::id()));
    std::fs::write(&greeting, "v1\n").unwrap();
    let p = Program::new(
        "reload",
        &[
            ("WORKERS", "2"),
            ("GREETING_FILE", greeting.to_str().unwrap()),
        ],
    );
    p.start();
    assert!(p.request("hi").starts_with("v1 pid="));

    // Clients: a new connection per request, as fast as they can.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (stop, ok, failed, addr) = (stop.clone(), ok.clone(), failed.clone(), p.addr);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match request(addr, "ping") {
                        Ok(r) if r.contains("pid=") || r == "ping" => {
                            ok.fetch_add(1, Ordering::Relaxed)
                        }
                        Ok(r) => panic!("unexpected answer {r:?}"),
                        Err(e) => {
                            eprintln!("request failed: {e}");
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            })
        })
        .collect();

    for round in 1..=10 {
        if round == 6 {
            // Code that runs at worker start changes: reload picks it up.
            std::fs::write(&greeting, "v2\n").unwrap();
        }
        let before = p.workers();
        let out = p.cmd(&["reload"]);
        assert!(out.status.success(), "{}", text(&out));
        p.wait_for("every process replaced", |p| {
            let s = p.status();
            let now: Vec<u64> = s["processes"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| !x["retiring"].as_bool().unwrap())
                .map(|x| x["pid"].as_u64().unwrap())
                .collect();
            s["phase"] == "running"
                && now.len() == 2
                && before.iter().all(|(pid, _)| !now.contains(pid))
        });
        if round == 6 {
            assert!(p.request("hi").starts_with("v2 pid="));
        }
    }

    // A rebuilt binary: replace the file on disk (as cargo does) with
    // another program speaking the same protocol on the same address.
    let tmp = p.dir.join("demo.new");
    std::fs::copy(example("text_echo"), &tmp).unwrap();
    std::fs::rename(&tmp, &p.bin).unwrap();
    assert!(p.cmd(&["reload"]).status.success());
    p.wait_for("the new binary's answers", |p| {
        p.request("new code?") == "new code?"
    });

    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!("reliability: {ok} requests during 11 reloads, {failed} failed");
    assert!(ok > 100, "the load was too light to mean anything: {ok}");
    assert_eq!(failed, 0);
    let _ = std::fs::remove_file(&greeting);
}

#[test]
fn graceful_stop_lets_a_request_in_flight_finish() {
    let p = Program::new("graceful", &[("WORKERS", "1")]);
    p.start();
    let master = p.master_pid().unwrap();
    let mut s = TcpStream::connect(p.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"sleep\n").unwrap();
    // Make sure the request is being handled before stopping.
    std::thread::sleep(Duration::from_millis(300));
    let bin = p.bin.clone();
    let env = p.env.clone();
    let stopper = std::thread::spawn(move || {
        Command::new(bin)
            .args(["stop", "-g"])
            .envs(env)
            .output()
            .unwrap()
    });
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut reply = String::new();
    reader.read_line(&mut reply).unwrap();
    assert!(reply.starts_with("hello pid="), "{reply:?}");
    // The master waits for this connection to close.
    assert!(alive(master));
    drop(reader);
    drop(s);
    let out = stopper.join().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("stop success"));
    assert!(!alive(master));
    assert!(!p.dir.join("workerman.demo.pid").exists());
    assert!(!p.dir.join("workerman.demo.sock").exists());
}

#[test]
fn max_requests_replaces_the_process() {
    let p = Program::new("maxreq", &[("WORKERS", "1"), ("MAX_REQUESTS", "5")]);
    p.start();
    let first = pid_of(&p.request("1"));
    for i in 2..=5 {
        assert_eq!(pid_of(&p.request(&i.to_string())), first);
    }
    p.wait_for("a successor process", |p| {
        pid_of(&p.request("next")) != first
    });
    p.wait_for("the retired process to exit", |_| !alive(first as i32));
    let status = p.status();
    assert_eq!(
        status["workers"][0]["exit_statuses"],
        serde_json::json!([{"status": 0, "count": 1}])
    );
}

#[test]
fn crash_loops_back_off() {
    let p = Program::new("backoff", &[("WORKERS", "1"), ("CRASH_ON_START", "1")]);
    p.start();
    std::thread::sleep(Duration::from_secs(3));
    let status = p.status();
    let exits: u64 = status["workers"][0]["exit_statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    // 100, 200, 400, 800, 1600 ms: about five restarts in three seconds,
    // not hundreds.
    assert!((2..=12).contains(&exits), "{exits} restarts in 3 s");
}

#[test]
#[cfg_attr(
    not(feature = "interop"),
    ignore = "needs root to switch users: `cargo test --features interop` as root (as CI does)"
)]
fn worker_processes_drop_privileges() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "this test switches users and needs root: run it as root (as .ci/run does)"
    );
    let p = Program::new("user", &[("WORKERS", "2"), ("RUN_AS_USER", "nobody")]);
    p.start();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    for (pid, _) in p.workers() {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        let uids: Vec<u32> = uid_line
            .split_whitespace()
            .skip(1)
            .map(|u| u.parse().unwrap())
            .collect();
        assert!(uids.iter().all(|&u| u == nobody.uid.as_raw()), "{uid_line}");
    }
    // The master keeps its identity, and the workers still serve.
    let master = p.master_pid().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{master}/status")).unwrap();
    assert!(status.lines().any(|l| l.starts_with("Uid:\t0\t")));
    assert!(p.request("hi").starts_with("hello pid="));
}

#[test]
fn status_and_connections_describe_the_real_connections() {
    let p = Program::new("status", &[("WORKERS", "2")]);
    p.start();
    let mut conns = Vec::new();
    for i in 0..3 {
        let mut s = TcpStream::connect(p.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let line = format!("client{i}\n");
        s.write_all(line.as_bytes()).unwrap();
        let mut r = String::new();
        BufReader::new(s.try_clone().unwrap())
            .read_line(&mut r)
            .unwrap();
        conns.push((s, pid_of(r.trim_end()), line.len() as u64, r.len() as u64));
    }
    let out = p.cmd(&["connections", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    for (s, pid, read, written) in &conns {
        let local = s.local_addr().unwrap().to_string();
        let row = rows
            .iter()
            .find(|r| r["remote"] == local.as_str())
            .expect("a row per client");
        assert_eq!(row["pid"].as_u64(), Some(*pid));
        assert_eq!(row["worker"], "demo");
        assert_eq!(row["protocol"], "text");
        assert_eq!(row["transport"], "tcp");
        assert_eq!(row["state"], "established");
        assert_eq!(row["local"], p.addr.to_string().as_str());
        assert_eq!(row["bytes_read"].as_u64(), Some(*read));
        assert_eq!(row["bytes_written"].as_u64(), Some(*written));
    }
    let status = p.status();
    let procs = status["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 2);
    let total = |k: &str| procs.iter().map(|x| x[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(total("connections"), 3);
    assert_eq!(total("total_request"), 3);
    assert!(procs
        .iter()
        .all(|x| x["memory_bytes"].as_u64().unwrap() > 0 && !x["busy"].as_bool().unwrap()));

    // A process whose event loop is blocked shows as busy.
    let (blocked_pid, mut s) = {
        let (s, pid, _, _) = conns.remove(0);
        (pid, s)
    };
    s.write_all(b"block\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let status = p.status();
    let row = status["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["pid"].as_u64() == Some(blocked_pid))
        .unwrap()
        .clone();
    assert_eq!(row["busy"], true, "{row}");
    assert!(row["connections"].is_null());

    // The table form shows the same processes.
    let table = text(&p.cmd(&["status"]));
    assert!(
        table.contains("PROCESS STATUS") && table.contains("[busy]"),
        "{table}"
    );
    let mut drain = Vec::new();
    let _ = s.read_to_end(&mut drain);
}

#[test]
fn command_line_usage() {
    let p = Program::new("usage", &[]);
    let out = p.cmd(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("Usage"), "{}", text(&out));
    let out = p.cmd(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    for cmd in [
        "start",
        "stop",
        "restart",
        "reload",
        "status",
        "connections",
    ] {
        assert!(text(&out).contains(cmd), "{cmd} missing from --help");
    }
    let out = p.cmd(&["stop"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("not run"));
}

#[test]
fn signals_reload_keeps_non_reloadable_workers_and_stale_pid_files_are_replaced() {
    let keeper_port = free_port();
    let keeper_addr: SocketAddr = format!("127.0.0.1:{keeper_port}").parse().unwrap();
    let keeper = format!("text://{keeper_addr}");
    let p = Program::new(
        "signals",
        &[("WORKERS", "2"), ("KEEPER_ADDR", keeper.as_str())],
    );
    p.start();
    let master = p.master_pid().unwrap();
    // The control socket is the owner's only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(p.dir.join("workerman.demo.sock"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // A connection to the non-reloadable worker, open across the reload.
    let mut kept = TcpStream::connect(keeper_addr).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut kept_reader = BufReader::new(kept.try_clone().unwrap());
    let mut ask_kept = |kept: &mut TcpStream| {
        kept.write_all(b"?\n").unwrap();
        let mut r = String::new();
        kept_reader.read_line(&mut r).unwrap();
        r.trim_end().to_owned()
    };
    let keeper_pid = pid_of(&ask_kept(&mut kept));
    assert!(ask_kept(&mut kept).ends_with("reloads=0"));

    let demo_before: Vec<u64> = p
        .workers()
        .into_iter()
        .filter(|&(pid, _)| pid != keeper_pid)
        .map(|w| w.0)
        .collect();
    assert_eq!(demo_before.len(), 2);
    // SIGUSR1 reloads.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(master),
        nix::sys::signal::Signal::SIGUSR1,
    )
    .unwrap();
    p.wait_for("the demo processes replaced", |p| {
        let s = p.status();
        let now: Vec<u64> = s["processes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| !x["retiring"].as_bool().unwrap())
            .map(|x| x["pid"].as_u64().unwrap())
            .collect();
        s["phase"] == "running"
            && now.len() == 3
            && demo_before.iter().all(|pid| !now.contains(pid))
    });
    // The keeper kept its process and its connection, and ran on_worker_reload.
    let answer = ask_kept(&mut kept);
    assert_eq!(pid_of(&answer), keeper_pid);
    assert!(answer.ends_with("reloads=1"), "{answer}");

    // A master killed outright leaves a stale pid file; its workers stop
    // by themselves, and a new start replaces the file.
    let workers = p.workers();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(master),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    p.wait_for("orphaned workers to stop", |_| {
        workers.iter().all(|&(pid, _)| !alive(pid as i32))
    });
    assert!(p.dir.join("workerman.demo.pid").exists());
    let out = p.cmd(&["status"]);
    assert!(text(&out).contains("not run"), "{}", text(&out));
    p.start();
    let new_master = p.master_pid().unwrap();
    assert_ne!(new_master, master);
    assert!(p.request("hi").starts_with("hello pid="));

    // SIGTERM stops.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(new_master),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    p.wait_for("the master to exit", |_| !alive(new_master));
    assert!(!p.dir.join("workerman.demo.pid").exists());
}

/// Spawns `cmd`, retrying while the binary is "text file busy": a binary
/// just copied can be briefly held open for writing by a process another
/// test thread forked at that moment.
fn spawn_retrying(cmd: &mut Command) -> std::process::Child {
    for _ in 0..100 {
        match cmd.spawn() {
            Ok(c) => return c,
            Err(e) if e.raw_os_error() == Some(26) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("spawn failed: {e}"),
        }
    }
    panic!("the binary stayed busy");
}
