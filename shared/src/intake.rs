//! The one intake path every channel takes: a person wrote or called; find them by their
//! contact points; create a lead (counterparty, contact, contact points, inquiry, history
//! entry — one transaction) or append to a known party's history; tell the right people.
//!
//! Idempotent on the event's natural key: the intake record is written in the same
//! transaction as the effects, together with the notification still to send; the
//! notification is marked sent afterwards, so a redelivered event re-sends a notification
//! that was lost in a crash and otherwise changes nothing.

use crate::domain::{
    AttachmentRef, AuditEntry, Channel, ContactPoint, Counterparty, CounterpartyKind, EmailAddress,
    Employee, Inquiry, InquiryKind, InquiryStatus, Interaction, MatchDecision, MatchEvidence,
    PersonDetails, SourceRef, created_entry, match_contact_points, truncate_text,
};
use crate::error::IntakeError;
use crate::store::{
    HistoryEntry, IntakeRecord, IntakeStore, NewLead, RecordedOutcome, WriteOutcome,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::future::Future;

pub use crate::aws::NotifyError;

/// An email to staff, stored with the intake record until it has been sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub to: Vec<EmailAddress>,
    pub subject: String,
    pub body: String,
}

/// Sends notifications to staff (SES in the cloud).
pub trait Notifier: Send + Sync {
    fn send(
        &self,
        notification: &Notification,
    ) -> impl Future<Output = Result<(), NotifyError>> + Send;
}

/// A request from a person, whatever the channel, ready for matching.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// Natural key of the event (`email#<Message-ID>`, `call#<linkedid>`, …).
    pub event_key: String,
    /// Object key of the raw payload in the inbound bucket.
    pub raw_key: String,
    pub channel: Channel,
    pub kind: InquiryKind,
    pub received_at: DateTime<Utc>,
    pub contact: PersonDetails,
    pub subject: Option<String>,
    pub text: String,
    pub attachments: Vec<AttachmentRef>,
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
        /// The party's display name (the PBX shows it as caller ID).
        party_name: String,
    },
    /// Machine mail (auto-reply, bulk, bounce): recorded, nobody told.
    Ignored,
    /// No contact point could be read: recorded with the reason, raw payload kept.
    Unidentified,
    /// The event was taken in before; nothing changed (a lost notification was re-sent).
    Duplicate,
}

/// Where staff open things, for links in notifications.
#[derive(Debug, Clone)]
pub struct Links {
    pub app_base_url: String,
}

impl Links {
    pub fn inquiry(&self, id: &str) -> String {
        format!("{}/inquiries/{id}", self.app_base_url)
    }
    pub fn counterparty(&self, id: &str) -> String {
        format!("{}/counterparties/{id}", self.app_base_url)
    }
}

