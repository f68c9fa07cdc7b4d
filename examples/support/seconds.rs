//! A number of seconds from an environment variable, for the examples.

use std::time::Duration;

/// The duration in the environment variable `name` (seconds, fractions
/// allowed), or `default` when it is not set. A value that is not a
/// positive number of seconds stops the program with a message naming the
/// variable: a typo must not silently become the default.
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
