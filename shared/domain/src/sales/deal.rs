//! Deals (сделки) and their stage machine, exactly as the company runs them:
//!
//! `equipment_selection` → (`proposal` | `invoice`) → `agreed` → `production` (only when a
//! line is made to order) and/or `warehouse_sale` (shipping always goes through the
//! warehouse) → `installation` (ends with the signed acceptance act) → `attestation` (only
//! for climate chambers and simulators) → `service` → `closed`; before agreement a deal
//! may become `unfit`. A transition that is not allowed, or whose data is missing, is
//! refused with the machine-readable list of what is missing.

use crate::kernel::{Department, Owner, sku_is_valid};
use crate::party::{EmailAddress, LegalEntity, legal_entity_problems};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a deal is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DealStage {
    EquipmentSelection,
    Proposal,
    Invoice,
    Agreed,
    Production,
    WarehouseSale,
    Installation,
    Attestation,
    Service,
    Closed,
    Unfit,
}

impl DealStage {
    pub const ALL: [DealStage; 11] = [
        Self::EquipmentSelection,
        Self::Proposal,
        Self::Invoice,
        Self::Agreed,
        Self::Production,
        Self::WarehouseSale,
        Self::Installation,
        Self::Attestation,
        Self::Service,
        Self::Closed,
        Self::Unfit,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::EquipmentSelection => "equipment_selection",
            Self::Proposal => "proposal",
            Self::Invoice => "invoice",
            Self::Agreed => "agreed",
            Self::Production => "production",
            Self::WarehouseSale => "warehouse_sale",
            Self::Installation => "installation",
            Self::Attestation => "attestation",
            Self::Service => "service",
            Self::Closed => "closed",
            Self::Unfit => "unfit",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Before agreement a deal can still be lost.
    pub fn before_agreement(self) -> bool {
        matches!(
            self,
            Self::EquipmentSelection | Self::Proposal | Self::Invoice
        )
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Closed | Self::Unfit)
    }
}

/// What kind of equipment a line is; attestation depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EquipmentType {
    VacuumPump,
    Pump,
    Compressor,
    VacuumEquipment,
    ThermalEquipment,
    ClimateChamber,
    Simulator,
    Other,
}

impl EquipmentType {
    /// Climate chambers and simulators are attested by an accredited body.
    pub fn needs_attestation(self) -> bool {
        matches!(self, Self::ClimateChamber | Self::Simulator)
    }
}

/// The person the deal is agreed with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DealContact {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<EmailAddress>,
}

/// One line of a deal: what, how many, at what price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DealItem {
    pub product: String,
    pub equipment_type: EquipmentType,
    pub quantity: u32,
    /// Price per unit in kopecks (no floating point in money).
    pub unit_price_kopecks: i64,
    /// Made by the company to order (a production order), rather than from stock.
    #[serde(default)]
    pub made_to_order: bool,
    /// The catalogue article, when the line is a catalogued product: stock is reserved
    /// for it and what stock lacks goes to production or a supplier by the product's kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Bought from a supplier for this deal (what stock does not cover, or the whole line
    /// when it names no article).
    #[serde(default)]
    pub purchase: bool,
}

impl DealItem {
    /// Whether the line says how it is fulfilled: an article, made to order, or bought.
    /// A deal is agreed only when every line does.
    pub fn has_fulfilment(&self) -> bool {
        self.sku.is_some() || self.made_to_order || self.purchase
    }
}

impl DealItem {
    /// Quantity × unit price. Within [`MAX_QUANTITY`] and [`MAX_UNIT_PRICE_KOPECKS`] it
    /// cannot overflow; out of them (never stored: see [`DealTerms::problems`]) it
    /// saturates rather than wraps.
    pub fn total_kopecks(&self) -> i64 {
        self.unit_price_kopecks
            .saturating_mul(i64::from(self.quantity))
    }
}

