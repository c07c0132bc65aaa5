//! In-memory implementations of every port, with the DynamoDB adapter's semantics
//! (all-or-nothing writes, one owner per contact point, one record per event, conditional
//! saves on status and version, the outbox), so each use case is unit-tested in
//! milliseconds without emulators. Integration tests run the real adapters against
//! DynamoDB Local and LocalStack.

use crate::intake::ports::{
    CallRecord, CallStore, CallUpdate, ContactPointOwner, HistoryEntry, IntakeLookup, IntakeRecord,
    IntakeStore, NewLead, WriteOutcome,
};
use crate::marketing::ports::{CardPage, ExportFiles, MarketingStore};
use crate::orders::ports::{BatchRecipient, OrderStore, OrderWrite, StockMove};
use crate::ports::{Directory, Notifier, NotifyError, StoreError, SystemTasks};
use crate::sales::ports::{
    DealChange, DealEventPublisher, DealStore, InquiryChange, InquiryStore, PublishError,
};
use crate::warehouse::ports::{Reservation, ReserveWrite, StockStore};
use chrono::{DateTime, Utc};
use crm_domain::intake::call::CallEvent;
use crm_domain::intake::{Inquiry, InquiryStatus, Interaction};
use crm_domain::kernel::Department;
use crm_domain::kernel::audit::AuditEntry;
use crm_domain::marketing::unsubscribes::OptOut;
use crm_domain::marketing::{ContactCard, ExportRecord, Segment};
use crm_domain::orders::{OrderBook, ProductionOrder};
use crm_domain::party::{ContactPoint, Counterparty, CounterpartyKind};
use crm_domain::sales::{Deal, DealEvent, Task};
use crm_domain::staff::{Employee, Notification, Role};
use crm_domain::warehouse::Product;
use crm_domain::warehouse::allocation::Batch;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

#[derive(Debug, Default)]
struct State {
    records: HashMap<String, IntakeRecord>,
    owners: HashMap<ContactPoint, ContactPointOwner>,
    parties: HashMap<String, Counterparty>,
    inquiries: HashMap<String, Inquiry>,
    interactions: Vec<Interaction>,
    employees: HashMap<String, Employee>,
    calls: HashMap<String, CallRecord>,
    tasks: BTreeMap<String, Task>,
    deals: HashMap<String, Deal>,
    /// Pending events by deal, by version.
    outbox: BTreeMap<String, BTreeMap<u64, DealEvent>>,
    consumed: HashSet<String>,
    audit: Vec<AuditEntry>,
    /// Batches by SKU.
    stock: HashMap<String, Vec<Batch>>,
    reservations: HashMap<String, Reservation>,
    products: HashMap<String, Product>,
    /// Customer orders with their parts, by deal.
    orders: HashMap<String, OrderBook>,
    shipped_batches: Vec<BatchRecipient>,
    /// Contact cards by party id (party ids sort like the store's keys).
    cards: BTreeMap<String, ContactCard>,
    segments: BTreeMap<String, Segment>,
    opt_outs: BTreeMap<String, OptOut>,
    exports: BTreeMap<String, ExportRecord>,
    /// Units another order takes from a batch just before the next reservation is written
    /// (sku, batch, units): a race, on demand.
    steal: Option<(String, String, u32)>,
}

/// The fake store. Reads of its contents are for assertions.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    /// While `true`, every intake write answers that a concurrent writer interfered.
    contended: std::sync::atomic::AtomicBool,
}

impl MemoryStore {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts a batch of a product into stock.
    pub fn put_batch(&self, sku: &str, batch: Batch) {
        self.state()
            .stock
            .entry(sku.to_owned())
            .or_default()
            .push(batch);
    }

    pub fn put_card(&self, card: ContactCard) {
        self.state().cards.insert(card.party_id.clone(), card);
    }

    pub fn put_product(&self, product: Product) {
        self.state().products.insert(product.sku.clone(), product);
    }

    /// Lets another order reserve `units` of a batch right before the next reservation is
    /// written, as a concurrent request would.
    pub fn steal_once(&self, sku: &str, batch: &str, units: u32) {
        self.state().steal = Some((sku.to_owned(), batch.to_owned(), units));
    }

    /// Makes every lead or history write lose to a (pretended) concurrent writer.
    pub fn contend(&self, contended: bool) {
        self.contended
            .store(contended, std::sync::atomic::Ordering::SeqCst);
    }

