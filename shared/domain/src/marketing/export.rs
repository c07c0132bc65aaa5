//! Saved segments ([`Segment`]) with their export schedule ([`ExportSchedule`], daily or
//! weekly at a Moscow time), and one export of a segment ([`ExportRecord`]): who asked,
//! its state, and the files it wrote with their row counts and SHA-256 — the manifest.

use super::segment::SegmentDefinition;
use crate::kernel::time::moscow;
use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Timelike, Utc, Weekday};

/// The time zone segment schedules are read in.
pub const SCHEDULE_TIME_ZONE: &str = "Europe/Moscow";
use serde::{Deserialize, Serialize};

/// How often a segment is exported by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Daily,
    Weekly,
}

/// When a segment is exported by itself: every day, or on one weekday, at a Moscow time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportSchedule {
    pub frequency: Frequency,
    /// For weekly exports: `mon` … `sun`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "Mon")]
    pub weekday: Option<Weekday>,
    /// Moscow time, `HH:MM`.
    pub time: NaiveTime,
}

impl ExportSchedule {
    /// The last moment at or before `now` when an export was due.
    pub fn last_due(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let local = now.with_timezone(&moscow());
        let mut day = local.date_naive();
        // Within eight days a daily or weekly time has come round (bounded, never a
        // spin on a calendar corner).
        for _ in 0..8 {
            let weekday_ok = match (self.frequency, self.weekday) {
                (Frequency::Weekly, Some(weekday)) => day.weekday() == weekday,
                _ => true,
            };
            if weekday_ok
                && let Some(at) = moscow()
                    .from_local_datetime(&day.and_time(self.time))
                    .single()
                && at <= local
            {
                return at.with_timezone(&Utc);
            }
            day = day.pred_opt().unwrap_or(day);
        }
        now
    }

    /// Whether an export is due at `now`, given when the last scheduled one ran.
    pub fn due(&self, last_run: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        let due = self.last_due(now);
        last_run.is_none_or(|last| last < due)
    }

    /// The EventBridge Scheduler expression (to be read in [`SCHEDULE_TIME_ZONE`]).
    pub fn expression(&self) -> String {
        let (hour, minute) = (self.time.hour(), self.time.minute());
        match (self.frequency, self.weekday) {
            (Frequency::Weekly, Some(weekday)) => {
                let day = weekday.to_string().to_uppercase();
                format!("cron({minute} {hour} ? * {day} *)")
            }
            _ => format!("cron({minute} {hour} * * ? *)"),
        }
    }

    pub fn problems(&self) -> Vec<String> {
        match (self.frequency, self.weekday) {
            (Frequency::Weekly, None) => vec!["schedule.weekday".to_owned()],
            (Frequency::Daily, Some(_)) => vec!["schedule.weekday".to_owned()],
            _ => Vec::new(),
        }
    }
}

/// A saved segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Segment {
    pub id: String,
    pub name: String,
    pub definition: SegmentDefinition,
    #[serde(default)]
    pub schedule: Option<ExportSchedule>,
    /// When the schedule last started an export.
    #[serde(default)]
    pub last_scheduled_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl Segment {
    /// What is wrong with it, as field paths.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            problems.push("name".to_owned());
        }
        problems.extend(
            self.definition
                .problems()
                .into_iter()
                .map(|p| format!("definition.{p}")),
        );
        if let Some(schedule) = &self.schedule {
            problems.extend(schedule.problems());
        }
        problems
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    Queued,
    Done,
    Failed,
}

/// A file an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportFile {
    /// `mailchimp.csv`, `mailchimp.xlsx`, `telemarketing.xlsx`.
    pub name: String,
    pub key: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// One export of a segment; written in full, it is the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportRecord {
    pub id: String,
    pub segment_id: String,
    pub segment_name: String,
    /// The definition as used.
    pub definition: SegmentDefinition,
    pub status: ExportStatus,
    /// An employee id, or `schedule`.
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Counterparties in the segment.
    #[serde(default)]
    pub contacts: u64,
    #[serde(default)]
    pub files: Vec<ExportFile>,
    #[serde(default)]
    pub error: Option<String>,
}

impl ExportRecord {
    /// A queued export of `segment`.
    pub fn queued(id: String, segment: &Segment, requested_by: &str, at: DateTime<Utc>) -> Self {
        Self {
            id,
            segment_id: segment.id.clone(),
            segment_name: segment.name.clone(),
            definition: segment.definition.clone(),
            status: ExportStatus::Queued,
            requested_by: requested_by.to_owned(),
            requested_at: at,
            finished_at: None,
            contacts: 0,
            files: Vec::new(),
            error: None,
        }
    }

    /// The folder of its files: `exports/<segment>/<timestamp>/`.
    pub fn folder(&self) -> String {
        format!(
            "exports/{}/{}/",
            self.segment_id,
            self.requested_at.format("%Y%m%dT%H%M%SZ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_daily_schedule_is_due_once_a_day_at_its_moscow_time() {
        let daily = ExportSchedule {
            frequency: Frequency::Daily,
            weekday: None,
            time: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        };
        // 09:00 Moscow is 06:00 UTC.
        assert_eq!(
            daily.last_due(at("2026-11-30T07:00:00Z")),
            at("2026-11-30T06:00:00Z")
        );
        assert_eq!(
            daily.last_due(at("2026-11-30T05:00:00Z")),
            at("2026-11-29T06:00:00Z")
        );
        assert_eq!(daily.expression(), "cron(0 9 * * ? *)");
        assert!(daily.due(None, at("2026-11-30T07:00:00Z")));
        assert!(!daily.due(Some(at("2026-11-30T06:10:00Z")), at("2026-11-30T07:00:00Z")));
        assert!(daily.due(Some(at("2026-11-29T06:10:00Z")), at("2026-11-30T07:00:00Z")));
    }

    #[test]
    fn a_weekly_schedule_waits_for_its_weekday() {
        let weekly = ExportSchedule {
            frequency: Frequency::Weekly,
            weekday: Some(Weekday::Mon),
            time: NaiveTime::from_hms_opt(8, 30, 0).unwrap(),
        };
        assert_eq!(weekly.expression(), "cron(30 8 ? * MON *)");
        // Sunday 29 November 2026: the last Monday was the 23rd.
        assert_eq!(
            weekly.last_due(at("2026-11-29T12:00:00Z")),
            at("2026-11-23T05:30:00Z")
        );
        assert_eq!(
            ExportSchedule {
                weekday: None,
                ..weekly
            }
            .problems(),
            ["schedule.weekday"]
        );
    }
}