/// The most lines a deal holds.
pub const MAX_ITEMS: usize = 100;
/// The most units of one line.
pub const MAX_QUANTITY: u32 = 100_000;
/// The most one unit may cost: one billion roubles. With [`MAX_ITEMS`] and
/// [`MAX_QUANTITY`] a deal's total stays below 10¹⁸ kopecks, inside `i64`.
pub const MAX_UNIT_PRICE_KOPECKS: i64 = 100_000_000_000;
/// The most wishes in a deal's needs.
pub const MAX_NEEDS: usize = 20;
/// The longest any one text of a deal may be, in characters.
pub const MAX_TEXT_CHARS: usize = 1_000;
/// The longest product name of a line, in characters.
pub const MAX_PRODUCT_CHARS: usize = 300;
/// What the caps above guarantee: a deal, and so its event, serialised, stays under this
/// (an SQS message holds 256 KiB, a DynamoDB item 400 KB).
pub const MAX_DEAL_BYTES: usize = 200 * 1024;

impl DealTerms {
    /// Fields out of range or over their caps, as field paths (`items[2].quantity`): the
    /// money stays exact and every item fits in DynamoDB.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut text = |path: String, value: &str| {
            if value.chars().count() > MAX_TEXT_CHARS {
                problems.push(path);
            }
        };
        for (index, need) in self.needs.iter().enumerate() {
            text(format!("needs[{index}]"), need);
        }
        let entity = &self.legal_entity;
        text("legal_entity.name".into(), &entity.name);
        text("legal_entity.address".into(), &entity.address);
        text("legal_entity.bank.bank_name".into(), &entity.bank.bank_name);
        text("contact.name".into(), &self.contact.name);
        text(
            "contact.phone".into(),
            self.contact.phone.as_deref().unwrap_or_default(),
        );
        for (path, value) in [
            ("application_area", &self.application_area),
            ("processed_materials", &self.processed_materials),
        ] {
            text(path.into(), value.as_deref().unwrap_or_default());
        }
        for (index, item) in self.items.iter().enumerate() {
            if item.product.chars().count() > MAX_PRODUCT_CHARS {
                problems.push(format!("items[{index}].product"));
            }
            if item.sku.as_deref().is_some_and(|sku| !sku_is_valid(sku)) {
                problems.push(format!("items[{index}].sku"));
            }
            if item.made_to_order && item.purchase {
                problems.push(format!("items[{index}].purchase"));
            }
        }
        if self.needs.len() > MAX_NEEDS {
            problems.push("needs".into());
        }
        if self.items.len() > MAX_ITEMS {
            problems.push("items".into());
        }
        for (index, item) in self.items.iter().enumerate() {
            if item.quantity > MAX_QUANTITY {
                problems.push(format!("items[{index}].quantity"));
            }
            if !(0..=MAX_UNIT_PRICE_KOPECKS).contains(&item.unit_price_kopecks) {
                problems.push(format!("items[{index}].unit_price_kopecks"));
            }
        }
        problems
    }
}

/// The service talks after installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceDecision {
    /// The client agreed to a service contract.
    Contract,
    Declined,
}

/// A document linked to a deal, stored in the documents bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentRef {
    pub id: String,
    /// `proposal`, `invoice`, `contract`, `shipping`, `acceptance_act`, …
    pub kind: String,
    pub filename: String,
    pub key: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// Why a deal was lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnfitReason {
    pub reason: String,
}

/// A deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Deal {
    pub id: String,
    pub party_id: String,
    #[serde(default)]
    pub inquiry_id: Option<String>,
    pub department: Department,
    pub manager_id: String,
    pub stage: DealStage,
    #[serde(flatten)]
    pub terms: DealTerms,
    /// When the commercial proposal was sent to the client.
    #[serde(default)]
    pub proposal_sent_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub invoice_number: Option<String>,
    /// The customer order was placed from the agreed items: from then on the order sets
    /// `production_required`, `production_ready` and `shipped`, not people.
    #[serde(default)]
    pub order_placed: bool,
    /// Something of the order is made in-house (its split has a production order).
    #[serde(default)]
    pub production_required: bool,
    #[serde(default)]
    pub production_ready: bool,
    #[serde(default)]
    pub shipped: bool,
    #[serde(default)]
    pub acceptance_signed: bool,
    #[serde(default)]
    pub attestation_done: bool,
    #[serde(default)]
    pub service_decision: Option<ServiceDecision>,
    #[serde(default)]
    pub payment_received: bool,
    /// Closing documents (УПД, акт) recorded.
    #[serde(default)]
    pub closing_documents: bool,
    #[serde(default)]
    pub unfit_reason: Option<String>,
    /// Proposal, invoice, contract, shipping and tax documents, acceptance act.
    #[serde(default)]
    pub documents: Vec<DocumentRef>,
    /// Optimistic-lock version: every write must name the version it read.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the client needs, who buys, whom to talk to and what is offered: what a manager
