//! The ports every bounded context shares, in domain terms: the errors a store, the blob
//! store and the notifier report (each saying whether a retry can help), the staff and
//! party directory, notifications, system tasks, and the order writes a deal change
//! carries ([`OrderWrite`]). Context ports are in [`crate::intake::ports`],
//! [`crate::sales::ports`], [`crate::warehouse::ports`] and [`crate::orders::ports`];
//! adapters are in
//! [`crate::adapters`] (AWS) and [`crate::memory`] (in-memory, for unit tests).

use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::kernel::ErrorKind;
use crm_domain::orders::{CustomerOrder, ProductionOrder, Shipment, SupplierOrder};
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

/// A batch's stock moved from `before` to `after` (on hand, reserved): the write is
/// conditional on the batch still being exactly `before` (`None`: a new batch), so the
/// audit's before → after is true and nothing is lost to a race.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockMove {
    pub article: String,
    pub batch_id: String,
    pub before: Option<(u32, u32)>,
    pub after: (u32, u32),
    /// For a new batch: its expiry and receipt time.
    pub expiry: Option<NaiveDate>,
    pub received_at: DateTime<Utc>,
}

/// One write of fulfilment, part of a deal change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderWrite {
    /// The customer order, placed: it must not exist yet (one order per deal).
    PlaceOrder(CustomerOrder),
    /// The customer order as it becomes (the deal's version guards it).
    Order(CustomerOrder),
    /// A production order: new (`None`) or conditional on the version read.
    Production {
        order: ProductionOrder,
        expected_version: Option<u64>,
    },
    Supply {
        order: SupplierOrder,
        expected_version: Option<u64>,
    },
    Stock(StockMove),
    /// A shipment (once per id), with who got which batch.
    Shipment(Shipment),
}
