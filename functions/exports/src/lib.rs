//! The exports function: consumes the exports queue. A message is an export to run
//! (`{"export_id": …}`, queued by the API), a segment's schedule firing
//! (`{"segment_id", "scheduled_at"}`: one export per segment and time), or the exports
//! bucket telling that a Mailchimp unsubscribed/cleaned file was put under
//! `imports/mailchimp/`, whose addresses are recorded as opted out. Each message stands
//! alone (a standard queue: failures are reported one by one and retried, then the DLQ).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use crm_domain::marketing::unsubscribes::read_mailchimp;
use crm_shared::adapters::{AwsClients, Blobs, DynamoStore, ExportBucket};
use crm_shared::config::{BaseConfig, ConfigError, EnvReader};
use crm_shared::error::error_chain;
use crm_shared::marketing::exports::{ExportError, Exporter, scheduled_export};
use crm_shared::marketing::ports::MarketingStore;
use crm_shared::ports::{BlobError, StoreError};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::PathBuf;

/// The largest Mailchimp file read (some 300,000 addresses): it is read whole, in a
/// 128 MB function.
const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;
/// Where imported files are put.
pub const IMPORTS_PREFIX: &str = "imports/mailchimp/";

/// The function's configuration, from the variables the template sets.
#[derive(Debug, Clone)]
pub struct Config {
    pub base: BaseConfig,
    pub exports_bucket: String,
    /// Scratch space for files being written (`/tmp` in Lambda).
    pub scratch: PathBuf,
}

impl Config {
    pub fn from_env(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(vars);
        let base = BaseConfig::read(&mut env);
        let exports_bucket = env.required("EXPORTS_BUCKET");
        let scratch = env
            .optional("SCRATCH_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        env.finish()?;
        Ok(Self {
            base,
            exports_bucket,
            scratch,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportsError {
    #[error("the message is neither an export nor an S3 notification: {0}")]
    Unreadable(String),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Files(#[from] BlobError),
}

#[derive(Deserialize)]
struct ExportMessage {
    export_id: String,
}

/// What a segment's schedule sends when it fires.
#[derive(Deserialize)]
struct ScheduledMessage {
    segment_id: String,
    scheduled_at: chrono::DateTime<Utc>,
}

#[derive(Deserialize)]
struct S3Notification {
    #[serde(rename = "Records", default)]
    records: Vec<S3Record>,
}

#[derive(Deserialize)]
struct S3Record {
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: S3Bucket,
    object: S3Object,
}

#[derive(Deserialize)]
struct S3Bucket {
    name: String,
}

#[derive(Deserialize)]
struct S3Object {
    key: String,
}

/// The handler with its adapters, built once per cold start.
pub struct ExportsHandler {
    store: DynamoStore,
    files: ExportBucket,
    blobs: Blobs,
    scratch: PathBuf,
}

impl ExportsHandler {
    pub fn new(config: &Config, clients: &AwsClients) -> Self {
        let blobs = Blobs::new(clients.s3.clone());
        Self {
            store: config.base.store(clients),
            files: ExportBucket {
                blobs: blobs.clone(),
                bucket: config.exports_bucket.clone(),
            },
            blobs,
            scratch: config.scratch.clone(),
        }
    }

    /// Handles a batch; each failed message is reported for a retry on its own.
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in &event.records {
            if let Err(error) = self.handle(record).await {
                let id = record.message_id.clone().unwrap_or_default();
                tracing::error!(message_id = %id, error = error_chain(&error), "export message not handled");
                response.add_failure(id);
            }
        }
        response
    }

    async fn handle(&self, record: &SqsMessage) -> Result<(), ExportsError> {
        let body = record.body.as_deref().unwrap_or_default();
        let exporter = Exporter {
            store: &self.store,
            files: &self.files,
            scratch: self.scratch.clone(),
        };
        if let Ok(message) = serde_json::from_str::<ExportMessage>(body) {
            let done = Box::pin(exporter.run(&message.export_id, Utc::now())).await?;
            tracing::info!(export = %done.id, contacts = done.contacts, "export written");
            return Ok(());
        }
        if let Ok(message) = serde_json::from_str::<ScheduledMessage>(body) {
            let done = Box::pin(scheduled_export(
                &exporter,
                &message.segment_id,
                message.scheduled_at,
                Utc::now(),
            ))
            .await?;
            match done {
                Some(done) => {
                    tracing::info!(export = %done.id, contacts = done.contacts, "scheduled export written")
                }
                None => {
                    tracing::warn!(segment = %message.segment_id, "a schedule fired for a segment that is gone")
                }
            }
            return Ok(());
        }
        let notification: S3Notification =
            serde_json::from_str(body).map_err(|e| ExportsError::Unreadable(e.to_string()))?;
        for record in notification.records {
            let key = percent_decode(&record.s3.object.key);
            if !key.starts_with(IMPORTS_PREFIX) {
                continue;
            }
            self.import(&record.s3.bucket.name, &key).await?;
        }
        Ok(())
    }

    /// Records the addresses of a Mailchimp unsubscribed or cleaned file as opted out.
    pub async fn import(&self, bucket: &str, key: &str) -> Result<usize, ExportsError> {
        let bytes = self.blobs.get(bucket, key, MAX_IMPORT_BYTES).await?;
        let source = format!("mailchimp:{key}");
        let imported = read_mailchimp(&bytes, &source, Utc::now())
            .map_err(|e| ExportsError::Unreadable(format!("{key}: {e}")))?;
        let recorded = self.store.put_opt_outs(&imported.opt_outs).await?;
        tracing::info!(
            key,
            recorded,
            skipped = imported.skipped,
            "opt-outs imported"
        );
        Ok(recorded)
    }
}

/// S3 event keys are URL-encoded with `+` for spaces.
fn percent_decode(key: &str) -> String {
    percent_encoding::percent_decode_str(&key.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_keys_are_decoded() {
        assert_eq!(
            percent_decode("imports/mailchimp/unsubscribed+members%D0%90.csv"),
            "imports/mailchimp/unsubscribed membersА.csv"
        );
    }
}
