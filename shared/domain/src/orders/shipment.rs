//! Shipping an order by scan. The picking list says which batches of which lines are
//! reserved and waiting ([`picking_list`], FEFO order as reserved); every scan must match
//! one of them — the product's barcode with its batch, or the label of goods made or
//! bought for the order — and a scan of anything else is refused with what was expected
//! ([`confirm_scans`]). What the scans confirm is one shipment: partial shipments are
//! fine, the order knows what is left ([`CustomerOrder::ship`]).

use super::order::CustomerOrder;
use crate::sales::DocumentRef;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most batch lines one shipment takes: each is three writes of one transaction
/// (DynamoDB takes 100). A larger order ships in parts.
pub const MAX_SHIPMENT_PICKS: usize = 25;

/// Reserved goods waiting to be shipped: one batch of one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExpectedPick {
    pub line: u32,
    pub article: String,
    pub product: String,
    pub batch_id: String,
    pub quantity: u32,
}

/// What the picking list of `order` holds: every reserved batch of every line.
pub fn picking_list(order: &CustomerOrder) -> Vec<ExpectedPick> {
    order
        .lines
        .iter()
        .flat_map(|line| {
            line.reserved.iter().map(|pick| ExpectedPick {
                line: line.line,
                article: line.article.clone(),
                product: line.product.clone(),
                batch_id: pick.batch_id.clone(),
                quantity: pick.quantity,
            })
        })
        .filter(|pick| pick.quantity > 0)
        .collect()
}

/// One scan as read: the article its barcode belongs to (`None` for a label that is not
/// a barcode: the batch label of goods made or bought for the order), the batch on it,
/// whether the product needs its batch scanned, and the units it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedGoods {
    /// What the scanner typed, to answer with.
    pub scan: String,
    pub article: Option<String>,
    pub batch: Option<String>,
    pub batch_required: bool,
    pub quantity: u32,
}

/// Goods of one batch of one line that leave in a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShippedLine {
    pub line: u32,
    pub article: String,
    pub product: String,
    pub batch_id: String,
    pub quantity: u32,
}

/// Why scans were refused; nothing is shipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ScanRefusal {
    #[error("scan {scan} is not on the picking list")]
    WrongGoods {
        scan: String,
        expected: Vec<ExpectedPick>,
    },
    /// The batch is on the picking list, and its scans already cover it.
    #[error("scan {scan} is of a batch already picked in full")]
    AlreadyPicked {
        scan: String,
        expected: Vec<ExpectedPick>,
    },
    #[error("scan {scan} has no batch (10), and this product is shipped by batch")]
    NoBatch {
        scan: String,
        expected: Vec<ExpectedPick>,
    },
    #[error("scan {scan} is for {scanned} units, only {left} are left to ship")]
    TooMany {
        scan: String,
        scanned: u32,
        left: u32,
    },
    #[error("no scans")]
    Nothing,
    #[error("a shipment takes at most {MAX_SHIPMENT_PICKS} batch lines; ship in parts")]
    TooLarge,
}

/// Matches `scans` against the picking list: every scan must be for goods on it, within
/// what is left; the answer is what ships, by line and batch in picking-list order.
pub fn confirm_scans(
    list: &[ExpectedPick],
    scans: &[ScannedGoods],
) -> Result<Vec<ShippedLine>, ScanRefusal> {
    if scans.is_empty() {
        return Err(ScanRefusal::Nothing);
    }
    let mut left: Vec<u32> = list.iter().map(|p| p.quantity).collect();
    let mut taken = BTreeMap::<usize, u32>::new();
    for scan in scans {
        let still_expected = |left: &[u32]| -> Vec<ExpectedPick> {
            list.iter()
                .zip(left)
                .filter(|(_, n)| **n > 0)
                .map(|(pick, n)| ExpectedPick {
                    quantity: *n,
                    ..pick.clone()
                })
                .collect()
        };
        if scan.batch_required && scan.batch.is_none() {
            return Err(ScanRefusal::NoBatch {
                scan: scan.scan.clone(),
                expected: still_expected(&left),
            });
        }
        let matches = |pick: &ExpectedPick| match (&scan.article, &scan.batch) {
            (Some(article), Some(batch)) => &pick.article == article && &pick.batch_id == batch,
            (Some(article), None) => &pick.article == article,
            (None, Some(label)) => &pick.batch_id == label,
            (None, None) => false,
        };
        let candidates: Vec<usize> = (0..list.len()).filter(|&i| matches(&list[i])).collect();
        let available: u32 = candidates.iter().map(|&i| left[i]).sum();
        if candidates.is_empty() {
            return Err(ScanRefusal::WrongGoods {
                scan: scan.scan.clone(),
                expected: still_expected(&left),
            });
        }
        if available == 0 {
            return Err(ScanRefusal::AlreadyPicked {
                scan: scan.scan.clone(),
                expected: still_expected(&left),
            });
        }
        if scan.quantity > available {
            return Err(ScanRefusal::TooMany {
                scan: scan.scan.clone(),
                scanned: scan.quantity,
                left: available,
            });
        }
        let mut need = scan.quantity;
        for i in candidates {
            let take = need.min(left[i]);
            left[i] -= take;
            need -= take;
            if take > 0 {
                *taken.entry(i).or_default() += take;
            }
        }
    }
    if taken.len() > MAX_SHIPMENT_PICKS {
        return Err(ScanRefusal::TooLarge);
    }
    Ok(taken
        .into_iter()
        .map(|(i, quantity)| ShippedLine {
            line: list[i].line,
            article: list[i].article.clone(),
            product: list[i].product.clone(),
            batch_id: list[i].batch_id.clone(),
            quantity,
        })
        .collect())
}