/// The actor of changes intake makes.
const SYSTEM: &str = "system";

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
            let lookup = self.store.lookup(&message.event_key, &points).await?;
            if let Some(record) = lookup.record {
                self.finish_notification(&record).await?;
                return Ok(IntakeOutcome::Duplicate);
            }
            let owners = lookup
                .owners
                .iter()
                .map(|(point, owner)| (point.clone(), owner.party_id.clone()))
                .collect();
            let decision = match_contact_points(&points, &owners);
            let (written, outcome, record) = match decision {
                MatchDecision::Unidentifiable => {
                    let record = self.record(message, RecordedOutcome::Unidentified, None);
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
                } => {
                    let Some(party) = self.store.counterparty(&party_id).await? else {
                        // The contact point outlived its party: a data error, not a retry case.
                        return Err(IntakeError::Store(crate::store::StoreError::Corrupt(
                            format!("contact point points to missing party {party_id}"),
                        )));
                    };
                    let contact_id = lookup
                        .owners
                        .values()
                        .find(|owner| owner.party_id == party_id)
                        .map(|owner| owner.contact_id.clone())
                        .unwrap_or_default();
                    let entry = self
                        .history_entry(message, &party, contact_id, evidence, new_contact_points)
                        .await?;
                    let outcome = IntakeOutcome::AppendedToHistory {
                        party_id: party.id.clone(),
                        interaction_id: entry.interaction.id.clone(),
                        party_name: party.name.clone(),
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

    async fn finish_notification(&self, record: &IntakeRecord) -> Result<(), IntakeError> {
        let Some(notification) = &record.pending_notification else {
            return Ok(());
        };
        if notification.to.is_empty() {
            tracing::warn!(
                channel = record.channel.code(),
                "nobody to notify: no active head or manager"
            );
        } else {
            self.notifier.send(notification).await?;
        }
        self.store.mark_notified(&record.event_key).await?;
        Ok(())
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
        let (text, text_truncated) = truncate_text(&message.text);
        let source = SourceRef {
            event_key: message.event_key.clone(),
            raw_key: message.raw_key.clone(),
        };
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
        let inquiry = Inquiry {
            id: inquiry_id.clone(),
            channel: message.channel,
            kind: message.kind,
            status: InquiryStatus::Unrouted,
            received_at: message.received_at,
            counterparty_id: party_id.clone(),
            contact: message.contact.clone(),
            subject: message.subject.clone(),
            text: text.clone(),
            text_truncated,
            attachments: message.attachments.clone(),
            source: source.clone(),
            department: None,
            manager_id: None,
            missed: false,
            routing: None,
            first_response_due: None,
            qualification: None,
        };
        let interaction = Interaction {
            id: interaction_id.clone(),
            party_id: party_id.clone(),
            at: message.received_at,
            channel: message.channel,
            kind: message.kind,
            subject: message.subject.clone(),
            text,
            text_truncated,
            attachments: message.attachments.clone(),
            inquiry_id: Some(inquiry_id.clone()),
            contact: message.contact.clone(),
            evidence: Vec::new(),
            source,
            missed: false,
        };
        let heads = self.store.active_heads().await?;
        let notification = new_lead_notification(&heads, &inquiry, &counterparty, self.links);
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
        contact_id: String,
        evidence: Vec<MatchEvidence>,
        new_contact_points: Vec<ContactPoint>,
    ) -> Result<HistoryEntry, IntakeError> {
        let (text, text_truncated) = truncate_text(&message.text);
        let interaction = Interaction {
            id: new_id(),
            party_id: party.id.clone(),
            at: message.received_at,
            channel: message.channel,
            kind: message.kind,
            subject: message.subject.clone(),
            text,
            text_truncated,
            attachments: message.attachments.clone(),
            inquiry_id: None,
            contact: message.contact.clone(),
            evidence,
            source: SourceRef {
                event_key: message.event_key.clone(),
                raw_key: message.raw_key.clone(),
            },
            missed: false,
        };
        let recipients = self.recipients_for(party).await?;
        let notification = history_notification(&recipients, party, &interaction, self.links);
        let mut record = self.record(
            message,
            RecordedOutcome::AppendedToHistory,
            Some(notification),
        );
        record.party_id = Some(party.id.clone());
        record.interaction_id = Some(interaction.id.clone());
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
            contact_id,
            record,
            audit,
        })
    }

    /// The responsible manager when there is an active one, else the sales heads.
    async fn recipients_for(&self, party: &Counterparty) -> Result<Vec<Employee>, IntakeError> {
        if let Some(manager_id) = &party.responsible_manager_id
            && let Some(manager) = self.store.employee(manager_id).await?
            && manager.active
        {
            return Ok(vec![manager]);
        }
        Ok(self.store.active_heads().await?)
    }
}

/// A time-ordered unique id (UUID v7): ids sort by creation, which lists rely on.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn describe_contact(contact: &PersonDetails) -> String {
    let mut lines = Vec::new();
    if let Some(name) = &contact.name {
        lines.push(format!("Имя: {name}"));
    }
    if let Some(company) = &contact.company {
        lines.push(format!("Компания: {company}"));
    }
    if let Some(email) = &contact.email {
        lines.push(format!("E-mail: {email}"));
    }
    match &contact.phone {
        Some(crate::domain::PhoneParse::Valid(phone)) => {
            lines.push(format!("Телефон: {}", phone.e164))
        }
        Some(crate::domain::PhoneParse::Invalid { raw }) => {
            lines.push(format!("Телефон (не распознан): {raw}"))
        }
        None => {}
    }
    lines.join("\n")
}

fn preview(text: &str) -> String {
    const PREVIEW_CHARS: usize = 600;
    let mut preview: String = text.chars().take(PREVIEW_CHARS).collect();
    if text.chars().count() > PREVIEW_CHARS {
        preview.push('…');
    }
    preview
}

fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "письмо",
        Channel::Phone => "звонок",
        Channel::Chat => "чат",
        Channel::Form => "форма на сайте",
    }
}

