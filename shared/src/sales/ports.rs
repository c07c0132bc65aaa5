//! The ports of the sales process, in domain terms: inquiries as they are routed and
//! qualified, deals with their audit trail and event outbox, the consumer's log, and the
//! queue deal events are published on. Implemented by `adapters::dynamo` and
//! `adapters::sqs` (AWS) and by `memory` (in-memory, for unit tests).

use crate::ports::{Directory, OrderWrite, StoreError, SystemTasks};
use chrono::{DateTime, Utc};
use crm_domain::intake::Inquiry;
use crm_domain::kernel::Department;
use crm_domain::kernel::ErrorKind;
use crm_domain::kernel::audit::AuditEntry;
use crm_domain::sales::{Deal, DealEvent};
use std::future::Future;

/// Further writes that belong to a deal change's transaction.
#[derive(Debug, Clone, Default)]
pub struct DealWrite {
    /// The inquiry as it becomes, and the version it must still have.
    pub inquiry: Option<(Inquiry, u64)>,
    /// A counterparty that becomes a client.
    pub client_party_id: Option<String>,
    /// Audit entries of those other records.
    pub audit: Vec<AuditEntry>,
    /// The customer order's writes: the deal is the aggregate that orders its story.
    pub orders: Vec<OrderWrite>,
}

/// One inquiry change as it is written: the inquiry (conditional on the version it was
/// read at), its audit entries and, when routed, its counterparty's new responsible
/// manager.
#[derive(Debug)]
pub struct InquiryChange<'a> {
    pub expected_version: u64,
    pub inquiry: &'a Inquiry,
    pub audit: &'a [AuditEntry],
    pub assignment: Option<&'a Assignment>,
}

/// A counterparty's new responsible manager, set when one of its inquiries is routed.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub party_id: String,
    pub manager_id: String,
    pub department: Department,
    /// The owner as read: the write holds only if nobody changed it meanwhile.
    pub was_manager_id: Option<String>,
    pub was_department: Option<Department>,
}

/// Inquiries on their way from intake to a deal.
pub trait InquiryStore: Directory {
    fn inquiry(&self, id: &str)
    -> impl Future<Output = Result<Option<Inquiry>, StoreError>> + Send;

    /// Saves an inquiry change (see [`InquiryChange`]); `false` when the inquiry changed
    /// since `expected_version` was read.
    fn save_inquiry(
        &self,
        change: InquiryChange<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Routed inquiries whose first-response deadline passed by `now`.
    fn overdue_first_responses(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Inquiry>, StoreError>> + Send;

    /// Unrouted inquiries, oldest first.
    fn unrouted_inquiries(&self) -> impl Future<Output = Result<Vec<Inquiry>, StoreError>> + Send;

    /// Routed inquiries still waiting for their manager, soonest deadline first.
    fn awaiting_inquiries(&self) -> impl Future<Output = Result<Vec<Inquiry>, StoreError>> + Send;
}

/// One deal change as it is written: the deal (conditional on `expected_version`, `None`
/// for a new deal), its audit entries, its outbox event and the `extra` writes.
#[derive(Debug)]
pub struct DealChange<'a> {
    pub expected_version: Option<u64>,
    pub deal: &'a Deal,
    pub audit: &'a [AuditEntry],
    pub event: &'a DealEvent,
    pub extra: DealWrite,
}

/// Deals, their outbox and the consumer's log.
pub trait DealStore: Directory + SystemTasks {
    fn deal(&self, id: &str) -> impl Future<Output = Result<Option<Deal>, StoreError>> + Send;

    /// Saves a deal change in one transaction (see [`DealChange`]). `false` when the deal
    /// or the inquiry changed meanwhile.
    fn save_deal(
        &self,
        change: DealChange<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A deal's events not yet on the queue, oldest first.
    fn pending_deal_events(
        &self,
        deal_id: &str,
    ) -> impl Future<Output = Result<Vec<DealEvent>, StoreError>> + Send;

    fn delete_pending_deal_event(
        &self,
        deal_id: &str,
        version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deals that have events waiting in the outbox.
    fn deals_with_pending_events(
        &self,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Records that the consumer handled an event; `false` when it had already.
    fn record_consumed_deal_event(
        &self,
        event: &DealEvent,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Why events could not be published (they stay in the outbox).
#[derive(Debug, thiserror::Error)]
#[error("publishing deal events failed: {message}")]
pub struct PublishError {
    pub message: String,
    pub retryable: bool,
}

impl PublishError {
    pub fn kind(&self) -> ErrorKind {
        if self.retryable {
            ErrorKind::Transient
        } else {
            ErrorKind::Permanent
        }
    }
}

/// The queue deal events go out on (SQS FIFO in the cloud): one ordered group per deal.
pub trait DealEventPublisher: Send + Sync {
    /// Publishes events of one deal, oldest first; all or an error.
    fn publish(
        &self,
        events: &[DealEvent],
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}
