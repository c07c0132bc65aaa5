//! A customer order with its production orders, supplier orders and shipments
//! ([`OrderBook`]), and how it is placed ([`place_order`]): made once from an agreed
//! deal's items, line by line split between stock reserved for it, production orders and
//! supplier orders. The deal's `production_required`, `production_ready` and `shipped`
//! follow from the book ([`OrderBook::deal_flags`]).

use super::order::{CustomerOrder, OrderLine, line_article};
use super::production::ProductionOrder;
use super::shipment::Shipment;
use super::split::split_line;
use super::supply::SupplierOrder;
use crate::sales::Deal;
use crate::warehouse::allocation::Allocation;
use crate::warehouse::{Product, ProductKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A customer order with its production orders, supplier orders and shipments: what
/// `GET /api/deals/{id}` shows and every fulfilment step works on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderBook {
    pub order: CustomerOrder,
    pub production: Vec<ProductionOrder>,
    pub supply: Vec<SupplierOrder>,
    pub shipments: Vec<Shipment>,
}

/// The deal's fulfilment flags as the order says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DealFlags {
    pub production_required: bool,
    pub production_ready: bool,
    pub shipped: bool,
}

impl OrderBook {
    /// Production is required when the split made a production order; ready when every
    /// one is done; shipped when every line is.
    pub fn deal_flags(&self) -> DealFlags {
        DealFlags {
            production_required: !self.production.is_empty(),
            production_ready: self.production.iter().all(ProductionOrder::is_done),
            shipped: self.order.is_shipped(),
        }
    }

    /// `deal` with its flags set from the order (and `order_placed`).
    pub fn apply_to(&self, deal: &Deal) -> Deal {
        let flags = self.deal_flags();
        let mut new = deal.clone();
        new.order_placed = true;
        new.production_required = flags.production_required;
        new.production_ready = flags.production_ready;
        new.shipped = flags.shipped;
        new
    }
}

