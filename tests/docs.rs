//! The guides in `docs/` cannot rot: every command in a ` ```sh ` block is
//! run here, block by block, with `bash -euo pipefail`, and must succeed.
//! `target/release/examples` in a command means the examples this test
//! build made; long durations are shortened. Blocks that would change the
//! machine are ` ```text ` and are checked by reading (the systemd unit
//! below).
//!
//! A block that needs a program from outside the Rust toolchain says so
//! in its fence: ` ```sh requires=wrk,openssl `. Those blocks run with
//! `--features interop` (after `.ci/install-tools.sh`), where a missing
//! program fails the test; without the feature they are listed as not
//! run, and every other block still runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples")
}

/// A ` ```sh ` block of a guide and the outside programs its fence names.
struct Block {
    script: String,
    requires: Vec<String>,
}

/// The ` ```sh ` blocks of a markdown file.
fn sh_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        match &mut current {
            None => {
                let mut words = trimmed.split_whitespace();
                if words.next() != Some("```sh") {
                    continue;
                }
                let mut requires = Vec::new();
                for word in words {
                    let list = word
                        .strip_prefix("requires=")
                        .unwrap_or_else(|| panic!("unknown fence attribute {word:?} in {line:?}"));
                    requires.extend(list.split(',').map(str::to_owned));
                }
                current = Some(Block {
                    script: String::new(),
                    requires,
                });
            }
            Some(_) if trimmed == "```" => blocks.extend(current.take()),
            Some(b) => {
                b.script.push_str(line);
                b.script.push('\n');
            }
        }
    }
    blocks
}

/// Fails the test, naming the install script, unless `program` is on PATH
/// and executable (`command -v` alone also reports a file that is not).
fn require(program: &str, file: &Path) {
    let found = Command::new("bash")
        .args(["-c", &format!("p=$(command -v {program}) && [ -x \"$p\" ]")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{}: a block needs `{program}`, which is not installed: run `bash .ci/install-tools.sh`",
        file.display()
    );
}

/// What the test changes in a command: the debug examples instead of the
/// release ones, short load runs.
fn adapt(block: &str) -> String {
    block
        .replace(
            "target/release/examples",
            &examples_dir().display().to_string(),
        )
        .replace("-d10s", "-d1s")
        .replace("-d30s", "-d1s")
        // Benches run as tests: in the test (dev) build, criterion benches
        // run each benchmark once and the load benches do a short smoke
        // run (they see no `--bench` flag).
        .replace("cargo bench", "cargo test")
}

fn run_block(file: &Path, block: &str) {
    let script = adapt(block);
    let started = Instant::now();
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(repo())
        // Short benches: the figures in the guides come from full runs.
        .env("ECHO_SECS", "1")
        .env("ECHO_ROUNDS", "1")
        .env("ECHO_WARMUP_MS", "100")
        .env("IDLE_CONNS", "500")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "{}: block failed ({:?}):\n{script}\n--- stdout\n{}\n--- stderr\n{}",
        file.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{}: ran a block in {elapsed:?}", file.display());
}

#[test]
fn every_sh_block_in_the_guides_runs() {
    let mut ran = 0;
    let mut files: Vec<_> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    let mut not_run = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for block in sh_blocks(&text) {
            if !block.requires.is_empty() && !cfg!(feature = "interop") {
                not_run.push(format!("{} ({})", file.display(), block.requires.join(",")));
                continue;
            }
            for program in &block.requires {
                require(program, &file);
            }
            run_block(&file, &block.script);
            ran += 1;
        }
    }
    if !not_run.is_empty() {
        eprintln!(
            "not run without --features interop (they need programs from outside): {}",
            not_run.join(", ")
        );
    }
    assert!(ran >= 5, "only {ran} blocks ran");
}

fn unit_file() -> String {
    std::fs::read_to_string(repo().join("docs/workerman-text-echo.service")).unwrap()
}

/// The systemd unit, parsed: the settings the guide relies on.
#[test]
fn the_systemd_unit_is_sound() {
    let unit = unit_file();
    let mut section = "";
    let mut keys = Vec::new();
    for line in unit
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if line.starts_with('[') {
            assert!(line.ends_with(']'), "bad section line {line}");
            section = line;
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not key=value: {line}"));
        keys.push((section.to_owned(), k.to_owned(), v.to_owned()));
    }
    let get = |s: &str, k: &str| {
        keys.iter()
            .find(|(sec, key, _)| sec == s && key == k)
            .map(|(_, _, v)| v.clone())
            .unwrap_or_else(|| panic!("{s} {k} missing"))
    };
    assert_eq!(get("[Service]", "Type"), "simple");
    assert!(get("[Service]", "ExecStart").ends_with(" start"));
    assert_eq!(get("[Service]", "ExecReload"), "/bin/kill -USR1 $MAINPID");
    assert_eq!(get("[Service]", "KillSignal"), "SIGTERM");
    assert_eq!(get("[Install]", "WantedBy"), "multi-user.target");
    // The guide shows the same unit.
    let guide = std::fs::read_to_string(repo().join("docs/running-on-boot.md")).unwrap();
    assert!(
        guide.contains(unit.trim()),
        "running-on-boot.md and the unit file differ"
    );
}

/// The systemd unit, verified by systemd itself.
#[test]
#[cfg_attr(
    not(feature = "interop"),
    ignore = "needs systemd-analyze: `cargo test --features interop` after .ci/install-tools.sh"
)]
fn systemd_analyze_verifies_the_unit() {
    let unit = unit_file();
    require(
        "systemd-analyze",
        Path::new("docs/workerman-text-echo.service"),
    );
    // Verify a copy whose ExecStart is a binary that exists here.
    let dir = std::env::temp_dir().join(format!("wm-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = examples_dir().join("text_echo");
    let copy = dir.join("workerman-text-echo.service");
    std::fs::write(
        &copy,
        unit.replace("/opt/workerman/text_echo", &exe.display().to_string()),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Complaints about other units on this machine are not ours.
    let ours: Vec<_> = stderr
        .lines()
        .filter(|l| l.contains("workerman-text-echo"))
        .collect();
    assert!(ours.is_empty(), "systemd-analyze verify: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
