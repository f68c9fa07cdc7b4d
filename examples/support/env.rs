//! Settings from environment variables, for the examples: a typo stops
//! the program with a message instead of silently becoming the default.

use std::time::Duration;

/// The duration in the environment variable `name` (seconds, fractions
/// allowed), or `default` when it is not set. A value that is not a
/// positive number of seconds stops the program with a message naming the
/// variable: a typo must not silently become the default.
#[allow(dead_code)] // not every example that includes this module uses it
pub(crate) fn seconds_from_env(name: &str, default: Duration) -> Duration {
    let Ok(text) = std::env::var(name) else {
        return default;
    };
    match text
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
    {
        Some(d) => d,
        None => {
            eprintln!("{name} must be a positive number of seconds, not {text:?}");
            std::process::exit(2);
        }
    }
}

/// The number of worker processes in `WORKERMAN_COUNT`, or `default` when
/// it is not set (the benchmarks set it to compare like with like). A
/// value that is not a whole number from 1 up stops the program with a
/// message.
#[allow(dead_code)] // not every example that includes this module uses it
pub(crate) fn count_from_env(default: usize) -> usize {
    let Ok(text) = std::env::var("WORKERMAN_COUNT") else {
        return default;
    };
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 => n,
        _ => {
            eprintln!("WORKERMAN_COUNT must be a number of processes (1 or more), not {text:?}");
            std::process::exit(2);
        }
    }
}
