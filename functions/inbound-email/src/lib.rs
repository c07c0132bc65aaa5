//! The inbound-email function: SES stores each received message's raw MIME in the inbound
//! bucket; the bucket's notification puts an S3 event on the inbound queue; this function
//! reads the object, parses and classifies it, stores its attachments, and hands the
//! person and the message to the shared intake path (lead, or history entry, and the
//! notification).
//!
//! Batches report partial failures: one poisoned message fails alone, is retried by the
//! queue and lands in the DLQ after `maxReceiveCount`, while its raw MIME stays in S3.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use crm_domain::intake::email::{
    EmailAttachment, EmailKind, InboundEmail, MAX_MESSAGE_BYTES, parse_email,
};
use crm_domain::intake::{AttachmentRef, InboundMessage, InquiryKind};
use crm_domain::kernel::{ErrorKind, sha256_hex};
use crm_domain::marketing::unsubscribes::{OptOut, OptOutKind, bounced_recipients};
use crm_domain::party::Channel;
use crm_domain::templates::Links;
use crm_shared::adapters::{AwsClients, Blobs, DynamoStore, RoundTrips, SesNotifier};
use crm_shared::config::{BaseConfig, ConfigError, EnvReader, StaffMail};
use crm_shared::error::error_chain;
use crm_shared::intake::{Intake, IntakeError, IntakeOutcome};
use crm_shared::marketing::ports::MarketingStore;
use futures::StreamExt;
use serde::Deserialize;
use std::collections::HashMap;

/// How many queue messages of one batch are taken in at once. Each may hold up to
/// 40 MB of MIME, so this bounds memory as much as it raises throughput.
const CONCURRENCY: usize = 4;

/// The function's configuration, from the variables the template sets.
#[derive(Debug, Clone)]
pub struct Config {
    pub base: BaseConfig,
    pub mail: StaffMail,
    pub documents_bucket: String,
}

impl Config {
    pub fn from_env(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(vars);
        let base = BaseConfig::read(&mut env);
        let mail = StaffMail::read(&mut env);
        let documents_bucket = env.required("DOCUMENTS_BUCKET");
        env.finish()?;
        Ok(Self {
            base,
            mail,
            documents_bucket,
        })
    }
}

/// One object named by an S3 event notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3ObjectRef {
    pub bucket: String,
    /// The object key, URL-decoded.
    pub key: String,
    pub event_time: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Notification {
    #[serde(rename = "Records", default)]
    records: Vec<NotificationRecord>,
    #[serde(rename = "Event")]
    event: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotificationRecord {
    event_time: Option<DateTime<Utc>>,
    s3: NotificationEntity,
}

#[derive(Deserialize)]
struct NotificationEntity {
    bucket: NamedBucket,
    object: NamedObject,
}

#[derive(Deserialize)]
struct NamedBucket {
    name: String,
}

#[derive(Deserialize)]
struct NamedObject {
    key: String,
}

/// Reads the objects an S3 event notification names. The `s3:TestEvent` S3 sends when a
/// notification is configured names none.
pub fn s3_objects(body: &str) -> Result<Vec<S3ObjectRef>, IntakeError> {
    let notification: Notification =
        serde_json::from_str(body).map_err(|e| IntakeError::NotAnS3Event(e.to_string()))?;
    if notification.event.as_deref() == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    if notification.records.is_empty() {
        return Err(IntakeError::NotAnS3Event("no Records".into()));
    }
    Ok(notification
        .records
        .into_iter()
        .map(|r| S3ObjectRef {
            bucket: r.s3.bucket.name,
            key: decode_key(&r.s3.object.key),
            event_time: r.event_time,
        })
        .collect())
}

/// S3 event keys arrive URL-encoded with `+` for spaces.
pub fn decode_key(key: &str) -> String {
    let plus_decoded = key.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_decoded)
        .decode_utf8_lossy()
        .into_owned()
}

