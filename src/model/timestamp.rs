//! RFC3339 timestamps: a hand-written fast path for Stream's own shape
//! (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`), chrono for everything else.

use chrono::{DateTime, Utc};
use std::fmt;

/// An instant in UTC with nanosecond precision.
///
/// Ordered by instant. Covers every year from 0001 to 9999, so Stream's
/// zero value `0001-01-01T00:00:00Z` is representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

impl Timestamp {
    /// Builds a timestamp from seconds since the Unix epoch and nanoseconds.
    pub fn from_unix(secs: i64, nanos: u32) -> Timestamp {
        Timestamp {
            secs: secs + i64::from(nanos / 1_000_000_000),
            nanos: nanos % 1_000_000_000,
        }
    }

    /// Parses an RFC3339 timestamp. Returns `None` when the text is not one.
    ///
    /// ```
    /// use stream_chat_export::Timestamp;
    /// let t = Timestamp::parse("2021-02-17T08:17:49.745857Z").unwrap();
    /// assert_eq!(t.unix_seconds(), 1613549869);
    /// assert_eq!(t.subsec_nanos(), 745_857_000);
    /// let offset = Timestamp::parse("2021-02-17T10:17:49.745857+02:00").unwrap();
    /// assert_eq!(t, offset);
    /// ```
    pub fn parse(text: &str) -> Option<Timestamp> {
        parse_fast(text.as_bytes()).or_else(|| {
            let dt = DateTime::parse_from_rfc3339(text).ok()?;
            Some(Timestamp::from_unix(
                dt.timestamp(),
                dt.timestamp_subsec_nanos(),
            ))
        })
    }

    /// An RFC3339 time, or a bare date (`YYYY-MM-DD`) as its midnight UTC:
    /// what people type for "since March", on the command line and in
    /// time filters.
    ///
    /// ```
    /// use stream_chat_export::Timestamp;
    /// let day = Timestamp::parse_date_or_time("2024-03-01").unwrap();
    /// assert_eq!(day, Timestamp::parse("2024-03-01T00:00:00Z").unwrap());
    /// assert!(Timestamp::parse_date_or_time("March").is_none());
    /// ```
    pub fn parse_date_or_time(text: &str) -> Option<Timestamp> {
        let is_date = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        if is_date {
            Timestamp::parse(&format!("{text}T00:00:00Z"))
        } else {
            Timestamp::parse(text)
        }
    }

    /// [`Timestamp::parse`] on raw bytes: the fast path needs no UTF-8
    /// check; anything else is checked and handed to chrono.
    pub(crate) fn parse_bytes(text: &[u8]) -> Option<Timestamp> {
        parse_fast(text).or_else(|| Timestamp::parse(std::str::from_utf8(text).ok()?))
    }

    /// Seconds since 1970-01-01T00:00:00Z (negative before).
    pub fn unix_seconds(&self) -> i64 {
        self.secs
    }

    /// The fractional second in nanoseconds.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// The same instant as a chrono `DateTime<Utc>`.
    pub fn to_chrono(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.secs, self.nanos).unwrap_or_default()
    }

    /// Days since the Unix epoch (floor), for per-day histograms.
    pub fn unix_day(&self) -> i64 {
        self.secs.div_euclid(86_400)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            self.to_chrono()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        )
    }
}

fn digits<const N: usize>(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b.get(..N)? {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u32::from(d);
    }
    Some(v)
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, the shape Stream writes. Anything else
/// (offsets, lower-case `t`/`z`, leap seconds) goes to chrono.
fn parse_fast(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let year = digits::<4>(b)? as i64;
    let month = digits::<2>(&b[5..])?;
    let day = digits::<2>(&b[8..])?;
    let hour = digits::<2>(&b[11..])?;
    let minute = digits::<2>(&b[14..])?;
    let second = digits::<2>(&b[17..])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let frac = &b[19..b.len() - 1];
    let nanos = match frac {
        [] => 0,
        [b'.', rest @ ..] if (1..=9).contains(&rest.len()) => {
            let mut v = 0u32;
            for &c in rest {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    return None;
                }
                v = v * 10 + u32::from(d);
            }
            v * 10u32.pow(9 - rest.len() as u32)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some(Timestamp { secs, nanos })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oracle(text: &str) -> Option<Timestamp> {
        let dt = DateTime::parse_from_rfc3339(text).ok()?;
        Some(Timestamp::from_unix(
            dt.timestamp(),
            dt.timestamp_subsec_nanos(),
        ))
    }

    #[test]
    fn fast_path_agrees_with_chrono() {
        for text in [
            "2021-02-17T08:17:49.745857Z",
            "2025-01-23T13:06:58.365621247Z",
            "2017-01-01T01:00:00Z",
            "0001-01-01T00:00:00Z",
            "2024-02-29T23:59:59.9Z",
            "1969-12-31T23:59:59.999Z",
            "9999-12-31T23:59:59.123456789Z",
            "2000-03-01T00:00:00.000Z",
        ] {
            assert_eq!(parse_fast(text.as_bytes()), oracle(text), "{text}");
            assert!(parse_fast(text.as_bytes()).is_some(), "{text}");
        }
    }

    #[test]
    fn rejects_invalid_dates_like_chrono() {
        for text in [
            "2023-02-29T00:00:00Z",
            "2021-13-01T00:00:00Z",
            "2021-00-01T00:00:00Z",
            "2021-01-32T00:00:00Z",
            "2021-01-01T24:00:00Z",
            "2021-01-01T00:00:00.Z",
            "2021-01-01T00:00:00.1234567890Z",
            "not a time at all!!!",
            "",
        ] {
            assert_eq!(Timestamp::parse(text), oracle(text), "{text}");
        }
    }

    #[test]
    fn offsets_go_through_chrono() {
        let a = Timestamp::parse("2021-02-17T10:17:49+02:00").unwrap();
        let b = Timestamp::parse("2021-02-17T08:17:49Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "2021-02-17T08:17:49Z");
    }
}
