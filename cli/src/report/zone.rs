//! `--tz`: a named zone from the IANA database (chrono-tz), handed to the
//! library as an offset function.

use chrono::{DateTime, Offset, TimeZone};
use std::sync::Arc;
use stream_chat_export::stats::UtcOffset;
use stream_chat_export::{Error, ErrorKind, Result};

/// The offset function of `name`; `None` for UTC itself (no lookup per
/// message).
pub fn offset(name: &str) -> Result<Option<UtcOffset>> {
    if name.eq_ignore_ascii_case("utc") || name == "Etc/UTC" {
        return Ok(None);
    }
    let tz: chrono_tz::Tz = name.parse().map_err(|_| {
        Error::new(ErrorKind::Usage(format!(
            "unknown time zone `{name}` (use an IANA name such as Europe/Berlin, America/New_York or UTC)"
        )))
    })?;
    Ok(Some(Arc::new(move |secs: i64| {
        // Instants outside chrono's range keep UTC rather than fail.
        DateTime::from_timestamp(secs, 0).map_or(0, |t| {
            tz.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc()
        })
    })))
}

#[cfg(test)]
mod tests {
    use super::offset;

    #[test]
    fn berlin_has_summer_time() {
        let f = offset("Europe/Berlin").unwrap().unwrap();
        assert_eq!(f(1_704_067_200), 3600); // 2024-01-01
        assert_eq!(f(1_719_792_000), 7200); // 2024-07-01
        assert!(offset("UTC").unwrap().is_none());
        assert!(offset("Mars/Olympus").is_err());
    }
}
