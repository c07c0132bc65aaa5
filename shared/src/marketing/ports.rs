//! What marketing needs from persistence and storage: segments, the contact cards page by
//! page (narrowed by department and kind in the store's keys, never a scan of the table),
//! the addresses opted out, export records, and where export files go. Implemented by
//! `adapters::dynamo` and `adapters::s3`, and by `memory`.

use crate::ports::{BlobError, Directory, StoreError, SystemTasks};
use crm_domain::kernel::Department;
use crm_domain::kernel::audit::AuditEntry;
use crm_domain::marketing::unsubscribes::OptOut;
use crm_domain::marketing::{ContactCard, ExportRecord, ExportSchedule, Segment};
use crm_domain::party::CounterpartyKind;
use crm_domain::staff::Employee;
use std::collections::HashSet;
use std::future::Future;
use std::path::Path;

/// One page of contact cards and where the next starts.
#[derive(Debug, Clone, Default)]
pub struct CardPage {
    pub cards: Vec<ContactCard>,
    /// The last party id of this page; `None` when the partition is done.
    pub next_after: Option<String>,
}

pub trait MarketingStore: Directory + SystemTasks {
    fn segment(&self, id: &str)
    -> impl Future<Output = Result<Option<Segment>, StoreError>> + Send;

    /// Saves a segment, conditional on the version read (`None`: a new one); `false` when
    /// it changed meanwhile.
    fn save_segment(
        &self,
        segment: &Segment,
        expected_version: Option<u64>,
        audit: &[AuditEntry],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn delete_segment(
        &self,
        id: &str,
        audit: &[AuditEntry],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn segments(&self) -> impl Future<Output = Result<Vec<Segment>, StoreError>> + Send;

    /// The cards of one department (`None`: not routed yet) and kind, in party order,
    /// after `after`.
    fn cards_page(
        &self,
        department: Option<Department>,
        kind: CounterpartyKind,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<CardPage, StoreError>> + Send;

    /// Which of `emails` (lower case) are opted out.
    fn opted_out(
        &self,
        emails: &[String],
    ) -> impl Future<Output = Result<HashSet<String>, StoreError>> + Send;

    /// Records opt-outs (an address already recorded keeps its first record).
    fn put_opt_outs(
        &self,
        opt_outs: &[OptOut],
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    fn export(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ExportRecord>, StoreError>> + Send;

    /// Saves an export record; a new one (`create`) only if absent — `false` then means
    /// it existed.
    fn save_export(
        &self,
        record: &ExportRecord,
        create: bool,
        audit: &[AuditEntry],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Everyone on the staff (names for the call list).
    fn employees(&self) -> impl Future<Output = Result<Vec<Employee>, StoreError>> + Send;
}

/// Where export files go (the exports bucket).
pub trait ExportFiles: Send + Sync {
    fn put_file(
        &self,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> impl Future<Output = Result<(), BlobError>> + Send;

    fn put_bytes(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<(), BlobError>> + Send;
}

/// The queue exports wait in for the exports function.
pub trait ExportQueue: Send + Sync {
    fn enqueue(&self, export_id: &str) -> impl Future<Output = Result<(), BlobError>> + Send;

    /// What a segment's schedule sends when it fires.
    fn enqueue_scheduled(
        &self,
        segment_id: &str,
        scheduled_at: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<(), BlobError>> + Send;
}

/// The schedules that export segments by themselves (EventBridge Scheduler in the cloud:
/// one schedule per segment, sending `{"segment_id", "scheduled_at"}` to the exports
/// queue).
pub trait SegmentSchedules: Send + Sync {
    /// Creates or replaces the schedule of a segment.
    fn put(
        &self,
        segment_id: &str,
        schedule: &ExportSchedule,
    ) -> impl Future<Output = Result<(), BlobError>> + Send;

    /// Removes it (nothing when there is none).
    fn remove(&self, segment_id: &str) -> impl Future<Output = Result<(), BlobError>> + Send;
}