    fn is_contended(&self) -> bool {
        self.contended.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn add_employee(&self, employee: Employee) {
        let mut state = self.state();
        state.owners.insert(
            ContactPoint::Email(employee.email.clone()),
            ContactPointOwner::staff(&employee.id),
        );
        state.employees.insert(employee.id.clone(), employee);
    }

    pub fn set_responsible_manager(&self, party_id: &str, manager_id: &str) {
        if let Some(party) = self.state().parties.get_mut(party_id) {
            party.responsible_manager_id = Some(manager_id.to_owned());
        }
    }

    pub fn parties(&self) -> Vec<Counterparty> {
        self.state().parties.values().cloned().collect()
    }

    pub fn inquiries(&self) -> Vec<Inquiry> {
        self.state().inquiries.values().cloned().collect()
    }

    pub fn interactions(&self) -> Vec<Interaction> {
        self.state().interactions.clone()
    }

    pub fn records(&self) -> Vec<IntakeRecord> {
        self.state().records.values().cloned().collect()
    }

    pub fn owner(&self, point: &ContactPoint) -> Option<ContactPointOwner> {
        self.state().owners.get(point).cloned()
    }

    pub fn add_party(&self, party: Counterparty) {
        self.state().parties.insert(party.id.clone(), party);
    }

    /// Puts an inquiry as it is (a fixture, or a state another writer left).
    pub fn put_inquiry(&self, inquiry: Inquiry) {
        self.state().inquiries.insert(inquiry.id.clone(), inquiry);
    }

    pub fn tasks(&self) -> Vec<Task> {
        self.state().tasks.values().cloned().collect()
    }

    pub fn call(&self, linkedid: &str) -> Option<CallRecord> {
        self.state().calls.get(linkedid).cloned()
    }

    /// The audit trail of one record, in the order written.
    pub fn audit_entries_of(&self, record: &str, id: &str) -> Vec<AuditEntry> {
        self.state()
            .audit
            .iter()
            .filter(|e| e.record == record && e.record_id == id)
            .cloned()
            .collect()
    }
}

impl Directory for MemoryStore {
    async fn counterparty(&self, id: &str) -> Result<Option<Counterparty>, StoreError> {
        Ok(self.state().parties.get(id).cloned())
    }

    async fn employee(&self, id: &str) -> Result<Option<Employee>, StoreError> {
        Ok(self.state().employees.get(id).cloned())
    }

    async fn active_heads(&self) -> Result<Vec<Employee>, StoreError> {
        let mut heads: Vec<Employee> = self
            .state()
            .employees
            .values()
            .filter(|e| e.active && e.role == Role::Head)
            .cloned()
            .collect();
        heads.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(heads)
    }
}

impl SystemTasks for MemoryStore {
    async fn put_task_if_absent(&self, task: &Task) -> Result<bool, StoreError> {
        let mut state = self.state();
        if state.tasks.contains_key(&task.id) {
            return Ok(false);
        }
        state.tasks.insert(task.id.clone(), task.clone());
        Ok(true)
    }
}

impl IntakeStore for MemoryStore {
    async fn lookup(
        &self,
        event_key: &str,
        points: &[ContactPoint],
    ) -> Result<IntakeLookup, StoreError> {
        let state = self.state();
        Ok(IntakeLookup {
            record: state.records.get(event_key).cloned(),
            owners: points
                .iter()
                .filter_map(|p| state.owners.get(p).map(|o| (p.clone(), o.clone())))
                .collect(),
        })
    }

    async fn create_lead(&self, lead: &NewLead) -> Result<WriteOutcome, StoreError> {
        if self.is_contended() {
            return Ok(WriteOutcome::Contended);
        }
        let mut state = self.state();
        if state.records.contains_key(&lead.record.event_key) {
            return Ok(WriteOutcome::DuplicateEvent);
        }
        if lead
            .contact_points
            .iter()
            .any(|p| state.owners.contains_key(p))
        {
            return Ok(WriteOutcome::ContactPointTaken);
        }
        for point in &lead.contact_points {
            state.owners.insert(
                point.clone(),
                ContactPointOwner {
                    party_id: lead.counterparty.id.clone(),
                    contact_id: lead.contact.id.clone(),
                    confirmed: lead.points_confirmed,
                    source: Some(lead.points_source),
                    staff: false,
                },
            );
        }
        state
            .records
            .insert(lead.record.event_key.clone(), lead.record.clone());
        state
            .parties
            .insert(lead.counterparty.id.clone(), lead.counterparty.clone());
        state
            .inquiries
            .insert(lead.inquiry.id.clone(), lead.inquiry.clone());
        state.interactions.push(lead.interaction.clone());
        state.audit.extend(lead.audit.iter().cloned());
        Ok(WriteOutcome::Written)
    }