/// An order on the warehouse's work list (placed, not shipped in full): whom it goes to,
/// and how many units wait on the shelf, are still to come from production or suppliers,
/// and have left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderToShip {
    pub deal_id: String,
    pub party_id: String,
    pub client: String,
    pub department: crate::kernel::Department,
    pub manager_id: String,
    pub created_at: DateTime<Utc>,
    /// Units reserved for the order and waiting to be picked: the picking list's total.
    pub ready: u32,
    /// Units neither reserved nor shipped yet: still to be made or bought.
    pub awaited: u32,
    pub shipped: u32,
    pub quantity: u32,
}

impl OrderToShip {
    pub fn of(order: &CustomerOrder) -> Self {
        let sum = |f: fn(&super::OrderLine) -> u32| order.lines.iter().map(f).sum::<u32>();
        Self {
            deal_id: order.deal_id.clone(),
            party_id: order.party_id.clone(),
            client: order.client.clone(),
            department: order.department,
            manager_id: order.manager_id.clone(),
            created_at: order.created_at,
            ready: sum(super::OrderLine::reserved_quantity),
            awaited: sum(|l| {
                l.quantity
                    .saturating_sub(l.shipped)
                    .saturating_sub(l.reserved_quantity())
            }),
            shipped: sum(|l| l.shipped),
            quantity: sum(|l| l.quantity),
        }
    }
}

/// A shipment: what left, when, by whom, and its shipping document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Shipment {
    /// The client's request id: shipping it again ships nothing more.
    pub id: String,
    /// The document number printed on the waybill.
    pub number: String,
    pub deal_id: String,
    pub party_id: String,
    pub lines: Vec<ShippedLine>,
    pub shipped_at: DateTime<Utc>,
    pub shipped_by: String,
    #[serde(default)]
    pub document: Option<DocumentRef>,
}

