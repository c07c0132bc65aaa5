//! Plays EventBridge Scheduler for the template's `ScheduleV2` events: `rate(N minutes)`
//! and the `cron(minutes hours day-of-month month day-of-week year)` subset the template
//! uses (lists, ranges, `*`, `?`, `MON-FRI`), in UTC or a fixed-offset zone such as
//! Europe/Moscow. Checked once a minute.

use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};
use futures::future::BoxFuture;
use std::sync::Arc;

/// Runs a job with the schedule's JSON input.
pub type JobHandler = Arc<dyn Fn(String) -> BoxFuture<'static, ()> + Send + Sync>;

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    EveryMinutes(u32),
    Cron {
        minutes: Vec<u32>,
        hours: Vec<u32>,
        weekdays: Vec<u32>,
        offset_seconds: i32,
    },
}

fn field(text: &str, min: u32, max: u32, names: &[&str]) -> Option<Vec<u32>> {
    if text == "*" || text == "?" {
        return Some((min..=max).collect());
    }
    let value = |t: &str| -> Option<u32> {
        t.parse().ok().or_else(|| {
            names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(t))
                .map(|i| i as u32 + min)
        })
    };
    let mut out = Vec::new();
    for part in text.split(',') {
        match part.split_once('-') {
            Some((a, b)) => out.extend(value(a)?..=value(b)?),
            None => out.push(value(part)?),
        }
    }
    Some(out)
}

/// The offset of the zones the template names (Moscow has had no DST since 2014).
fn zone_offset(zone: Option<&str>) -> Option<i32> {
    match zone {
        None | Some("UTC") | Some("Etc/UTC") => Some(0),
        Some("Europe/Moscow") => Some(3 * 3600),
        _ => None,
    }
}

/// Parses a schedule expression; `None` for forms this stand-in does not play.
pub fn parse(expression: &str, zone: Option<&str>) -> Option<Schedule> {
    if let Some(rate) = expression
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
    {
        let (count, unit) = rate.split_once(' ')?;
        let count: u32 = count.parse().ok()?;
        return match unit.trim_end_matches('s') {
            "minute" => Some(Schedule::EveryMinutes(count)),
            "hour" => Some(Schedule::EveryMinutes(count * 60)),
            _ => None,
        };
    }
    let cron = expression.strip_prefix("cron(")?.strip_suffix(')')?;
    let parts: Vec<&str> = cron.split_whitespace().collect();
    let [minutes, hours, _day, _month, weekdays, _year] = parts.as_slice() else {
        return None;
    };
    Some(Schedule::Cron {
        minutes: field(minutes, 0, 59, &[])?,
        hours: field(hours, 0, 23, &[])?,
        // EventBridge numbers days 1 (SUN) to 7 (SAT).
        weekdays: field(
            weekdays,
            1,
            7,
            &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
        )?,
        offset_seconds: zone_offset(zone)?,
    })
}

impl Schedule {
    /// True when the schedule fires in the minute of `at`.
    pub fn fires_at(&self, at: DateTime<Utc>) -> bool {
        match self {
            Self::EveryMinutes(n) => *n > 0 && (at.timestamp() / 60) % i64::from(*n) == 0,
            Self::Cron {
                minutes,
                hours,
                weekdays,
                offset_seconds,
            } => {
                let Some(zone) = FixedOffset::east_opt(*offset_seconds) else {
                    return false;
                };
                let local = at.with_timezone(&zone);
                let weekday = local.weekday().num_days_from_sunday() + 1;
                minutes.contains(&local.minute())
                    && hours.contains(&local.hour())
                    && weekdays.contains(&weekday)
            }
        }
    }
}

/// Fires each schedule's job in the minutes it is due, until the task is dropped.
pub async fn run(schedules: Vec<(Schedule, String, JobHandler)>) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        interval.tick().await;
        let now = Utc::now();
        for (schedule, input, handler) in &schedules {
            if schedule.fires_at(now) {
                tokio::spawn(handler(input.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_schedules_parse_and_fire_when_due() {
        let digest = parse("cron(0 9,15 ? * MON-FRI *)", Some("Europe/Moscow")).unwrap();
        // Monday 30 Nov 2026 09:00 Moscow = 06:00 UTC.
        assert!(digest.fires_at("2026-11-30T06:00:30Z".parse().unwrap()));
        assert!(digest.fires_at("2026-11-30T12:00:00Z".parse().unwrap()));
        assert!(!digest.fires_at("2026-11-30T06:01:00Z".parse().unwrap()));
        assert!(
            !digest.fires_at("2026-11-29T06:00:00Z".parse().unwrap()),
            "Sunday"
        );
        let sweep = parse("rate(1 minute)", None).unwrap();
        assert!(sweep.fires_at(Utc::now()));
        assert_eq!(
            parse("rate(15 minutes)", None),
            Some(Schedule::EveryMinutes(15))
        );
        assert_eq!(parse("at(2026-01-01T00:00:00)", None), None);
    }
}