/// tells when qualifying an inquiry and edits while the deal runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct DealTerms {
    /// The client's needs: a list of wishes.
    pub needs: Vec<String>,
    pub legal_entity: LegalEntity,
    pub contact: DealContact,
    pub application_area: Option<String>,
    pub equipment_type: Option<EquipmentType>,
    pub processed_materials: Option<String>,
    pub items: Vec<DealItem>,
}

impl DealTerms {
    /// Whom the deal is with, as documents name them: the legal entity, else the contact.
    pub fn client_name(&self) -> String {
        let entity = self.legal_entity.name.trim();
        if entity.is_empty() {
            self.contact.name.trim().to_owned()
        } else {
            entity.to_owned()
        }
    }
}

/// What a deal is opened with: who it is with and its terms.
#[derive(Debug, Clone)]
pub struct NewDeal {
    pub id: String,
    pub party_id: String,
    pub inquiry_id: Option<String>,
    pub department: Department,
    pub manager_id: String,
    pub terms: DealTerms,
}

impl Deal {
    /// A deal at `equipment_selection`, version 1, with no progress recorded yet.
    pub fn open(new: NewDeal, at: DateTime<Utc>) -> Self {
        Self {
            id: new.id,
            party_id: new.party_id,
            inquiry_id: new.inquiry_id,
            department: new.department,
            manager_id: new.manager_id,
            stage: DealStage::EquipmentSelection,
            terms: new.terms,
            proposal_sent_at: None,
            invoice_number: None,
            order_placed: false,
            production_required: false,
            production_ready: false,
            shipped: false,
            acceptance_signed: false,
            attestation_done: false,
            service_decision: None,
            payment_received: false,
            closing_documents: false,
            unfit_reason: None,
            documents: Vec::new(),
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }
    pub fn needs_attestation(&self) -> bool {
        self.terms
            .items
            .iter()
            .any(|i| i.equipment_type.needs_attestation())
            || self
                .terms
                .equipment_type
                .is_some_and(EquipmentType::needs_attestation)
    }

    /// Whether the deal goes through `production`: as its order's split says once the
    /// order is placed, before that (and for deals agreed before orders existed) when a
    /// line is made to order.
    pub fn needs_production(&self) -> bool {
        if self.order_placed {
            self.production_required
        } else {
            self.terms.items.iter().any(|i| i.made_to_order)
        }
    }

    /// The sum of the lines, saturating (exact within the caps of [`DealTerms::problems`]).
    pub fn total_kopecks(&self) -> i64 {
        self.terms
            .items
            .iter()
            .map(DealItem::total_kopecks)
            .fold(0i64, i64::saturating_add)
    }
}

/// What a new deal lacks (needs, a valid legal entity, a contact) or holds out of range.
pub fn creation_problems(terms: &DealTerms) -> Vec<String> {
    let mut missing = Vec::new();
    if terms.needs.iter().all(|n| n.trim().is_empty()) {
        missing.push("needs".to_owned());
    }
    missing.extend(legal_entity_problems(&terms.legal_entity));
    let contact = &terms.contact;
    if contact.name.trim().is_empty() {
        missing.push("contact.name".to_owned());
    }
    if contact.phone.as_deref().is_none_or(|p| p.trim().is_empty()) && contact.email.is_none() {
        missing.push("contact.phone_or_email".to_owned());
    }
    missing.extend(terms.problems());
    missing
}

/// A manager's edit of a running deal: every field given replaces the deal's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct DealEdit {
    pub needs: Option<Vec<String>>,
    pub legal_entity: Option<LegalEntity>,
    pub contact: Option<DealContact>,
    pub application_area: Option<String>,
    pub equipment_type: Option<EquipmentType>,
    pub processed_materials: Option<String>,
    pub items: Option<Vec<DealItem>>,
    pub invoice_number: Option<String>,
    /// Refused: the order sets it ([`EditRefusal::SetByOrder`]); kept so a client that
    /// sends it is told so rather than ignored.
    pub production_ready: Option<bool>,
    /// Refused, like `production_ready`.
    pub shipped: Option<bool>,
    pub acceptance_signed: Option<bool>,
    pub attestation_done: Option<bool>,
    pub service_decision: Option<ServiceDecision>,
    pub payment_received: Option<bool>,
    pub closing_documents: Option<bool>,
}

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditRefusal {
    #[error("the deal is {}", .0.code())]
    Final(DealStage),
    /// Fields the customer order sets (or that it was made from): the field paths.
    #[error("the customer order sets these fields")]
    SetByOrder(Vec<String>),
    /// The edit would leave required data empty or invalid: the field paths.
    #[error("the deal would lose required data")]
    Missing(Vec<String>),
}

