//! libFuzzer target `http_request`: see `workerman_fuzz::check_http_request`.
//!
//! Built by `cargo fuzz` (which passes `--cfg fuzzing`) this is the
//! libFuzzer entry point; built without it (`cargo build`), it replays the
//! files and folders named on its command line through the same check.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| workerman_fuzz::check_http_request(data));

#[cfg(not(fuzzing))]
fn main() {
    workerman_fuzz::replay_main(workerman_fuzz::check_http_request);
}
