//! Supplier orders (заказы поставщику): what is bought for a customer order line, with
//! the supplier, status (`draft` → `ordered` → `received`) and the expected date. Goods
//! arrive through a receipt like any other; once everything ordered has come, the order
//! is `received` and final.

use super::order::OrderLine;
use crate::sales::Deal;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SupplyStatus {
    Draft,
    Ordered,
    Received,
}

/// A supplier order of one customer order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SupplierOrder {
    /// `<deal id>-S<line>`.
    pub id: String,
    pub deal_id: String,
    pub line: u32,
    pub article: String,
    pub catalogued: bool,
    pub product: String,
    pub unit: String,
    pub quantity: u32,
    #[serde(default)]
    pub supplier: Option<String>,
    pub status: SupplyStatus,
    #[serde(default)]
    pub expected_date: Option<NaiveDate>,
    /// Units received so far.
    #[serde(default)]
    pub received: u32,
    pub version: u64,
    pub updated_at: DateTime<Utc>,
}

/// What the warehouse or a head changes before the goods arrive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct SupplyEdit {
    /// `draft` or `ordered`; `received` comes from a receipt only.
    pub status: Option<SupplyStatus>,
    pub supplier: Option<String>,
    pub expected_date: Option<NaiveDate>,
}

/// Why a supplier order change or receipt was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupplyRefusal {
    #[error("the supplier order is received in full; it takes no more changes")]
    Received,
    #[error("a supplier order becomes received by receiving its goods")]
    ReceivedByReceipt,
    #[error("the supplier's name is 1 to 200 characters")]
    Supplier,
    #[error("an order with goods received cannot go back to draft")]
    BackToDraft,
    #[error("{0} more units are expected at most")]
    TooMany(u32),
    #[error("nothing to change")]
    Nothing,
}

impl SupplyRefusal {
    pub fn field(&self) -> &'static str {
        match self {
            Self::Supplier => "supplier",
            Self::TooMany(_) => "quantity",
            _ => "status",
        }
    }
}

impl SupplierOrder {
    pub fn draft(
        deal: &Deal,
        line: &OrderLine,
        quantity: u32,
        supplier: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: format!("{}-S{}", deal.id, line.line),
            deal_id: deal.id.clone(),
            line: line.line,
            article: line.article.clone(),
            catalogued: line.catalogued,
            product: line.product.clone(),
            unit: line.unit.clone(),
            quantity,
            supplier,
            status: SupplyStatus::Draft,
            expected_date: None,
            received: 0,
            version: 1,
            updated_at: now,
        }
    }

    /// Units still to come.
    pub fn outstanding(&self) -> u32 {
        self.quantity.saturating_sub(self.received)
    }

    pub fn edited(&self, edit: &SupplyEdit, now: DateTime<Utc>) -> Result<Self, SupplyRefusal> {
        if self.status == SupplyStatus::Received {
            return Err(SupplyRefusal::Received);
        }
        if edit == &SupplyEdit::default() {
            return Err(SupplyRefusal::Nothing);
        }
        match edit.status {
            Some(SupplyStatus::Received) => return Err(SupplyRefusal::ReceivedByReceipt),
            Some(SupplyStatus::Draft) if self.received > 0 => {
                return Err(SupplyRefusal::BackToDraft);
            }
            _ => {}
        }
        let mut new = self.clone();
        if let Some(supplier) = &edit.supplier {
            let supplier = supplier.trim();
            if supplier.is_empty() || supplier.chars().count() > 200 {
                return Err(SupplyRefusal::Supplier);
            }
            new.supplier = Some(supplier.to_owned());
        }
        if let Some(status) = edit.status {
            new.status = status;
        }
        if edit.expected_date.is_some() {
            new.expected_date = edit.expected_date;
        }
        new.version += 1;
        new.updated_at = now;
        Ok(new)
    }

    /// The order after `quantity` units arrived: `received` once all have.
    pub fn receive(&self, quantity: u32, now: DateTime<Utc>) -> Result<Self, SupplyRefusal> {
        if self.status == SupplyStatus::Received {
            return Err(SupplyRefusal::Received);
        }
        if quantity == 0 || quantity > self.outstanding() {
            return Err(SupplyRefusal::TooMany(self.outstanding()));
        }
        let mut new = self.clone();
        new.received += quantity;
        new.status = if new.outstanding() == 0 {
            SupplyStatus::Received
        } else {
            SupplyStatus::Ordered
        };
        new.version += 1;
        new.updated_at = now;
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::book::place_order;
    use crate::orders::book::tests::{agreed, item};
    use std::collections::HashMap;

    fn order() -> SupplierOrder {
        let mut line = item(None, 5);
        line.purchase = true;
        let deal = agreed(vec![line]);
        place_order(&deal, &HashMap::new(), &HashMap::new(), Utc::now()).supply[0].clone()
    }

    #[test]
    fn ordered_then_received_in_parts_and_final() {
        let draft = order();
        assert_eq!(
            draft.edited(
                &SupplyEdit {
                    supplier: Some(" ".into()),
                    ..SupplyEdit::default()
                },
                Utc::now()
            ),
            Err(SupplyRefusal::Supplier)
        );
        assert_eq!(
            draft.edited(
                &SupplyEdit {
                    status: Some(SupplyStatus::Received),
                    ..SupplyEdit::default()
                },
                Utc::now()
            ),
            Err(SupplyRefusal::ReceivedByReceipt)
        );
        let ordered = draft
            .edited(
                &SupplyEdit {
                    status: Some(SupplyStatus::Ordered),
                    supplier: Some("ООО «Вакуум»".into()),
                    expected_date: NaiveDate::from_ymd_opt(2026, 12, 10),
                },
                Utc::now(),
            )
            .unwrap();
        let part = ordered.receive(2, Utc::now()).unwrap();
        assert_eq!(
            (part.status, part.outstanding()),
            (SupplyStatus::Ordered, 3)
        );
        assert_eq!(part.receive(4, Utc::now()), Err(SupplyRefusal::TooMany(3)));
        let all = part.receive(3, Utc::now()).unwrap();
        assert_eq!(all.status, SupplyStatus::Received);
        assert_eq!(all.receive(1, Utc::now()), Err(SupplyRefusal::Received));
    }
}