impl Deal {
    /// Its manager and department, for access.
    pub fn owner(&self) -> Owner<'_> {
        Owner {
            manager_id: Some(&self.manager_id),
            department: Some(self.department),
        }
    }

    /// The deal as `edit` leaves it (version and times unchanged: the caller commits it).
    /// A closed or unfit deal takes no edits; needs and the legal entity stay valid.
    pub fn edited(&self, edit: DealEdit) -> Result<Deal, EditRefusal> {
        if self.stage.is_final() {
            return Err(EditRefusal::Final(self.stage));
        }
        // Production and shipping are what the order says, never ticked by hand; the
        // items agreed are what the order was made from.
        {
            let by_order: Vec<String> = [
                ("items", self.order_placed && edit.items.is_some()),
                ("production_ready", edit.production_ready.is_some()),
                ("shipped", edit.shipped.is_some()),
            ]
            .into_iter()
            .filter(|(_, given)| *given)
            .map(|(field, _)| field.to_owned())
            .collect();
            if !by_order.is_empty() {
                return Err(EditRefusal::SetByOrder(by_order));
            }
        }
        let mut new = self.clone();
        let terms = &mut new.terms;
        replace(&mut terms.needs, edit.needs);
        replace(&mut terms.legal_entity, edit.legal_entity);
        replace(&mut terms.contact, edit.contact);
        replace(&mut terms.items, edit.items);
        replace_some(&mut terms.application_area, edit.application_area);
        replace_some(&mut terms.equipment_type, edit.equipment_type);
        replace_some(&mut terms.processed_materials, edit.processed_materials);
        replace_some(&mut new.invoice_number, edit.invoice_number);
        replace_some(&mut new.service_decision, edit.service_decision);
        replace(&mut new.acceptance_signed, edit.acceptance_signed);
        replace(&mut new.attestation_done, edit.attestation_done);
        replace(&mut new.payment_received, edit.payment_received);
        replace(&mut new.closing_documents, edit.closing_documents);
        let mut missing = legal_entity_problems(&new.terms.legal_entity);
        if new.terms.needs.iter().all(|n| n.trim().is_empty()) {
            missing.push("needs".into());
        }
        missing.extend(new.terms.problems());
        if new
            .invoice_number
            .as_deref()
            .is_some_and(|n| n.chars().count() > 100)
        {
            missing.push("invoice_number".into());
        }
        if missing.is_empty() {
            Ok(new)
        } else {
            Err(EditRefusal::Missing(missing))
        }
    }
}

fn replace<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

fn replace_some<T>(field: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *field = value;
    }
}

/// A refused transition: why, and what is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Refusal {
    /// `not_allowed` (no such step from here) or `missing_data`.
    pub code: &'static str,
    pub from: DealStage,
    pub to: DealStage,
    /// Field paths that must be filled first.
    pub missing: Vec<String>,
    /// The stages one may move to from here.
    pub allowed: Vec<DealStage>,
}

/// The stages a deal may move to next, whatever its data.
pub fn next_stages(deal: &Deal) -> Vec<DealStage> {
    use DealStage::*;
    let after_installation = if deal.needs_attestation() {
        Attestation
    } else {
        Service
    };
    let mut next = match deal.stage {
        EquipmentSelection => vec![Proposal, Invoice],
        Proposal => vec![Invoice, Agreed],
        Invoice => vec![Agreed],
        Agreed if deal.needs_production() => vec![Production],
        Agreed => vec![WarehouseSale],
        Production => vec![WarehouseSale],
        WarehouseSale => vec![Installation],
        Installation => vec![after_installation],
        Attestation => vec![Service],
        Service => vec![Closed],
        Closed | Unfit => vec![],
    };
    if deal.stage.before_agreement() {
        next.push(Unfit);
    }
    next
}

