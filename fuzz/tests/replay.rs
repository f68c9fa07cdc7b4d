//! Replays the committed corpus and regression inputs of every target
//! through the same check functions the fuzzers run, on stable and
//! without sanitizers: `cargo test --manifest-path fuzz/Cargo.toml --release`.
//!
//! A target whose corpus folder is missing or empty fails (a replay that
//! replays nothing must not pass); its regressions folder must exist (it
//! holds a `.gitkeep` while there are none).
//!
//! One test only: the memory checks read global allocation counters, so
//! nothing else may allocate on another thread while a check runs (with
//! several tests, libtest would run them on parallel threads).

use std::path::Path;

use workerman_fuzz::{replay_dir, TARGETS};

#[test]
fn replay_every_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "text",
            "frame",
            "websocket_server",
            "websocket_client",
            "http_request",
            "channel_wire",
            "globaldata_wire"
        ]
    );
    for (target, check) in TARGETS {
        assert!(
            root.join("fuzz_targets")
                .join(format!("{target}.rs"))
                .is_file(),
            "{target} has no fuzz target"
        );
        let corpus = root.join("corpus").join(target);
        let n = replay_dir(*check, &corpus).unwrap_or_else(|e| panic!("{}: {e}", corpus.display()));
        assert!(n > 0, "{}: no inputs to replay", corpus.display());
        let regressions = root.join("regressions").join(target);
        let r = replay_dir(*check, &regressions)
            .unwrap_or_else(|e| panic!("{}: {e}", regressions.display()));
        println!("{target}: {n} corpus inputs, {r} regressions");
    }
}
