//! Plays Lambda's SQS event source mapping: receives a batch, hands it to the same handler
//! the Lambda runs, deletes what succeeded and leaves the reported failures on the queue,
//! where the redrive policy moves them to the DLQ after `maxReceiveCount` receives.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use futures::future::BoxFuture;
use std::sync::Arc;

/// A queue consumer: the function's batch handler.
pub type BatchHandler = Arc<dyn Fn(SqsEvent) -> BoxFuture<'static, SqsBatchResponse> + Send + Sync>;

/// One queue wired to its function.
#[derive(Clone)]
pub struct QueueBinding {
    pub queue_url: String,
    pub queue_arn: String,
    pub batch_size: i32,
    pub handler: BatchHandler,
}

/// What one poll did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollOutcome {
    pub received: usize,
    pub failed: usize,
}

fn to_event_message(message: &aws_sdk_sqs::types::Message, queue_arn: &str) -> Option<SqsMessage> {
    let attributes: serde_json::Map<String, serde_json::Value> = message
        .attributes()
        .map(|a| {
            a.iter()
                .map(|(k, v)| (k.as_str().to_owned(), serde_json::Value::String(v.clone())))
                .collect()
        })
        .unwrap_or_default();
    let region = queue_arn.split(':').nth(3).unwrap_or_default();
    serde_json::from_value(serde_json::json!({
        "messageId": message.message_id(),
        "receiptHandle": message.receipt_handle(),
        "body": message.body(),
        "md5OfBody": message.md5_of_body(),
        "attributes": attributes,
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }))
    .ok()
}

/// Receives one batch (long-polling up to `wait_seconds`) and handles it. Failed messages
/// become visible again after `retry_after_seconds` (the cloud waits the queue's whole
/// visibility timeout; locally a short pause keeps the loop quick).
pub async fn poll_once(
    sqs: &aws_sdk_sqs::Client,
    binding: &QueueBinding,
    wait_seconds: i32,
    retry_after_seconds: i32,
) -> Result<PollOutcome, String> {
    let output = sqs
        .receive_message()
        .queue_url(&binding.queue_url)
        .max_number_of_messages(binding.batch_size.clamp(1, 10))
        .wait_time_seconds(wait_seconds)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
    let messages = output.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(PollOutcome::default());
    }
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .filter_map(|m| to_event_message(m, &binding.queue_arn))
        .collect();
    let response = (binding.handler)(event).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    let mut deletes = Vec::new();
    for message in &messages {
        let id = message.message_id().unwrap_or_default();
        let handle = message.receipt_handle().unwrap_or_default();
        if failed.contains(&id) {
            let _ = sqs
                .change_message_visibility()
                .queue_url(&binding.queue_url)
                .receipt_handle(handle)
                .visibility_timeout(retry_after_seconds)
                .send()
                .await;
        } else {
            deletes.push(
                DeleteMessageBatchRequestEntry::builder()
                    .id(id)
                    .receipt_handle(handle)
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
    }
    if !deletes.is_empty() {
        sqs.delete_message_batch()
            .queue_url(&binding.queue_url)
            .set_entries(Some(deletes))
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
    }
    Ok(PollOutcome {
        received: messages.len(),
        failed: failed.len(),
    })
}

/// Polls a queue until the task is dropped.
pub async fn run(sqs: aws_sdk_sqs::Client, binding: QueueBinding) {
    loop {
        match poll_once(&sqs, &binding, 5, 5).await {
            Ok(outcome) if outcome.failed > 0 => {
                tracing::warn!(queue = %binding.queue_arn, failed = outcome.failed, "messages left for retry")
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(queue = %binding.queue_arn, %error, "receive failed; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
        }
    }
}