    async fn append_to_history(&self, entry: &HistoryEntry) -> Result<WriteOutcome, StoreError> {
        let mut state = self.state();
        if state.records.contains_key(&entry.record.event_key) {
            return Ok(WriteOutcome::DuplicateEvent);
        }
        if entry
            .new_contact_points
            .iter()
            .any(|p| state.owners.contains_key(p))
        {
            return Ok(WriteOutcome::ContactPointTaken);
        }
        for point in &entry.new_contact_points {
            state.owners.insert(
                point.clone(),
                ContactPointOwner {
                    party_id: entry.interaction.party_id.clone(),
                    contact_id: entry.contact_id.clone(),
                    confirmed: entry.points_confirmed,
                    source: Some(entry.points_source),
                    staff: false,
                },
            );
        }
        state
            .records
            .insert(entry.record.event_key.clone(), entry.record.clone());
        state.interactions.push(entry.interaction.clone());
        state.audit.extend(entry.audit.iter().cloned());
        Ok(WriteOutcome::Written)
    }

    async fn record_event(&self, record: &IntakeRecord) -> Result<WriteOutcome, StoreError> {
        let mut state = self.state();
        if state.records.contains_key(&record.event_key) {
            return Ok(WriteOutcome::DuplicateEvent);
        }
        state
            .records
            .insert(record.event_key.clone(), record.clone());
        Ok(WriteOutcome::Written)
    }

    async fn pending_notifications(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<IntakeRecord>, StoreError> {
        let mut pending: Vec<IntakeRecord> = self
            .state()
            .records
            .values()
            .filter(|r| r.pending_notification.is_some() && r.received_at < before)
            .cloned()
            .collect();
        pending.sort_by(|a, b| (a.received_at, &a.event_key).cmp(&(b.received_at, &b.event_key)));
        Ok(pending)
    }

    async fn mark_notified(&self, event_key: &str) -> Result<(), StoreError> {
        if let Some(record) = self.state().records.get_mut(event_key) {
            record.pending_notification = None;
            record.notified_at = Some(Utc::now());
        }
        Ok(())
    }

    async fn intake_record(&self, event_key: &str) -> Result<Option<IntakeRecord>, StoreError> {
        Ok(self.state().records.get(event_key).cloned())
    }
}

/// Keeps the first value seen, like the adapter's `if_not_exists`.
fn first_seen<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
    if slot.is_none() {
        slot.clone_from(value);
    }
}

impl CallStore for MemoryStore {
    async fn give_call_back(&self, task: &Task, record: &IntakeRecord) -> Result<bool, StoreError> {
        let mut state = self.state();
        if state.tasks.contains_key(&task.id) || state.records.contains_key(&record.event_key) {
            return Ok(false);
        }
        state.tasks.insert(task.id.clone(), task.clone());
        state
            .records
            .insert(record.event_key.clone(), record.clone());
        Ok(true)
    }

    async fn record_call(&self, update: &CallUpdate) -> Result<CallRecord, StoreError> {
        let notice = &update.notice;
        let mut state = self.state();
        let call = state
            .calls
            .entry(notice.linkedid.clone())
            .or_insert_with(|| CallRecord {
                linkedid: notice.linkedid.clone(),
                caller_raw: None,
                caller_e164: None,
                did: None,
                called: None,
                started_at: None,
                answered_at: None,
                answered_by_ext: None,
                answered_by: None,
                ended_at: None,
                missed_flag: false,
                recording: None,
                legs: Vec::new(),
                events: Vec::new(),
                party_id: None,
                inquiry_id: None,
                interaction_id: None,
            });
        first_seen(&mut call.caller_raw, &notice.caller_raw);
        first_seen(&mut call.did, &notice.did);
        first_seen(&mut call.called, &notice.called);
        first_seen(&mut call.party_id, &update.party_id);
        first_seen(&mut call.inquiry_id, &update.inquiry_id);
        first_seen(&mut call.interaction_id, &update.interaction_id);
        match notice.event {
            CallEvent::Start => first_seen(&mut call.started_at, &notice.at),
            CallEvent::Answer => {
                first_seen(&mut call.answered_at, &notice.at.or(Some(Utc::now())));
                first_seen(&mut call.answered_by_ext, &notice.extension);
                first_seen(&mut call.answered_by, &update.answered_by);
            }
            CallEvent::End => {
                first_seen(&mut call.ended_at, &notice.at.or(Some(Utc::now())));
                call.missed_flag |= notice.missed;
                first_seen(&mut call.recording, &notice.recording);
            }
        }
        if let Some(uid) = &notice.uid
            && !call.legs.contains(uid)
        {
            call.legs.push(uid.clone());
        }
        let event = notice.event.code().to_owned();
        if !call.events.contains(&event) {
            call.events.push(event);
        }
        Ok(call.clone())
    }

