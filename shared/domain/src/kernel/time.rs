//! Company time. Staff always see Moscow time ([`moscow`], [`format_moscow`]), never UTC.
//! Working time of the sales office: Monday to Friday, 09:00–18:00 Moscow time. The
//! first-response timer counts in these hours, so a lead routed on Friday evening is not
//! "overdue" on Saturday morning. (Public holidays are not modelled yet.)

use chrono::{DateTime, Datelike, Duration, FixedOffset, TimeZone, Timelike, Utc, Weekday};

const OPEN_HOUR: u32 = 9;
const CLOSE_HOUR: u32 = 18;

/// Moscow's offset (UTC+3 all year since 2014).
pub fn moscow() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600).unwrap_or_else(|| unreachable!("+03:00 is a valid offset"))
}

/// A moment as staff read it: Moscow time in `format` (chrono's strftime).
pub fn format_moscow(at: DateTime<Utc>, format: &str) -> String {
    at.with_timezone(&moscow()).format(format).to_string()
}

fn is_working_day(day: Weekday) -> bool {
    !matches!(day, Weekday::Sat | Weekday::Sun)
}

/// The moment `hours` working hours after `start`.
pub fn add_working_hours(start: DateTime<Utc>, hours: u32) -> DateTime<Utc> {
    let zone = moscow();
    let mut at = start.with_timezone(&zone);
    let mut remaining = Duration::hours(i64::from(hours));
    loop {
        let day_open = zone
            .with_ymd_and_hms(at.year(), at.month(), at.day(), OPEN_HOUR, 0, 0)
            .single()
            .unwrap_or(at);
        let day_close = day_open + Duration::hours(i64::from(CLOSE_HOUR - OPEN_HOUR));
        if !is_working_day(at.weekday()) || at >= day_close {
            at = day_open + Duration::days(1);
            continue;
        }
        if at < day_open {
            at = day_open;
        }
        let left_today = day_close - at;
        if remaining <= left_today {
            return (at + remaining).with_timezone(&Utc);
        }
        remaining -= left_today;
        at = day_open + Duration::days(1);
    }
}

/// True during working hours.
pub fn is_working_time(at: DateTime<Utc>) -> bool {
    let local = at.with_timezone(&moscow());
    is_working_day(local.weekday()) && (OPEN_HOUR..CLOSE_HOUR).contains(&local.hour())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_see_moscow_time() {
        let at = DateTime::parse_from_rfc3339("2026-03-02T21:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_moscow(at, "%d.%m.%Y %H:%M"), "03.03.2026 00:30");
    }

    fn msk(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("{text}+03:00"))
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn hours_count_only_on_working_days_between_nine_and_six() {
        // Thursday 10:00 + 4h → Thursday 14:00.
        assert_eq!(
            add_working_hours(msk("2026-11-26T10:00:00"), 4),
            msk("2026-11-26T14:00:00")
        );
        // Friday 16:00 + 4h → Monday 11:00.
        assert_eq!(
            add_working_hours(msk("2026-11-27T16:00:00"), 4),
            msk("2026-11-30T11:00:00")
        );
        // Saturday night + 1h → Monday 10:00.
        assert_eq!(
            add_working_hours(msk("2026-11-28T23:00:00"), 1),
            msk("2026-11-30T10:00:00")
        );
        // Before opening counts from nine.
        assert_eq!(
            add_working_hours(msk("2026-11-30T07:30:00"), 2),
            msk("2026-11-30T11:00:00")
        );
        // A whole working day and a bit.
        assert_eq!(
            add_working_hours(msk("2026-11-30T09:00:00"), 10),
            msk("2026-12-01T10:00:00")
        );
        assert!(is_working_time(msk("2026-11-30T12:00:00")));
        assert!(!is_working_time(msk("2026-11-29T12:00:00")));
    }
}
