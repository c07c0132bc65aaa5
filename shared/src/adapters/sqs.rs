//! The FIFO deal-events queue: each deal's events go out in one message group, oldest
//! first, with the event id as the deduplication id.

use super::{AwsClients, DynamoStore, is_retryable};
use crate::sales::deals::DealEventRelay;
use crate::sales::ports::{DealEventPublisher, PublishError};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use crm_domain::sales::DealEvent;

/// Publishes deal events on one FIFO queue.
#[derive(Clone, Debug)]
pub struct SqsDealEvents {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl SqsDealEvents {
    /// The relay from the table's outbox to the queue at `queue_url`.
    pub fn relay(
        store: DynamoStore,
        clients: &AwsClients,
        queue_url: &str,
    ) -> DealEventRelay<DynamoStore, SqsDealEvents> {
        DealEventRelay {
            store,
            publisher: SqsDealEvents {
                sqs: clients.sqs.clone(),
                queue_url: queue_url.to_owned(),
            },
        }
    }
}

impl DealEventPublisher for SqsDealEvents {
    /// One SendMessageBatch (at most 10 events, as the relay sends them).
    async fn publish(&self, events: &[DealEvent]) -> Result<(), PublishError> {
        let entries = events
            .iter()
            .map(|event| {
                let body = serde_json::to_string(event).map_err(|e| PublishError {
                    message: e.to_string(),
                    retryable: false,
                })?;
                SendMessageBatchRequestEntry::builder()
                    .id(format!("v{}", event.version))
                    .message_body(body)
                    .message_group_id(&event.deal_id)
                    .message_deduplication_id(event.event_id.replace('#', "-"))
                    .build()
                    .map_err(|e| PublishError {
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
            .map_err(|e| PublishError {
                retryable: is_retryable(&e),
                message: format!("SQS SendMessageBatch: {}", DisplayErrorContext(&e)),
            })?;
        if !output.failed.is_empty() {
            return Err(PublishError {
                message: format!(
                    "SQS SendMessageBatch: {} entries refused",
                    output.failed.len()
                ),
                retryable: true,
            });
        }
        Ok(())
    }
}

/// The exports queue: one message per export to run.
#[derive(Debug, Clone)]
pub struct SqsExports {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl SqsExports {
    async fn send(&self, body: String) -> Result<(), crate::ports::BlobError> {
        self.sqs
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| crate::ports::BlobError::Service {
                operation: "SendMessage",
                message: aws_sdk_sqs::error::DisplayErrorContext(&e).to_string(),
                retryable: true,
            })?;
        Ok(())
    }
}

impl crate::marketing::ports::ExportQueue for SqsExports {
    async fn enqueue(&self, export_id: &str) -> Result<(), crate::ports::BlobError> {
        self.send(serde_json::json!({ "export_id": export_id }).to_string())
            .await
    }

    async fn enqueue_scheduled(
        &self,
        segment_id: &str,
        scheduled_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), crate::ports::BlobError> {
        self.send(
            serde_json::json!({
                "segment_id": segment_id,
                "scheduled_at": scheduled_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })
            .to_string(),
        )
        .await
    }
}
