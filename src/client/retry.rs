//! When to try again, and how long to wait first.
//!
//! Only reads are retried (task status, downloads): a request that creates
//! an export is sent once, because a retry after a lost response would
//! start a second export. A wait comes from the server when it says
//! (`Retry-After`, then `X-RateLimit-Reset`), otherwise from an
//! exponential backoff with jitter, so that many clients rate-limited at
//! once do not come back at once.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How reads are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The first backoff, doubled after each failure.
    pub base_delay: Duration,
    /// The longest wait, whatever the server asks for.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` after `attempt` failures:
    /// the server's wish when it stated one, capped, else the backoff.
    pub(crate) fn delay(&self, attempt: u32, server: Option<Duration>) -> Duration {
        match server {
            Some(d) => d.min(self.max_delay),
            None => self.backoff(attempt),
        }
    }

    /// Exponential backoff with "equal jitter": half fixed, half random,
    /// so a wait never collapses to zero.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let half = exp / 2;
        half + half.mul_f64(random_unit())
    }
}

/// A number in [0, 1). Jitter needs no cryptographic randomness; std's
/// per-process random hash keys give enough without a crate.
fn random_unit() -> f64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// How long the server asks to wait: `Retry-After` in seconds or as an
/// HTTP date, else `X-RateLimit-Reset` (Unix seconds of the window's end).
pub(crate) fn server_delay(retry_after: Option<&str>, reset: Option<&str>) -> Option<Duration> {
    let now = SystemTime::now();
    if let Some(v) = retry_after.map(str::trim) {
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(secs) = v.parse::<f64>()
            && secs.is_finite()
            && secs >= 0.0
        {
            return Some(Duration::from_secs_f64(secs));
        }
        if let Ok(at) = chrono::DateTime::parse_from_rfc2822(v) {
            return Some(until(now, at.timestamp()));
        }
    }
    let reset = reset?.trim().parse::<i64>().ok()?;
    Some(until(now, reset))
}

/// The time from `now` to Unix second `at` (zero when past).
fn until(now: SystemTime, at: i64) -> Duration {
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let at = Duration::from_secs(u64::try_from(at).unwrap_or(0));
    at.saturating_sub(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_delays() {
        assert_eq!(server_delay(Some("3"), None), Some(Duration::from_secs(3)));
        assert_eq!(
            server_delay(Some("0.25"), None),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            server_delay(Some("Wed, 21 Oct 2015 07:28:00 GMT"), None),
            Some(Duration::ZERO),
            "a past date means now"
        );
        let soon = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 30;
        let d = server_delay(None, Some(&soon.to_string())).unwrap();
        assert!(
            d > Duration::from_secs(28) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(server_delay(Some("soon"), None), None);
        assert_eq!(server_delay(None, None), None);
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for attempt in 0..40 {
            let exp = (100u64 << attempt.min(20)).min(1000);
            let d = p.delay(attempt, None).as_millis() as u64;
            assert!(d >= exp / 2 && d <= exp, "attempt {attempt}: {d} ms");
        }
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(90))),
            Duration::from_secs(1)
        );
    }
}