    async fn employee_by_extension(&self, extension: &str) -> Result<Option<Employee>, StoreError> {
        Ok(self
            .state()
            .employees
            .values()
            .find(|e| e.active && e.extension.as_deref() == Some(extension))
            .cloned())
    }

    async fn mark_inquiry_missed(&self, inquiry_id: &str) -> Result<(), StoreError> {
        if let Some(inquiry) = self.state().inquiries.get_mut(inquiry_id) {
            inquiry.missed = true;
            inquiry.version += 1;
        }
        Ok(())
    }

    async fn mark_interaction_missed(
        &self,
        _party_id: &str,
        _at: &DateTime<Utc>,
        interaction_id: &str,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        if let Some(entry) = state
            .interactions
            .iter_mut()
            .find(|i| i.id == interaction_id)
        {
            entry.missed = true;
        }
        Ok(())
    }
}

impl InquiryStore for MemoryStore {
    async fn inquiry(&self, id: &str) -> Result<Option<Inquiry>, StoreError> {
        Ok(self.state().inquiries.get(id).cloned())
    }

    async fn save_inquiry(&self, change: InquiryChange<'_>) -> Result<bool, StoreError> {
        let (inquiry, assignment) = (change.inquiry, change.assignment);
        let mut state = self.state();
        if state.inquiries.get(&inquiry.id).map(|i| i.version) != Some(change.expected_version) {
            return Ok(false);
        }
        if let Some(assignment) = assignment {
            let Some(party) = state.parties.get_mut(&assignment.party_id) else {
                return Ok(false);
            };
            if party.responsible_manager_id != assignment.was_manager_id
                || party.department != assignment.was_department
            {
                return Ok(false);
            }
            party.responsible_manager_id = Some(assignment.manager_id.clone());
            party.department = Some(assignment.department);
        }
        state.inquiries.insert(inquiry.id.clone(), inquiry.clone());
        state.audit.extend(change.audit.iter().cloned());
        Ok(true)
    }

    async fn overdue_first_responses(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Inquiry>, StoreError> {
        let mut late: Vec<Inquiry> = self
            .state()
            .inquiries
            .values()
            .filter(|i| i.status == InquiryStatus::Routed)
            .filter(|i| i.first_response_due.is_some_and(|due| due < now))
            .cloned()
            .collect();
        late.sort_by_key(|i| i.first_response_due);
        Ok(late)
    }

    async fn unrouted_inquiries(&self) -> Result<Vec<Inquiry>, StoreError> {
        let mut unrouted: Vec<Inquiry> = self
            .state()
            .inquiries
            .values()
            .filter(|i| i.status == InquiryStatus::Unrouted)
            .cloned()
            .collect();
        unrouted.sort_by(|a, b| (a.received_at, &a.id).cmp(&(b.received_at, &b.id)));
        Ok(unrouted)
    }

    async fn awaiting_inquiries(&self) -> Result<Vec<Inquiry>, StoreError> {
        let mut awaiting: Vec<Inquiry> = self
            .state()
            .inquiries
            .values()
            .filter(|i| i.status == InquiryStatus::Routed && i.first_response_due.is_some())
            .cloned()
            .collect();
        awaiting.sort_by_key(|i| i.first_response_due);
        Ok(awaiting)
    }
}

impl DealStore for MemoryStore {
    async fn deal(&self, id: &str) -> Result<Option<Deal>, StoreError> {
        Ok(self.state().deals.get(id).cloned())
    }

