//! The interval rules: what [`Timer::add`](crate::Timer::add) accepts and
//! what it does with it.

use std::time::Duration;

use crate::{Timer, TimerError};

/// Checks an interval and raises a positive one below
/// [`Timer::MIN_INTERVAL`] to it.
pub(crate) fn normalize(interval: Duration) -> Result<Duration, TimerError> {
    if interval.is_zero() {
        Err(TimerError::ZeroInterval)
    } else if interval > Timer::MAX_INTERVAL {
        Err(TimerError::IntervalTooLong)
    } else {
        Ok(interval.max(Timer::MIN_INTERVAL))
    }
}

/// Converts Workerman-style seconds (`Timer::add(0.5, ...)`) to the
/// [`Duration`] a timer will actually use.
///
/// | `secs`                                   | result                         |
/// |------------------------------------------|--------------------------------|
/// | NaN, ±infinity, `0.0`, `-0.0`, negative  | `Err(`[`TimerError::InvalidSeconds`]`)` |
/// | `> 0` and below 0.001 (1 ms)             | `Ok(1 ms)`: [`Timer::MIN_INTERVAL`] |
/// | 0.001 up to one year                     | `Ok` of that many seconds, to the nanosecond |
/// | more than one year                       | `Err(`[`TimerError::IntervalTooLong`]`)` |
///
/// As in Workerman 4, any positive number is accepted and anything else is
/// refused ("bad time_interval"); Workerman's timers have about 1 ms
/// accuracy, and tokio's timer wheel has 1 ms resolution, so a shorter
/// interval is run every millisecond.
///
/// # Errors
///
/// [`TimerError::InvalidSeconds`] and [`TimerError::IntervalTooLong`], as in
/// the table.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use workerman_timer::{seconds, TimerError};
///
/// assert_eq!(seconds(1.5), Ok(Duration::from_millis(1500)));
/// assert_eq!(seconds(0.0005), Ok(Duration::from_millis(1)));
/// assert_eq!(seconds(0.0), Err(TimerError::InvalidSeconds(0.0)));
/// assert!(seconds(f64::NAN).is_err());
/// ```
pub fn seconds(secs: f64) -> Result<Duration, TimerError> {
    // NaN fails every comparison, hence the explicit check.
    if secs.is_nan() || secs <= 0.0 || secs.is_infinite() {
        return Err(TimerError::InvalidSeconds(secs));
    }
    if secs > Timer::MAX_INTERVAL.as_secs_f64() {
        return Err(TimerError::IntervalTooLong);
    }
    // Finite and within one year: the conversion cannot fail; a positive
    // number too small for a nanosecond becomes the minimum below.
    let interval =
        Duration::try_from_secs_f64(secs).map_err(|_| TimerError::InvalidSeconds(secs))?;
    Ok(interval.max(Timer::MIN_INTERVAL))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_rules() {
        assert_eq!(normalize(Duration::ZERO), Err(TimerError::ZeroInterval));
        assert_eq!(normalize(Duration::from_nanos(1)), Ok(Timer::MIN_INTERVAL));
        assert_eq!(
            normalize(Duration::from_micros(500)),
            Ok(Timer::MIN_INTERVAL)
        );
        assert_eq!(
            normalize(Duration::from_micros(1500)),
            Ok(Duration::from_micros(1500))
        );
        assert_eq!(normalize(Timer::MAX_INTERVAL), Ok(Timer::MAX_INTERVAL));
        assert_eq!(
            normalize(Timer::MAX_INTERVAL + Duration::from_nanos(1)),
            Err(TimerError::IntervalTooLong)
        );
        assert_eq!(normalize(Duration::MAX), Err(TimerError::IntervalTooLong));
    }

    #[test]
    fn seconds_rules() {
        assert_eq!(seconds(1.0), Ok(Duration::from_secs(1)));
        assert_eq!(seconds(0.25), Ok(Duration::from_millis(250)));
        assert_eq!(seconds(0.001), Ok(Duration::from_millis(1)));
        assert_eq!(seconds(0.0005), Ok(Timer::MIN_INTERVAL));
        assert_eq!(seconds(1e-300), Ok(Timer::MIN_INTERVAL));
        assert_eq!(seconds(f64::MIN_POSITIVE), Ok(Timer::MIN_INTERVAL));
        for bad in [0.0, -0.0, -1.0, f64::NEG_INFINITY, f64::INFINITY] {
            assert_eq!(seconds(bad), Err(TimerError::InvalidSeconds(bad)), "{bad}");
        }
        assert!(matches!(
            seconds(f64::NAN),
            Err(TimerError::InvalidSeconds(x)) if x.is_nan()
        ));
        let year = Timer::MAX_INTERVAL.as_secs_f64();
        assert_eq!(seconds(year), Ok(Timer::MAX_INTERVAL));
        assert_eq!(seconds(year + 1.0), Err(TimerError::IntervalTooLong));
        assert_eq!(seconds(1e300), Err(TimerError::IntervalTooLong));
    }
}
