//! The ports every bounded context shares, in domain terms: the errors a store, the blob
//! store and the notifier report (each saying whether a retry can help), the staff and
//! party directory, notifications, and system tasks. Context ports are in
//! [`crate::intake::ports`] and [`crate::sales::ports`]; adapters are in
//! [`crate::adapters`] (AWS) and [`crate::memory`] (in-memory, for unit tests).

use crm_domain::kernel::ErrorKind;
use crm_domain::party::Counterparty;
use crm_domain::sales::Task;
use crm_domain::staff::{Employee, Notification};
use std::future::Future;

/// A store failure, with whether a retry can help.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB {operation} failed: {message}")]
    Service {
        operation: &'static str,
        message: String,
        retryable: bool,
    },
    /// An item that does not map to its domain type: a bug or a manual edit.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Service {
                retryable: true, ..
            } => ErrorKind::Transient,
            Self::Service {
                retryable: false, ..
            }
            | Self::Corrupt(_) => ErrorKind::Permanent,
        }
    }
}

/// An S3 failure, with whether a retry can help.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("s3://{bucket}/{key} does not exist")]
    NotFound { bucket: String, key: String },
    #[error("s3://{bucket}/{key} is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        bucket: String,
        key: String,
        size: i64,
        limit: usize,
    },
    #[error("S3 {operation} failed: {message}")]
    Service {
        operation: &'static str,
        message: String,
        retryable: bool,
    },
}

impl BlobError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound { .. } | Self::TooLarge { .. } => ErrorKind::Permanent,
            Self::Service {
                retryable: true, ..
            } => ErrorKind::Transient,
            Self::Service {
                retryable: false, ..
            } => ErrorKind::Permanent,
        }
    }
}

/// A notification that could not be sent.
#[derive(Debug, thiserror::Error)]
#[error("SES SendEmail failed: {message}")]
pub struct NotifyError {
    pub message: String,
    pub retryable: bool,
}

impl NotifyError {
    pub fn kind(&self) -> ErrorKind {
        if self.retryable {
            ErrorKind::Transient
        } else {
            ErrorKind::Permanent
        }
    }
}

/// Who works here and who the parties are: the reads every use case needs.
pub trait Directory: Send + Sync {
    fn counterparty(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Counterparty>, StoreError>> + Send;

    fn employee(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Employee>, StoreError>> + Send;

    /// Sales heads who are at work.
    fn active_heads(&self) -> impl Future<Output = Result<Vec<Employee>, StoreError>> + Send;
}

/// Tasks the system creates by itself, once each (their ids come from what caused them).
pub trait SystemTasks: Send + Sync {
    /// Stores a new task; `false` when a task with its id exists already.
    fn put_task_if_absent(
        &self,
        task: &Task,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Sends notifications to staff (SES in the cloud).
pub trait Notifier: Send + Sync {
    fn send(
        &self,
        notification: &Notification,
    ) -> impl Future<Output = Result<(), NotifyError>> + Send;
}

/// The active employee of `id`, if any.
pub async fn active_employee<D: Directory>(
    directory: &D,
    id: &str,
) -> Result<Option<Employee>, StoreError> {
    Ok(directory.employee(id).await?.filter(|e| e.active))
}
