//! UTC calendar arithmetic for burndown days and ISO weeks.

use jiff::Timestamp;
use jiff::tz::TimeZone;

pub const DAY: i64 = 86_400;

/// Earliest and latest instants the calendar functions accept (years 1–9998).
pub const MIN_SECS: i64 = -62_135_596_800;
pub const MAX_SECS: i64 = 253_370_764_800;

pub fn day_start(ts: i64) -> i64 {
    ts.div_euclid(DAY) * DAY
}

/// Midnight of the Monday starting the ISO week that contains `ts`.
pub fn week_start(ts: i64) -> i64 {
    let days = ts.div_euclid(DAY);
    // 1970-01-01 was a Thursday: three days after a Monday.
    let since_monday = (days + 3).rem_euclid(7);
    (days - since_monday) * DAY
}

fn utc_date(ts: i64) -> jiff::civil::Date {
    let clamped = ts.clamp(MIN_SECS, MAX_SECS);
    match Timestamp::from_second(clamped) {
        Ok(t) => t.to_zoned(TimeZone::UTC).date(),
        Err(_) => jiff::civil::Date::constant(1970, 1, 1),
    }
}

/// `YYYY-MM-DD` of the UTC day containing `ts`.
pub fn date_label(ts: i64) -> String {
    utc_date(ts).to_string()
}

/// Midnight UTC of a `YYYY-MM-DD` date, if it is one (years 1–9998).
pub fn parse_date(text: &str) -> Option<i64> {
    let date: jiff::civil::Date = text.trim().parse().ok()?;
    let ts = date.to_zoned(TimeZone::UTC).ok()?.timestamp().as_second();
    (MIN_SECS..=MAX_SECS).contains(&ts).then_some(ts)
}

/// `YYYY-Www`: ISO-8601 week-numbering year and week of `ts` in UTC.
pub fn week_label(ts: i64) -> String {
    let iso = utc_date(ts).iso_week_date();
    format!("{:04}-W{:02}", iso.year(), iso.week())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_to_utc_midnight() {
        assert_eq!(parse_date("2026-02-16"), Some(1_771_200_000));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn iso_weeks_cross_year_boundaries() {
        // 2026-02-16 is a Monday in week 8.
        assert_eq!(week_label(1_771_200_000), "2026-W08");
        // 2027-01-01 (Friday) belongs to 2026-W53.
        assert_eq!(week_label(1_798_761_600), "2026-W53");
        // 2024-12-30 (Monday) belongs to 2025-W01.
        assert_eq!(week_label(1_735_516_800), "2025-W01");
    }

    #[test]
    fn week_start_is_monday_midnight() {
        // Thursday 1970-01-01 12:00 -> Monday 1969-12-29.
        assert_eq!(week_start(43_200), -3 * DAY);
        assert_eq!(week_start(1_771_200_000 + 5 * DAY + 7), 1_771_200_000);
        assert_eq!(date_label(1_771_200_000 + 86_399), "2026-02-16");
    }
}