/// What the deal must have before entering `to`.
fn requirements(deal: &Deal, to: DealStage) -> Vec<String> {
    use DealStage::*;
    let mut missing = Vec::new();
    let mut require = |ok: bool, field: &str| {
        if !ok {
            missing.push(field.to_owned());
        }
    };
    match to {
        Proposal => {
            require(!deal.terms.items.is_empty(), "items");
            require(deal.proposal_sent_at.is_some(), "proposal_sent_at");
        }
        Invoice => {
            require(!deal.terms.items.is_empty(), "items");
            require(deal.invoice_number.is_some(), "invoice_number");
        }
        Agreed => {
            require(!deal.terms.items.is_empty(), "items");
            require(
                deal.terms
                    .items
                    .iter()
                    .all(|i| i.quantity > 0 && i.unit_price_kopecks > 0),
                "items.price",
            );
            for (index, item) in deal.terms.items.iter().enumerate() {
                // An article, or the decision to make or buy it.
                require(item.has_fulfilment(), &format!("items[{index}].sku"));
            }
        }
        WarehouseSale if deal.stage == Production => {
            require(deal.production_ready, "production_ready")
        }
        Installation => require(deal.shipped, "shipped"),
        Attestation => require(deal.acceptance_signed, "acceptance_signed"),
        Service if deal.stage == Installation => {
            require(deal.acceptance_signed, "acceptance_signed")
        }
        Service => require(deal.attestation_done, "attestation_done"),
        Closed => {
            require(deal.service_decision.is_some(), "service_decision");
            require(deal.payment_received, "payment_received");
            require(deal.closing_documents, "closing_documents");
        }
        Unfit => require(
            deal.unfit_reason
                .as_deref()
                .is_some_and(|r| !r.trim().is_empty()),
            "unfit_reason",
        ),
        _ => {}
    }
    missing.extend(
        legal_entity_problems(&deal.terms.legal_entity)
            .into_iter()
            .filter(|_| to == Agreed || to == Invoice),
    );
    missing
}

/// A stage the deal may move to next and what it still lacks for it (nothing: it may
/// move now).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NextMove {
    pub stage: DealStage,
    /// Field paths, as a refusal's `missing`.
    pub missing: Vec<String>,
}

/// The stages the deal may move to next, each with what it lacks for it: the card shows
/// what to fill before anyone tries the move.
pub fn next_moves(deal: &Deal) -> Vec<NextMove> {
    next_stages(deal)
        .into_iter()
        .map(|stage| NextMove {
            stage,
            missing: requirements(deal, stage),
        })
        .collect()
}

