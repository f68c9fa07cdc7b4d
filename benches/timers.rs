//! Timers beside plain `tokio::time`: the cost of adding and deleting one
//! (criterion), and the memory of 100,000 live timers (RSS growth of this
//! process, printed after the criterion groups).
//!
//! ```sh
//! cargo bench --bench timers            # TIMERS_LIVE=100000
//! ```
//!
//! The plain tokio baseline is what a user would write without the timer
//! API: a spawned task looping on `tokio::time::interval`, stopped through
//! its `AbortHandle`. `Timer::add` is that plus an id, the registry that
//! `del`, `del_all`, `count` and `status` use, and panic isolation.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use workerman::Timer;

/// An interval no bench ever waits for.
const FAR: Duration = Duration::from_secs(3600);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn add_del(c: &mut Criterion) {
    let rt = runtime();
    let _guard = rt.enter();
    let mut g = c.benchmark_group("timer add+del");
    g.bench_function("workerman Timer::add + Timer::del", |b| {
        b.iter(|| {
            let id = Timer::add(FAR, || {}).expect("added");
            black_box(Timer::del(id))
        })
    });
    g.bench_function("tokio spawn(interval) + abort", |b| {
        b.iter(|| {
            let h = tokio::spawn(async {
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + FAR, FAR);
                loop {
                    tick.tick().await;
                }
            });
            h.abort();
            black_box(h)
        })
    });
    g.finish();
    // Aborted tasks are freed when the runtime polls them once more.
    rt.block_on(tokio::task::yield_now());
}

/// Resident set size of this process, in bytes (pages of the system's
/// size).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map_or(4096, |p| p as u64);
    pages * page
}

/// RSS growth per live timer once `n` have been started and have each been
/// polled once (so every one is armed), measured in a fresh process (this
/// program re-executed with `TIMERS_CHILD`), so no heap left over from an
/// earlier measurement hides the growth.
fn live_memory(n: usize) {
    for way in ["workerman", "tokio"] {
        let out = std::process::Command::new(std::env::current_exe().expect("own path"))
            .env("TIMERS_CHILD", way)
            .env("TIMERS_LIVE", n.to_string())
            .output()
            .expect("child runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}

/// The child's part of [`live_memory`]: one way, `n` timers.
fn measure(way: &str, n: usize) {
    let rt = runtime();
    let _guard = rt.enter();
    rt.block_on(tokio::task::yield_now());
    let before = rss();
    let (what, keep): (&str, Box<dyn std::any::Any>) = match way {
        "workerman" => {
            for _ in 0..n {
                Timer::add(FAR, || {}).expect("added");
            }
            assert_eq!(Timer::count(), n);
            ("workerman Timer::add", Box::new(()))
        }
        _ => {
            let handles: Vec<_> = (0..n)
                .map(|_| {
                    tokio::spawn(async {
                        let mut tick =
                            tokio::time::interval_at(tokio::time::Instant::now() + FAR, FAR);
                        loop {
                            tick.tick().await;
                        }
                    })
                    .abort_handle()
                })
                .collect();
            (
                "tokio spawn(interval), abort handles kept",
                Box::new(handles),
            )
        }
    };
    // Let every task run to its first await (arming its timer).
    rt.block_on(async {
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
    });
    let grown = rss().saturating_sub(before);
    println!(
        "{what:<44} {n} live timers: {:.0} bytes each (RSS +{} KiB)",
        grown as f64 / n as f64,
        grown / 1024
    );
    drop(keep);
}

fn main() {
    if let Ok(way) = std::env::var("TIMERS_CHILD") {
        measure(&way, common::env_parse("TIMERS_LIVE").unwrap_or(100_000));
        return;
    }
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .without_plots()
        .configure_from_args();
    add_del(&mut c);
    c.final_summary();
    // Under `cargo test` (no --bench flag) a smaller count keeps it short.
    let bench = std::env::args().any(|a| a == "--bench");
    let n = common::env_parse("TIMERS_LIVE").unwrap_or(if bench { 100_000 } else { 1_000 });
    live_memory(n);
}
