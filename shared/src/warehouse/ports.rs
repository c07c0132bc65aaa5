//! What the warehouse needs from persistence: a product's batches, and a reservation
//! written so that stock can never go below zero. Implemented by `adapters::dynamo`
//! (conditional writes in one transaction) and by `memory`.

use crate::ports::StoreError;
use crm_domain::kernel::audit::AuditEntry;
use crm_domain::warehouse::allocation::{Batch, Pick};
use std::future::Future;

/// Stock reserved for one order line, batch by batch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reservation {
    /// The natural key of the reservation (e.g. `<order>#<line>`): reserving it twice
    /// reserves once.
    pub id: String,
    pub sku: String,
    pub picks: Vec<Pick>,
}

/// How a reservation write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReserveWrite {
    Reserved,
    /// A picked batch no longer has that much free (another order was faster): read
    /// again and allocate anew.
    StockChanged,
    /// This reservation was made before; nothing changed.
    AlreadyReserved,
}

pub trait StockStore: Send + Sync {
    /// A reservation made before, by its id.
    fn reservation(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Reservation>, StoreError>> + Send;

    /// A product's batches as they are now.
    fn batches(&self, sku: &str) -> impl Future<Output = Result<Vec<Batch>, StoreError>> + Send;

    /// Reserves every pick, each conditional on the batch still having that much free,
    /// together with the reservation record and its audit: all or nothing.
    fn reserve(
        &self,
        reservation: &Reservation,
        audit: &[AuditEntry],
    ) -> impl Future<Output = Result<ReserveWrite, StoreError>> + Send;
}
