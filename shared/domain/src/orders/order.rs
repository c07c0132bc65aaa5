//! The customer order (заказ покупателя): one per agreed deal, a line per deal line. Each
//! line keeps how it was split, what is in stock for it (its reserved batches) and what
//! has been shipped. It is placed by [`super::book::place_order`].
//!
//! A line without a catalogue article (custom equipment made or bought for this deal) is
//! stocked under the order's own article, `<deal id>-<line>` ([`line_article`]), so its
//! goods are received, reserved and shipped the same way as catalogued ones.

use super::split::LineSplit;
use crate::kernel::Department;
use crate::sales::{Deal, EquipmentType};
use crate::warehouse::Product;
use crate::warehouse::allocation::Pick;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One line of a customer order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderLine {
    /// The line's position in the deal, from 1.
    pub line: u32,
    /// The catalogue article, or the order's own ([`line_article`]).
    pub article: String,
    /// Whether `article` is a catalogue product (else the order's own article).
    pub catalogued: bool,
    pub product: String,
    pub unit: String,
    pub equipment_type: EquipmentType,
    pub quantity: u32,
    pub unit_price_kopecks: i64,
    /// How the line was split when the order was placed.
    pub split: LineSplit,
    /// Stock reserved for the line and not shipped yet, batch by batch.
    #[serde(default)]
    pub reserved: Vec<Pick>,
    #[serde(default)]
    pub shipped: u32,
}

impl OrderLine {
    /// Units in stock for this line, waiting to be shipped.
    pub fn reserved_quantity(&self) -> u32 {
        self.reserved.iter().map(|p| p.quantity).sum()
    }

    pub fn fully_shipped(&self) -> bool {
        self.shipped >= self.quantity
    }
}

/// The customer order of a deal; one per deal, keyed by the deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerOrder {
    pub deal_id: String,
    pub party_id: String,
    pub department: Department,
    pub manager_id: String,
    /// Whom the goods go to, as the deal names them (the legal entity, else the
    /// contact): the warehouse's work list shows it without reading the deal.
    #[serde(default)]
    pub client: String,
    /// The deal's version when it was agreed: the event the order was made from.
    pub agreed_version: u64,
    pub lines: Vec<OrderLine>,
    pub created_at: DateTime<Utc>,
}

impl CustomerOrder {
    pub fn line_mut(&mut self, line: u32) -> Option<&mut OrderLine> {
        self.lines.iter_mut().find(|l| l.line == line)
    }

    pub fn line(&self, line: u32) -> Option<&OrderLine> {
        self.lines.iter().find(|l| l.line == line)
    }

    /// Every line has left the warehouse in full.
    pub fn is_shipped(&self) -> bool {
        self.lines.iter().all(OrderLine::fully_shipped)
    }
}

/// The order's own article for line `line` of a deal: custom goods are stocked under it.
pub fn line_article(deal_id: &str, line: u32) -> String {
    format!("{deal_id}-{line}")
}

/// A line whose article stock is reserved for before the order is placed: the natural key
/// of the reservation is `<deal>#<line>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLine {
    pub line: u32,
    pub sku: String,
    pub quantity: u32,
    pub reservation_id: String,
}

/// The lines of an agreed deal that take stock: catalogued articles not made to order.
pub fn stock_lines(deal: &Deal, products: &HashMap<String, Product>) -> Vec<StockLine> {
    deal.terms
        .items
        .iter()
        .zip(1u32..)
        .filter(|(item, _)| !item.made_to_order && item.quantity > 0)
        .filter_map(|(item, line)| {
            let sku = item.sku.as_ref().filter(|s| products.contains_key(*s))?;
            Some(StockLine {
                line,
                sku: sku.clone(),
                quantity: item.quantity,
                reservation_id: format!("{}#{line}", deal.id),
            })
        })
        .collect()
}
