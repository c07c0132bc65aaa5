//! Fulfilling an agreed deal, each step one deal change (so one transaction, one event on
//! the deal's FIFO group, the deal's flags set with it):
//!
//! - [`Fulfilment::place`]: the customer order from the agreed items — stock reserved line
//!   by line (FEFO, conditional, retried on a lost race), the rest to production or a
//!   supplier. Once per deal: the order is written only if absent, and a deal with
//!   `order_placed` is left alone, so a replayed `agreed` event places nothing.
//! - [`Fulfilment::update_production`]: production's changes; a production order done
//!   receives its goods as a batch reserved for its line.
//! - [`Fulfilment::edit_supply`] and [`Fulfilment::receive_supply`]: supplier orders and
//!   their goods, received into a batch reserved for the line.
//! - [`Fulfilment::prepare_shipment`] then [`Fulfilment::commit_shipment`]: scans checked
//!   against the picking list, stock decremented exactly as read, who got which batch
//!   recorded, the shipping document linked to the deal.
//! - [`Fulfilment::late_production`]: the scheduled check for missed promised dates.
//!
//! A change that loses to another change of the same deal reads again and retries.

use super::ports::{OrderStore, OrderWrite, StockMove};
use crate::ports::{Notifier, StoreError, active_employee};
use crate::sales::deals::{DealEventRelay, DealSaveError};
use crate::sales::ports::{DealEventPublisher, DealWrite};
use crate::warehouse::reservations::{ReserveError, ReserveLine, Reserving};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use crm_domain::kernel::SYSTEM;
use crm_domain::kernel::audit::{AuditEntry, audit_entries};
use crm_domain::kernel::time::moscow;
use crm_domain::orders::book::place_order;
use crm_domain::orders::order::stock_lines;
use crm_domain::orders::production::{ProductionEdit, ProductionRefusal};
use crm_domain::orders::shipment::{
    ScanRefusal, ScannedGoods, Shipment, confirm_scans, picking_list,
};
use crm_domain::orders::supply::{SupplyEdit, SupplyRefusal};
use crm_domain::orders::waybill::waybill_number;
use crm_domain::orders::{CustomerOrder, OrderBook};
use crm_domain::sales::task::Assignee;
use crm_domain::sales::{Deal, DealEvent, DealEventKind, DealStage, DocumentRef, Task, TaskKind};
use crm_domain::staff::heads_covering;
use crm_domain::templates::{self, Links};
use crm_domain::warehouse::allocation::{Allocation, Pick};
use std::collections::{BTreeMap, HashMap};

/// How many times a change is tried again after another change of its deal won.
const MAX_ATTEMPTS: u32 = 5;

