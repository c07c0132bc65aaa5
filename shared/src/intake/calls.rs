//! Calls through the one intake path: every call is registered (a lead and an inquiry for
//! an unknown number, a history entry for a known one), and completed into one call record
//! by the start, answer and end events in any order. A missed call is flagged on its
//! inquiry or history entry and gives someone a "Call back" task.

use super::ports::{CallStore, CallUpdate, IntakeRecord, RecordedOutcome};
use super::{Intake, IntakeError, IntakeOutcome};
use crate::ports::{Notifier, active_employee};
use chrono::{Duration, Utc};
use crm_domain::intake::call::{CallEvent, CallNotice, caller_id_name};
use crm_domain::intake::{InboundMessage, InquiryKind};
use crm_domain::kernel::short_hash;
use crm_domain::party::{Channel, PersonDetails, PointSource};
use crm_domain::sales::task::Assignee;
use crm_domain::sales::{Task, TaskKind};
use crm_domain::staff::Employee;
use crm_domain::templates::{self, Links};

/// What the PBX is answered, and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallAnswer {
    /// The known client's name for the PBX's caller-ID display (start events only).
    pub caller_id: Option<String>,
    pub outcome: IntakeOutcome,
    /// True when this event completed a missed call.
    pub missed: bool,
}

/// How soon a missed call must be returned.
const CALL_BACK_WITHIN_MINUTES: i64 = 30;

/// The call desk: intake plus the call record and missed-call follow-up.
pub struct CallDesk<'a, S, N> {
    pub store: &'a S,
    pub notifier: &'a N,
    pub links: &'a Links,
}

/// The natural key of a call in the intake log.
pub fn call_event_key(linkedid: &str) -> String {
    format!("call#{linkedid}")
}

