//! Calendar arithmetic on day numbers (days since 1970-01-01), without a
//! time-zone database: the zone's offset comes from the caller.

/// (year, month 1..=12, day 1..=31) of a day number (H. Hinnant's
/// `civil_from_days`).
pub(crate) fn civil(day: i64) -> (i64, u32, u32) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The day number of a date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Monday = 0 .. Sunday = 6 (1970-01-01 was a Thursday).
pub(crate) fn weekday(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

/// `YYYY-MM-DD`.
pub(crate) fn date(day: i64) -> String {
    let (y, m, d) = civil(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM`.
pub(crate) fn month(day: i64) -> String {
    let (y, m, _) = civil(day);
    format!("{y:04}-{m:02}")
}

/// The ISO 8601 week, `YYYY-Www`: weeks start on Monday, and week 1 holds
/// the year's first Thursday.
pub(crate) fn iso_week(day: i64) -> String {
    let thursday = day - weekday(day) as i64 + 3;
    let (y, _, _) = civil(thursday);
    let week = (thursday - days_from_civil(y, 1, 1)) / 7 + 1;
    format!("{y:04}-W{week:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_weeks_and_weekdays() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(weekday(0), 3);
        let d = days_from_civil(2024, 3, 1);
        assert_eq!(date(d), "2024-03-01");
        assert_eq!(month(d), "2024-03");
        assert_eq!(weekday(d), 4); // a Friday
        assert_eq!(iso_week(d), "2024-W09");
        // Year boundaries: 2021-01-03 is in 2020-W53, 2024-12-30 in 2025-W01.
        assert_eq!(iso_week(days_from_civil(2021, 1, 3)), "2020-W53");
        assert_eq!(iso_week(days_from_civil(2021, 1, 4)), "2021-W01");
        assert_eq!(iso_week(days_from_civil(2024, 12, 30)), "2025-W01");
        assert_eq!(date(days_from_civil(1, 1, 1)), "0001-01-01");
        for d in -800_000..800_000i64 {
            if d % 997 == 0 {
                let (y, m, dd) = civil(d);
                assert_eq!(days_from_civil(y, m, dd), d);
            }
        }
    }
}
