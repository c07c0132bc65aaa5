//! The one intake path every channel takes: a person wrote or called; find them by their
//! contact points; create a lead (counterparty, contact, contact points, inquiry, history
//! entry — one transaction) or append to a known party's history; tell the right people.
//!
//! Idempotent on the event's natural key: the intake record is written in the same
//! transaction as the effects, together with the notification still to send (the
//! notification outbox); the notification is marked sent afterwards. One lost to a crash
//! or a mail outage is sent by the sweeper ([`Intake::resend_pending`]) — never by a
//! redelivery, which may run at the same moment as the first delivery and would send it
//! twice. A redelivered event changes nothing.
//!
//! [`calls`] adds the call record and the missed-call follow-up; [`ports`] is what both
//! need from persistence.

pub mod calls;
pub mod ports;

use crate::ports::{BlobError, Notifier, NotifyError, StoreError, active_employee};
use chrono::{DateTime, Utc};
use crm_domain::intake::InboundMessage;
use crm_domain::intake::email::EmailParseError;
use crm_domain::kernel::audit::{AuditEntry, created_entry};
use crm_domain::kernel::{ErrorKind, SYSTEM, new_id};
use crm_domain::party::{
    ContactPoint, Counterparty, CounterpartyKind, MatchDecision, MatchEvidence, Owned,
    match_contact_points,
};
use crm_domain::staff::{Employee, Notification};
use crm_domain::templates::{self, Links};
use ports::{HistoryEntry, IntakeRecord, IntakeStore, NewLead, RecordedOutcome, WriteOutcome};

/// Why one inbound event could not be taken in.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("the queue message is not an S3 event notification: {0}")]
    NotAnS3Event(String),
    #[error("the raw message cannot be read")]
    Unreadable(#[source] EmailParseError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error("still racing other writers for the same contact point after {0} attempts")]
    Contention(u32),
}

impl IntakeError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotAnS3Event(_) | Self::Unreadable(_) => ErrorKind::Permanent,
            Self::Store(e) => e.kind(),
            Self::Blob(e) => e.kind(),
            Self::Notify(e) => e.kind(),
            Self::Contention(_) => ErrorKind::Transient,
        }
    }

    /// A short machine-readable name for logs and metrics.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::NotAnS3Event(_) => "NotAnS3Event",
            Self::Unreadable(_) => "UnreadableMessage",
            Self::Store(_) => "StoreError",
            Self::Blob(_) => "BlobError",
            Self::Notify(_) => "NotifyError",
            Self::Contention(_) => "Contention",
        }
    }
}

/// How a message matched a known party (see `MatchDecision::Known`).
struct Matched {
    contact_id: String,
    evidence: Vec<MatchEvidence>,
    new_contact_points: Vec<ContactPoint>,
    verified: bool,
}

/// What a run of the notification sweeper did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotificationSweep {
    pub sent: usize,
    /// Still failing; left in the outbox for the next run.
    pub left: usize,
}

/// What intake did with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeOutcome {
    LeadCreated {
        party_id: String,
        inquiry_id: String,
    },
    AppendedToHistory {
        party_id: String,
        interaction_id: String,
        /// The party's display name (the PBX shows it as caller ID, when verified).
        party_name: String,
        /// The match rests on a confirmed point the message vouches for.
        verified: bool,
    },
    /// Machine mail (auto-reply, bulk, bounce): recorded, nobody told.
    Ignored,
    /// No contact point could be read: recorded with the reason, raw payload kept.
    Unidentified,
    /// The event was taken in before; nothing changed.
    Duplicate,
}

/// How many times intake re-reads and retries when another event took a contact point
/// between its read and its write (the loser becomes a history entry of the winner).
const MAX_ATTEMPTS: u32 = 5;

/// The intake service: the store and the notifier it needs.
pub struct Intake<'a, S, N> {
    pub store: &'a S,
    pub notifier: &'a N,
    pub links: &'a Links,
}