/// Decides a transition: `Ok(to)` or the refusal with what is missing.
pub fn check_transition(deal: &Deal, to: DealStage) -> Result<DealStage, Refusal> {
    let allowed = next_stages(deal);
    if !allowed.contains(&to) {
        return Err(Refusal {
            code: "not_allowed",
            from: deal.stage,
            to,
            missing: Vec::new(),
            allowed,
        });
    }
    let missing = requirements(deal, to);
    if missing.is_empty() {
        Ok(to)
    } else {
        Err(Refusal {
            code: "missing_data",
            from: deal.stage,
            to,
            missing,
            allowed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::party::requisites::tests::valid_entity;
    use DealStage::*;

    fn item(equipment_type: EquipmentType, made_to_order: bool) -> DealItem {
        DealItem {
            product: "Изделие".into(),
            equipment_type,
            quantity: 1,
            unit_price_kopecks: 10_000_000,
            made_to_order,
            sku: Some("PUMP-1".into()),
            purchase: false,
        }
    }

    fn deal(stage: DealStage) -> Deal {
        let new = NewDeal {
            id: "d".into(),
            party_id: "p".into(),
            inquiry_id: None,
            department: Department::Industrial,
            manager_id: "m".into(),
            terms: DealTerms {
                needs: vec!["насос".into()],
                legal_entity: valid_entity(),
                contact: DealContact {
                    name: "Иван".into(),
                    phone: Some("+79120000000".into()),
                    email: None,
                },
                items: vec![item(EquipmentType::Pump, false)],
                ..DealTerms::default()
            },
        };
        Deal {
            stage,
            ..Deal::open(new, Utc::now())
        }
    }

    #[test]
    fn a_line_is_agreed_only_with_an_article_or_a_make_or_buy_decision() {
        let mut free_text = deal(Invoice);
        free_text.invoice_number = Some("12".into());
        free_text.terms.items[0].sku = None;
        let refusal = check_transition(&free_text, Agreed).unwrap_err();
        assert_eq!(refusal.missing, ["items[0].sku"]);
        for decide in [
            |item: &mut DealItem| item.made_to_order = true,
            |item: &mut DealItem| item.purchase = true,
            |item: &mut DealItem| item.sku = Some("NVR-16D".into()),
        ] {
            let mut decided = free_text.clone();
            decide(&mut decided.terms.items[0]);
            assert_eq!(check_transition(&decided, Agreed), Ok(Agreed));
        }
        let mut both = free_text.clone();
        both.terms.items[0].made_to_order = true;
        both.terms.items[0].purchase = true;
        assert_eq!(both.terms.problems(), ["items[0].purchase"]);
        both.terms.items[0].purchase = false;
        both.terms.items[0].sku = Some("NVR 16D".into());
        assert_eq!(both.terms.problems(), ["items[0].sku"]);
    }

    #[test]
    fn once_the_order_is_placed_it_sets_production_and_shipping() {
        let mut placed = deal(Agreed);
        placed.terms.items[0].made_to_order = true;
        assert!(placed.needs_production(), "before the order: the lines say");
        placed.order_placed = true;
        assert!(!placed.needs_production(), "after: the split says");
        assert_eq!(next_stages(&placed), [WarehouseSale]);
        assert_eq!(
            deal(Agreed).edited(DealEdit {
                shipped: Some(true),
                ..DealEdit::default()
            }),
            Err(EditRefusal::SetByOrder(vec!["shipped".into()])),
            "never by hand, order or not"
        );
        assert_eq!(
            placed.edited(DealEdit {
                shipped: Some(true),
                production_ready: Some(true),
                ..DealEdit::default()
            }),
            Err(EditRefusal::SetByOrder(vec![
                "production_ready".into(),
                "shipped".into()
            ]))
        );
        assert!(
            placed
                .edited(DealEdit {
                    payment_received: Some(true),
                    ..DealEdit::default()
                })
                .is_ok()
        );
    }

    #[test]
    fn an_edit_replaces_only_the_fields_it_gives_and_keeps_required_data_valid() {
        let old = deal(DealStage::Proposal);
        let edited = old
            .edited(DealEdit {
                needs: Some(vec!["два насоса".into()]),
                acceptance_signed: Some(true),
                ..DealEdit::default()
            })
            .unwrap();
        assert_eq!(edited.terms.needs, vec!["два насоса"]);
        assert!(edited.acceptance_signed);
        assert_eq!(edited.terms.contact, old.terms.contact);
        assert_eq!(edited.version, old.version);

        let emptied = old.edited(DealEdit {
            needs: Some(vec![" ".into()]),
            ..DealEdit::default()
        });
        assert_eq!(emptied, Err(EditRefusal::Missing(vec!["needs".into()])));
        assert_eq!(
            deal(DealStage::Closed).edited(DealEdit::default()),
            Err(EditRefusal::Final(DealStage::Closed))
        );
    }

    #[test]
    fn creation_needs_needs_a_valid_entity_and_a_contact() {
        let mut entity = valid_entity();
        entity.inn = "7707083890".into();
        entity.bank.bik = "12".into();
        let missing = creation_problems(&DealTerms {
            legal_entity: entity,
            ..DealTerms::default()
        });
        assert_eq!(
            missing,
            vec![
                "needs",
                "legal_entity.inn",
                "legal_entity.bank.bik",
                "contact.name",
                "contact.phone_or_email"
            ]
        );
        assert!(creation_problems(&deal(EquipmentSelection).terms).is_empty());
        // An entrepreneur (12-digit INN) has no KPP.
        let mut entrepreneur = valid_entity();
        entrepreneur.inn = "500100732259".into();
        entrepreneur.kpp = None;
        assert!(legal_entity_problems(&entrepreneur).is_empty());
    }

    #[test]
    fn money_and_sizes_stay_in_range_and_name_the_field() {
        let mut terms = deal(EquipmentSelection).terms;
        terms.items[0].unit_price_kopecks = i64::MAX;
        terms.items[0].quantity = u32::MAX;
        terms.items.push(DealItem {
            unit_price_kopecks: -1,
            ..terms.items[0].clone()
        });
        terms.needs.push("я".repeat(MAX_TEXT_CHARS + 1));
        assert_eq!(
            terms.problems(),
            vec![
                "needs[1]",
                "items[0].quantity",
                "items[0].unit_price_kopecks",
                "items[1].quantity",
                "items[1].unit_price_kopecks"
            ]
        );
        // Even out of range the arithmetic saturates instead of wrapping or panicking.
        let mut huge = deal(Proposal);
        huge.terms = terms;
        assert_eq!(huge.total_kopecks(), i64::MAX - i64::from(u32::MAX));
        let mut at_caps = deal(Proposal);
        at_caps.terms.items = vec![
            DealItem {
                quantity: MAX_QUANTITY,
                unit_price_kopecks: MAX_UNIT_PRICE_KOPECKS,
                ..at_caps.terms.items[0].clone()
            };
            MAX_ITEMS
        ];
        assert!(at_caps.terms.problems().is_empty());
        assert_eq!(at_caps.total_kopecks(), 1_000_000_000_000_000_000);
        assert!(at_caps.total_kopecks() < i64::MAX);
    }

    #[test]
    fn a_deal_at_every_cap_fits_one_queue_message() {
        let long = "Ж".repeat(MAX_TEXT_CHARS);
        let mut deal = deal(Proposal);
        let terms = &mut deal.terms;
        terms.needs = vec![long.clone(); MAX_NEEDS];
        terms.legal_entity.name = long.clone();
        terms.legal_entity.address = long.clone();
        terms.legal_entity.bank.bank_name = long.clone();
        terms.contact.name = long.clone();
        terms.contact.phone = Some(long.clone());
        terms.application_area = Some(long.clone());
        terms.processed_materials = Some(long.clone());
        terms.items = vec![
            DealItem {
                product: "Ж".repeat(MAX_PRODUCT_CHARS),
                ..terms.items[0].clone()
            };
            MAX_ITEMS
        ];
        deal.invoice_number = Some("Ж".repeat(100));
        assert!(deal.terms.problems().is_empty());
        let event = crate::sales::DealEvent::new(&deal, crate::sales::DealEventKind::Created, "m");
        let bytes = serde_json::to_vec(&event).unwrap().len();
        assert!(bytes < MAX_DEAL_BYTES, "{bytes} bytes");
    }

    /// The stage table: (stage, deal data, target) → allowed, or refused with what is missing.
    #[test]
    fn the_stage_table() {
        type Setup = fn(&mut Deal);
        /// (stage, deal data, target, expected: allowed, or refused with these missing fields —
        /// none listed meaning "not allowed from here").
        type Case = (DealStage, Setup, DealStage, Result<(), Vec<&'static str>>);
        let nothing: Setup = |_| {};
        let cases: Vec<Case> = vec![
            (
                EquipmentSelection,
                nothing,
                Proposal,
                Err(vec!["proposal_sent_at"]),
            ),
            (
                EquipmentSelection,
                |d| d.proposal_sent_at = Some(Utc::now()),
                Proposal,
                Ok(()),
            ),
            (
                EquipmentSelection,
                |d| d.terms.items.clear(),
                Invoice,
                Err(vec!["items", "invoice_number"]),
            ),
            (
                EquipmentSelection,
                |d| d.invoice_number = Some("42".into()),
                Invoice,
                Ok(()),
            ),
            (EquipmentSelection, nothing, Agreed, Err(vec![])),
            (Proposal, nothing, Agreed, Ok(())),
            (
                Invoice,
                |d| d.terms.legal_entity.inn = "1".into(),
                Agreed,
                Err(vec!["legal_entity.inn"]),
            ),
            (Agreed, nothing, WarehouseSale, Ok(())),
            (Agreed, nothing, Production, Err(vec![])),
            (
                Agreed,
                |d| {
                    d.terms
                        .items
                        .push(item(EquipmentType::VacuumEquipment, true))
                },
                Production,
                Ok(()),
            ),
            (
                Agreed,
                |d| {
                    d.terms
                        .items
                        .push(item(EquipmentType::VacuumEquipment, true))
                },
                WarehouseSale,
                Err(vec![]),
            ),
            (
                Production,
                nothing,
                WarehouseSale,
                Err(vec!["production_ready"]),
            ),
            (
                Production,
                |d| d.production_ready = true,
                WarehouseSale,
                Ok(()),
            ),
            (WarehouseSale, nothing, Installation, Err(vec!["shipped"])),
            (WarehouseSale, |d| d.shipped = true, Installation, Ok(())),
            // Pumps skip attestation; climate chambers and simulators must pass it.
            (
                Installation,
                |d| d.acceptance_signed = true,
                Service,
                Ok(()),
            ),
            (
                Installation,
                |d| d.acceptance_signed = true,
                Attestation,
                Err(vec![]),
            ),
            (
                Installation,
                nothing,
                Service,
                Err(vec!["acceptance_signed"]),
            ),
            (
                Installation,
                |d| {
                    d.terms
                        .items
                        .push(item(EquipmentType::ClimateChamber, true));
                    d.acceptance_signed = true;
                },
                Service,
                Err(vec![]),
            ),
            (
                Installation,
                |d| {
                    d.terms.items = vec![item(EquipmentType::Simulator, true)];
                    d.acceptance_signed = true;
                },
                Attestation,
                Ok(()),
            ),
            (Attestation, nothing, Service, Err(vec!["attestation_done"])),
            (Attestation, |d| d.attestation_done = true, Service, Ok(())),
            (
                Service,
                nothing,
                Closed,
                Err(vec![
                    "service_decision",
                    "payment_received",
                    "closing_documents",
                ]),
            ),
            (
                Service,
                |d| {
                    d.service_decision = Some(ServiceDecision::Declined);
                    d.payment_received = true;
                    d.closing_documents = true;
                },
                Closed,
                Ok(()),
            ),
            (Proposal, nothing, Unfit, Err(vec!["unfit_reason"])),
            (
                Proposal,
                |d| d.unfit_reason = Some("дорого".into()),
                Unfit,
                Ok(()),
            ),
            (
                Agreed,
                |d| d.unfit_reason = Some("дорого".into()),
                Unfit,
                Err(vec![]),
            ),
            (Closed, nothing, Service, Err(vec![])),
            (Unfit, nothing, EquipmentSelection, Err(vec![])),
        ];
        for (stage, setup, to, expected) in cases {
            let mut d = deal(stage);
            setup(&mut d);
            let result = check_transition(&d, to);
            match (&result, &expected) {
                (Ok(reached), Ok(())) => assert_eq!(*reached, to),
                (Err(refusal), Err(missing)) if missing.is_empty() => {
                    assert_eq!(
                        refusal.code, "not_allowed",
                        "{stage:?} → {to:?}: {refusal:?}"
                    )
                }
                (Err(refusal), Err(missing)) => {
                    assert_eq!(refusal.code, "missing_data", "{stage:?} → {to:?}");
                    assert_eq!(&refusal.missing, missing, "{stage:?} → {to:?}");
                }
                _ => panic!("{stage:?} → {to:?}: expected {expected:?}, got {result:?}"),
            }
        }
    }

    #[test]
    fn codes_round_trip() {
        for stage in DealStage::ALL {
            assert_eq!(DealStage::from_code(stage.code()), Some(stage));
        }
    }

    #[test]
    fn the_next_moves_say_what_each_stage_still_lacks_as_the_move_would() {
        let mut bare = deal(EquipmentSelection);
        bare.terms.items.clear();
        let mut proposed = deal(Proposal);
        proposed.invoice_number = None;
        let mut installing = deal(Installation);
        installing.acceptance_signed = true;
        for deal in [deal(EquipmentSelection), bare, proposed, installing] {
            let moves = next_moves(&deal);
            assert_eq!(
                moves.iter().map(|m| m.stage).collect::<Vec<_>>(),
                next_stages(&deal)
            );
            for NextMove { stage, missing } in moves {
                match check_transition(&deal, stage) {
                    Ok(_) => assert!(missing.is_empty(), "{stage:?}: {missing:?}"),
                    Err(refusal) => assert_eq!(refusal.missing, missing, "{stage:?}"),
                }
            }
        }
        let mut bare = deal(EquipmentSelection);
        bare.terms.items.clear();
        let to_proposal = next_moves(&bare)
            .into_iter()
            .find(|m| m.stage == Proposal)
            .unwrap();
        assert_eq!(to_proposal.missing, ["items", "proposal_sent_at"]);
    }
}