    async fn save_deal(&self, change: DealChange<'_>) -> Result<bool, StoreError> {
        let mut state = self.state();
        let (deal, extra) = (change.deal, change.extra);
        if state.deals.get(&deal.id).map(|d| d.version) != change.expected_version {
            return Ok(false);
        }
        if let Some((inquiry, expected)) = &extra.inquiry
            && state.inquiries.get(&inquiry.id).map(|i| i.version) != Some(*expected)
        {
            return Ok(false);
        }
        if !extra
            .orders
            .iter()
            .all(|write| state.order_write_holds(&deal.id, write))
        {
            return Ok(false);
        }
        if let Some(party_id) = &extra.client_party_id {
            let Some(party) = state.parties.get_mut(party_id) else {
                return Ok(false);
            };
            party.kind = CounterpartyKind::Client;
        }
        for write in extra.orders {
            state.apply_order_write(&deal.id, write);
        }
        if let Some((inquiry, _)) = extra.inquiry {
            state.inquiries.insert(inquiry.id.clone(), inquiry);
        }
        state.deals.insert(deal.id.clone(), deal.clone());
        state
            .outbox
            .entry(deal.id.clone())
            .or_default()
            .insert(change.event.version, change.event.clone());
        state.audit.extend(change.audit.iter().cloned());
        state.audit.extend(extra.audit);
        Ok(true)
    }

