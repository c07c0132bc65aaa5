//! Deal events: every change to a deal is one event, numbered by the deal's version, sent
//! on the FIFO deal-events queue (one message group per deal) through the outbox.

use super::deal::{Deal, DealStage};
use crate::kernel::Department;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What happened to a deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DealEventKind {
    Created,
    Edited {
        fields: Vec<String>,
    },
    StageChanged {
        from: DealStage,
        to: DealStage,
    },
    /// The customer order was placed from the agreed items and split.
    OrderPlaced,
    /// A production order of the deal changed (status, readiness, dates).
    ProductionChanged {
        production_id: String,
    },
    /// A supplier order of the deal changed.
    SupplyChanged {
        supply_id: String,
    },
    /// Goods made or bought for the deal were received into stock and reserved for it.
    GoodsReceived {
        batch_id: String,
        quantity: u32,
    },
    /// A shipment of the deal's goods left the warehouse.
    Shipped {
        shipment_id: String,
    },
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
