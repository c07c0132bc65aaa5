//! The ports of intake, in domain terms, and the records they exchange: the intake log
//! and its writes (a new lead, a history entry) and the call records. Implemented by
//! `adapters::dynamo` (DynamoDB) and `memory` (in-memory, for unit tests).

use crate::ports::{Directory, StoreError, SystemTasks};
use chrono::{DateTime, Utc};
use crm_domain::intake::call::CallNotice;
use crm_domain::intake::{Inquiry, Interaction};
use crm_domain::kernel::audit::AuditEntry;
use crm_domain::party::{Channel, ContactPerson, ContactPoint, Counterparty, PointSource};
use crm_domain::sales::Task;
use crm_domain::staff::{Employee, Notification};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;

/// Who owns a contact point, whether the point is confirmed there, and where it came
/// from (points stored before provenance count as confirmed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPointOwner {
    pub party_id: String,
    pub contact_id: String,
    #[serde(default = "confirmed_by_default")]
    pub confirmed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<PointSource>,
    /// The point is a member of staff's (`party_id` is then the employee's id): the
    /// company's own addresses never become a client's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub staff: bool,
}

impl ContactPointOwner {
    /// The claim an employee's own address holds.
    pub fn staff(employee_id: &str) -> Self {
        Self {
            party_id: employee_id.to_owned(),
            contact_id: String::new(),
            confirmed: true,
            source: Some(PointSource::Staff),
            staff: true,
        }
    }
}

fn confirmed_by_default() -> bool {
    true
}

/// What intake reads before deciding: the event's record if it was taken in before, and
/// the owners of the message's contact points. One round trip.
#[derive(Debug, Clone, Default)]
pub struct IntakeLookup {
    pub record: Option<IntakeRecord>,
    pub owners: HashMap<ContactPoint, ContactPointOwner>,
}

/// What intake did with an event, as recorded in the intake log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordedOutcome {
    LeadCreated,
    AppendedToHistory,
    Ignored,
    Unidentified,
    /// A missed call's call-back task was given (`callback#<linkedid>`); the entry carries
    /// its notification.
    CallBack,
}

/// One entry of the append-only intake log, keyed by the event's natural key. It makes
/// intake idempotent and keeps the way back to the raw payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntakeRecord {
    pub event_key: String,
    pub raw_key: String,
    pub channel: Channel,
    /// The shape of the event (`manual`, `site_form`, `auto_reply`, …).
    pub kind: String,
    pub received_at: DateTime<Utc>,
    pub outcome: RecordedOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inquiry_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction_id: Option<String>,
    /// The notification still to send; removed once sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_notification: Option<Notification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_at: Option<DateTime<Utc>>,
    /// Why an event was ignored or could not be identified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The event joined a party's history through an unverified match.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unverified: bool,
}

/// Everything a new lead is made of, written in one transaction.
#[derive(Debug, Clone)]
pub struct NewLead {
    pub counterparty: Counterparty,
    pub contact: ContactPerson,
    /// Claimed for this party; the transaction fails if any is owned already.
    pub contact_points: Vec<ContactPoint>,
    /// Whether they are claimed confirmed, and where they came from.
    pub points_confirmed: bool,
    pub points_source: PointSource,
    pub inquiry: Inquiry,
    pub interaction: Interaction,
    pub record: IntakeRecord,
    /// The audit entries of what the lead creates.
    pub audit: Vec<AuditEntry>,
}

/// A message from a known party, written in one transaction.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub interaction: Interaction,
    /// Unowned contact points of the message, claimed for the party's contact.
    pub new_contact_points: Vec<ContactPoint>,
    /// Whether they are claimed confirmed (a verified match from a vouching source), and
    /// where they came from.
    pub points_confirmed: bool,
    pub points_source: PointSource,
    pub contact_id: String,
    pub record: IntakeRecord,
    /// The audit entries of contact points added to the party.
    pub audit: Vec<AuditEntry>,
}

/// One PBX event to merge into its call record.
#[derive(Debug, Clone)]
pub struct CallUpdate {
    pub notice: CallNotice,
    /// The employee whose extension answered.
    pub answered_by: Option<String>,
    pub party_id: Option<String>,
    pub inquiry_id: Option<String>,
    pub interaction_id: Option<String>,
}

/// A call as its events have completed it so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub linkedid: String,
    #[serde(default)]
    pub caller_raw: Option<String>,
    #[serde(default)]
    pub caller_e164: Option<String>,
    #[serde(default)]
    pub did: Option<String>,
    #[serde(default)]
    pub called: Option<String>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub answered_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub answered_by_ext: Option<String>,
    #[serde(default)]
    pub answered_by: Option<String>,
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// `missed=1` on the end event; the call was missed if also never answered.
    #[serde(default)]
    pub missed_flag: bool,
    #[serde(default)]
    pub recording: Option<String>,
    /// Every leg (`uid`) seen.
    #[serde(default)]
    pub legs: Vec<String>,
    /// Which events arrived (`start`, `answer`, `end`).
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub party_id: Option<String>,
    #[serde(default)]
    pub inquiry_id: Option<String>,
    #[serde(default)]
    pub interaction_id: Option<String>,
}

impl CallRecord {
    pub fn missed(&self) -> bool {
        self.missed_flag && self.answered_at.is_none()
    }
}

/// The result of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// The event's record exists: this event was taken in already.
    DuplicateEvent,
    /// Another party claimed one of the contact points since the lookup.
    ContactPointTaken,
    /// A concurrent transaction touched the same items; read again and retry.
    Contended,
}

/// What intake needs from persistence.
pub trait IntakeStore: Directory {
    fn lookup(
        &self,
        event_key: &str,
        points: &[ContactPoint],
    ) -> impl Future<Output = Result<IntakeLookup, StoreError>> + Send;

    fn create_lead(
        &self,
        lead: &NewLead,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;

    fn append_to_history(
        &self,
        entry: &HistoryEntry,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;

    /// Records an event that changes nothing else (machine mail, no contact point).
    fn record_event(
        &self,
        record: &IntakeRecord,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;

    /// Log entries whose notification is still to send, received before `before`, oldest
    /// first (the notification outbox; see [`super::Intake::resend_pending`]).
    fn pending_notifications(
        &self,
        before: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<IntakeRecord>, StoreError>> + Send;

    /// Marks the event's notification sent.
    fn mark_notified(&self, event_key: &str)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The intake log's entry for an event.
    fn intake_record(
        &self,
        event_key: &str,
    ) -> impl Future<Output = Result<Option<IntakeRecord>, StoreError>> + Send;
}

/// What the call desk needs besides intake: the call record, who answered, the missed
/// flags, and the call-back task.
pub trait CallStore: IntakeStore + SystemTasks {
    /// Merges one PBX event into its call record; returns the record as it now is.
    fn record_call(
        &self,
        update: &CallUpdate,
    ) -> impl Future<Output = Result<CallRecord, StoreError>> + Send;

    /// The active employee whose extension this is.
    fn employee_by_extension(
        &self,
        extension: &str,
    ) -> impl Future<Output = Result<Option<Employee>, StoreError>> + Send;

    fn mark_inquiry_missed(
        &self,
        inquiry_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn mark_interaction_missed(
        &self,
        party_id: &str,
        at: &DateTime<Utc>,
        interaction_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives a missed call's call-back task together with its log entry (which carries the
    /// notification, see [`IntakeStore::pending_notifications`]), in one write; `false`
    /// when either exists already (the call was followed up before).
    fn give_call_back(
        &self,
        task: &Task,
        record: &IntakeRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