/// Why a fulfilment step did not happen.
#[derive(Debug, thiserror::Error)]
pub enum FulfilmentError {
    #[error("no such deal")]
    NoDeal,
    #[error("the deal has no customer order yet")]
    NoOrder,
    #[error("the order has no such part")]
    NoSuchPart,
    #[error("the deal is not agreed")]
    NotAgreed,
    #[error("{0}")]
    Production(#[from] ProductionRefusal),
    #[error("{0}")]
    Supply(#[from] SupplyRefusal),
    #[error("{0}")]
    Scan(#[from] ScanRefusal),
    #[error("batch {0} is in stock with another expiry")]
    ExpiryMismatch(String),
    #[error("the version read was {0}; the record changed since")]
    Stale(u64),
    #[error("the deal kept changing under {MAX_ATTEMPTS} attempts; try again")]
    Contention,
    #[error("stock of {0} does not hold what the order reserved")]
    StockMismatch(String),
    #[error(transparent)]
    Reserve(#[from] ReserveError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Goods arriving for a supplier order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedGoods {
    /// The batch on the label; `None`: the receipt makes one (`<supplier order>-<n>`).
    pub batch_id: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub quantity: u32,
    /// The supplier order's version as read: a repeated receipt is refused, not doubled.
    pub version: u64,
}

/// A shipment checked and ready to be written.
#[derive(Debug, Clone)]
pub enum PreparedShipment {
    /// This shipment id was shipped before: nothing more ships.
    Shipped(Box<Shipment>),
    Ready(Box<ReadyShipment>),
}

/// What a shipment will write, once its document is stored.
#[derive(Debug, Clone)]
pub struct ReadyShipment {
    pub deal: Deal,
    pub book: OrderBook,
    pub order: CustomerOrder,
    pub shipment: Shipment,
    moves: Vec<StockMove>,
}

/// The fulfilment use cases over the deal relay (store and event publisher).
pub struct Fulfilment<'a, S, P> {
    pub relay: &'a DealEventRelay<S, P>,
}

impl<S: OrderStore, P: DealEventPublisher> Fulfilment<'_, S, P> {
    fn store(&self) -> &S {
        &self.relay.store
    }

    async fn deal_and_book(&self, deal_id: &str) -> Result<(Deal, OrderBook), FulfilmentError> {
        let deal = self
            .store()
            .deal(deal_id)
            .await?
            .ok_or(FulfilmentError::NoDeal)?;
        let book = self
            .store()
            .order_book(deal_id)
            .await?
            .ok_or(FulfilmentError::NoOrder)?;
        Ok((deal, book))
    }

    /// Saves `book` as the deal's new state: the deal as written, or `None` when another
    /// change won.
    #[allow(clippy::too_many_arguments)]
    async fn save(
        &self,
        deal: &Deal,
        book: &OrderBook,
        kind: DealEventKind,
        writes: Vec<OrderWrite>,
        audit: Vec<AuditEntry>,
        actor: &str,
        source: &str,
        now: DateTime<Utc>,
        document: Option<DocumentRef>,
    ) -> Result<Option<Deal>, FulfilmentError> {
        let mut new = book.apply_to(deal);
        if let Some(document) = document {
            new.documents.retain(|d| d.id != document.id);
            new.documents.push(document);
        }
        new.version = deal.version + 1;
        new.updated_at = now;
        let extra = DealWrite {
            orders: writes,
            audit,
            ..DealWrite::default()
        };
        match self
            .relay
            .save(Some(deal), &new, kind, actor, source, extra)
            .await
        {
            Ok(_) => Ok(Some(new)),
            Err(DealSaveError::Conflict(_)) => Ok(None),
            Err(DealSaveError::Store(error)) => Err(error.into()),
        }
    }

    /// The deal-events reaction: a deal that reached `agreed` gets its customer order
    /// (once, however often the event comes). Returns whether an order was placed now.
    pub async fn react(
        &self,
        event: &DealEvent,
        now: DateTime<Utc>,
    ) -> Result<bool, FulfilmentError> {
        if !matches!(
            event.kind,
            DealEventKind::StageChanged {
                to: DealStage::Agreed,
                ..
            }
        ) {
            return Ok(false);
        }
        let today = now.with_timezone(&moscow()).date_naive();
        let source = format!("event:{}", event.event_id);
        match self
            .place(&event.deal_id, SYSTEM, &source, now, today)
            .await
        {
            Ok(placed) => Ok(placed.is_some()),
            // Unfit or closed since: nothing to fulfil.
            Err(FulfilmentError::NotAgreed | FulfilmentError::NoDeal) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Places the customer order of an agreed deal; `None` when it was placed before.
    pub async fn place(
        &self,
        deal_id: &str,
        actor: &str,
        source: &str,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> Result<Option<OrderBook>, FulfilmentError> {
        for _ in 0..MAX_ATTEMPTS {
            let deal = self
                .store()
                .deal(deal_id)
                .await?
                .ok_or(FulfilmentError::NoDeal)?;
            if deal.order_placed {
                return Ok(None);
            }
            if deal.stage.before_agreement() || deal.stage.is_final() {
                return Err(FulfilmentError::NotAgreed);
            }
            let skus: Vec<String> = deal
                .terms
                .items
                .iter()
                .filter_map(|i| i.sku.clone())
                .collect();
            let products = self.store().products(&skus).await?;
            let reserving = Reserving {
                store: self.store(),
            };
            let mut reserved: HashMap<u32, Allocation> = HashMap::new();
            for line in stock_lines(&deal, &products) {
                let allocation = reserving
                    .reserve(
                        &ReserveLine {
                            reservation_id: line.reservation_id,
                            sku: line.sku,
                            quantity: line.quantity,
                        },
                        actor,
                        source,
                        now,
                        today,
                    )
                    .await?;
                reserved.insert(line.line, allocation);
            }
            let book = place_order(&deal, &products, &reserved, now);
            let mut writes = vec![OrderWrite::PlaceOrder(book.order.clone())];
            writes.extend(book.production.iter().map(|order| OrderWrite::Production {
                order: order.clone(),
                expected_version: None,
            }));
            writes.extend(book.supply.iter().map(|order| OrderWrite::Supply {
                order: order.clone(),
                expected_version: None,
            }));
            let audit = audit_entries::<CustomerOrder>(
                "order",
                &deal.id,
                None,
                &book.order,
                actor,
                source,
                now,
            );
            if self
                .save(
                    &deal,
                    &book,
                    DealEventKind::OrderPlaced,
                    writes,
                    audit,
                    actor,
                    source,
                    now,
                    None,
                )
                .await?
                .is_some()
            {
                return Ok(Some(book));
            }
        }
        Err(FulfilmentError::Contention)
    }

    /// Applies production's change to the production order of line `line`. Done: its
    /// goods go into stock as batch `<production order id>`, reserved for the line.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_production(
        &self,
        deal_id: &str,
        line: u32,
        edit: &ProductionEdit,
        expected_version: Option<u64>,
        actor: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<(Deal, OrderBook), FulfilmentError> {
        for _ in 0..MAX_ATTEMPTS {
            let (deal, mut book) = self.deal_and_book(deal_id).await?;
            let index = part(&book.production, |p| p.line == line)?;
            let old = book.production[index].clone();
            stale_unless(expected_version, old.version)?;
            let new = old.edited(edit, now)?;
            let mut audit =
                audit_entries("production", &old.id, Some(&old), &new, actor, source, now);
            let mut writes = vec![OrderWrite::Production {
                order: new.clone(),
                expected_version: Some(old.version),
            }];
            if new.is_done() {
                let stock = StockMove {
                    article: new.article.clone(),
                    batch_id: new.id.clone(),
                    before: None,
                    after: (new.quantity, new.quantity),
                    expiry: None,
                    received_at: now,
                };
                audit.push(stock_audit(&stock, actor, source, now));
                writes.push(OrderWrite::Stock(stock));
                reserve_for_line(&mut book.order, line, &new.id, new.quantity);
                writes.push(OrderWrite::Order(book.order.clone()));
            }
            book.production[index] = new.clone();
            let kind = DealEventKind::ProductionChanged {
                production_id: new.id.clone(),
            };
            if let Some(deal) = self
                .save(&deal, &book, kind, writes, audit, actor, source, now, None)
                .await?
            {
                return Ok((deal, book));
            }
        }
        Err(FulfilmentError::Contention)
    }

    /// Changes the supplier order of line `line` (supplier, ordered, expected date).
    #[allow(clippy::too_many_arguments)]
    pub async fn edit_supply(
        &self,
        deal_id: &str,
        line: u32,
        edit: &SupplyEdit,
        expected_version: Option<u64>,
        actor: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<(Deal, OrderBook), FulfilmentError> {
        for _ in 0..MAX_ATTEMPTS {
            let (deal, mut book) = self.deal_and_book(deal_id).await?;
            let index = part(&book.supply, |s| s.line == line)?;
            let old = book.supply[index].clone();
            stale_unless(expected_version, old.version)?;
            let new = old.edited(edit, now)?;
            let audit = audit_entries("supply", &old.id, Some(&old), &new, actor, source, now);
            let writes = vec![OrderWrite::Supply {
                order: new.clone(),
                expected_version: Some(old.version),
            }];
            book.supply[index] = new.clone();
            let kind = DealEventKind::SupplyChanged {
                supply_id: new.id.clone(),
            };
            if let Some(deal) = self
                .save(&deal, &book, kind, writes, audit, actor, source, now, None)
                .await?
            {
                return Ok((deal, book));
            }
        }
        Err(FulfilmentError::Contention)
    }

    /// Receives goods of the supplier order of line `line` into their batch, reserved for
    /// the line; the order is `received` once everything came.
    #[allow(clippy::too_many_arguments)]
    pub async fn receive_supply(
        &self,
        deal_id: &str,
        line: u32,
        goods: &ReceivedGoods,
        actor: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<(Deal, OrderBook), FulfilmentError> {
        for _ in 0..MAX_ATTEMPTS {
            let (deal, mut book) = self.deal_and_book(deal_id).await?;
            let index = part(&book.supply, |s| s.line == line)?;
            let old = book.supply[index].clone();
            stale_unless(Some(goods.version), old.version)?;
            let new = old.receive(goods.quantity, now)?;
            let batch_id = goods
                .batch_id
                .clone()
                .unwrap_or_else(|| format!("{}-{}", old.id, old.version));
            let batch = self.store().batch(&old.article, &batch_id).await?;
            if let Some(batch) = &batch
                && batch.expiry != goods.expiry
            {
                return Err(FulfilmentError::ExpiryMismatch(batch_id));
            }
            let stock = StockMove {
                article: old.article.clone(),
                batch_id: batch_id.clone(),
                before: batch.as_ref().map(|b| (b.on_hand, b.reserved)),
                after: batch
                    .as_ref()
                    .map_or((goods.quantity, goods.quantity), |b| {
                        (
                            b.on_hand.saturating_add(goods.quantity),
                            b.reserved.saturating_add(goods.quantity),
                        )
                    }),
                expiry: goods.expiry,
                received_at: now,
            };
            let mut audit = audit_entries("supply", &old.id, Some(&old), &new, actor, source, now);
            audit.push(stock_audit(&stock, actor, source, now));
            reserve_for_line(&mut book.order, line, &batch_id, goods.quantity);
            let writes = vec![
                OrderWrite::Supply {
                    order: new.clone(),
                    expected_version: Some(old.version),
                },
                OrderWrite::Stock(stock),
                OrderWrite::Order(book.order.clone()),
            ];
            book.supply[index] = new;
            let kind = DealEventKind::GoodsReceived {
                batch_id,
                quantity: goods.quantity,
            };
            if let Some(deal) = self
                .save(&deal, &book, kind, writes, audit, actor, source, now, None)
                .await?
            {
                return Ok((deal, book));
            }
        }
        Err(FulfilmentError::Contention)
    }

    /// Checks `scans` against the deal's picking list and works out what the shipment
    /// `shipment_id` writes. Nothing is written yet: the caller stores the document, then
    /// commits.
    pub async fn prepare_shipment(
        &self,
        deal_id: &str,
        shipment_id: &str,
        scans: &[ScannedGoods],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<PreparedShipment, FulfilmentError> {
        let (deal, book) = self.deal_and_book(deal_id).await?;
        if let Some(done) = book.shipments.iter().find(|s| s.id == shipment_id) {
            return Ok(PreparedShipment::Shipped(Box::new(done.clone())));
        }
        let lines = confirm_scans(&picking_list(&book.order), scans)?;
        let mut taken = BTreeMap::<(String, String), u32>::new();
        for part in &lines {
            *taken
                .entry((part.article.clone(), part.batch_id.clone()))
                .or_default() += part.quantity;
        }
        let mut moves = Vec::with_capacity(taken.len());
        for ((article, batch_id), quantity) in taken {
            let batch = self
                .store()
                .batch(&article, &batch_id)
                .await?
                .filter(|b| b.reserved >= quantity && b.on_hand >= quantity)
                .ok_or_else(|| FulfilmentError::StockMismatch(format!("{article}/{batch_id}")))?;
            moves.push(StockMove {
                article,
                batch_id,
                before: Some((batch.on_hand, batch.reserved)),
                after: (batch.on_hand - quantity, batch.reserved - quantity),
                expiry: batch.expiry,
                received_at: batch.received_at,
            });
        }
        let order = book.order.ship(&lines);
        let shipment = Shipment {
            id: shipment_id.to_owned(),
            number: waybill_number(shipment_id, deal_id),
            deal_id: deal.id.clone(),
            party_id: deal.party_id.clone(),
            lines,
            shipped_at: now,
            shipped_by: actor.to_owned(),
            document: None,
        };
        Ok(PreparedShipment::Ready(Box::new(ReadyShipment {
            deal,
            book,
            order,
            shipment,
            moves,
        })))
    }

    /// Writes a prepared shipment with its stored document: the shipment and the deal as
    /// it became, or `None` when the deal or a batch changed meanwhile (prepare again).
    pub async fn commit_shipment(
        &self,
        ready: ReadyShipment,
        document: DocumentRef,
        source: &str,
    ) -> Result<Option<(Shipment, Deal)>, FulfilmentError> {
        let ReadyShipment {
            deal,
            mut book,
            order,
            mut shipment,
            moves,
        } = ready;
        let actor = shipment.shipped_by.clone();
        let now = shipment.shipped_at;
        shipment.document = Some(document.clone());
        let mut audit: Vec<AuditEntry> = moves
            .iter()
            .map(|m| stock_audit(m, &actor, source, now))
            .collect();
        audit.extend(audit_entries(
            "order",
            &deal.id,
            Some(&book.order),
            &order,
            &actor,
            source,
            now,
        ));
        let mut writes = vec![
            OrderWrite::Order(order.clone()),
            OrderWrite::Shipment(shipment.clone()),
        ];
        writes.extend(moves.into_iter().map(OrderWrite::Stock));
        book.order = order;
        book.shipments.push(shipment.clone());
        let kind = DealEventKind::Shipped {
            shipment_id: shipment.id.clone(),
        };
        Ok(self
            .save(
                &deal,
                &book,
                kind,
                writes,
                audit,
                &actor,
                source,
                now,
                Some(document),
            )
            .await?
            .map(|deal| (shipment, deal)))
    }

    /// Gives the deal's manager and the heads of its department a task for every
    /// production order past its promised date — once per promised date. Returns how
    /// many tasks were created.
    pub async fn late_production<N: Notifier>(
        &self,
        notifier: &N,
        links: &Links,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> Result<usize, StoreError> {
        let mut created = 0;
        let heads = self.store().active_heads().await?;
        for production in self.store().open_production().await? {
            let Some(promised) = production
                .promised_date
                .filter(|_| production.is_late(today))
            else {
                continue;
            };
            let Some(deal) = self.store().deal(&production.deal_id).await? else {
                continue;
            };
            let manager = active_employee(self.store(), &deal.manager_id).await?;
            let to_heads = heads_covering(&heads, Some(deal.department));
            for (assignee, recipients, who) in [
                (
                    Assignee::Employee(deal.manager_id.clone()),
                    manager.into_iter().collect::<Vec<_>>(),
                    "manager",
                ),
                (Assignee::Heads, to_heads, "heads"),
            ] {
                let task = Task {
                    party_id: Some(deal.party_id.clone()),
                    deal_id: Some(deal.id.clone()),
                    department: Some(deal.department),
                    note: Some(format!(
                        "{} × {}: обещано к {}, готовность {} %",
                        production.product,
                        production.quantity,
                        promised.format("%d.%m.%Y"),
                        production.readiness
                    )),
                    ..Task::open(
                        format!("late-production-{who}-{}-{promised}", production.id),
                        TaskKind::LateProduction,
                        format!(
                            "{}: сделка {}",
                            TaskKind::LateProduction.title(),
                            deal.terms.legal_entity.name
                        ),
                        assignee,
                        now + Duration::hours(4),
                        now,
                        "job:late_production".into(),
                    )
                };
                if !self.store().put_task_if_absent(&task).await? {
                    continue;
                }
                created += 1;
                if recipients.is_empty() {
                    continue;
                }
                let notification = templates::deal_task(&recipients, &task, links);
                if let Err(error) = notifier.send(&notification).await {
                    tracing::warn!(%error, "late production notification not sent");
                }
            }
        }
        Ok(created)
    }
}

/// Where in `parts` the part of a line is.
fn part<T>(parts: &[T], of_line: impl Fn(&T) -> bool) -> Result<usize, FulfilmentError> {
    parts
        .iter()
        .position(of_line)
        .ok_or(FulfilmentError::NoSuchPart)
}

/// A stale version when the caller named one other than `current`.
fn stale_unless(expected: Option<u64>, current: u64) -> Result<(), FulfilmentError> {
    match expected {
        Some(version) if version != current => Err(FulfilmentError::Stale(version)),
        _ => Ok(()),
    }
}

/// Adds `quantity` of `batch_id` to what is reserved for `line`.
fn reserve_for_line(order: &mut CustomerOrder, line: u32, batch_id: &str, quantity: u32) {
    if let Some(line) = order.line_mut(line) {
        match line.reserved.iter_mut().find(|p| p.batch_id == batch_id) {
            Some(pick) => pick.quantity = pick.quantity.saturating_add(quantity),
            None => line.reserved.push(Pick {
                batch_id: batch_id.to_owned(),
                quantity,
            }),
        }
    }
}

/// The audit entry of a stock movement: the batch before and after.
fn stock_audit(stock: &StockMove, actor: &str, source: &str, at: DateTime<Utc>) -> AuditEntry {
    let state = |(on_hand, reserved): (u32, u32)| serde_json::json!({ "on_hand": on_hand, "reserved": reserved });
    AuditEntry {
        record: "stock".to_owned(),
        record_id: format!("{}/{}", stock.article, stock.batch_id),
        field: "on_hand".to_owned(),
        old: stock.before.map_or(serde_json::Value::Null, state),
        new: state(stock.after),
        actor: actor.to_owned(),
        at,
        source: source.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::tests::employee;
    use crate::memory::{MemoryNotifier, MemoryPublisher, MemoryStore};
    use crate::sales::deals::tests::new_deal;
    use crate::sales::ports::DealStore;
    use crate::warehouse::ports::StockStore;
    use crm_domain::kernel::Department;
    use crm_domain::orders::ProductionStatus;
    use crm_domain::orders::split::LineSplit;
    use crm_domain::sales::{DealItem, DealStage, EquipmentType};
    use crm_domain::staff::Role;
    use crm_domain::warehouse::allocation::Batch;
    use crm_domain::warehouse::{Product, ProductKind};

    type Relay = DealEventRelay<MemoryStore, MemoryPublisher>;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    fn product(sku: &str, kind: ProductKind) -> Product {
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

    fn line(sku: &str, quantity: u32) -> DealItem {
        DealItem {
            product: format!("Изделие {sku}"),
            equipment_type: EquipmentType::Pump,
            quantity,
            unit_price_kopecks: 1_000_000,
            made_to_order: false,
            sku: Some(sku.into()),
            purchase: false,
        }
    }

    fn batch(id: &str, day: u32, on_hand: u32) -> Batch {
        Batch {
            id: id.into(),
            received_at: format!("2026-11-{day:02}T10:00:00Z").parse().unwrap(),
            expiry: None,
            on_hand,
            reserved: 0,
        }
    }

    /// A relay over a store with a pump in stock (3), a chamber made in-house and oil
    /// bought, and an agreed deal `id` with `items`.
    async fn agreed(id: &str, items: Vec<DealItem>) -> Relay {
        let relay = Relay {
            store: MemoryStore::default(),
            publisher: MemoryPublisher::default(),
        };
        add_deal(&relay, id, items).await;
        let store = &relay.store;
        store.put_product(product("PUMP", ProductKind::Purchased));
        store.put_product(product("CHAMBER", ProductKind::OwnProduction));
        store.put_product(product("OIL", ProductKind::Purchased));
        store.put_batch("PUMP", batch("P-OLD", 1, 2));
        store.put_batch("PUMP", batch("P-NEW", 20, 1));
        relay
    }

    async fn add_deal(relay: &Relay, id: &str, items: Vec<DealItem>) {
        let mut deal = new_deal(id);
        deal.stage = DealStage::Agreed;
        deal.terms.items = items;
        relay
            .save(
                None,
                &deal,
                DealEventKind::Created,
                "m1",
                "test",
                DealWrite::default(),
            )
            .await
            .unwrap();
    }

    async fn place(relay: &Relay, id: &str) -> Option<OrderBook> {
        Fulfilment { relay }
            .place(id, "system", "event:x", Utc::now(), today())
            .await
            .unwrap()
    }

    fn scan(article: &str, batch: &str, quantity: u32) -> ScannedGoods {
        ScannedGoods {
            scan: format!("{article}/{batch}"),
            article: Some(article.into()),
            batch: Some(batch.into()),
            batch_required: true,
            quantity,
        }
    }

    fn document(id: &str) -> DocumentRef {
        DocumentRef {
            id: id.into(),
            kind: "shipping".into(),
            filename: format!("{id}.xlsx"),
            key: format!("deals/d/{id}.xlsx"),
            created_at: Utc::now(),
            created_by: "wh".into(),
        }
    }

    #[tokio::test]
    async fn an_agreed_deal_becomes_one_order_split_three_ways() {
        let relay = agreed(
            "d1",
            vec![line("PUMP", 2), line("CHAMBER", 1), line("OIL", 4)],
        )
        .await;
        let book = place(&relay, "d1").await.expect("placed");
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
                    reserve: 0,
                    produce: 0,
                    purchase: 4
                },
            ]
        );
        assert_eq!(book.order.lines[0].reserved[0].batch_id, "P-OLD");
        let deal = relay.store.deal("d1").await.unwrap().unwrap();
        assert!(deal.order_placed && deal.production_required && !deal.production_ready);
        assert_eq!(deal.version, 2);
        let events = relay.publisher.published();
        assert_eq!(events.last().unwrap().kind, DealEventKind::OrderPlaced);

        // The `agreed` event again: no second order, no second reservation.
        assert_eq!(place(&relay, "d1").await, None);
        let reserved: u32 = relay
            .store
            .batches("PUMP")
            .await
            .unwrap()
            .iter()
            .map(|b| b.reserved)
            .sum();
        assert_eq!(reserved, 2);
        assert_eq!(relay.store.deal("d1").await.unwrap().unwrap().version, 2);
    }

    #[tokio::test]
    async fn two_orders_for_the_last_units_one_gets_them_the_other_buys_the_rest() {
        let relay = agreed("d1", vec![line("PUMP", 2)]).await;
        add_deal(&relay, "d2", vec![line("PUMP", 2)]).await;
        let first = place(&relay, "d1").await.unwrap();
        let second = place(&relay, "d2").await.unwrap();
        assert_eq!(first.order.lines[0].split.reserve, 2);
        assert_eq!(
            second.order.lines[0].split,
            LineSplit {
                reserve: 1,
                produce: 0,
                purchase: 1
            },
            "told exactly what is missing: one unit goes to a supplier"
        );
        assert_eq!(second.supply[0].quantity, 1);
        let batches = relay.store.batches("PUMP").await.unwrap();
        assert!(
            batches.iter().all(|b| b.reserved <= b.on_hand),
            "{batches:?}"
        );
    }

    #[tokio::test]
    async fn finished_production_is_stock_reserved_for_its_line_and_the_deal_is_ready() {
        let relay = agreed("d1", vec![line("CHAMBER", 2)]).await;
        place(&relay, "d1").await.unwrap();
        let fulfilment = Fulfilment { relay: &relay };
        let (_, started) = fulfilment
            .update_production(
                "d1",
                1,
                &ProductionEdit {
                    readiness: Some(50),
                    ..ProductionEdit::default()
                },
                Some(1),
                "prod",
                "api:1",
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(started.production[0].status, ProductionStatus::InProgress);
        let stale = fulfilment
            .update_production(
                "d1",
                1,
                &ProductionEdit::default(),
                Some(1),
                "prod",
                "api:2",
                Utc::now(),
            )
            .await;
        assert!(matches!(stale, Err(FulfilmentError::Stale(1))), "{stale:?}");
        let (_, done) = fulfilment
            .update_production(
                "d1",
                1,
                &ProductionEdit {
                    status: Some(ProductionStatus::Done),
                    ..ProductionEdit::default()
                },
                None,
                "prod",
                "api:3",
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(done.order.lines[0].reserved_quantity(), 2);
        let batch = relay
            .store
            .batch("CHAMBER", "d1-P1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((batch.on_hand, batch.reserved), (2, 2));
        let deal = relay.store.deal("d1").await.unwrap().unwrap();
        assert!(deal.production_ready);
        let movement = relay.store.audit_entries_of("stock", "CHAMBER/d1-P1");
        assert_eq!(movement.len(), 1);
        assert_eq!(
            movement[0].new,
            serde_json::json!({"on_hand": 2, "reserved": 2})
        );
        assert_eq!(movement[0].actor, "prod");
    }

    #[tokio::test]
    async fn goods_bought_are_received_in_parts_into_their_batch() {
        let relay = agreed("d1", vec![line("OIL", 5)]).await;
        place(&relay, "d1").await.unwrap();
        let fulfilment = Fulfilment { relay: &relay };
        let goods = |quantity, version| ReceivedGoods {
            batch_id: Some("L-7".into()),
            expiry: None,
            quantity,
            version,
        };
        let (_, part) = fulfilment
            .receive_supply("d1", 1, &goods(2, 1), "wh", "api:1", Utc::now())
            .await
            .unwrap();
        assert_eq!(part.supply[0].received, 2);
        let again = fulfilment
            .receive_supply("d1", 1, &goods(2, 1), "wh", "api:1", Utc::now())
            .await;
        assert!(
            matches!(again, Err(FulfilmentError::Stale(1))),
            "a repeated receipt is not counted twice"
        );
        let (_, rest) = fulfilment
            .receive_supply("d1", 1, &goods(3, 2), "wh", "api:2", Utc::now())
            .await
            .unwrap();
        assert_eq!(
            rest.supply[0].status,
            crm_domain::orders::SupplyStatus::Received
        );
        let batch = relay.store.batch("OIL", "L-7").await.unwrap().unwrap();
        assert_eq!((batch.on_hand, batch.reserved), (5, 5));
        assert_eq!(rest.order.lines[0].reserved_quantity(), 5);
    }

    #[tokio::test]
    async fn shipping_by_scan_moves_stock_records_who_got_the_batch_and_ships_the_deal() {
        let relay = agreed("d1", vec![line("PUMP", 3)]).await;
        place(&relay, "d1").await.unwrap();
        let fulfilment = Fulfilment { relay: &relay };
        let wrong = fulfilment
            .prepare_shipment("d1", "s1", &[scan("PUMP", "OTHER", 1)], "wh", Utc::now())
            .await;
        match wrong {
            Err(FulfilmentError::Scan(ScanRefusal::WrongGoods { expected, .. })) => {
                assert_eq!(expected.len(), 2, "both reserved batches are named");
                assert_eq!(expected[0].batch_id, "P-OLD");
            }
            other => panic!("{other:?}"),
        }
        // A partial shipment first.
        let PreparedShipment::Ready(ready) = fulfilment
            .prepare_shipment("d1", "s1", &[scan("PUMP", "P-OLD", 2)], "wh", Utc::now())
            .await
            .unwrap()
        else {
            panic!("not shipped before")
        };
        let (shipment, _) = fulfilment
            .commit_shipment(*ready, document("s1"), "api:1")
            .await
            .unwrap()
            .expect("written");
        assert_eq!(shipment.lines[0].quantity, 2);
        let deal = relay.store.deal("d1").await.unwrap().unwrap();
        assert!(!deal.shipped, "one unit is still to go");
        assert_eq!(deal.documents.len(), 1);
        let old = relay.store.batch("PUMP", "P-OLD").await.unwrap().unwrap();
        assert_eq!((old.on_hand, old.reserved), (0, 0));
        let recipients = relay.store.batch_recipients("PUMP", "P-OLD").await.unwrap();
        assert_eq!(recipients.len(), 1);
        assert_eq!(recipients[0].party_id, "p");

        // The same shipment again ships nothing more.
        assert!(matches!(
            fulfilment
                .prepare_shipment("d1", "s1", &[scan("PUMP", "P-NEW", 1)], "wh", Utc::now())
                .await
                .unwrap(),
            PreparedShipment::Shipped(_)
        ));
        let PreparedShipment::Ready(ready) = fulfilment
            .prepare_shipment("d1", "s2", &[scan("PUMP", "P-NEW", 1)], "wh", Utc::now())
            .await
            .unwrap()
        else {
            panic!("a new shipment")
        };
        fulfilment
            .commit_shipment(*ready, document("s2"), "api:2")
            .await
            .unwrap()
            .unwrap();
        let deal = relay.store.deal("d1").await.unwrap().unwrap();
        assert!(deal.shipped, "everything is shipped");
        assert!(matches!(
            relay.publisher.published().last().unwrap().kind,
            DealEventKind::Shipped { .. }
        ));
    }

    #[tokio::test]
    async fn a_shipment_racing_another_change_of_its_batch_is_not_written() {
        let relay = agreed("d1", vec![line("PUMP", 1)]).await;
        place(&relay, "d1").await.unwrap();
        let fulfilment = Fulfilment { relay: &relay };
        let PreparedShipment::Ready(ready) = fulfilment
            .prepare_shipment("d1", "s1", &[scan("PUMP", "P-OLD", 1)], "wh", Utc::now())
            .await
            .unwrap()
        else {
            panic!()
        };
        // Another deal reserves from the same batch meanwhile.
        add_deal(&relay, "d2", vec![line("PUMP", 1)]).await;
        place(&relay, "d2").await.unwrap();
        assert_eq!(
            fulfilment
                .commit_shipment(*ready, document("s1"), "api:1")
                .await
                .unwrap(),
            None,
            "prepare again"
        );
        assert!(!relay.store.deal("d1").await.unwrap().unwrap().shipped);
    }

    #[tokio::test]
    async fn late_production_gives_the_manager_and_the_heads_a_task_once() {
        let relay = agreed("d1", vec![line("CHAMBER", 1)]).await;
        relay
            .store
            .add_employee(employee("m1", Role::Manager, Some(Department::High)));
        relay
            .store
            .add_employee(employee("h1", Role::Head, Some(Department::High)));
        place(&relay, "d1").await.unwrap();
        let fulfilment = Fulfilment { relay: &relay };
        fulfilment
            .update_production(
                "d1",
                1,
                &ProductionEdit {
                    promised_date: NaiveDate::from_ymd_opt(2026, 11, 20),
                    ..ProductionEdit::default()
                },
                None,
                "prod",
                "api:1",
                Utc::now(),
            )
            .await
            .unwrap();
        let notifier = MemoryNotifier::default();
        let links = Links {
            app_base_url: "https://crm.example".into(),
        };
        let created = fulfilment
            .late_production(&notifier, &links, Utc::now(), today())
            .await
            .unwrap();
        assert_eq!(created, 2);
        let tasks = relay.store.tasks();
        assert!(tasks.iter().any(|t| t.assignee_id.as_deref() == Some("m1")));
        assert!(tasks.iter().any(|t| t.assignee_role == Some(Role::Head)));
        assert_eq!(notifier.sent().len(), 2);
        assert_eq!(
            fulfilment
                .late_production(&notifier, &links, Utc::now(), today())
                .await
                .unwrap(),
            0,
            "once"
        );
    }
}