impl<S: IntakeStore, N: Notifier> Intake<'_, S, N> {
    /// Takes one inbound request in: lead or history entry, then the notification.
    pub async fn register(&self, message: &InboundMessage) -> Result<IntakeOutcome, IntakeError> {
        let points = message.contact.contact_points();
        for _attempt in 0..MAX_ATTEMPTS {
            let mut lookup = self.store.lookup(&message.event_key, &points).await?;
            if lookup.record.is_some() {
                // Taken in before (perhaps at this very moment): its notification, if
                // still pending, is the first delivery's or the sweeper's to send.
                return Ok(IntakeOutcome::Duplicate);
            }
            // Our own people's addresses are nobody's client: they neither match nor are
            // claimed. A message with nothing else is recorded, not a lead.
            let staff: Vec<ContactPoint> = lookup
                .owners
                .iter()
                .filter(|(_, owner)| owner.staff)
                .map(|(point, _)| point.clone())
                .collect();
            lookup.owners.retain(|_, owner| !owner.staff);
            let without_staff;
            let message = if staff.is_empty() {
                message
            } else {
                without_staff = InboundMessage {
                    contact: message.contact.without(&staff),
                    ..message.clone()
                };
                &without_staff
            };
            let points = message.contact.contact_points();
            let owners = lookup
                .owners
                .iter()
                .map(|(point, owner)| {
                    let owned = Owned {
                        party_id: owner.party_id.clone(),
                        confirmed: owner.confirmed,
                    };
                    (point.clone(), owned)
                })
                .collect();
            let decision = match_contact_points(&points, message.source.confirms(), &owners);
            let (written, outcome, record) = match decision {
                MatchDecision::Unidentifiable => {
                    let mut record = self.record(message, RecordedOutcome::Unidentified, None);
                    if !staff.is_empty() {
                        record.reason = Some("sent from a staff address".to_owned());
                    }
                    (
                        self.store.record_event(&record).await?,
                        IntakeOutcome::Unidentified,
                        record,
                    )
                }
                MatchDecision::NewLead { contact_points } => {
                    let lead = self.new_lead(message, contact_points).await?;
                    let outcome = IntakeOutcome::LeadCreated {
                        party_id: lead.counterparty.id.clone(),
                        inquiry_id: lead.inquiry.id.clone(),
                    };
                    (self.store.create_lead(&lead).await?, outcome, lead.record)
                }
                MatchDecision::Known {
                    party_id,
                    evidence,
                    new_contact_points,
                    verified,
                } => {
                    let Some(party) = self.store.counterparty(&party_id).await? else {
                        // The contact point outlived its party: a data error, not a retry case.
                        return Err(IntakeError::Store(StoreError::Corrupt(format!(
                            "contact point points to missing party {party_id}"
                        ))));
                    };
                    let contact_id = lookup
                        .owners
                        .values()
                        .find(|owner| owner.party_id == party_id)
                        .map(|owner| owner.contact_id.clone())
                        .unwrap_or_default();
                    let matched = Matched {
                        contact_id,
                        evidence,
                        new_contact_points,
                        verified,
                    };
                    let entry = self.history_entry(message, &party, matched).await?;
                    let outcome = IntakeOutcome::AppendedToHistory {
                        party_id: party.id.clone(),
                        interaction_id: entry.interaction.id.clone(),
                        party_name: party.name.clone(),
                        verified,
                    };
                    (
                        self.store.append_to_history(&entry).await?,
                        outcome,
                        entry.record,
                    )
                }
            };
            match written {
                WriteOutcome::Written => {
                    self.finish_notification(&record).await?;
                    return Ok(outcome);
                }
                WriteOutcome::DuplicateEvent => {
                    // A concurrent delivery of the same event won; let it notify.
                    return Ok(IntakeOutcome::Duplicate);
                }
                WriteOutcome::ContactPointTaken | WriteOutcome::Contended => continue,
            }
        }
        Err(IntakeError::Contention(MAX_ATTEMPTS))
    }

    /// Records machine mail (`kind` is e.g. `auto_reply`): kept in the intake log, never a
    /// lead, nobody notified.
    pub async fn record_ignored(
        &self,
        message: &InboundMessage,
        kind: &str,
    ) -> Result<IntakeOutcome, IntakeError> {
        let mut record = self.record(message, RecordedOutcome::Ignored, None);
        record.kind = kind.to_owned();
        record.reason = Some("machine mail: recorded, never a lead".to_owned());
        Ok(match self.store.record_event(&record).await? {
            WriteOutcome::DuplicateEvent => IntakeOutcome::Duplicate,
            _ => IntakeOutcome::Ignored,
        })
    }

    /// Sends a log entry's pending notification and marks it sent. A failed send is not
    /// the event's failure: what the event wrote stays, the notification stays in the
    /// outbox for [`Intake::resend_pending`]. `false` when it was left there.
    pub async fn finish_notification(&self, record: &IntakeRecord) -> Result<bool, IntakeError> {
        let Some(notification) = &record.pending_notification else {
            return Ok(true);
        };
        if notification.to.is_empty() {
            tracing::warn!(
                channel = record.channel.code(),
                "nobody to notify: no active head or manager"
            );
        } else if let Err(error) = self.notifier.send(notification).await {
            tracing::warn!(
                channel = record.channel.code(),
                %error,
                "notification left in the outbox for the sweeper"
            );
            return Ok(false);
        }
        self.store.mark_notified(&record.event_key).await?;
        Ok(true)
    }

    /// The notification sweeper: sends every notification still pending that is older
    /// than `before` (so it does not race an event's own first attempt). A failing one is
    /// counted and left for the next run; it never stops the others.
    pub async fn resend_pending(
        &self,
        before: DateTime<Utc>,
    ) -> Result<NotificationSweep, IntakeError> {
        let mut sweep = NotificationSweep::default();
        for record in self.store.pending_notifications(before).await? {
            if self.finish_notification(&record).await? {
                sweep.sent += 1;
            } else {
                sweep.left += 1;
            }
        }
        Ok(sweep)
    }

    fn record(
        &self,
        message: &InboundMessage,
        outcome: RecordedOutcome,
        notification: Option<Notification>,
    ) -> IntakeRecord {
        IntakeRecord {
            event_key: message.event_key.clone(),
            raw_key: message.raw_key.clone(),
            channel: message.channel,
            kind: message.kind.code().to_owned(),
            received_at: message.received_at,
            outcome,
            party_id: None,
            inquiry_id: None,
            interaction_id: None,
            pending_notification: notification,
            notified_at: None,
            reason: None,
            unverified: false,
        }
    }

    async fn new_lead(
        &self,
        message: &InboundMessage,
        contact_points: Vec<ContactPoint>,
    ) -> Result<NewLead, IntakeError> {
        let party_id = new_id();
        let inquiry_id = new_id();
        let interaction_id = new_id();
        let counterparty = Counterparty {
            id: party_id.clone(),
            kind: CounterpartyKind::Lead,
            name: message.contact.display_name(),
            company: message.contact.company.clone(),
            responsible_manager_id: None,
            department: None,
            source_channel: message.channel,
            created_at: message.received_at,
        };
        let inquiry = message.new_inquiry(inquiry_id.clone(), party_id.clone());
        let interaction = message.interaction(
            interaction_id.clone(),
            party_id.clone(),
            Some(inquiry_id.clone()),
            Vec::new(),
        );
        let heads = self.store.active_heads().await?;
        let notification = templates::new_lead(&heads, &inquiry, &counterparty, self.links);
        let mut record = self.record(message, RecordedOutcome::LeadCreated, Some(notification));
        record.party_id = Some(party_id.clone());
        record.inquiry_id = Some(inquiry_id);
        record.interaction_id = Some(interaction_id);
        let source = format!("event:{}", message.event_key);
        let audit = vec![
            created_entry(
                "counterparty",
                &counterparty.id,
                &counterparty,
                SYSTEM,
                &source,
                message.received_at,
            ),
            created_entry(
                "inquiry",
                &inquiry.id,
                &inquiry,
                SYSTEM,
                &source,
                message.received_at,
            ),
        ];
        Ok(NewLead {
            contact: message.contact.to_contact_person(new_id(), party_id),
            counterparty,
            contact_points,
            points_confirmed: message.source.confirms(),
            points_source: message.source,
            inquiry,
            interaction,
            record,
            audit,
        })
    }

    async fn history_entry(
        &self,
        message: &InboundMessage,
        party: &Counterparty,
        matched: Matched,
    ) -> Result<HistoryEntry, IntakeError> {
        let Matched {
            contact_id,
            evidence,
            new_contact_points,
            verified,
        } = matched;
        let mut interaction = message.interaction(new_id(), party.id.clone(), None, evidence);
        interaction.unverified = !verified;
        let recipients = self.recipients_for(party).await?;
        let notification = templates::new_message(&recipients, party, &interaction, self.links);
        let mut record = self.record(
            message,
            RecordedOutcome::AppendedToHistory,
            Some(notification),
        );
        record.party_id = Some(party.id.clone());
        record.interaction_id = Some(interaction.id.clone());
        record.unverified = !verified;
        // Contact points the message adds to the party are a change of the counterparty.
        let audit = if new_contact_points.is_empty() {
            Vec::new()
        } else {
            vec![AuditEntry {
                record: "counterparty".to_owned(),
                record_id: party.id.clone(),
                field: "contact_points".to_owned(),
                old: serde_json::Value::Null,
                new: serde_json::json!(
                    new_contact_points
                        .iter()
                        .map(ContactPoint::key)
                        .collect::<Vec<_>>()
                ),
                actor: SYSTEM.to_owned(),
                at: message.received_at,
                source: format!("event:{}", message.event_key),
            }]
        };
        Ok(HistoryEntry {
            interaction,
            new_contact_points,
            points_confirmed: verified && message.source.confirms(),
            points_source: message.source,
            contact_id,
            record,
            audit,
        })
    }

    /// The responsible manager when there is an active one, else the sales heads.
    async fn recipients_for(&self, party: &Counterparty) -> Result<Vec<Employee>, IntakeError> {
        if let Some(manager_id) = &party.responsible_manager_id
            && let Some(manager) = active_employee(self.store, manager_id).await?
        {
            return Ok(vec![manager]);
        }
        Ok(self.store.active_heads().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryNotifier, MemoryStore};
    use chrono::Utc;
    use crm_domain::intake::{InquiryKind, InquiryStatus};
    use crm_domain::party::{Channel, EmailAddress, PersonDetails, PhoneNumber, PointSource};
    use crm_domain::staff::Role;

    fn employee(id: &str, role: Role) -> Employee {
        Employee {
            id: id.into(),
            name: id.into(),
            email: EmailAddress::parse(&format!("{id}@vacuum-zavod.ru")).unwrap(),
            role,
            department: None,
            extension: None,
            active: true,
        }
    }

    fn message(event: &str, email: &str) -> InboundMessage {
        InboundMessage {
            event_key: format!("email#{event}"),
            raw_key: format!("inbound/{event}"),
            channel: Channel::Email,
            kind: InquiryKind::Manual,
            received_at: Utc::now(),
            contact: PersonDetails {
                name: Some("Иван".into()),
                email: EmailAddress::parse(email),
                phone: PhoneNumber::parse("89123456789"),
                company: None,
                other_phones: Vec::new(),
            },
            subject: Some("КП".into()),
            text: "Нужен насос".into(),
            attachments: Vec::new(),
            left_out: Vec::new(),
            forwarded_by: None,
            source: PointSource::AuthenticatedMail,
        }
    }

    fn setup() -> (MemoryStore, MemoryNotifier, Links) {
        let store = MemoryStore::default();
        store.add_employee(employee("head1", Role::Head));
        store.add_employee(employee("head2", Role::Head));
        store.add_employee(employee("mgr1", Role::Manager));
        let links = Links {
            app_base_url: "https://crm.example".into(),
        };
        (store, MemoryNotifier::default(), links)
    }

    #[tokio::test]
    async fn our_own_staffs_addresses_never_become_a_clients() {
        let (store, outbox, links) = setup();
        let intake = Intake {
            store: &store,
            notifier: &outbox,
            links: &links,
        };
        // Only the employee's address: recorded with the reason, no lead.
        let mut own = message("m1", "mgr1@vacuum-zavod.ru");
        own.contact.phone = None;
        assert_eq!(
            intake.register(&own).await.unwrap(),
            IntakeOutcome::Unidentified
        );
        assert!(store.parties().is_empty());
        let record = store.intake_record("email#m1").await.unwrap().unwrap();
        assert_eq!(record.reason.as_deref(), Some("sent from a staff address"));
        // With a client's phone in it: a lead by the phone, the staff address not claimed.
        let outcome = intake
            .register(&message("m2", "mgr1@vacuum-zavod.ru"))
            .await
            .unwrap();
        assert!(
            matches!(outcome, IntakeOutcome::LeadCreated { .. }),
            "{outcome:?}"
        );
        let again = intake
            .register(&message("m3", "mgr1@vacuum-zavod.ru"))
            .await
            .unwrap();
        assert!(
            matches!(again, IntakeOutcome::AppendedToHistory { .. }),
            "matched by the phone, not the staff address: {again:?}"
        );
        assert_eq!(store.parties().len(), 1);
    }

    #[tokio::test]
    async fn an_unknown_sender_becomes_one_lead_and_the_heads_are_told_once() {
        let (store, outbox, links) = setup();
        let intake = Intake {
            store: &store,
            notifier: &outbox,
            links: &links,
        };
        let outcome = intake
            .register(&message("m1", "ivan@zavod.ru"))
            .await
            .unwrap();
        assert!(matches!(outcome, IntakeOutcome::LeadCreated { .. }));
        assert_eq!(
            intake
                .register(&message("m1", "ivan@zavod.ru"))
                .await
                .unwrap(),
            IntakeOutcome::Duplicate
        );

        assert_eq!(store.parties().len(), 1);
        assert_eq!(store.parties()[0].kind, CounterpartyKind::Lead);
        assert_eq!(store.inquiries().len(), 1);
        assert_eq!(store.inquiries()[0].status, InquiryStatus::Unrouted);
        assert_eq!(store.interactions().len(), 1);
        let sent = outbox.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].to.len(), 2, "both heads");
        assert!(sent[0].body.contains("https://crm.example/inquiries/"));
        assert!(store.records()[0].notified_at.is_some());
    }

    #[tokio::test]
    async fn a_known_sender_lands_in_history_and_the_manager_is_told() {
        let (store, outbox, links) = setup();
        let intake = Intake {
            store: &store,
            notifier: &outbox,
            links: &links,
        };
        let IntakeOutcome::LeadCreated { party_id, .. } = intake
            .register(&message("m1", "ivan@zavod.ru"))
            .await
            .unwrap()
        else {
            panic!("expected a lead");
        };
        store.set_responsible_manager(&party_id, "mgr1");
        // Same phone, new email: the same party, and the email is claimed for it.
        let outcome = intake
            .register(&message("m2", "ivan.home@mail.ru"))
            .await
            .unwrap();
        assert!(
            matches!(outcome, IntakeOutcome::AppendedToHistory { party_id: ref p, .. } if *p == party_id)
        );
        assert_eq!(store.parties().len(), 1);
        assert_eq!(store.inquiries().len(), 1);
        assert_eq!(store.interactions().len(), 2);
        let email = ContactPoint::Email(EmailAddress::parse("ivan.home@mail.ru").unwrap());
        assert_eq!(store.owner(&email).unwrap().party_id, party_id);
        let sent = outbox.sent();
        assert_eq!(
            sent.last().unwrap().to,
            vec![EmailAddress::parse("mgr1@vacuum-zavod.ru").unwrap()]
        );
    }

    #[tokio::test]
    async fn without_a_manager_the_heads_hear_of_a_known_sender() {
        let (store, outbox, links) = setup();
        let intake = Intake {
            store: &store,
            notifier: &outbox,
            links: &links,
        };
        intake
            .register(&message("m1", "ivan@zavod.ru"))
            .await
            .unwrap();
        intake
            .register(&message("m2", "ivan@zavod.ru"))
            .await
            .unwrap();
        let sent = outbox.sent();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[1].to.len(), 2);
    }

    #[tokio::test]
    async fn a_failed_notification_does_not_fail_the_event_and_the_sweeper_sends_it() {
        let (store, outbox, links) = setup();
        let intake = Intake {
            store: &store,
            notifier: &outbox,
            links: &links,
        };
        outbox.fail_next();
        let outcome = intake
            .register(&message("m1", "ivan@zavod.ru"))
            .await
            .unwrap();
        assert!(matches!(outcome, IntakeOutcome::LeadCreated { .. }));
        assert_eq!(store.parties().len(), 1, "the lead is kept");
        assert!(store.records()[0].pending_notification.is_some());

        assert_eq!(
            intake
                .register(&message("m1", "ivan@zavod.ru"))
                .await
                .unwrap(),
            IntakeOutcome::Duplicate
        );
        assert!(
            outbox.sent().is_empty(),
            "a redelivery never sends: it may race the first"
        );
        let later = Utc::now() + chrono::Duration::seconds(1);
        assert_eq!(intake.resend_pending(later).await.unwrap().sent, 1);
        assert_eq!(outbox.sent().len(), 1);
        assert!(store.records()[0].pending_notification.is_none());
        assert_eq!(store.parties().len(), 1);
    }

    #[tokio::test]
    async fn endless_contention_gives_up_after_the_retry_limit_with_a_transient_error() {
        let (store, outbox, links) = setup();
        let intake = Intake {
            store: &store,
            notifier: &outbox,
            links: &links,
        };
        store.contend(true);
        let error = intake
            .register(&message("m1", "ivan@zavod.ru"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, IntakeError::Contention(MAX_ATTEMPTS)),
            "{error}"
        );
        assert_eq!(error.kind(), ErrorKind::Transient, "the queue retries it");
        assert!(store.parties().is_empty());
        store.contend(false);
        assert!(matches!(
            intake
                .register(&message("m1", "ivan@zavod.ru"))
                .await
                .unwrap(),
            IntakeOutcome::LeadCreated { .. }
        ));
    }

    #[tokio::test]
    async fn the_sweeper_sends_what_is_pending_and_leaves_what_still_fails() {
        let (store, outbox, links) = setup();
        let intake = Intake {
            store: &store,
            notifier: &outbox,
            links: &links,
        };
        for (event, email) in [("m1", "a@zavod.ru"), ("m2", "b@zavod.ru")] {
            outbox.fail_next();
            intake.register(&message(event, email)).await.unwrap();
        }
        assert!(outbox.sent().is_empty());
        let earlier = Utc::now() - chrono::Duration::hours(1);
        assert_eq!(
            intake.resend_pending(earlier).await.unwrap(),
            NotificationSweep::default()
        );
        outbox.fail_next();
        let later = Utc::now() + chrono::Duration::seconds(1);
        assert_eq!(
            intake.resend_pending(later).await.unwrap(),
            NotificationSweep { sent: 1, left: 1 },
            "the first fails again, the second still goes"
        );
        assert_eq!(
            intake.resend_pending(later).await.unwrap(),
            NotificationSweep { sent: 1, left: 0 }
        );
        assert_eq!(outbox.sent().len(), 2);
        assert_eq!(
            intake.resend_pending(later).await.unwrap(),
            NotificationSweep::default()
        );
    }

    #[tokio::test]
    async fn no_contact_point_and_machine_mail_are_recorded_without_a_lead() {
        let (store, outbox, links) = setup();
        let intake = Intake {
            store: &store,
            notifier: &outbox,
            links: &links,
        };
        let mut anonymous = message("m1", "not an email");
        anonymous.contact.phone = None;
        assert_eq!(
            intake.register(&anonymous).await.unwrap(),
            IntakeOutcome::Unidentified
        );
        assert_eq!(
            intake
                .record_ignored(&message("m2", "robot@x.ru"), "auto_reply")
                .await
                .unwrap(),
            IntakeOutcome::Ignored
        );
        assert_eq!(
            intake
                .record_ignored(&message("m2", "robot@x.ru"), "auto_reply")
                .await
                .unwrap(),
            IntakeOutcome::Duplicate
        );
        assert!(store.parties().is_empty());
        assert!(outbox.sent().is_empty());
        assert_eq!(store.records().len(), 2);
    }
}