impl CustomerOrder {
    /// The order after `shipped` left: each batch's reservation shrinks and the line's
    /// shipped count grows. `lines` come from [`confirm_scans`] on this order's list.
    pub fn ship(&self, shipped: &[ShippedLine]) -> CustomerOrder {
        let mut order = self.clone();
        for part in shipped {
            if let Some(line) = order.line_mut(part.line) {
                if let Some(pick) = line
                    .reserved
                    .iter_mut()
                    .find(|p| p.batch_id == part.batch_id)
                {
                    pick.quantity = pick.quantity.saturating_sub(part.quantity);
                }
                line.reserved.retain(|p| p.quantity > 0);
                line.shipped = line.shipped.saturating_add(part.quantity);
            }
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::book::place_order;
    use crate::orders::book::tests::{agreed, item, product};
    use crate::warehouse::ProductKind;
    use crate::warehouse::allocation::{Allocation, Pick};

    fn order() -> CustomerOrder {
        let products = [("OIL".to_owned(), product("OIL", ProductKind::Purchased))].into();
        let deal = agreed(vec![item(Some("OIL"), 5)]);
        let reserved = [(
            1,
            Allocation {
                picks: vec![
                    Pick {
                        batch_id: "EARLY".into(),
                        quantity: 2,
                    },
                    Pick {
                        batch_id: "LATE".into(),
                        quantity: 3,
                    },
                ],
                missing: 0,
            },
        )]
        .into();
        place_order(&deal, &products, &reserved, Utc::now()).order
    }

    #[test]
    fn the_work_list_counts_what_waits_on_the_shelf_what_is_still_to_come_and_what_left() {
        let products = [("OIL".to_owned(), product("OIL", ProductKind::Purchased))].into();
        let mut deal = agreed(vec![item(Some("OIL"), 5), item(None, 1)]);
        deal.terms.contact.name = "Иван Петров".into();
        assert_eq!(deal.terms.client_name(), "Иван Петров");
        deal.terms.legal_entity.name = "ООО «Заказчик»".into();
        let reserved = [(
            1,
            Allocation {
                picks: vec![Pick {
                    batch_id: "EARLY".into(),
                    quantity: 2,
                }],
                missing: 3,
            },
        )]
        .into();
        let order = place_order(&deal, &products, &reserved, Utc::now()).order;
        let listed = OrderToShip::of(&order);
        assert_eq!(
            (
                listed.ready,
                listed.awaited,
                listed.shipped,
                listed.quantity
            ),
            (2, 4, 0, 6)
        );
        assert_eq!(listed.client, "ООО «Заказчик»");
        let part = order.ship(&[ShippedLine {
            line: 1,
            article: "OIL".into(),
            product: "oil".into(),
            batch_id: "EARLY".into(),
            quantity: 2,
        }]);
        let listed = OrderToShip::of(&part);
        assert_eq!((listed.ready, listed.awaited, listed.shipped), (0, 4, 2));
        assert!(!part.is_shipped());
    }

    #[test]
    fn an_order_is_shipped_when_every_line_left_in_full() {
        let mut order = order();
        assert!(!order.is_shipped());
        let all = picking_list(&order)
            .into_iter()
            .map(|p| ShippedLine {
                line: p.line,
                article: p.article,
                product: p.product,
                batch_id: p.batch_id,
                quantity: p.quantity,
            })
            .collect::<Vec<_>>();
        order = order.ship(&all);
        assert!(order.is_shipped());
        assert_eq!(OrderToShip::of(&order).ready, 0);
    }

    fn scan(article: Option<&str>, batch: Option<&str>, quantity: u32) -> ScannedGoods {
        ScannedGoods {
            scan: format!("{article:?}/{batch:?}"),
            article: article.map(Into::into),
            batch: batch.map(Into::into),
            batch_required: true,
            quantity,
        }
    }

    #[test]
    fn the_right_batches_ship_and_the_order_remembers_what_is_left() {
        let order = order();
        let list = picking_list(&order);
        assert_eq!(list.len(), 2);
        let shipped = confirm_scans(
            &list,
            &[
                scan(Some("OIL"), Some("EARLY"), 2),
                scan(Some("OIL"), Some("LATE"), 1),
            ],
        )
        .unwrap();
        assert_eq!(
            shipped
                .iter()
                .map(|s| (s.batch_id.as_str(), s.quantity))
                .collect::<Vec<_>>(),
            [("EARLY", 2), ("LATE", 1)]
        );
        let after = order.ship(&shipped);
        assert_eq!(after.lines[0].shipped, 3);
        assert_eq!(
            after.lines[0].reserved,
            [Pick {
                batch_id: "LATE".into(),
                quantity: 2
            }]
        );
        assert!(!after.lines[0].fully_shipped());
        let rest =
            confirm_scans(&picking_list(&after), &[scan(Some("OIL"), Some("LATE"), 2)]).unwrap();
        assert!(after.ship(&rest).lines[0].fully_shipped());
    }

    #[test]
    fn a_wrong_batch_or_product_is_refused_with_what_was_expected() {
        let list = picking_list(&order());
        match confirm_scans(&list, &[scan(Some("OIL"), Some("OTHER"), 1)]) {
            Err(ScanRefusal::WrongGoods { expected, .. }) => assert_eq!(expected, list),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            confirm_scans(&list, &[scan(Some("PUMP"), Some("EARLY"), 1)]),
            Err(ScanRefusal::WrongGoods { .. })
        ));
        assert!(matches!(
            confirm_scans(&list, &[scan(Some("OIL"), None, 1)]),
            Err(ScanRefusal::NoBatch { .. })
        ));
        assert_eq!(
            confirm_scans(&list, &[scan(Some("OIL"), Some("EARLY"), 3)]),
            Err(ScanRefusal::TooMany {
                scan: "Some(\"OIL\")/Some(\"EARLY\")".into(),
                scanned: 3,
                left: 2
            })
        );
        // The same batch scanned once more than it holds: it is picked in full, and what
        // is still expected is told.
        match confirm_scans(
            &list,
            &[
                scan(Some("OIL"), Some("EARLY"), 2),
                scan(Some("OIL"), Some("EARLY"), 1),
            ],
        ) {
            Err(ScanRefusal::AlreadyPicked { expected, .. }) => {
                assert_eq!(expected, list[1..]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(confirm_scans(&list, &[]), Err(ScanRefusal::Nothing));
    }

    #[test]
    fn order_labels_and_untracked_products_match_by_what_they_carry() {
        let list = picking_list(&order());
        let label = confirm_scans(&list, &[scan(None, Some("LATE"), 3)]).unwrap();
        assert_eq!(label[0].batch_id, "LATE");
        let mut untracked = scan(Some("OIL"), None, 4);
        untracked.batch_required = false;
        let fifo = confirm_scans(&list, &[untracked]).unwrap();
        assert_eq!(
            fifo.iter()
                .map(|s| (s.batch_id.as_str(), s.quantity))
                .collect::<Vec<_>>(),
            [("EARLY", 2), ("LATE", 2)],
            "in the order the batches were reserved"
        );
    }
}