impl<S: CallStore, N: Notifier> CallDesk<'_, S, N> {
    fn intake(&self) -> Intake<'_, S, N> {
        Intake {
            store: self.store,
            notifier: self.notifier,
            links: self.links,
        }
    }

    /// Takes one PBX event in.
    pub async fn take_call(
        &self,
        notice: &CallNotice,
        raw_key: &str,
    ) -> Result<CallAnswer, IntakeError> {
        let intake = self.intake();
        let caller_text = notice.caller_raw.as_deref().unwrap_or("скрытый номер");
        let line = notice
            .did
            .as_deref()
            .map(|d| format!(" на линию {d}"))
            .unwrap_or_default();
        let message = InboundMessage {
            event_key: call_event_key(&notice.linkedid),
            raw_key: raw_key.to_owned(),
            channel: Channel::Phone,
            kind: InquiryKind::Call,
            received_at: notice.at.unwrap_or_else(Utc::now),
            contact: PersonDetails {
                phone: notice.caller.clone(),
                ..Default::default()
            },
            subject: Some("Входящий звонок".to_owned()),
            text: format!("Входящий звонок с {caller_text}{line}."),
            attachments: Vec::new(),
            left_out: Vec::new(),
            forwarded_by: None,
            // The PBX's caller number is what the telephone network says: it confirms.
            source: PointSource::PbxCaller,
        };
        let outcome = intake.register(&message).await?;

        let answered_by = match (notice.event, &notice.extension) {
            (CallEvent::Answer, Some(extension)) => {
                self.store.employee_by_extension(extension).await?
            }
            _ => None,
        };
        let (party_id, inquiry_id, interaction_id) = match &outcome {
            IntakeOutcome::LeadCreated {
                party_id,
                inquiry_id,
            } => (Some(party_id.clone()), Some(inquiry_id.clone()), None),
            IntakeOutcome::AppendedToHistory {
                party_id,
                interaction_id,
                ..
            } => (Some(party_id.clone()), None, Some(interaction_id.clone())),
            _ => (None, None, None),
        };
        let call = self
            .store
            .record_call(&CallUpdate {
                notice: notice.clone(),
                answered_by: answered_by.map(|e| e.id),
                party_id,
                inquiry_id,
                interaction_id,
            })
            .await?;

        let missed =
            notice.event == CallEvent::End && call.missed_flag && call.answered_at.is_none();
        if missed {
            self.follow_up_missed_call(&message.event_key, notice)
                .await?;
        }
        let caller_id = match notice.event {
            CallEvent::Start => self.known_caller_name(&outcome, &message.event_key).await?,
            _ => None,
        };
        Ok(CallAnswer {
            caller_id,
            outcome,
            missed,
        })
    }

    /// The display name of a known caller; `None` for a new lead, a hidden number, or a
    /// party known by its number only.
    async fn known_caller_name(
        &self,
        outcome: &IntakeOutcome,
        event_key: &str,
    ) -> Result<Option<String>, IntakeError> {
        let party_id = match outcome {
            // Only a verified match names the client: a number the client has not
            // confirmed must not show the client's name to whoever calls from it.
            IntakeOutcome::AppendedToHistory {
                party_name,
                verified: true,
                ..
            } => {
                return Ok(caller_id_name(party_name));
            }
            IntakeOutcome::Duplicate => match self.store.intake_record(event_key).await? {
                Some(record)
                    if record.outcome == RecordedOutcome::AppendedToHistory
                        && !record.unverified =>
                {
                    record.party_id
                }
                _ => None,
            },
            _ => None,
        };
        let Some(party_id) = party_id else {
            return Ok(None);
        };
        Ok(self
            .store
            .counterparty(&party_id)
            .await?
            .and_then(|p| caller_id_name(&p.name)))
    }

    /// Flags the call's inquiry or history entry missed and gives the responsible manager
    /// (or the heads) a "Call back" task, once per call.
    async fn follow_up_missed_call(
        &self,
        event_key: &str,
        notice: &CallNotice,
    ) -> Result<(), IntakeError> {
        let Some(record) = self.store.intake_record(event_key).await? else {
            return Ok(());
        };
        if let Some(inquiry_id) = &record.inquiry_id {
            self.store.mark_inquiry_missed(inquiry_id).await?;
        }
        let Some(party_id) = &record.party_id else {
            return Ok(());
        };
        if let Some(interaction_id) = &record.interaction_id {
            self.store
                .mark_interaction_missed(party_id, &record.received_at, interaction_id)
                .await?;
        }
        let party = self.store.counterparty(party_id).await?;
        let manager = match party
            .as_ref()
            .and_then(|p| p.responsible_manager_id.clone())
        {
            Some(id) => active_employee(self.store, &id).await?,
            None => None,
        };
        let now = Utc::now();
        let title = format!(
            "{}: {}",
            TaskKind::CallBack.title(),
            party
                .as_ref()
                .map(|p| p.name.as_str())
                .unwrap_or("пропущенный звонок")
        );
        let assignee = match &manager {
            Some(manager) => Assignee::Employee(manager.id.clone()),
            None => Assignee::Heads,
        };
        let task = Task {
            party_id: Some(party_id.clone()),
            inquiry_id: record.inquiry_id.clone(),
            department: party.as_ref().and_then(|p| p.department),
            note: notice.caller_raw.clone(),
            ..Task::open(
                format!("callback-{}", short_hash(&notice.linkedid)),
                TaskKind::CallBack,
                title,
                assignee,
                now + Duration::minutes(CALL_BACK_WITHIN_MINUTES),
                now,
                event_key.to_owned(),
            )
        };
        let recipients: Vec<Employee> = match manager {
            Some(manager) => vec![manager],
            None => self.store.active_heads().await?,
        };
        let notification = (!recipients.is_empty()).then(|| {
            templates::missed_call(
                &recipients,
                &task,
                notice.caller_raw.as_deref(),
                party_id,
                self.links,
            )
        });
        // The task and the log entry carrying its notification are one write: the PBX
        // never retries, so nothing may depend on the email going out now.
        let entry = IntakeRecord {
            event_key: format!("callback#{}", notice.linkedid),
            outcome: RecordedOutcome::CallBack,
            kind: "call_back".to_owned(),
            received_at: now,
            party_id: Some(party_id.clone()),
            inquiry_id: record.inquiry_id.clone(),
            interaction_id: None,
            pending_notification: notification,
            notified_at: None,
            reason: None,
            ..record
        };
        if !self.store.give_call_back(&task, &entry).await? {
            return Ok(());
        }
        self.intake().finish_notification(&entry).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::ports::IntakeStore;
    use crate::memory::tests::employee;
    use crate::memory::{MemoryNotifier, MemoryStore};
    use crm_domain::intake::InquiryStatus;
    use crm_domain::intake::call::parse_call_notice;
    use crm_domain::sales::TaskStatus;
    use crm_domain::staff::Role;
    use std::collections::HashMap;

    fn notice(pairs: &[(&str, &str)]) -> CallNotice {
        let params: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse_call_notice(&params).unwrap()
    }

    #[tokio::test]
    async fn a_missed_call_from_a_new_number_is_a_lead_a_record_and_one_call_back_task() {
        let store = MemoryStore::default();
        store.add_employee(employee("head", Role::Head, None));
        let notifier = MemoryNotifier::default();
        let links = Links {
            app_base_url: "https://crm.example".into(),
        };
        let desk = CallDesk {
            store: &store,
            notifier: &notifier,
            links: &links,
        };
        let start = notice(&[
            ("event", "start"),
            ("linkedid", "L1"),
            ("from", "89161112233"),
        ]);
        let end = notice(&[
            ("event", "end"),
            ("linkedid", "L1"),
            ("uid", "L1.1"),
            ("from", "89161112233"),
            ("missed", "1"),
        ]);
        let answer = desk.take_call(&start, "webhooks/miko/1").await.unwrap();
        assert!(matches!(answer.outcome, IntakeOutcome::LeadCreated { .. }));
        assert_eq!(answer.caller_id, None, "a new lead has no name to show");
        let answer = desk.take_call(&end, "webhooks/miko/2").await.unwrap();
        assert!(answer.missed);
        // The PBX may repeat the end event: nothing more happens.
        assert!(
            desk.take_call(&end, "webhooks/miko/3")
                .await
                .unwrap()
                .missed
        );

        let call = store.call("L1").unwrap();
        assert!(call.missed());
        assert_eq!(call.events, ["start", "end"]);
        let inquiries = store.inquiries();
        assert_eq!(inquiries.len(), 1);
        assert!(inquiries[0].missed);
        assert_eq!(inquiries[0].status, InquiryStatus::Unrouted);
        let tasks = store.tasks();
        assert_eq!(tasks.len(), 1, "one call-back task per call");
        assert_eq!(tasks[0].kind, TaskKind::CallBack);
        assert_eq!(tasks[0].assignee_role, Some(crm_domain::staff::Role::Head));
        assert_eq!(tasks[0].status, TaskStatus::Open);
        let record = store.intake_record("call#L1").await.unwrap().unwrap();
        assert_eq!(record.inquiry_id.as_deref(), Some(inquiries[0].id.as_str()));
        let subjects: Vec<String> = notifier.sent().into_iter().map(|n| n.subject).collect();
        assert_eq!(
            subjects.len(),
            2,
            "the new lead, then the missed call: {subjects:?}"
        );
        assert!(subjects[1].starts_with("Пропущенный звонок"));
    }

    #[tokio::test]
    async fn mail_down_loses_no_call_record_missed_flag_or_call_back_task() {
        let store = MemoryStore::default();
        store.add_employee(employee("head", Role::Head, None));
        let notifier = MemoryNotifier::default();
        let links = Links {
            app_base_url: "https://crm.example".into(),
        };
        let desk = CallDesk {
            store: &store,
            notifier: &notifier,
            links: &links,
        };
        notifier.down(true);
        let start = notice(&[
            ("event", "start"),
            ("linkedid", "L9"),
            ("from", "89161112299"),
        ]);
        let end = notice(&[
            ("event", "end"),
            ("linkedid", "L9"),
            ("from", "89161112299"),
            ("missed", "1"),
        ]);
        desk.take_call(&start, "webhooks/miko/1").await.unwrap();
        assert!(
            desk.take_call(&end, "webhooks/miko/2")
                .await
                .unwrap()
                .missed
        );
        assert!(store.call("L9").unwrap().missed());
        assert!(store.inquiries()[0].missed);
        assert_eq!(store.tasks().len(), 1);
        assert!(notifier.sent().is_empty());
        // Mail is back: the sweeper sends both, the lead's and the call-back's.
        notifier.down(false);
        let later = Utc::now() + Duration::seconds(1);
        let sweep = desk.intake().resend_pending(later).await.unwrap();
        assert_eq!(sweep.sent, 2);
        let subjects: Vec<String> = notifier.sent().into_iter().map(|n| n.subject).collect();
        assert!(
            subjects.iter().any(|s| s.starts_with("Пропущенный звонок")),
            "{subjects:?}"
        );
    }

    #[tokio::test]
    async fn a_known_caller_is_named_for_the_pbx() {
        let store = MemoryStore::default();
        store.add_employee(employee("head", Role::Head, None));
        let notifier = MemoryNotifier::default();
        let links = Links {
            app_base_url: "https://crm.example".into(),
        };
        let desk = CallDesk {
            store: &store,
            notifier: &notifier,
            links: &links,
        };
        let first = notice(&[
            ("event", "start"),
            ("linkedid", "L1"),
            ("from", "+79161112233"),
        ]);
        desk.take_call(&first, "raw/1").await.unwrap();
        let party_id = store.parties()[0].id.clone();
        let mut party = store.parties()[0].clone();
        party.name = "ООО «Завод»".into();
        store.add_party(party);
        let again = notice(&[
            ("event", "start"),
            ("linkedid", "L2"),
            ("from", "89161112233"),
        ]);
        let answer = desk.take_call(&again, "raw/2").await.unwrap();
        assert!(
            matches!(answer.outcome, IntakeOutcome::AppendedToHistory { party_id: ref p, .. } if *p == party_id)
        );
        assert_eq!(answer.caller_id.as_deref(), Some("ООО «Завод»"));
    }
}