/// The documents-bucket key of an attachment: addressed by its content
/// (`attachments/<sha-256 of the bytes>/<safe file name>`), so a key only ever holds the
/// bytes it was named after — a later message reusing a Message-ID, position and file
/// name cannot replace the original file — and a retried message writes the same key.
pub fn attachment_key(bytes: &[u8], filename: &str) -> String {
    let safe: String = filename
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    format!("attachments/{}/{safe}", sha256_hex(bytes))
}

/// The handler with its adapters, built once per cold start.
pub struct InboundEmailHandler {
    store: DynamoStore,
    blobs: Blobs,
    notifier: SesNotifier,
    links: Links,
    documents_bucket: String,
    round_trips: RoundTrips,
}

impl InboundEmailHandler {
    pub fn new(config: &Config, clients: &AwsClients) -> Self {
        Self {
            store: config.base.store(clients),
            blobs: Blobs::new(clients.s3.clone()),
            notifier: config.mail.notifier(clients),
            links: config.mail.links.clone(),
            documents_bucket: config.documents_bucket.clone(),
            round_trips: clients.round_trips.clone(),
        }
    }

    /// Handles a batch; the response lists the messages to retry.
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        let results: Vec<(Option<String>, Result<(), IntakeError>)> =
            futures::stream::iter(event.records)
                .map(|message| async move {
                    let result = self.handle_message(&message).await;
                    (message.message_id, result)
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
        let mut response = SqsBatchResponse::default();
        for (message_id, result) in results {
            if let Err(error) = result {
                let message_id = message_id.unwrap_or_default();
                match error.kind() {
                    ErrorKind::Permanent => tracing::error!(
                        message_id,
                        error_type = error.error_type(),
                        error = error_chain(&error),
                        "message cannot be taken in; it goes to the DLQ after its retries, the raw copy stays in S3"
                    ),
                    ErrorKind::Transient => tracing::warn!(
                        message_id,
                        error_type = error.error_type(),
                        error = error_chain(&error),
                        "message will be retried"
                    ),
                }
                response.add_failure(message_id);
            }
        }
        tracing::debug!(round_trips = ?self.round_trips.take(), "batch done");
        response
    }

    /// Handles one queue message: every object its S3 event names.
    pub async fn handle_message(&self, message: &SqsMessage) -> Result<(), IntakeError> {
        let body = message.body.as_deref().unwrap_or_default();
        for object in s3_objects(body)? {
            let received_at = object.event_time.unwrap_or_else(Utc::now);
            let outcome = self
                .take_in(&object.bucket, &object.key, received_at)
                .await?;
            tracing::info!(key = %object.key, outcome = outcome_name(&outcome), "email taken in");
        }
        Ok(())
    }

    /// Takes one raw message in from the inbound bucket.
    pub async fn take_in(
        &self,
        bucket: &str,
        key: &str,
        received_at: DateTime<Utc>,
    ) -> Result<IntakeOutcome, IntakeError> {
        let raw = self.blobs.get(bucket, key, MAX_MESSAGE_BYTES).await?;
        let mut email = parse_email(&raw).map_err(IntakeError::Unreadable)?;
        // A bounce of our own mail: the addresses that failed are never exported again.
        let bounced = if email.kind == EmailKind::Bounce {
            bounced_recipients(&raw)
        } else {
            Vec::new()
        };
        drop(raw);
        let intake = Intake {
            store: &self.store,
            notifier: &self.notifier,
            links: &self.links,
        };
        let Some(kind) = email.kind.inquiry_kind() else {
            let message =
                self.inbound_message(&email, key, received_at, Vec::new(), InquiryKind::Manual);
            let outcome = intake.record_ignored(&message, email.kind.code()).await?;
            if !bounced.is_empty() {
                let opt_outs: Vec<OptOut> = bounced
                    .into_iter()
                    .map(|address| OptOut {
                        email: address,
                        kind: OptOutKind::Bounced,
                        at: received_at,
                        reason: None,
                        source: format!("intake:{}", email.natural_key),
                    })
                    .collect();
                self.store.put_opt_outs(&opt_outs).await?;
            }
            return Ok(outcome);
        };
        if let Some(problem) = email.sender_problem {
            tracing::warn!(key, problem, "no contact point in the message");
        }
        // Files are stored only for a message not taken in before (a redelivery or a
        // reused Message-ID stores nothing and changes nothing).
        let attachments = std::mem::take(&mut email.attachments);
        if !attachments.is_empty()
            && self
                .store
                .intake_record(&email.natural_key)
                .await?
                .is_some()
        {
            return Ok(IntakeOutcome::Duplicate);
        }
        let attachments = self.store_attachments(attachments).await?;
        let message = self.inbound_message(&email, key, received_at, attachments, kind);
        intake.register(&message).await
    }

    fn inbound_message(
        &self,
        email: &InboundEmail,
        raw_key: &str,
        received_at: DateTime<Utc>,
        attachments: Vec<AttachmentRef>,
        kind: InquiryKind,
    ) -> InboundMessage {
        InboundMessage {
            event_key: email.natural_key.clone(),
            raw_key: raw_key.to_owned(),
            channel: Channel::Email,
            kind,
            received_at,
            contact: email.contact.clone(),
            subject: email.subject.clone(),
            text: email.text.clone(),
            attachments,
            left_out: email.left_out.clone(),
            source: email.contact_source,
            forwarded_by: email.forwarded_by.as_ref().map(ToString::to_string),
        }
    }

    async fn store_attachments(
        &self,
        attachments: Vec<EmailAttachment>,
    ) -> Result<Vec<AttachmentRef>, IntakeError> {
        let mut stored = Vec::with_capacity(attachments.len());
        // Each attachment's bytes move into its upload: no second copy of a large file.
        for attachment in attachments {
            let key = attachment_key(&attachment.bytes, &attachment.filename);
            self.blobs
                .put(
                    &self.documents_bucket,
                    &key,
                    attachment.bytes,
                    &attachment.content_type,
                )
                .await?;
            stored.push(AttachmentRef {
                filename: attachment.filename,
                content_type: attachment.content_type,
                size: attachment.size as u64,
                key,
            });
        }
        Ok(stored)
    }
}

fn outcome_name(outcome: &IntakeOutcome) -> &'static str {
    match outcome {
        IntakeOutcome::LeadCreated { .. } => "lead_created",
        IntakeOutcome::AppendedToHistory { .. } => "appended_to_history",
        IntakeOutcome::Ignored => "ignored",
        IntakeOutcome::Unidentified => "unidentified",
        IntakeOutcome::Duplicate => "duplicate",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(decode_key("email/a+b%2Bc%D0%AF.eml"), "email/a b+cЯ.eml");
    }