fn addresses(staff: &[Employee]) -> Vec<EmailAddress> {
    let mut to: Vec<EmailAddress> = staff.iter().map(|e| e.email.clone()).collect();
    to.sort();
    to.dedup();
    to
}

/// The heads' email about a new lead: the essentials and a link to route it.
pub fn new_lead_notification(
    heads: &[Employee],
    inquiry: &Inquiry,
    lead: &Counterparty,
    links: &Links,
) -> Notification {
    Notification {
        to: addresses(heads),
        subject: format!(
            "Новый лид: {} ({})",
            lead.name,
            channel_name(inquiry.channel)
        ),
        body: format!(
            "Новое обращение ({}, {}), ждёт распределения.\n\n{}\n\nТема: {}\n\n{}\n\nВложений: {}\nОткрыть: {}\n",
            channel_name(inquiry.channel),
            inquiry.kind.code(),
            describe_contact(&inquiry.contact),
            inquiry.subject.as_deref().unwrap_or("—"),
            preview(&inquiry.text),
            inquiry.attachments.len(),
            links.inquiry(&inquiry.id),
        ),
    }
}

/// The responsible manager's (or heads') email about a new message from a known party.
pub fn history_notification(
    recipients: &[Employee],
    party: &Counterparty,
    interaction: &Interaction,
    links: &Links,
) -> Notification {
    let conflict = interaction.evidence.iter().any(|e| e.party_id != party.id);
    Notification {
        to: addresses(recipients),
        subject: format!(
            "{}: новое сообщение ({})",
            party.name,
            channel_name(interaction.channel)
        ),
        body: format!(
            "{} написал(а) снова.{}\n\n{}\n\nТема: {}\n\n{}\n\nВложений: {}\nИстория клиента: {}\n",
            party.name,
            if conflict {
                " Внимание: контакты сообщения принадлежат разным контрагентам, проверьте привязку."
            } else {
                ""
            },
            describe_contact(&interaction.contact),
            interaction.subject.as_deref().unwrap_or("—"),
            preview(&interaction.text),
            interaction.attachments.len(),
            links.counterparty(&party.id),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EmailAddress, PhoneNumber, Role};
    use crate::store::MemoryStore;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Outbox {
        sent: Mutex<Vec<Notification>>,
        fail_next: Mutex<bool>,
    }

    impl Notifier for Outbox {
        async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
            if std::mem::take(&mut *self.fail_next.lock().unwrap()) {
                return Err(NotifyError {
                    message: "throttled".into(),
                    retryable: true,
                });
            }
            self.sent.lock().unwrap().push(notification.clone());
            Ok(())
        }
    }

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
            },
            subject: Some("КП".into()),
            text: "Нужен насос".into(),
            attachments: Vec::new(),
        }
    }

    fn setup() -> (MemoryStore, Outbox, Links) {
        let store = MemoryStore::default();
        store.add_employee(employee("head1", Role::Head));
        store.add_employee(employee("head2", Role::Head));
        store.add_employee(employee("mgr1", Role::Manager));
        let links = Links {
            app_base_url: "https://crm.example".into(),
        };
        (store, Outbox::default(), links)
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
        let sent = outbox.sent.lock().unwrap();
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
        let sent = outbox.sent.lock().unwrap();
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
        let sent = outbox.sent.lock().unwrap();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[1].to.len(), 2);
    }

    #[tokio::test]
    async fn a_notification_lost_to_an_error_is_sent_on_redelivery() {
        let (store, outbox, links) = setup();
        let intake = Intake {
            store: &store,
            notifier: &outbox,
            links: &links,
        };
        *outbox.fail_next.lock().unwrap() = true;
        let error = intake
            .register(&message("m1", "ivan@zavod.ru"))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Transient);
        assert_eq!(store.parties().len(), 1, "the lead is kept");
        assert!(store.records()[0].pending_notification.is_some());

        assert_eq!(
            intake
                .register(&message("m1", "ivan@zavod.ru"))
                .await
                .unwrap(),
            IntakeOutcome::Duplicate
        );
        assert_eq!(outbox.sent.lock().unwrap().len(), 1);
        assert!(store.records()[0].pending_notification.is_none());
        assert_eq!(store.parties().len(), 1);
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
        assert!(outbox.sent.lock().unwrap().is_empty());
        assert_eq!(store.records().len(), 2);
    }
}