/// Places the order of an agreed deal: each line takes what `reserved` got for it from
/// stock; the rest is produced when the company makes the product (or the line is made
/// to order) and bought otherwise (or when the line says `purchase`). A line naming an
/// article the catalogue no longer has is handled as custom goods.
pub fn place_order(
    deal: &Deal,
    products: &HashMap<String, Product>,
    reserved: &HashMap<u32, Allocation>,
    now: DateTime<Utc>,
) -> OrderBook {
    let mut lines = Vec::with_capacity(deal.terms.items.len());
    let mut production = Vec::new();
    let mut supply = Vec::new();
    for (item, line) in deal.terms.items.iter().zip(1u32..) {
        let product = item.sku.as_ref().and_then(|sku| products.get(sku));
        let allocation = reserved.get(&line);
        let picks = allocation.map(|a| a.picks.clone()).unwrap_or_default();
        let in_stock: u32 = picks.iter().map(|p| p.quantity).sum();
        let kind = match (item.purchase, product) {
            (true, _) => ProductKind::Purchased,
            (false, Some(product)) => product.kind,
            (false, None) if item.made_to_order => ProductKind::OwnProduction,
            (false, None) => ProductKind::Purchased,
        };
        let split = split_line(item.quantity, in_stock, kind, item.made_to_order);
        let order_line = OrderLine {
            line,
            article: product.map_or_else(|| line_article(&deal.id, line), |p| p.sku.clone()),
            catalogued: product.is_some(),
            product: item.product.clone(),
            unit: product.map_or_else(|| "шт".to_owned(), |p| p.unit.clone()),
            equipment_type: item.equipment_type,
            quantity: item.quantity,
            unit_price_kopecks: item.unit_price_kopecks,
            split,
            reserved: if split.reserve > 0 { picks } else { Vec::new() },
            shipped: 0,
        };
        if split.produce > 0 {
            production.push(ProductionOrder::planned(
                deal,
                &order_line,
                split.produce,
                now,
            ));
        }
        if split.purchase > 0 {
            let supplier = product.and_then(|p| p.default_supplier.clone());
            supply.push(SupplierOrder::draft(
                deal,
                &order_line,
                split.purchase,
                supplier,
                now,
            ));
        }
        lines.push(order_line);
    }
    OrderBook {
        order: CustomerOrder {
            deal_id: deal.id.clone(),
            party_id: deal.party_id.clone(),
            department: deal.department,
            manager_id: deal.manager_id.clone(),
            client: deal.terms.client_name(),
            agreed_version: deal.version,
            lines,
            created_at: now,
        },
        production,
        supply,
        shipments: Vec::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::kernel::Department;
    use crate::orders::order::stock_lines;
    use crate::orders::production::ProductionStatus;
    use crate::orders::split::LineSplit;
    use crate::sales::EquipmentType;
    use crate::sales::{DealItem, DealStage, DealTerms, NewDeal};
    use crate::warehouse::allocation::Pick;

    pub(crate) fn product(sku: &str, kind: ProductKind) -> Product {
        Product {
            sku: sku.into(),
            name: sku.into(),
            unit: "шт".into(),
            kind,
            equipment_type: EquipmentType::Pump,
            barcodes: vec![],
            tracks_batches: true,
            tracks_expiry: false,
            default_supplier: Some("ООО «Поставщик»".into()),
            version: 1,
        }
    }

    pub(crate) fn item(sku: Option<&str>, quantity: u32) -> DealItem {
        DealItem {
            product: "Изделие".into(),
            equipment_type: EquipmentType::Pump,
            quantity,
            unit_price_kopecks: 100_000,
            made_to_order: false,
            sku: sku.map(Into::into),
            purchase: false,
        }
    }

    pub(crate) fn agreed(items: Vec<DealItem>) -> Deal {
        let mut deal = Deal::open(
            NewDeal {
                id: "deal-1".into(),
                party_id: "party-1".into(),
                inquiry_id: None,
                department: Department::Industrial,
                manager_id: "m1".into(),
                terms: DealTerms {
                    items,
                    ..DealTerms::default()
                },
            },
            Utc::now(),
        );
        deal.stage = DealStage::Agreed;
        deal.version = 5;
        deal
    }

    fn allocation(batch: &str, quantity: u32, missing: u32) -> Allocation {
        Allocation {
            picks: vec![Pick {
                batch_id: batch.into(),
                quantity,
            }],
            missing,
        }
    }

    #[test]
    fn three_lines_give_a_reservation_a_production_order_and_a_supplier_order() {
        let products: HashMap<String, Product> = [
            ("PUMP".to_owned(), product("PUMP", ProductKind::Purchased)),
            (
                "CHAMBER".to_owned(),
                product("CHAMBER", ProductKind::OwnProduction),
            ),
            ("OIL".to_owned(), product("OIL", ProductKind::Purchased)),
        ]
        .into();
        let deal = agreed(vec![
            item(Some("PUMP"), 2),
            item(Some("CHAMBER"), 1),
            item(Some("OIL"), 10),
        ]);
        assert_eq!(
            stock_lines(&deal, &products)
                .iter()
                .map(|l| (l.line, l.reservation_id.as_str()))
                .collect::<Vec<_>>(),
            [(1, "deal-1#1"), (2, "deal-1#2"), (3, "deal-1#3")]
        );
        let reserved: HashMap<u32, Allocation> =
            [(1, allocation("B1", 2, 0)), (3, allocation("B7", 4, 6))].into();
        let book = place_order(&deal, &products, &reserved, Utc::now());
        let splits: Vec<LineSplit> = book.order.lines.iter().map(|l| l.split).collect();
        assert_eq!(
            splits,
            [
                LineSplit {
                    reserve: 2,
                    produce: 0,
                    purchase: 0
                },
                LineSplit {
                    reserve: 0,
                    produce: 1,
                    purchase: 0
                },
                LineSplit {
                    reserve: 4,
                    produce: 0,
                    purchase: 6
                },
            ]
        );
        assert_eq!(book.production.len(), 1);
        assert_eq!(book.production[0].status, ProductionStatus::Planned);
        assert_eq!(book.supply.len(), 1);
        assert_eq!(book.supply[0].quantity, 6);
        assert_eq!(book.supply[0].supplier.as_deref(), Some("ООО «Поставщик»"));
        let flags = book.deal_flags();
        assert!(flags.production_required && !flags.production_ready && !flags.shipped);
        let deal = book.apply_to(&deal);
        assert!(deal.order_placed && deal.needs_production());
    }

    #[test]
    fn custom_lines_are_made_or_bought_whole_under_the_orders_article() {
        let mut made = item(None, 1);
        made.made_to_order = true;
        let mut bought = item(None, 3);
        bought.purchase = true;
        let deal = agreed(vec![made, bought]);
        let book = place_order(&deal, &HashMap::new(), &HashMap::new(), Utc::now());
        assert!(stock_lines(&deal, &HashMap::new()).is_empty());
        assert_eq!(book.order.lines[0].article, "deal-1-1");
        assert!(!book.order.lines[0].catalogued);
        assert_eq!(book.production[0].quantity, 1);
        assert_eq!(book.supply[0].quantity, 3);
        assert_eq!(book.supply[0].article, "deal-1-2");
        assert_eq!(book.supply[0].supplier, None);
    }

    #[test]
    fn a_deal_served_from_stock_alone_skips_production() {
        let products: HashMap<String, Product> = [(
            "PUMP".to_owned(),
            product("PUMP", ProductKind::OwnProduction),
        )]
        .into();
        let deal = agreed(vec![item(Some("PUMP"), 2)]);
        let reserved = [(1, allocation("B1", 2, 0))].into();
        let book = place_order(&deal, &products, &reserved, Utc::now());
        assert!(book.production.is_empty() && book.supply.is_empty());
        let flags = book.deal_flags();
        assert!(!flags.production_required && flags.production_ready);
        assert!(!book.apply_to(&deal).needs_production());
    }
}
