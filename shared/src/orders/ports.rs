//! What fulfilment needs from persistence. An order's every change is a change of its
//! deal: its writes ([`OrderWrite`], defined with the shared ports so that the deal's
//! write can carry them) go into the deal change's transaction ([`DealWrite::orders`]),
//! so the deal's version orders them, its flags (`production_ready`, `shipped`) change
//! with them, and their events go out on the deal's FIFO group in order.
//!
//! [`DealWrite::orders`]: crate::sales::ports::DealWrite::orders

use crate::ports::StoreError;
pub use crate::ports::{OrderWrite, StockMove};
use crate::sales::ports::DealStore;
use crate::warehouse::ports::StockStore;
use chrono::{DateTime, Utc};
use crm_domain::orders::{OrderBook, ProductionOrder};
use crm_domain::warehouse::Product;
use crm_domain::warehouse::allocation::Batch;
use std::collections::HashMap;
use std::future::Future;

/// Who got goods of a batch (traceability).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct BatchRecipient {
    pub article: String,
    pub batch_id: String,
    pub party_id: String,
    pub deal_id: String,
    pub shipment_id: String,
    pub quantity: u32,
    pub shipped_at: DateTime<Utc>,
}

/// Orders over the deals and stock they belong to.
pub trait OrderStore: DealStore + StockStore {
    /// A deal's customer order with its production and supplier orders and shipments.
    fn order_book(
        &self,
        deal_id: &str,
    ) -> impl Future<Output = Result<Option<OrderBook>, StoreError>> + Send;

    /// The catalogue products among `skus`.
    fn products(
        &self,
        skus: &[String],
    ) -> impl Future<Output = Result<HashMap<String, Product>, StoreError>> + Send;

    /// One batch of an article as it is now.
    fn batch(
        &self,
        article: &str,
        batch_id: &str,
    ) -> impl Future<Output = Result<Option<Batch>, StoreError>> + Send;

    /// Production orders not done yet, of every deal.
    fn open_production(
        &self,
    ) -> impl Future<Output = Result<Vec<ProductionOrder>, StoreError>> + Send;

    /// Who got goods of a batch, in shipping order.
    fn batch_recipients(
        &self,
        article: &str,
        batch_id: &str,
    ) -> impl Future<Output = Result<Vec<BatchRecipient>, StoreError>> + Send;
}
