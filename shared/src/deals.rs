//! Deal changes and their events. Every change to a deal is written in one transaction
//! together with its audit entries and an outbox item holding the event; the event is then
//! sent to the FIFO deal-events queue (message group = deal) and the outbox item removed.
//! A writer that crashes between the two leaves the outbox item, which the next change of
//! that deal or the sweeper sends — always every pending event of the deal, oldest first,
//! so the queue keeps each deal's order.

use crate::aws::is_retryable;
use crate::domain::{Deal, DealStage, Department, audit_entries};
use crate::store::{DealWrite, DynamoStore, StoreError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What happened to a deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DealEventKind {
    Created,
    Edited { fields: Vec<String> },
    StageChanged { from: DealStage, to: DealStage },
}

/// One event of a deal, as sent on the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealEvent {
    /// `<deal id>#<version>`: unique, and the queue's deduplication id.
    pub event_id: String,
    pub deal_id: String,
    /// The deal's version after the change; events of a deal are numbered 1, 2, 3…
    pub version: u64,
    pub kind: DealEventKind,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub department: Department,
    pub manager_id: String,
    /// The deal after the change.
    pub deal: Deal,
}

impl DealEvent {
    pub fn new(deal: &Deal, kind: DealEventKind, actor: &str) -> Self {
        Self {
            event_id: format!("{}#{}", deal.id, deal.version),
            deal_id: deal.id.clone(),
            version: deal.version,
            kind,
            actor: actor.to_owned(),
            at: deal.updated_at,
            department: deal.department,
            manager_id: deal.manager_id.clone(),
            deal: deal.clone(),
        }
    }
}

/// A change that could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum DealSaveError {
    /// Someone changed the deal since it was read: read again.
    #[error("the deal changed since version {0}")]
    Conflict(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Writes deal changes with their audit and outbox, then relays their events.
pub struct DealWriter<'a> {
    pub store: &'a DynamoStore,
    pub relay: &'a DealEventRelay,
}

impl DealWriter<'_> {
    /// Saves `new` (whose version must be `old.version + 1`) as a change by `actor`.
    /// `extra` are further writes of the same transaction (the inquiry, the counterparty).
    pub async fn save(
        &self,
        old: Option<&Deal>,
        new: &Deal,
        kind: DealEventKind,
        actor: &str,
        source: &str,
        extra: DealWrite,
    ) -> Result<DealEvent, DealSaveError> {
        let event = DealEvent::new(new, kind, actor);
        let audit = audit_entries("deal", &new.id, old, new, actor, source, new.updated_at);
        let written = self
            .store
            .save_deal(old.map(|d| d.version), new, &audit, &event, extra)
            .await?;
        if !written {
            return Err(DealSaveError::Conflict(
                old.map(|d| d.version).unwrap_or_default(),
            ));
        }
        // The change is committed; a failed send leaves the event for the sweeper.
        if let Err(error) = self.relay.flush(&new.id).await {
            tracing::warn!(deal = %new.id, %error, "deal event left in the outbox for the sweeper");
        }
        Ok(event)
    }
}

/// Why events could not be relayed (they stay in the outbox).
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("SQS {operation} failed: {message}")]
    Queue {
        operation: &'static str,
        message: String,
        retryable: bool,
    },
}

/// Sends outbox events to the FIFO deal-events queue.
#[derive(Clone, Debug)]
pub struct DealEventRelay {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub store: DynamoStore,
}

impl DealEventRelay {
    /// Sends every pending event of a deal, oldest first, then removes them from the
    /// outbox. Returns how many were sent.
    pub async fn flush(&self, deal_id: &str) -> Result<usize, RelayError> {
        let pending = self.store.pending_deal_events(deal_id).await?;
        for chunk in pending.chunks(10) {
            let entries = chunk
                .iter()
                .map(|event| {
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(format!("v{}", event.version))
                        .message_body(serde_json::to_string(event).unwrap_or_default())
                        .message_group_id(&event.deal_id)
                        .message_deduplication_id(event.event_id.replace('#', "-"))
                        .build()
                        .map_err(|e| RelayError::Queue {
                            operation: "SendMessageBatch",
                            message: e.to_string(),
                            retryable: false,
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .sqs
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| RelayError::Queue {
                    operation: "SendMessageBatch",
                    retryable: is_retryable(&e),
                    message: aws_sdk_sqs::error::DisplayErrorContext(&e).to_string(),
                })?;
            if !output.failed.is_empty() {
                return Err(RelayError::Queue {
                    operation: "SendMessageBatch",
                    message: format!("{} entries refused", output.failed.len()),
                    retryable: true,
                });
            }
            for event in chunk {
                self.store
                    .delete_pending_deal_event(&event.deal_id, event.version)
                    .await?;
            }
        }
        Ok(pending.len())
    }

    /// Relays the events of every deal with something pending (the scheduled sweeper).
    pub async fn sweep(&self) -> Result<usize, RelayError> {
        let mut sent = 0;
        for deal_id in self.store.deals_with_pending_events().await? {
            sent += self.flush(&deal_id).await?;
        }
        Ok(sent)
    }
}
