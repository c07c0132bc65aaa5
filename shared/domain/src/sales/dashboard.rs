//! The heads' dashboard, rolled up from inquiries, deals and tasks (by a scheduled job,
//! never per request): new inquiries per channel and day, what is unrouted and how long
//! it waits, the median first-response time per manager (routed → qualified), deals per
//! stage, overdue tasks per assignee, and deals won and lost per month.

use super::deal::{Deal, DealStage};
use super::task::{Task, TaskStatus};
use crate::intake::{Inquiry, InquiryStatus, Qualification};
use crate::kernel::Department;
use crate::kernel::time::moscow;
use crate::party::Channel;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Days of inquiries and first responses the dashboard covers.
pub const DAYS: i64 = 30;
/// Months of won and lost deals it covers.
pub const MONTHS: usize = 12;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DayCount {
    pub day: NaiveDate,
    pub channel: Channel,
    pub count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unrouted {
    pub count: u64,
    /// The oldest one's wait, in minutes.
    pub oldest_minutes: Option<i64>,
    /// How many wait under an hour, under 4 hours, under a day, longer.
    pub under_1h: u64,
    pub under_4h: u64,
    pub under_1d: u64,
    pub longer: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FirstResponse {
    pub manager_id: String,
    pub median_minutes: i64,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MonthOutcome {
    /// `YYYY-MM`, Moscow time.
    pub month: String,
    pub won: u64,
    pub unfit: u64,
}

/// What a head sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dashboard {
    /// `None`: every department.
    pub department: Option<Department>,
    pub computed_at: DateTime<Utc>,
    pub inquiries_per_day: Vec<DayCount>,
    pub unrouted: Unrouted,
    pub first_response: Vec<FirstResponse>,
    pub deals_per_stage: BTreeMap<String, u64>,
    pub overdue_tasks: BTreeMap<String, u64>,
    pub outcomes: Vec<MonthOutcome>,
}

fn median(values: &mut [i64]) -> i64 {
    values.sort_unstable();
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2
    }
}

/// The dashboard of `department` (`None`: all) from what the job read, as of `now`.
pub fn dashboard(
    department: Option<Department>,
    inquiries: &[Inquiry],
    deals: &[Deal],
    tasks: &[Task],
    now: DateTime<Utc>,
) -> Dashboard {
    let ours = |d: Option<Department>| department.is_none() || d == department;
    let since = now - Duration::days(DAYS);
    let day_of = |at: DateTime<Utc>| at.with_timezone(&moscow()).date_naive();

    let mut per_day = BTreeMap::<(NaiveDate, &'static str), (Channel, u64)>::new();
    let mut unrouted = Unrouted::default();
    let mut responses = BTreeMap::<String, Vec<i64>>::new();
    for inquiry in inquiries {
        let unrouted_one = inquiry.status == InquiryStatus::Unrouted;
        // Unrouted inquiries belong to no department yet: every head sees them.
        if !(ours(inquiry.department) || unrouted_one) {
            continue;
        }
        // What waits is counted however old it is; the per-day figures cover the window.
        if unrouted_one {
            let minutes = (now - inquiry.received_at).num_minutes().max(0);
            unrouted.count += 1;
            unrouted.oldest_minutes = Some(unrouted.oldest_minutes.unwrap_or(0).max(minutes));
            match minutes {
                m if m < 60 => unrouted.under_1h += 1,
                m if m < 240 => unrouted.under_4h += 1,
                m if m < 1440 => unrouted.under_1d += 1,
                _ => unrouted.longer += 1,
            }
        }
        if inquiry.received_at < since {
            continue;
        }
        per_day
            .entry((day_of(inquiry.received_at), inquiry.channel.code()))
            .or_insert((inquiry.channel, 0))
            .1 += 1;
        let qualified_at = match &inquiry.qualification {
            Some(Qualification::Deal { at, .. } | Qualification::NotALead { at, .. }) => Some(*at),
            None => None,
        };
        if let (Some(routing), Some(at)) = (&inquiry.routing, qualified_at) {
            responses
                .entry(routing.manager_id.clone())
                .or_default()
                .push((at - routing.at).num_minutes().max(0));
        }
    }
    let first_response = responses
        .into_iter()
        .map(|(manager_id, mut minutes)| FirstResponse {
            count: minutes.len() as u64,
            median_minutes: median(&mut minutes),
            manager_id,
        })
        .collect();

    let mut deals_per_stage = BTreeMap::new();
    let mut outcomes = BTreeMap::<String, (u64, u64)>::new();
    for deal in deals.iter().filter(|d| ours(Some(d.department))) {
        *deals_per_stage
            .entry(deal.stage.code().to_owned())
            .or_insert(0) += 1;
        let month = deal
            .updated_at
            .with_timezone(&moscow())
            .format("%Y-%m")
            .to_string();
        match deal.stage {
            DealStage::Closed => outcomes.entry(month).or_default().0 += 1,
            DealStage::Unfit => outcomes.entry(month).or_default().1 += 1,
            _ => {}
        }
    }
    let outcomes: Vec<MonthOutcome> = outcomes
        .into_iter()
        .rev()
        .take(MONTHS)
        .rev()
        .map(|(month, (won, unfit))| MonthOutcome { month, won, unfit })
        .collect();

    let mut overdue_tasks = BTreeMap::new();
    for task in tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Open && t.due_at < now)
        // The heads' pool tasks of no department are every head's, as unrouted inquiries.
        .filter(|t| ours(t.department) || (t.department.is_none() && t.assignee_id.is_none()))
    {
        let assignee = task
            .assignee_id
            .clone()
            .unwrap_or_else(|| "heads".to_owned());
        *overdue_tasks.entry(assignee).or_insert(0) += 1;
    }

    Dashboard {
        department,
        computed_at: now,
        inquiries_per_day: per_day
            .into_iter()
            .map(|((day, _), (channel, count))| DayCount {
                day,
                channel,
                count,
            })
            .collect(),
        unrouted,
        first_response,
        deals_per_stage,
        overdue_tasks,
        outcomes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::intake::{InboundMessage, InquiryKind, RoutingDecision};
    use crate::party::{PersonDetails, PointSource};
    use crate::sales::task::Assignee;
    use crate::sales::{DealTerms, NewDeal, TaskKind};

    fn now() -> DateTime<Utc> {
        "2026-11-29T12:00:00Z".parse().unwrap()
    }

    fn inquiry(id: &str, channel: Channel, hours_ago: i64) -> Inquiry {
        InboundMessage {
            event_key: format!("e#{id}"),
            raw_key: String::new(),
            channel,
            kind: InquiryKind::Manual,
            received_at: now() - Duration::hours(hours_ago),
            contact: PersonDetails::default(),
            subject: None,
            text: String::new(),
            attachments: Vec::new(),
            left_out: Vec::new(),
            forwarded_by: None,
            source: PointSource::AuthenticatedMail,
        }
        .new_inquiry(id.into(), format!("p-{id}"))
    }

    #[test]
    fn the_figures_come_from_inquiries_deals_and_tasks() {
        let mut routed = inquiry("a", Channel::Email, 30);
        routed.status = InquiryStatus::Qualified;
        routed.department = Some(Department::High);
        routed.routing = Some(RoutingDecision {
            department: Department::High,
            manager_id: "m1".into(),
            by: "h1".into(),
            at: now() - Duration::hours(29),
            reason: None,
        });
        routed.qualification = Some(Qualification::Deal {
            deal_id: "d1".into(),
            by: "m1".into(),
            at: now() - Duration::hours(28),
        });
        let waiting = inquiry("b", Channel::Phone, 2);
        let old = inquiry("c", Channel::Email, 24 * 40);
        let mut lost = Deal::open(
            NewDeal {
                id: "d1".into(),
                party_id: "p".into(),
                inquiry_id: None,
                department: Department::High,
                manager_id: "m1".into(),
                terms: DealTerms::default(),
            },
            now(),
        );
        lost.stage = DealStage::Unfit;
        let overdue = Task {
            department: Some(Department::High),
            ..Task::open(
                "t1".into(),
                TaskKind::CallBack,
                "Перезвонить".into(),
                Assignee::Employee("m1".into()),
                now() - Duration::hours(1),
                now() - Duration::hours(5),
                "test".into(),
            )
        };
        let all = dashboard(None, &[routed, waiting, old], &[lost], &[overdue], now());
        assert_eq!(
            all.inquiries_per_day.iter().map(|d| d.count).sum::<u64>(),
            2,
            "the last 30 days"
        );
        assert_eq!(all.unrouted.count, 2, "what waits is counted however old");
        assert_eq!(all.unrouted.under_4h, 1);
        assert_eq!(all.unrouted.longer, 1);
        assert_eq!(all.unrouted.oldest_minutes, Some(40 * 24 * 60));
        assert_eq!(all.first_response[0].manager_id, "m1");
        assert_eq!(all.first_response[0].median_minutes, 60);
        assert_eq!(all.deals_per_stage["unfit"], 1);
        assert_eq!(all.outcomes[0].unfit, 1);
        assert_eq!(all.overdue_tasks["m1"], 1);
        let thermal = dashboard(
            Some(Department::Thermal),
            &[inquiry("d", Channel::Chat, 1)],
            &[],
            &[],
            now(),
        );
        assert_eq!(
            thermal.unrouted.count, 1,
            "every head sees what nobody routed yet"
        );
        assert!(thermal.deals_per_stage.is_empty());
    }

    #[test]
    fn the_median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [30, 10, 20]), 20);
        assert_eq!(median(&mut [40, 10, 20, 30]), 25);
    }
}
