//! Which batches an order line takes: **FEFO, then FIFO** — the earliest expiry first,
//! then the oldest receipt; batches past their expiry are never allocated; products
//! without expiry tracking are plain FIFO. Pure: the store then reserves exactly what this
//! says, each batch conditionally (`free >= n`), so a race loses cleanly instead of
//! overselling.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// A batch (series) of one product in stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub id: String,
    pub received_at: DateTime<Utc>,
    /// `None` for products whose expiry is not tracked.
    pub expiry: Option<NaiveDate>,
    pub on_hand: u32,
    /// Reserved for orders, not yet shipped.
    pub reserved: u32,
}

impl Batch {
    /// What is on hand and not reserved.
    pub fn free(&self) -> u32 {
        self.on_hand.saturating_sub(self.reserved)
    }

    /// Whether it may be allocated on `today`: not expired (the expiry day itself counts).
    pub fn usable_on(&self, today: NaiveDate) -> bool {
        self.expiry.is_none_or(|expiry| expiry >= today)
    }
}

/// Part of a line taken from one batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pick {
    pub batch_id: String,
    pub quantity: u32,
}

/// What a line gets: the picks, in the order they were taken, and what stock cannot cover
/// (for production or a supplier).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Allocation {
    pub picks: Vec<Pick>,
    pub missing: u32,
}

/// The order batches are taken in: expiring first (earliest expiry), then untracked, each
/// by receipt and id (so equal batches always come in the same order).
pub fn fefo_order(a: &Batch, b: &Batch) -> Ordering {
    let expiry_key = |batch: &Batch| (batch.expiry.is_none(), batch.expiry);
    expiry_key(a)
        .cmp(&expiry_key(b))
        .then(a.received_at.cmp(&b.received_at))
        .then_with(|| a.id.cmp(&b.id))
}

/// Allocates `quantity` units from `batches` on `today`.
pub fn allocate(batches: &[Batch], quantity: u32, today: NaiveDate) -> Allocation {
    let mut usable: Vec<&Batch> = batches
        .iter()
        .filter(|b| b.free() > 0 && b.usable_on(today))
        .collect();
    usable.sort_by(|a, b| fefo_order(a, b));
    let mut allocation = Allocation {
        picks: Vec::new(),
        missing: quantity,
    };
    for batch in usable {
        if allocation.missing == 0 {
            break;
        }
        let take = batch.free().min(allocation.missing);
        allocation.picks.push(Pick {
            batch_id: batch.id.clone(),
            quantity: take,
        });
        allocation.missing -= take;
    }
    allocation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(id: &str, received_day: u32, expiry: Option<(i32, u32, u32)>, on_hand: u32) -> Batch {
        Batch {
            id: id.into(),
            received_at: format!("2026-11-{received_day:02}T10:00:00Z")
                .parse()
                .unwrap(),
            expiry: expiry.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)),
            on_hand,
            reserved: 0,
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    #[test]
    fn the_earliest_expiry_goes_first_then_the_oldest_receipt() {
        let batches = [
            batch("late-expiry-old", 1, Some((2027, 6, 1)), 10),
            batch("early-expiry-new", 20, Some((2027, 1, 1)), 5),
            batch("untracked-oldest", 1, None, 10),
            batch("early-expiry-old", 10, Some((2027, 1, 1)), 5),
        ];
        let allocation = allocate(&batches, 12, today());
        let picks: Vec<(&str, u32)> = allocation
            .picks
            .iter()
            .map(|p| (p.batch_id.as_str(), p.quantity))
            .collect();
        assert_eq!(
            picks,
            [
                ("early-expiry-old", 5),
                ("early-expiry-new", 5),
                ("late-expiry-old", 2)
            ]
        );
        assert_eq!(allocation.missing, 0);
    }

    #[test]
    fn expired_and_reserved_stock_is_never_taken_and_the_shortfall_is_told() {
        let mut reserved = batch("reserved", 2, Some((2027, 1, 1)), 4);
        reserved.reserved = 3;
        let batches = [
            batch("expired", 1, Some((2026, 11, 28)), 100),
            batch("expires-today", 3, Some((2026, 11, 29)), 2),
            reserved,
        ];
        let allocation = allocate(&batches, 10, today());
        assert_eq!(
            allocation.picks,
            [
                Pick {
                    batch_id: "expires-today".into(),
                    quantity: 2
                },
                Pick {
                    batch_id: "reserved".into(),
                    quantity: 1
                }
            ]
        );
        assert_eq!(allocation.missing, 7);
    }
}