    async fn pending_deal_events(&self, deal_id: &str) -> Result<Vec<DealEvent>, StoreError> {
        Ok(self
            .state()
            .outbox
            .get(deal_id)
            .map(|events| events.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn delete_pending_deal_event(
        &self,
        deal_id: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        if let Some(events) = state.outbox.get_mut(deal_id) {
            events.remove(&version);
            if events.is_empty() {
                state.outbox.remove(deal_id);
            }
        }
        Ok(())
    }

    async fn deals_with_pending_events(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.state().outbox.keys().cloned().collect())
    }

    async fn record_consumed_deal_event(&self, event: &DealEvent) -> Result<bool, StoreError> {
        Ok(self.state().consumed.insert(event.event_id.clone()))
    }
}

/// A notifier that keeps what it sends, and can be told to fail the next send, or every
/// send until told otherwise (mail down).
#[derive(Debug, Default)]
pub struct MemoryNotifier {
    sent: Mutex<Vec<Notification>>,
    fail_next: Mutex<bool>,
    down: Mutex<bool>,
}

impl MemoryNotifier {
    pub fn sent(&self) -> Vec<Notification> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every send fails until `down(false)`.
    pub fn down(&self, down: bool) {
        *self.down.lock().unwrap_or_else(PoisonError::into_inner) = down;
    }

    /// The next send fails with a transient error.
    pub fn fail_next(&self) {
        *self
            .fail_next
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
    }
}

impl Notifier for MemoryNotifier {
    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        let failing = std::mem::take(
            &mut *self
                .fail_next
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if failing || *self.down.lock().unwrap_or_else(PoisonError::into_inner) {
            return Err(NotifyError {
                message: "throttled".into(),
                retryable: true,
            });
        }
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(notification.clone());
        Ok(())
    }
}

/// A deal-events queue that keeps what is published, in order, and can be made to fail.
#[derive(Debug, Default)]
pub struct MemoryPublisher {
    published: Mutex<Vec<DealEvent>>,
    failing: Mutex<bool>,
    refused: Mutex<Vec<String>>,
}

impl MemoryPublisher {
    pub fn published(&self) -> Vec<DealEvent> {
        self.published
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// While `true`, every publish fails (the queue is unreachable).
    pub fn fail(&self, failing: bool) {
        *self.failing.lock().unwrap_or_else(PoisonError::into_inner) = failing;
    }

    /// Every publish of this deal's events fails for good (as an oversized message would).
    pub fn refuse_deal(&self, deal_id: &str) {
        self.refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(deal_id.to_owned());
    }
}

impl DealEventPublisher for MemoryPublisher {
    async fn publish(&self, events: &[DealEvent]) -> Result<(), PublishError> {
        if *self.failing.lock().unwrap_or_else(PoisonError::into_inner) {
            return Err(PublishError {
                message: "queue unreachable".into(),
                retryable: true,
            });
        }
        let refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        if events.iter().any(|e| refused.contains(&e.deal_id)) {
            return Err(PublishError {
                message: "message refused".into(),
                retryable: false,
            });
        }
        drop(refused);
        self.published
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(events.iter().cloned());
        Ok(())
    }
}

impl State {
    fn batch_mut(&mut self, article: &str, batch_id: &str) -> Option<&mut Batch> {
        self.stock
            .get_mut(article)?
            .iter_mut()
            .find(|b| b.id == batch_id)
    }

    /// Whether an order write's condition holds, as DynamoDB's would.
    fn order_write_holds(&mut self, deal_id: &str, write: &OrderWrite) -> bool {
        let book = self.orders.get(deal_id);
        match write {
            OrderWrite::PlaceOrder(_) => book.is_none(),
            OrderWrite::Order(_) => book.is_some(),
            OrderWrite::Production {
                order,
                expected_version,
            } => {
                let current = book.and_then(|b| b.production.iter().find(|p| p.id == order.id));
                current.map(|p| p.version) == *expected_version
            }
            OrderWrite::Supply {
                order,
                expected_version,
            } => {
                let current = book.and_then(|b| b.supply.iter().find(|s| s.id == order.id));
                current.map(|s| s.version) == *expected_version
            }
            OrderWrite::Shipment(shipment) => {
                book.is_some_and(|b| b.shipments.iter().all(|s| s.id != shipment.id))
            }
            OrderWrite::Stock(stock) => {
                let now = self
                    .batch_mut(&stock.article, &stock.batch_id)
                    .map(|b| (b.on_hand, b.reserved));
                now == stock.before
            }
        }
    }

    fn apply_order_write(&mut self, deal_id: &str, write: OrderWrite) {
        match write {
            OrderWrite::PlaceOrder(order) => {
                self.orders.insert(
                    deal_id.to_owned(),
                    OrderBook {
                        order,
                        production: Vec::new(),
                        supply: Vec::new(),
                        shipments: Vec::new(),
                    },
                );
            }
            OrderWrite::Order(order) => {
                if let Some(book) = self.orders.get_mut(deal_id) {
                    book.order = order;
                }
            }
            OrderWrite::Production { order, .. } => {
                if let Some(book) = self.orders.get_mut(deal_id) {
                    book.production.retain(|p| p.id != order.id);
                    book.production.push(order);
                    book.production.sort_by_key(|p| p.line);
                }
            }
            OrderWrite::Supply { order, .. } => {
                if let Some(book) = self.orders.get_mut(deal_id) {
                    book.supply.retain(|s| s.id != order.id);
                    book.supply.push(order);
                    book.supply.sort_by_key(|s| s.line);
                }
            }
            OrderWrite::Stock(stock) => self.move_stock(stock),
            OrderWrite::Shipment(shipment) => {
                for line in &shipment.lines {
                    self.shipped_batches.push(BatchRecipient {
                        article: line.article.clone(),
                        batch_id: line.batch_id.clone(),
                        party_id: shipment.party_id.clone(),
                        deal_id: shipment.deal_id.clone(),
                        shipment_id: shipment.id.clone(),
                        quantity: line.quantity,
                        shipped_at: shipment.shipped_at,
                    });
                }
                if let Some(book) = self.orders.get_mut(deal_id) {
                    book.shipments.push(shipment);
                }
            }
        }
    }

    fn move_stock(&mut self, stock: StockMove) {
        let (on_hand, reserved) = stock.after;
        match self.batch_mut(&stock.article, &stock.batch_id) {
            Some(batch) => {
                batch.on_hand = on_hand;
                batch.reserved = reserved;
            }
            None => self.stock.entry(stock.article).or_default().push(Batch {
                id: stock.batch_id,
                received_at: stock.received_at,
                expiry: stock.expiry,
                on_hand,
                reserved,
            }),
        }
    }
}

impl OrderStore for MemoryStore {
    async fn order_book(&self, deal_id: &str) -> Result<Option<OrderBook>, StoreError> {
        Ok(self.state().orders.get(deal_id).cloned())
    }

    async fn products(&self, skus: &[String]) -> Result<HashMap<String, Product>, StoreError> {
        let state = self.state();
        Ok(skus
            .iter()
            .filter_map(|sku| Some((sku.clone(), state.products.get(sku)?.clone())))
            .collect())
    }

    async fn batch(&self, article: &str, batch_id: &str) -> Result<Option<Batch>, StoreError> {
        Ok(self.state().batch_mut(article, batch_id).map(|b| b.clone()))
    }

    async fn open_production(&self) -> Result<Vec<ProductionOrder>, StoreError> {
        Ok(self
            .state()
            .orders
            .values()
            .flat_map(|book| book.production.iter().filter(|p| !p.is_done()).cloned())
            .collect())
    }

    async fn batch_recipients(
        &self,
        article: &str,
        batch_id: &str,
    ) -> Result<Vec<BatchRecipient>, StoreError> {
        Ok(self
            .state()
            .shipped_batches
            .iter()
            .filter(|r| r.article == article && r.batch_id == batch_id)
            .cloned()
            .collect())
    }
}

impl MarketingStore for MemoryStore {
    async fn segment(&self, id: &str) -> Result<Option<Segment>, StoreError> {
        Ok(self.state().segments.get(id).cloned())
    }

    async fn save_segment(
        &self,
        segment: &Segment,
        expected_version: Option<u64>,
        audit: &[AuditEntry],
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        if state.segments.get(&segment.id).map(|s| s.version) != expected_version {
            return Ok(false);
        }
        state.segments.insert(segment.id.clone(), segment.clone());
        state.audit.extend(audit.iter().cloned());
        Ok(true)
    }

    async fn delete_segment(&self, id: &str, audit: &[AuditEntry]) -> Result<bool, StoreError> {
        let mut state = self.state();
        let removed = state.segments.remove(id).is_some();
        if removed {
            state.audit.extend(audit.iter().cloned());
        }
        Ok(removed)
    }

    async fn segments(&self) -> Result<Vec<Segment>, StoreError> {
        Ok(self.state().segments.values().cloned().collect())
    }

    async fn cards_page(
        &self,
        department: Option<Department>,
        kind: crm_domain::party::CounterpartyKind,
        after: Option<&str>,
        limit: usize,
    ) -> Result<CardPage, StoreError> {
        let state = self.state();
        let cards: Vec<ContactCard> = state
            .cards
            .values()
            .filter(|c| c.department == department && c.kind == kind)
            .filter(|c| after.is_none_or(|a| c.party_id.as_str() > a))
            .take(limit + 1)
            .cloned()
            .collect();
        let more = cards.len() > limit;
        let cards: Vec<ContactCard> = cards.into_iter().take(limit).collect();
        Ok(CardPage {
            next_after: more
                .then(|| cards.last().map(|c| c.party_id.clone()))
                .flatten(),
            cards,
        })
    }

    async fn opted_out(&self, emails: &[String]) -> Result<HashSet<String>, StoreError> {
        let state = self.state();
        Ok(emails
            .iter()
            .filter(|e| state.opt_outs.contains_key(e.as_str()))
            .cloned()
            .collect())
    }

    async fn put_opt_outs(&self, opt_outs: &[OptOut]) -> Result<usize, StoreError> {
        let mut state = self.state();
        let mut added = 0;
        for out in opt_outs {
            if !state.opt_outs.contains_key(&out.email) {
                state.opt_outs.insert(out.email.clone(), out.clone());
                added += 1;
            }
        }
        Ok(added)
    }

    async fn export(&self, id: &str) -> Result<Option<ExportRecord>, StoreError> {
        Ok(self.state().exports.get(id).cloned())
    }

    async fn save_export(
        &self,
        record: &ExportRecord,
        create: bool,
        audit: &[AuditEntry],
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        if create && state.exports.contains_key(&record.id) {
            return Ok(false);
        }
        state.exports.insert(record.id.clone(), record.clone());
        state.audit.extend(audit.iter().cloned());
        Ok(true)
    }

    async fn employees(&self) -> Result<Vec<Employee>, StoreError> {
        Ok(self.state().employees.values().cloned().collect())
    }
}

/// The exports queue, in memory: what was sent, in order.
#[derive(Debug, Default)]
pub struct MemoryExportQueue {
    sent: Mutex<Vec<serde_json::Value>>,
}

impl MemoryExportQueue {
    pub fn sent(&self) -> Vec<serde_json::Value> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl crate::marketing::ports::ExportQueue for MemoryExportQueue {
    async fn enqueue(&self, export_id: &str) -> Result<(), crate::ports::BlobError> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(serde_json::json!({ "export_id": export_id }));
        Ok(())
    }

    async fn enqueue_scheduled(
        &self,
        segment_id: &str,
        scheduled_at: DateTime<Utc>,
    ) -> Result<(), crate::ports::BlobError> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(serde_json::json!({ "segment_id": segment_id, "scheduled_at": scheduled_at }));
        Ok(())
    }
}

/// Export files kept in memory, by key.
#[derive(Debug, Default)]
pub struct MemoryFiles {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryFiles {
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    pub fn keys(&self) -> Vec<String> {
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }
}

impl ExportFiles for MemoryFiles {
    async fn put_file(
        &self,
        key: &str,
        path: &std::path::Path,
        _content_type: &str,
    ) -> Result<(), crate::ports::BlobError> {
        let bytes = std::fs::read(path).map_err(|e| crate::ports::BlobError::Service {
            operation: "PutObject",
            message: e.to_string(),
            retryable: false,
        })?;
        self.put_bytes(key, bytes, "").await
    }

    async fn put_bytes(
        &self,
        key: &str,
        bytes: Vec<u8>,
        _content_type: &str,
    ) -> Result<(), crate::ports::BlobError> {
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned(), bytes);
        Ok(())
    }
}

impl StockStore for MemoryStore {
    async fn reservation(&self, id: &str) -> Result<Option<Reservation>, StoreError> {
        Ok(self.state().reservations.get(id).cloned())
    }

    async fn batches(&self, sku: &str) -> Result<Vec<Batch>, StoreError> {
        Ok(self.state().stock.get(sku).cloned().unwrap_or_default())
    }

    async fn reserve(
        &self,
        reservation: &Reservation,
        audit: &[AuditEntry],
    ) -> Result<ReserveWrite, StoreError> {
        let mut state = self.state();
        if let Some((sku, batch, units)) = state.steal.take()
            && let Some(stolen) = state
                .stock
                .get_mut(&sku)
                .and_then(|batches| batches.iter_mut().find(|b| b.id == batch))
        {
            stolen.reserved += units.min(stolen.free());
        }
        if state.reservations.contains_key(&reservation.id) {
            return Ok(ReserveWrite::AlreadyReserved);
        }
        let batches = state.stock.entry(reservation.sku.clone()).or_default();
        let covered = reservation.picks.iter().all(|pick| {
            batches
                .iter()
                .any(|b| b.id == pick.batch_id && b.free() >= pick.quantity)
        });
        if !covered {
            return Ok(ReserveWrite::StockChanged);
        }
        for pick in &reservation.picks {
            if let Some(batch) = batches.iter_mut().find(|b| b.id == pick.batch_id) {
                batch.reserved += pick.quantity;
            }
        }
        state
            .reservations
            .insert(reservation.id.clone(), reservation.clone());
        state.audit.extend(audit.iter().cloned());
        Ok(ReserveWrite::Reserved)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Fixtures for the use-case tests.

    use super::*;
    use crm_domain::intake::{InboundMessage, InquiryKind};
    use crm_domain::kernel::Department;
    use crm_domain::party::{Channel, EmailAddress, PersonDetails, PointSource};

    /// A head of `department` (`None`: of every department), as routing acts.
    pub(crate) fn head(id: &str, department: Option<Department>) -> crm_domain::staff::Actor {
        crm_domain::staff::Actor::of(&employee(id, Role::Head, department))
    }

    pub(crate) fn employee(id: &str, role: Role, department: Option<Department>) -> Employee {
        Employee {
            id: id.into(),
            name: id.into(),
            email: EmailAddress::parse(&format!("{id}@vacuum-zavod.ru")).unwrap(),
            role,
            department,
            extension: None,
            active: true,
        }
    }

    /// A lead with one unrouted inquiry `id`; returns the party's id and the inquiry.
    pub(crate) fn unrouted_inquiry(store: &MemoryStore, id: &str) -> (String, Inquiry) {
        let party_id = format!("party-{id}");
        let now = Utc::now();
        store.add_party(Counterparty {
            id: party_id.clone(),
            kind: CounterpartyKind::Lead,
            name: "Иван".into(),
            company: None,
            responsible_manager_id: None,
            department: None,
            source_channel: Channel::Email,
            created_at: now,
        });
        let message = InboundMessage {
            event_key: format!("email#{id}"),
            raw_key: format!("inbound/{id}"),
            channel: Channel::Email,
            kind: InquiryKind::Manual,
            received_at: now,
            contact: PersonDetails::default(),
            subject: None,
            text: "Нужен насос".into(),
            attachments: Vec::new(),
            left_out: Vec::new(),
            forwarded_by: None,
            source: PointSource::AuthenticatedMail,
        };
        let inquiry = message.new_inquiry(id.into(), party_id.clone());
        store.put_inquiry(inquiry.clone());
        (party_id, inquiry)
    }
}