    #[test]
    fn s3_notifications_and_test_events() {
        let body = r#"{"Records":[{"eventTime":"2026-11-29T10:00:00.000Z","s3":{"bucket":{"name":"b"},"object":{"key":"email/x+y"}}}]}"#;
        assert_eq!(
            s3_objects(body).unwrap(),
            vec![S3ObjectRef {
                bucket: "b".into(),
                key: "email/x y".into(),
                event_time: Some("2026-11-29T10:00:00Z".parse().unwrap()),
            }]
        );
        assert!(
            s3_objects(r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#)
                .unwrap()
                .is_empty()
        );
        for bad in ["not json", "{}", r#"{"Records":[{"s3":{}}]}"#] {
            let error = s3_objects(bad).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Permanent, "{bad}");
        }
    }

    #[test]
    fn attachment_keys_are_named_by_their_content_and_safe() {
        let key = attachment_key(b"%PDF-1.7", "Тз на/насос?.pdf");
        assert_eq!(key, attachment_key(b"%PDF-1.7", "Тз на/насос?.pdf"));
        assert_ne!(key, attachment_key(b"%PDF-1.7 other", "Тз на/насос?.pdf"));
        assert!(key.starts_with("attachments/"));
        assert!(key.ends_with("/Тз_на_насос_.pdf"), "{key}");
    }

    #[test]
    fn configuration_problems_are_reported_together() {
        let error = Config::from_env(&HashMap::new()).unwrap_err();
        assert_eq!(error.problems.len(), 4, "{error}");
    }
}
