//! The DynamoDB adapter: one table, keys `pk`/`sk`, two overloaded sparse indexes
//! `gsi1` (`gsi1pk`/`gsi1sk`) and `gsi2` (`gsi2pk`/`gsi2sk`), every item tagged with its
//! `entity`. Domain types are stored flat next to their keys.
//!
//! | entity        | pk                      | sk                     | gsi1pk / gsi1sk                   | gsi2pk / gsi2sk                   |
//! |---------------|-------------------------|------------------------|-----------------------------------|-----------------------------------|
//! | counterparty  | `PARTY#<id>`            | `PARTY`                | `KIND#<kind>` / `<created>#<id>`  | `PARTY` / `<created>#<id>`        |
//! | contact       | `PARTY#<id>`            | `CONTACT#<contact id>` |                                   |                                   |
//! | interaction   | `PARTY#<id>`            | `TL#<at>#<id>`         |                                   |                                   |
//! | contact point | `CP#email#<addr>` / `CP#phone#<e164>` | `CP`     |                                   |                                   |
//! | inquiry       | `INQ#<id>`              | `INQ`                  | `INQ` / `<received>#<id>`         | `UNROUTED` / `<received>#<id>` while unrouted; `AWAITING` / `<due>#<id>` while routed |
//! | intake record | `EVENT#<natural key>`   | `EVENT`                |                                   | `NOTIFY` / `<received>#<key>` while its notification is unsent |
//! | employee      | `EMP#<id>`              | `EMP`                  | `ROLE#<role>` / `<id>`            | `EXT#<extension>` / `<id>`        |
//! | call          | `CALL#<linkedid>`       | `CALL`                 |                                   |                                   |
//! | task          | `TASK#<id>`             | `TASK`                 | `ASSIGNEE#<id or role:head>` / `<due>#<id>` while open |                         |
//! | department    | `DEPT#<code>`           | `DEPT`                 |                                   |                                   |
//! | search word   | `WORD#<first 2 letters>` | `<word>#<party id>`   |                                   |                                   |
//!
//! A contact point item carries its owner (`party_id`, `contact_id`), `confirmed` and its
//! `source`: a proposed point ties messages to the party but never names it on the PBX.
//!
//! Access patterns:
//! - intake lookup: BatchGetItem of `EVENT#<key>` and every `CP#…` of the message (1 trip);
//! - new lead: TransactWriteItems — intake record, contact points (each
//!   `attribute_not_exists(pk)`, which is what makes a contact point belong to one party
//!   only), counterparty, contact, inquiry, first history entry, their audit entries
//!   (1 trip);
//! - history entry: TransactWriteItems — intake record, interaction, newly claimed contact
//!   points, the contact's updated lists and their audit entry (1 trip);
//! - machine mail: conditional PutItem of the intake record;
//! - the notification outbox (the sweeper): Query `gsi2` `NOTIFY` before a time; sent:
//!   UpdateItem removing the notification and the `gsi2` keys;
//! - inquiries newest first: Query `gsi1` `INQ`; unrouted: Query `gsi2` `UNROUTED`;
//!   `kind`/`channel` are filters;
//! - counterparties by kind, newest first: Query `gsi1` `KIND#<kind>`; all: `gsi2` `PARTY`;
//! - a counterparty with its contacts: Query `PARTY#<id>` with `sk < "TL#"`;
//! - its timeline, newest first: Query `PARTY#<id>` with `sk` beginning `TL#`;
//! - active heads: Query `gsi1` `ROLE#head`, filter `active`;
//! - who answered a call: Query `gsi2` `EXT#<extension>`;
//! - staff confirm a proposed contact point (UpdateItem `CP#…`) or reject it (DeleteItem),
//!   each conditional on the party holding it, with its audit entry (TransactWriteItems);
//! - a call: one UpdateItem per PBX event merges it into `CALL#<linkedid>` (ALL_NEW back);
//! - a call-back task: TransactWriteItems of `TASK#callback-<hash of linkedid>` and its
//!   log entry `EVENT#callback#<linkedid>` carrying the notification, both conditional;
//! - an employee's open tasks, soonest first: Query `gsi1` `ASSIGNEE#<id>`;
//! - a counterparty from a search text: an address or a phone is one GetItem of its
//!   contact point; words are one Query of `WORD#<first 2 letters>` with the first word
//!   as a sort-key prefix, then one BatchGetItem of the parties (the other words are
//!   checked on them). The words of a new lead's name and company are written with it.
//!
//! Deals, audit entries, the event outbox and the sales side of inquiries and tasks are
//! in `sales.rs`; the product catalogue in `catalog.rs`; stock batches in `stock.rs`;
//! customer orders, production, supply, shipments and batch recipients in `orders.rs`.
//!
//! Timestamps in sort keys are RFC 3339 UTC with milliseconds, so they sort as text.

mod catalog;
mod marketing;
mod orders;
mod sales;
mod stock;

pub use catalog::CatalogError;
pub use sales::DealScope;
pub use stock::StockBatch;

use super::is_retryable;
use crate::intake::ports::{
    CallRecord, CallStore, CallUpdate, ContactPointOwner, HistoryEntry, IntakeLookup, IntakeRecord,
    IntakeStore, NewLead, WriteOutcome,
};
use crate::ports::{Directory, StoreError, SystemTasks};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem, Update};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use crm_domain::intake::call::CallEvent;
use crm_domain::intake::{Inquiry, InquiryKind, InquiryStatus, Interaction};
use crm_domain::kernel::Department;
use crm_domain::kernel::audit::AuditEntry;
use crm_domain::marketing::ContactCard;
use crm_domain::marketing::segment::Activity;
use crm_domain::party::search::{CounterpartyQuery, MIN_WORD_CHARS, search_words, words_match};
use crm_domain::party::{
    Channel, ContactPerson, ContactPoint, Counterparty, CounterpartyKind, PhoneNumber, PhoneParse,
};
use crm_domain::sales::{Task, TaskStatus};
use crm_domain::staff::{Employee, Role};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

pub(crate) type Item = HashMap<String, AttributeValue>;

/// Keys and index attributes of every item, with the domain value stored flat beside them.
#[derive(Serialize, Deserialize)]
pub(crate) struct Stored<T> {
    pk: String,
    sk: String,
    entity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2sk: Option<String>,
    #[serde(flatten)]
    value: T,
}

impl<T> Stored<T> {
    pub(crate) fn new(pk: String, sk: &str, entity: &str, value: T) -> Self {
        Self {
            pk,
            sk: sk.to_owned(),
            entity: entity.to_owned(),
            gsi1pk: None,
            gsi1sk: None,
            gsi2pk: None,
            gsi2sk: None,
            value,
        }
    }

    pub(crate) fn gsi1(mut self, pk: String, sk: String) -> Self {
        self.gsi1pk = Some(pk);
        self.gsi1sk = Some(sk);
        self
    }

    pub(crate) fn gsi2(mut self, pk: String, sk: String) -> Self {
        self.gsi2pk = Some(pk);
        self.gsi2sk = Some(sk);
        self
    }
}

/// A contact point item: which party and contact own it, and how it was written.
#[derive(Serialize, Deserialize)]
struct ContactPointItem {
    point: ContactPoint,
    #[serde(flatten)]
    owner: ContactPointOwner,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last10: Option<String>,
    claimed_at: DateTime<Utc>,
}

pub(crate) fn ts(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn party_pk(id: &str) -> String {
    format!("PARTY#{id}")
}
fn event_pk(event_key: &str) -> String {
    format!("EVENT#{event_key}")
}
fn point_pk(point: &ContactPoint) -> String {
    format!("CP#{}", point.key())
}
/// A word a counterparty is found by: `WORD#<its first two letters>` / `<word>#<party>`.
#[derive(Serialize, Deserialize)]
struct WordEntry {
    party_id: String,
}

fn word_item(word: &str, party_id: &str) -> Result<Item, StoreError> {
    let head: String = word.chars().take(MIN_WORD_CHARS).collect();
    to_item(&Stored::new(
        format!("WORD#{head}"),
        &format!("{word}#{party_id}"),
        "search_word",
        WordEntry {
            party_id: party_id.to_owned(),
        },
    ))
}

/// The contact card of a new lead.
fn new_card(lead: &NewLead) -> ContactCard {
    let party = &lead.counterparty;
    ContactCard {
        party_id: party.id.clone(),
        kind: party.kind,
        department: party.department,
        manager_id: party.responsible_manager_id.clone(),
        name: party.name.clone(),
        company: party.company.clone(),
        contact_name: lead.contact.name.clone().filter(|n| n != &party.name),
        emails: lead
            .contact
            .emails
            .iter()
            .map(ToString::to_string)
            .collect(),
        phones: lead.contact.phones.iter().map(|p| p.e164.clone()).collect(),
        region: None,
        tags: Vec::new(),
        deals: Default::default(),
        last_activity: Some(Activity {
            at: lead.interaction.at,
            channel: lead.interaction.channel,
        }),
        created_at: party.created_at,
    }
}

fn employee_pk(id: &str) -> String {
    format!("EMP#{id}")
}

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransactOutcome {
    Written,
    /// The condition of this item failed.
    ConditionFailed(usize),
    /// Another transaction touched the same items at the same time.
    Conflict,
}

fn cancelled_error(codes: &[String]) -> StoreError {
    StoreError::Service {
        operation: "TransactWriteItems",
        message: format!("transaction cancelled: {}", codes.join(",")),
        retryable: false,
    }
}

pub(crate) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

pub(crate) fn to_item<T: Serialize>(value: &Stored<T>) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value)
        .map_err(|e| StoreError::Corrupt(format!("cannot map {}: {e}", value.entity)))
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    let described = item
        .get("pk")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    serde_dynamo::from_item::<_, Stored<T>>(item)
        .map(|stored| stored.value)
        .map_err(|e| StoreError::Corrupt(format!("item {described}: {e}")))
}

pub(crate) fn service_error<E>(
    operation: &'static str,
    error: SdkError<E, HttpResponse>,
) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    StoreError::Service {
        operation,
        retryable: is_retryable(&error),
        message: DisplayErrorContext(&error).to_string(),
    }
}

pub(crate) fn build_error(error: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Corrupt(format!("request could not be built: {error}"))
}

pub(crate) fn inquiry_item(inquiry: &Inquiry) -> Result<Item, StoreError> {
    let listed = format!("{}#{}", ts(&inquiry.received_at), inquiry.id);
    let mut stored = Stored::new(format!("INQ#{}", inquiry.id), "INQ", "inquiry", inquiry)
        .gsi1("INQ".to_owned(), listed.clone());
    match (inquiry.status, inquiry.first_response_due) {
        (InquiryStatus::Unrouted, _) => stored = stored.gsi2("UNROUTED".to_owned(), listed),
        (InquiryStatus::Routed, Some(due)) => {
            stored = stored.gsi2(
                "AWAITING".to_owned(),
                format!("{}#{}", ts(&due), inquiry.id),
            )
        }
        _ => {}
    }
    to_item(&stored)
}

pub(crate) fn task_item(task: &Task) -> Result<Item, StoreError> {
    let owner = match (&task.assignee_id, task.assignee_role) {
        (Some(id), _) => format!("ASSIGNEE#{id}"),
        (None, Some(role)) => format!("ASSIGNEE#role:{}", role.code()),
        (None, None) => "ASSIGNEE#nobody".to_owned(),
    };
    let due = format!("{}#{}", ts(&task.due_at), task.id);
    let mut stored = Stored::new(format!("TASK#{}", task.id), "TASK", "task", task);
    // Only open tasks are in the lists' indexes: a done task leaves them with the Put that
    // completes it, so a list reads what is open however many tasks were ever done.
    if task.status == TaskStatus::Open {
        stored = stored.gsi1(owner, due.clone());
        if let Some(department) = task.department {
            stored = stored.gsi2(format!("TASKDEPT#{}", department.code()), due);
        }
    }
    to_item(&stored)
}

pub(crate) fn audit_items(entries: &[AuditEntry]) -> Result<Vec<Item>, StoreError> {
    entries
        .iter()
        .enumerate()
        .map(|(seq, entry)| {
            to_item(&Stored::new(
                format!("AUDIT#{}#{}", entry.record, entry.record_id),
                &format!("{}#{seq:03}#{}", ts(&entry.at), entry.field),
                "audit",
                entry,
            ))
        })
        .collect()
}

/// One page of a list, and the opaque cursor of the next page.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// An opaque pagination cursor: the DynamoDB key to continue after, base64url JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(BTreeMap<String, String>);

impl Cursor {
    /// Decodes a cursor given by a client. `None` when it is not one of ours.
    pub fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        let map: BTreeMap<String, String> = serde_json::from_slice(&bytes).ok()?;
        (!map.is_empty()
            && map.len() <= 4
            && map.keys().all(|k| KEY_ATTRIBUTES.contains(&k.as_str())))
        .then_some(Self(map))
    }

    fn encode(key: &Item) -> Option<String> {
        let map: BTreeMap<String, String> = key
            .iter()
            .filter_map(|(k, v)| v.as_s().ok().map(|s| (k.clone(), s.clone())))
            .collect();
        serde_json::to_vec(&map)
            .ok()
            .map(|json| URL_SAFE_NO_PAD.encode(json))
    }

    /// The start key, if it belongs to the partition being queried.
    pub(crate) fn start_key(&self, partition_attribute: &str, partition: &str) -> Option<Item> {
        (self.0.get(partition_attribute).map(String::as_str) == Some(partition)).then(|| {
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
                .collect()
        })
    }
}

const KEY_ATTRIBUTES: [&str; 6] = ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"];

/// Filters of the inquiry list.
#[derive(Debug, Clone, Default)]
pub struct InquiryFilter {
    pub status: Option<InquiryStatus>,
    pub kind: Option<InquiryKind>,
    pub channel: Option<Channel>,
    /// Only the inquiries routed to this manager.
    pub manager_id: Option<String>,
    /// Only the inquiries of this department, and those not routed yet (a head's view).
    pub department: Option<Department>,
    /// The longest waiting first (the inbox); else the newest first.
    pub oldest_first: bool,
}

/// A counterparty with its contact persons.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CounterpartyDetail {
    #[serde(flatten)]
    pub counterparty: Counterparty,
    pub contacts: Vec<ContactPerson>,
    /// Its deals (stage, equipment, last change) and tags, from its contact card, which
    /// the same query reads.
    pub deals: Vec<PartyDeal>,
    pub tags: Vec<String>,
}

/// How a contact edit ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactEditOutcome {
    Written,
    /// The contact, another contact of the party, or its card changed since it was read.
    Changed,
    /// Another counterparty (or a member of staff) holds this point.
    PointTaken(ContactPoint),
}

/// One deal of a counterparty, as its contact card keeps it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PartyDeal {
    pub id: String,
    #[serde(flatten)]
    pub summary: crm_domain::marketing::segment::DealSummary,
}

/// The most round trips one page of a filtered list may take; a sparse filter returns a
/// short page with a cursor rather than scanning on.
const MAX_QUERY_TRIPS: usize = 8;

/// Why a page cannot be listed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("the cursor does not belong to this list")]
    BadCursor,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The DynamoDB store of one table.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    pub(crate) client: Client,
    pub(crate) table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub(crate) fn put(
        &self,
        item: Item,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// An intake log entry; while its notification is unsent it is listed in `gsi2`
    /// `NOTIFY`, the notification outbox.
    fn record_item(&self, record: &IntakeRecord) -> Result<Item, StoreError> {
        let mut stored = Stored::new(
            event_pk(&record.event_key),
            "EVENT",
            "intake_record",
            record,
        );
        if record.pending_notification.is_some() {
            stored = stored.gsi2(
                "NOTIFY".to_owned(),
                format!("{}#{}", ts(&record.received_at), record.event_key),
            );
        }
        to_item(&stored)
    }

    fn interaction_item(&self, interaction: &Interaction) -> Result<Item, StoreError> {
        to_item(&Stored::new(
            party_pk(&interaction.party_id),
            &format!("TL#{}#{}", ts(&interaction.at), interaction.id),
            "interaction",
            interaction,
        ))
    }

    fn point_item(
        &self,
        point: &ContactPoint,
        owner: ContactPointOwner,
        phones: &[PhoneNumber],
        at: DateTime<Utc>,
    ) -> Result<Item, StoreError> {
        let last10 = match point {
            ContactPoint::Phone(e164) => phones
                .iter()
                .find(|p| &p.e164 == e164)
                .map(|p| p.last10.clone()),
            ContactPoint::Email(_) => None,
        };
        to_item(&Stored::new(
            point_pk(point),
            "CP",
            "contact_point",
            ContactPointItem {
                point: point.clone(),
                owner,
                last10,
                claimed_at: at,
            },
        ))
    }

    /// Runs a transaction whose first item is the intake record and whose items at
    /// `point_range` claim contact points, and says which condition failed.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        point_range: std::ops::Range<usize>,
    ) -> Result<WriteOutcome, StoreError> {
        let Some(codes) = self.transact_cancelled(items).await? else {
            return Ok(WriteOutcome::Written);
        };
        let failed = |i: usize| codes.get(i).is_some_and(|c| c == "ConditionalCheckFailed");
        if failed(0) {
            return Ok(WriteOutcome::DuplicateEvent);
        }
        if point_range.clone().any(failed) {
            return Ok(WriteOutcome::ContactPointTaken);
        }
        if codes.iter().any(|c| c == "TransactionConflict") {
            return Ok(WriteOutcome::Contended);
        }
        Err(cancelled_error(&codes))
    }

    /// Runs a transaction; `Some(i)` when the condition of item `i` failed. A transaction
    /// conflict is a transient error (retry), any other cancellation a permanent one.
    pub(crate) async fn transact_failed_at(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<usize>, StoreError> {
        match self.transact_outcome(items).await? {
            TransactOutcome::Written => Ok(None),
            TransactOutcome::ConditionFailed(index) => Ok(Some(index)),
            TransactOutcome::Conflict => Err(StoreError::Service {
                operation: "TransactWriteItems",
                message: "transaction conflict".to_owned(),
                retryable: true,
            }),
        }
    }

    /// Runs a transaction and says how it ended; cancellations other than a failed
    /// condition or a conflict with another transaction are errors.
    pub(crate) async fn transact_outcome(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<TransactOutcome, StoreError> {
        let Some(codes) = self.transact_cancelled(items).await? else {
            return Ok(TransactOutcome::Written);
        };
        if let Some(index) = codes.iter().position(|c| c == "ConditionalCheckFailed") {
            return Ok(TransactOutcome::ConditionFailed(index));
        }
        if codes.iter().any(|c| c == "TransactionConflict") {
            return Ok(TransactOutcome::Conflict);
        }
        Err(cancelled_error(&codes))
    }

    /// Runs a transaction: `None` when written, the cancellation reasons (one per item)
    /// when DynamoDB cancelled it.
    async fn transact_cancelled(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(None),
            Err(error) => error,
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            error.as_service_error()
        {
            return Ok(Some(
                cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None").to_owned())
                    .collect(),
            ));
        }
        Err(service_error("TransactWriteItems", error))
    }

    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        // Strongly consistent: a use case that writes on condition of what it read (a
        // client's owner, a version) must read what the last write left.
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| service_error("GetItem", e))?;
        output.item.map(from_item).transpose()
    }

    /// A query of one partition: of the table (`index` `None`, strongly consistent) or of
    /// `gsi1`/`gsi2` (eventually consistent, as GSIs are).
    fn partition_query(&self, index: Option<&str>, partition: String) -> QueryFluentBuilder {
        let attribute = match index {
            Some("gsi1") => "gsi1pk",
            Some(_) => "gsi2pk",
            None => "pk",
        };
        self.client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_owned))
            .consistent_read(index.is_none())
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", attribute)
            .expression_attribute_values(":p", AttributeValue::S(partition))
    }

    /// Creates or replaces one item (reference data: employees, departments).
    async fn put_unconditionally(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| service_error("PutItem", e))?;
        Ok(())
    }

    /// Runs a query page by page until `limit` items passed its filter, the partition
    /// ends, or [`MAX_QUERY_TRIPS`] were spent.
    pub(crate) async fn query_page<T: DeserializeOwned>(
        &self,
        query: QueryFluentBuilder,
        limit: usize,
        mut start: Option<Item>,
    ) -> Result<Page<T>, StoreError> {
        let mut items = Vec::new();
        for _ in 0..MAX_QUERY_TRIPS {
            let remaining = limit.saturating_sub(items.len()).max(1);
            let output = query
                .clone()
                .limit(i32::try_from(remaining).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| service_error("Query", e))?;
            for item in output.items.unwrap_or_default() {
                items.push(from_item(item)?);
            }
            start = output.last_evaluated_key;
            if start.is_none() || items.len() >= limit {
                break;
            }
        }
        Ok(Page {
            items,
            next_cursor: start.as_ref().and_then(Cursor::encode),
        })
    }

    /// Every item of a table partition as stored (up to [`MAX_QUERY_TRIPS`] pages), for
    /// partitions that hold several entities.
    pub(crate) async fn partition_items(&self, partition: String) -> Result<Vec<Item>, StoreError> {
        let query = self.partition_query(None, partition);
        let mut items = Vec::new();
        let mut start = None;
        for _ in 0..MAX_QUERY_TRIPS {
            let output = query
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| service_error("Query", e))?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(items)
    }

    /// Inquiries, newest first.
    pub async fn list_inquiries(
        &self,
        filter: &InquiryFilter,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> Result<Page<Inquiry>, ListError> {
        let (index, partition_attribute, partition) =
            if filter.status == Some(InquiryStatus::Unrouted) {
                ("gsi2", "gsi2pk", "UNROUTED")
            } else {
                ("gsi1", "gsi1pk", "INQ")
            };
        let mut query = self
            .partition_query(Some(index), partition.to_owned())
            .scan_index_forward(filter.oldest_first);
        let mut filters = Vec::new();
        if let Some(status) = filter.status.filter(|s| *s != InquiryStatus::Unrouted) {
            filters.push("#status = :status");
            query = query
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(
                    ":status",
                    AttributeValue::S(status.code().to_owned()),
                );
        }
        if let Some(kind) = filter.kind {
            filters.push("#kind = :kind");
            query = query
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_values(":kind", AttributeValue::S(kind.code().to_owned()));
        }
        if let Some(channel) = filter.channel {
            filters.push("#channel = :channel");
            query = query
                .expression_attribute_names("#channel", "channel")
                .expression_attribute_values(
                    ":channel",
                    AttributeValue::S(channel.code().to_owned()),
                );
        }
        if let Some(manager_id) = &filter.manager_id {
            filters.push("manager_id = :manager");
            query = query
                .expression_attribute_values(":manager", AttributeValue::S(manager_id.clone()));
        }
        if let Some(department) = filter.department {
            filters.push("(attribute_not_exists(department) OR department = :department)");
            query = query.expression_attribute_values(
                ":department",
                AttributeValue::S(department.code().to_owned()),
            );
        }
        if !filters.is_empty() {
            query = query.filter_expression(filters.join(" AND "));
        }
        let start = self.start_key(cursor, partition_attribute, partition)?;
        Ok(self.query_page(query, limit, start).await?)
    }

    pub(crate) fn start_key(
        &self,
        cursor: Option<&Cursor>,
        attribute: &str,
        partition: &str,
    ) -> Result<Option<Item>, ListError> {
        cursor
            .map(|c| {
                c.start_key(attribute, partition)
                    .ok_or(ListError::BadCursor)
            })
            .transpose()
    }

    /// Counterparties of one kind, or of every kind, newest first.
    pub async fn list_counterparties(
        &self,
        kind: Option<CounterpartyKind>,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> Result<Page<Counterparty>, ListError> {
        match kind {
            Some(kind) => {
                self.newest_first("gsi1", format!("KIND#{}", kind.code()), limit, cursor)
                    .await
            }
            None => {
                self.newest_first("gsi2", "PARTY".to_owned(), limit, cursor)
                    .await
            }
        }
    }

    /// One page of an index partition, newest first (sort keys begin with a timestamp).
    pub(crate) async fn newest_first<T: DeserializeOwned>(
        &self,
        index: &str,
        partition: String,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> Result<Page<T>, ListError> {
        let attribute = if index == "gsi1" { "gsi1pk" } else { "gsi2pk" };
        let start = self.start_key(cursor, attribute, &partition)?;
        let query = self
            .partition_query(Some(index), partition)
            .scan_index_forward(false);
        Ok(self.query_page(query, limit, start).await?)
    }

    /// A counterparty with its contacts, in one query.
    pub async fn counterparty_detail(
        &self,
        id: &str,
    ) -> Result<Option<CounterpartyDetail>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p AND sk < :tl")
            .expression_attribute_values(":p", AttributeValue::S(party_pk(id)))
            .expression_attribute_values(":tl", AttributeValue::S("TL#".to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| service_error("Query", e))?;
        let mut counterparty = None;
        let mut contacts = Vec::new();
        let mut card = None;
        for item in output.items.unwrap_or_default() {
            match item
                .get("entity")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
            {
                Some("counterparty") => counterparty = Some(from_item::<Counterparty>(item)?),
                Some("contact") => contacts.push(from_item::<ContactPerson>(item)?),
                Some("card") => card = Some(from_item::<crm_domain::marketing::ContactCard>(item)?),
                _ => {}
            }
        }
        let (mut deals, tags) = card.map_or_else(Default::default, |card| {
            let deals: Vec<PartyDeal> = card
                .deals
                .into_iter()
                .map(|(id, summary)| PartyDeal { id, summary })
                .collect();
            (deals, card.tags)
        });
        deals.sort_by_key(|d| std::cmp::Reverse(d.summary.updated_at));
        Ok(counterparty.map(|counterparty| CounterpartyDetail {
            counterparty,
            contacts,
            deals,
            tags,
        }))
    }

    /// A counterparty's correspondence history, newest first.
    pub async fn timeline(
        &self,
        party_id: &str,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> Result<Page<Interaction>, ListError> {
        let partition = party_pk(party_id);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p AND begins_with(sk, :tl)")
            .expression_attribute_values(":p", AttributeValue::S(partition.clone()))
            .expression_attribute_values(":tl", AttributeValue::S("TL#".to_owned()))
            .scan_index_forward(false);
        let start = self.start_key(cursor, "pk", &partition)?;
        Ok(self.query_page(query, limit, start).await?)
    }

    /// One intake record by the event's natural key.
    pub async fn intake_record(&self, event_key: &str) -> Result<Option<IntakeRecord>, StoreError> {
        self.get(event_pk(event_key), "EVENT").await
    }

    /// A member of staff's decision on a contact point a party holds: confirmed (it now
    /// names the party on the PBX and decides matches), or rejected (removed: the next
    /// message from it is nobody's). With its audit entry, in one transaction; `false`
    /// when the party does not hold the point.
    pub async fn decide_contact_point(
        &self,
        party_id: &str,
        point: &ContactPoint,
        confirm: bool,
        audit: &[AuditEntry],
    ) -> Result<bool, StoreError> {
        let condition = "party_id = :party";
        let party = AttributeValue::S(party_id.to_owned());
        let change = if confirm {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(point_pk(point), "CP")))
                .update_expression("SET confirmed = :yes, #source = :staff")
                .condition_expression(condition)
                .expression_attribute_names("#source", "source")
                .expression_attribute_values(":party", party)
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .expression_attribute_values(":staff", AttributeValue::S("staff".into()))
                .build()
                .map_err(build_error)?;
            TransactWriteItem::builder().update(update).build()
        } else {
            let delete = aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(point_pk(point), "CP")))
                .condition_expression(condition)
                .expression_attribute_values(":party", party)
                .build()
                .map_err(build_error)?;
            TransactWriteItem::builder().delete(delete).build()
        };
        let mut items = vec![change];
        for item in audit_items(audit)? {
            items.push(self.put(item, None)?);
        }
        let decided = self.transact_conditional(items).await?;
        if decided && !confirm {
            // A rejected point is no longer the party's: not on its contact card either,
            // so no export lists it.
            self.forget_on_card(party_id, point).await?;
        }
        Ok(decided)
    }

    /// Writes a contact as staff edited it, in one transaction: the contact (on the
    /// condition that its addresses and numbers, and those of the party's other contacts,
    /// are as read), each new point claimed for the party (only if nobody holds it),
    /// each dropped point released, the contact card's addresses and numbers, the audit.
    pub async fn edit_contact(
        &self,
        old: &ContactPerson,
        edit: &crm_domain::party::ContactEdit,
        others: &[ContactPerson],
        audit: &[AuditEntry],
    ) -> Result<ContactEditOutcome, StoreError> {
        let party_id = &old.party_id;
        let points_of =
            |contact: &ContactPerson| -> Result<(AttributeValue, AttributeValue), StoreError> {
                let emails = serde_dynamo::to_attribute_value(&contact.emails)
                    .map_err(|e| StoreError::Corrupt(format!("cannot map emails: {e}")))?;
                let phones = serde_dynamo::to_attribute_value(&contact.phones)
                    .map_err(|e| StoreError::Corrupt(format!("cannot map phones: {e}")))?;
                Ok((emails, phones))
            };
        // The contact is replaced, and the party's other contacts checked, only as read.
        let as_read = "emails = :emails AND phones = :phones";
        let (old_emails, old_phones) = points_of(old)?;
        let contact = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&Stored::new(
                party_pk(party_id),
                &format!("CONTACT#{}", old.id),
                "contact",
                &edit.contact,
            ))?))
            .condition_expression(as_read)
            .expression_attribute_values(":emails", old_emails)
            .expression_attribute_values(":phones", old_phones)
            .build()
            .map_err(build_error)?;
        let mut items = vec![TransactWriteItem::builder().put(contact).build()];
        for other in others {
            let (emails, phones) = points_of(other)?;
            let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    party_pk(party_id),
                    &format!("CONTACT#{}", other.id),
                )))
                .condition_expression(as_read)
                .expression_attribute_values(":emails", emails)
                .expression_attribute_values(":phones", phones)
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().condition_check(check).build());
        }
        let checked = items.len();
        let owner = ContactPointOwner {
            party_id: party_id.clone(),
            contact_id: old.id.clone(),
            confirmed: true,
            source: Some(crm_domain::party::PointSource::Staff),
            staff: false,
        };
        let now = Utc::now();
        for point in &edit.added {
            items.push(self.put(
                self.point_item(point, owner.clone(), &edit.contact.phones, now)?,
                Some("attribute_not_exists(pk)"),
            )?);
        }
        let claimed = checked..items.len();
        for point in &edit.removed {
            let delete = aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(point_pk(point), "CP")))
                .condition_expression("attribute_not_exists(pk) OR party_id = :party")
                .expression_attribute_values(":party", AttributeValue::S(party_id.clone()))
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        let mut emails: Vec<String> = Vec::new();
        let mut phones: Vec<String> = Vec::new();
        for contact in others.iter().chain([&edit.contact]) {
            emails.extend(contact.emails.iter().map(ToString::to_string));
            phones.extend(contact.phones.iter().map(|p| p.e164.clone()));
        }
        emails.dedup();
        phones.dedup();
        let text_list = |values: Vec<String>| {
            AttributeValue::L(values.into_iter().map(AttributeValue::S).collect())
        };
        let card = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(party_pk(party_id), "CARD")))
            .update_expression("SET emails = :emails, phones = :phones")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":emails", text_list(emails))
            .expression_attribute_values(":phones", text_list(phones))
            .build()
            .map_err(build_error)?;
        items.push(TransactWriteItem::builder().update(card).build());
        for item in audit_items(audit)? {
            items.push(self.put(item, None)?);
        }
        Ok(match self.transact_failed_at(items).await? {
            None => ContactEditOutcome::Written,
            Some(index) if claimed.contains(&index) => {
                ContactEditOutcome::PointTaken(edit.added[index - claimed.start].clone())
            }
            Some(_) => ContactEditOutcome::Changed,
        })
    }

    /// Counterparties a search text finds: its contact point's party (an address, a phone
    /// in any written form: one GetItem), or those whose name or company has words
    /// starting with every word of the text (one Query of the word index, one
    /// BatchGetItem of the parties). At most `limit`, by name.
    pub async fn search_counterparties(
        &self,
        query: &CounterpartyQuery,
        limit: usize,
    ) -> Result<Vec<Counterparty>, StoreError> {
        let party_ids: Vec<String> = match query {
            CounterpartyQuery::Email(email) => {
                let point = ContactPoint::Email(email.clone());
                let owned: Option<ContactPointItem> = self.get(point_pk(&point), "CP").await?;
                owned.map(|p| p.owner.party_id).into_iter().collect()
            }
            CounterpartyQuery::Phone(e164) => {
                let point = ContactPoint::Phone(e164.clone());
                let owned: Option<ContactPointItem> = self.get(point_pk(&point), "CP").await?;
                owned.map(|p| p.owner.party_id).into_iter().collect()
            }
            CounterpartyQuery::Words(words) => {
                let first = &words[0];
                let head: String = first.chars().take(MIN_WORD_CHARS).collect();
                let query = self
                    .partition_query(None, format!("WORD#{head}"))
                    .key_condition_expression("#p = :p AND begins_with(sk, :word)")
                    .expression_attribute_values(":word", AttributeValue::S(first.clone()));
                let entries: Vec<WordEntry> = self.query_page(query, 500, None).await?.items;
                let mut ids: Vec<String> = entries.into_iter().map(|e| e.party_id).collect();
                ids.sort();
                ids.dedup();
                ids
            }
        };
        let keys: Vec<Item> = party_ids
            .iter()
            .filter(|id| !id.is_empty())
            .map(|id| key(party_pk(id), "PARTY"))
            .collect();
        let mut found = Vec::new();
        for item in self.batch_get(keys).await? {
            let party: Counterparty = from_item(item)?;
            let keep = match query {
                CounterpartyQuery::Words(words) => words_match(
                    words,
                    &search_words(&[&party.name, party.company.as_deref().unwrap_or_default()]),
                ),
                _ => true,
            };
            if keep {
                found.push(party);
            }
        }
        found.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        found.truncate(limit);
        Ok(found)
    }

    /// Renames a counterparty (name, company): the party (conditional on the name read),
    /// its contact card, its search words (those it loses removed, new ones added) and the
    /// audit entries, in one transaction; `false` when it changed meanwhile.
    pub async fn rename_party(
        &self,
        old: &Counterparty,
        new: &Counterparty,
        audit: &[AuditEntry],
    ) -> Result<bool, StoreError> {
        let company = |party: &Counterparty| party.company.clone().unwrap_or_default();
        let text = |value: &str| AttributeValue::S(value.to_owned());
        // A company removed is no attribute at all, as on a party created without one.
        let (expression, company_value) = match &new.company {
            Some(value) => ("SET #name = :name, company = :company", Some(text(value))),
            None => ("SET #name = :name REMOVE company", None),
        };
        let mut party = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(party_pk(&new.id), "PARTY")))
            .update_expression(expression)
            .condition_expression("#name = :old")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", text(&new.name))
            .expression_attribute_values(":old", text(&old.name));
        let mut card = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(party_pk(&new.id), "CARD")))
            .update_expression(expression)
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", text(&new.name));
        if let Some(value) = company_value {
            party = party.expression_attribute_values(":company", value.clone());
            card = card.expression_attribute_values(":company", value);
        }
        let party = party.build().map_err(build_error)?;
        let card = card.build().map_err(build_error)?;
        let mut items = vec![
            TransactWriteItem::builder().update(party).build(),
            TransactWriteItem::builder().update(card).build(),
        ];
        let before = search_words(&[&old.name, &company(old)]);
        let after = search_words(&[&new.name, &company(new)]);
        for word in before.iter().filter(|w| !after.contains(w)) {
            let head: String = word.chars().take(MIN_WORD_CHARS).collect();
            let delete = aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    format!("WORD#{head}"),
                    &format!("{word}#{}", new.id),
                )))
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        for word in after.iter().filter(|w| !before.contains(w)) {
            items.push(self.put(word_item(word, &new.id)?, None)?);
        }
        for item in audit_items(audit)? {
            items.push(self.put(item, None)?);
        }
        self.transact_conditional(items).await
    }

    /// Creates or replaces an employee (the seed and the admin use it).
    pub async fn put_employee(&self, employee: &Employee) -> Result<(), StoreError> {
        let mut stored = Stored::new(employee_pk(&employee.id), "EMP", "employee", employee).gsi1(
            format!("ROLE#{}", employee.role.code()),
            employee.id.clone(),
        );
        if let Some(extension) = &employee.extension {
            stored = stored.gsi2(format!("EXT#{extension}"), employee.id.clone());
        }
        let item = to_item(&stored)?;
        self.put_unconditionally(item).await?;
        // The employee's address is claimed as staff's: never a client's contact point.
        let point = ContactPoint::Email(employee.email.clone());
        let claim = self.point_item(
            &point,
            ContactPointOwner::staff(&employee.id),
            &[],
            Utc::now(),
        )?;
        self.put_unconditionally(claim).await
    }

    /// Creates or replaces a department's display record.
    pub async fn put_department(&self, department: Department) -> Result<(), StoreError> {
        #[derive(Serialize)]
        struct DepartmentItem {
            code: &'static str,
            name: &'static str,
        }
        let item = to_item(&Stored::new(
            format!("DEPT#{}", department.code()),
            "DEPT",
            "department",
            DepartmentItem {
                code: department.code(),
                name: department.display_name(),
            },
        ))?;
        self.put_unconditionally(item).await
    }
}

impl DynamoStore {
    /// Merges one PBX event into its call record and returns the record as it now is.
    /// Every part is an idempotent `SET` (first-seen values with `if_not_exists`), so
    /// repeated and out-of-order events give the same record.
    pub async fn record_call(&self, update: &CallUpdate) -> Result<CallRecord, StoreError> {
        let notice = &update.notice;
        let at = notice
            .at
            .map(|t| ts(&t))
            .unwrap_or_else(|| ts(&chrono::Utc::now()));
        let caller_e164 = match &notice.caller {
            Some(PhoneParse::Valid(phone)) => Some(phone.e164.clone()),
            _ => None,
        };
        // (attribute, value, keep the first value seen?)
        let mut fields: Vec<(&str, AttributeValue, bool)> = vec![
            ("entity", AttributeValue::S("call".into()), false),
            (
                "linkedid",
                AttributeValue::S(notice.linkedid.clone()),
                false,
            ),
        ];
        let optional = [
            ("caller_raw", notice.caller_raw.clone()),
            ("caller_e164", caller_e164),
            ("did", notice.did.clone()),
            ("called", notice.called.clone()),
            ("party_id", update.party_id.clone()),
            ("inquiry_id", update.inquiry_id.clone()),
            ("interaction_id", update.interaction_id.clone()),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                fields.push((name, AttributeValue::S(value), true));
            }
        }
        match notice.event {
            CallEvent::Start => fields.push(("started_at", AttributeValue::S(at), true)),
            CallEvent::Answer => {
                fields.push(("answered_at", AttributeValue::S(at), true));
                if let Some(extension) = &notice.extension {
                    fields.push((
                        "answered_by_ext",
                        AttributeValue::S(extension.clone()),
                        true,
                    ));
                }
                if let Some(employee) = &update.answered_by {
                    fields.push(("answered_by", AttributeValue::S(employee.clone()), true));
                }
            }
            CallEvent::End => {
                fields.push(("ended_at", AttributeValue::S(at), false));
                fields.push(("missed_flag", AttributeValue::Bool(notice.missed), false));
                if let Some(recording) = &notice.recording {
                    fields.push(("recording", AttributeValue::S(recording.clone()), false));
                }
            }
        }
        let mut names = HashMap::from([("#events".to_owned(), "events".to_owned())]);
        let mut values = HashMap::from([(
            ":event".to_owned(),
            AttributeValue::Ss(vec![notice.event.code().into()]),
        )]);
        let mut sets = Vec::new();
        for (name, value, first_seen) in fields {
            names.insert(format!("#{name}"), name.to_owned());
            values.insert(format!(":{name}"), value);
            sets.push(if first_seen {
                format!("#{name} = if_not_exists(#{name}, :{name})")
            } else {
                format!("#{name} = :{name}")
            });
        }
        let mut expression = format!("SET {} ADD #events :event", sets.join(", "));
        if let Some(uid) = &notice.uid {
            expression.push_str(", #legs :leg");
            names.insert("#legs".into(), "legs".into());
            values.insert(":leg".into(), AttributeValue::Ss(vec![uid.clone()]));
        }
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("CALL#{}", notice.linkedid), "CALL")))
            .update_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| service_error("UpdateItem", e))?;
        call_from_item(output.attributes.unwrap_or_default())
    }

    /// A call record by its linkedid.
    pub async fn call(&self, linkedid: &str) -> Result<Option<CallRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("CALL#{linkedid}"), "CALL")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| service_error("GetItem", e))?;
        output.item.map(call_from_item).transpose()
    }

    /// The call records of these calls (those that exist), in one round trip per 100.
    pub async fn calls(&self, linkedids: &[String]) -> Result<Vec<CallRecord>, StoreError> {
        let keys = linkedids
            .iter()
            .map(|id| key(format!("CALL#{id}"), "CALL"))
            .collect();
        self.batch_get(keys)
            .await?
            .into_iter()
            .map(call_from_item)
            .collect()
    }

    /// Of these points of `party_id`, those nobody confirmed yet (an unauthenticated source
    /// proposed them; staff decide): one BatchGetItem per 100 points.
    pub async fn unconfirmed_points(
        &self,
        party_id: &str,
        points: &[ContactPoint],
    ) -> Result<Vec<ContactPoint>, StoreError> {
        let keys = points.iter().map(|p| key(point_pk(p), "CP")).collect();
        let mut unconfirmed = Vec::new();
        for item in self.batch_get(keys).await? {
            let held: ContactPointItem = from_item(item)?;
            if held.owner.party_id == party_id && !held.owner.confirmed {
                unconfirmed.push(held.point);
            }
        }
        unconfirmed.sort();
        Ok(unconfirmed)
    }

    /// Reads the items of these keys that exist, strongly consistent, in one BatchGetItem
    /// per 100 keys. Each key is asked for once (DynamoDB refuses a request that names one
    /// twice: a point listed twice on a contact, say); keys DynamoDB leaves unprocessed
    /// (only under throttling) are asked for again.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut seen = HashSet::new();
        let unique: Vec<Item> = keys
            .into_iter()
            .filter(|key| {
                let text = |name: &str| key.get(name).and_then(|v| v.as_s().ok()).cloned();
                seen.insert((text("pk"), text("sk")))
            })
            .collect();
        let mut items = Vec::new();
        for chunk in unique.chunks(100) {
            self.batch_get_chunk(chunk.to_vec(), &mut items).await?;
        }
        Ok(items)
    }

    /// One BatchGetItem of up to 100 keys, again for what DynamoDB left unprocessed.
    async fn batch_get_chunk(
        &self,
        keys: Vec<Item>,
        items: &mut Vec<Item>,
    ) -> Result<(), StoreError> {
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(build_error)?,
        );
        while let Some(keys) = request.take() {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, keys)
                .send()
                .await
                .map_err(|e| service_error("BatchGetItem", e))?;
            items.extend(
                output
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default(),
            );
            request = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table));
        }
        Ok(())
    }

    /// The employee with a PBX extension.
    pub async fn employee_by_extension(
        &self,
        extension: &str,
    ) -> Result<Option<Employee>, StoreError> {
        let output = self
            .partition_query(Some("gsi2"), format!("EXT#{extension}"))
            .limit(1)
            .send()
            .await
            .map_err(|e| service_error("Query", e))?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(from_item)
            .transpose()
    }

    async fn set_missed(&self, pk: String, sk: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression("SET missed = :yes")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(|e| service_error("UpdateItem", e))?;
        Ok(())
    }

    /// Flags an inquiry as a missed call: a change like any other, so it takes a version
    /// (a routing that read the inquiry before cannot overwrite the flag).
    pub async fn mark_inquiry_missed(&self, inquiry_id: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("INQ#{inquiry_id}"), "INQ")))
            .update_expression("SET missed = :yes ADD version :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await
            .map_err(|e| service_error("UpdateItem", e))?;
        Ok(())
    }

    /// Flags a history entry as a missed call.
    pub async fn mark_interaction_missed(
        &self,
        party_id: &str,
        at: &DateTime<Utc>,
        interaction_id: &str,
    ) -> Result<(), StoreError> {
        self.set_missed(
            party_pk(party_id),
            &format!("TL#{}#{interaction_id}", ts(at)),
        )
        .await
    }

    /// Stores a task unless one with its id exists; true when it was created now.
    pub async fn put_task_if_absent(&self, task: &Task) -> Result<bool, StoreError> {
        self.put_if_absent(task_item(task)?).await
    }

    /// Writes an item unless one with its key exists; `true` when it was written now.
    pub(crate) async fn put_if_absent(&self, item: Item) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(service_error("PutItem", e)),
        }
    }

    /// Every item of a partition (of the table, or of `index`), up to 1000, in key order.
    pub(crate) async fn partition<T: DeserializeOwned>(
        &self,
        index: Option<&str>,
        partition: String,
    ) -> Result<Vec<T>, StoreError> {
        let query = self.partition_query(index, partition);
        Ok(self.query_page(query, 1000, None).await?.items)
    }

    /// Tasks of an employee (or `role:head` for the heads' pool), soonest due first.
    pub async fn tasks_of(&self, owner: &str) -> Result<Vec<Task>, StoreError> {
        self.partition(Some("gsi1"), format!("ASSIGNEE#{owner}"))
            .await
    }
}

/// Reads a call item: its string sets (legs, events) become sorted lists, events in the
/// order a call has them.
fn call_from_item(mut item: Item) -> Result<CallRecord, StoreError> {
    for set in ["legs", "events"] {
        if let Some(AttributeValue::Ss(values)) = item.remove(set) {
            item.insert(
                set.into(),
                AttributeValue::L(values.into_iter().map(AttributeValue::S).collect()),
            );
        }
    }
    let mut record: CallRecord =
        serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(format!("call: {e}")))?;
    record.legs.sort();
    let order = |e: &String| ["start", "answer", "end"].iter().position(|o| o == e);
    record.events.sort_by_key(order);
    Ok(record)
}

impl IntakeStore for DynamoStore {
    async fn lookup(
        &self,
        event_key: &str,
        points: &[ContactPoint],
    ) -> Result<IntakeLookup, StoreError> {
        let mut keys = vec![key(event_pk(event_key), "EVENT")];
        keys.extend(points.iter().map(|p| key(point_pk(p), "CP")));
        let mut lookup = IntakeLookup::default();
        for item in self.batch_get(keys).await? {
            match item
                .get("entity")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
            {
                Some("intake_record") => lookup.record = Some(from_item(item)?),
                Some("contact_point") => {
                    let point: ContactPointItem = from_item(item)?;
                    lookup.owners.insert(point.point, point.owner);
                }
                _ => {}
            }
        }
        Ok(lookup)
    }

    async fn create_lead(&self, lead: &NewLead) -> Result<WriteOutcome, StoreError> {
        let not_exists = Some("attribute_not_exists(pk)");
        let owner = ContactPointOwner {
            party_id: lead.counterparty.id.clone(),
            contact_id: lead.contact.id.clone(),
            confirmed: lead.points_confirmed,
            source: Some(lead.points_source),
            staff: false,
        };
        let party = &lead.counterparty;
        let inquiry = &lead.inquiry;
        let listed_party = format!("{}#{}", ts(&party.created_at), party.id);
        let mut items = vec![self.put(self.record_item(&lead.record)?, not_exists)?];
        for point in &lead.contact_points {
            items.push(self.put(
                self.point_item(
                    point,
                    owner.clone(),
                    &lead.contact.phones,
                    inquiry.received_at,
                )?,
                not_exists,
            )?);
        }
        let point_range = 1..items.len();
        items.push(
            self.put(
                to_item(
                    &Stored::new(party_pk(&party.id), "PARTY", "counterparty", party)
                        .gsi1(format!("KIND#{}", party.kind.code()), listed_party.clone())
                        .gsi2("PARTY".to_owned(), listed_party),
                )?,
                not_exists,
            )?,
        );
        items.push(self.put(
            to_item(&Stored::new(
                party_pk(&party.id),
                &format!("CONTACT#{}", lead.contact.id),
                "contact",
                &lead.contact,
            ))?,
            None,
        )?);
        items.push(self.put(inquiry_item(inquiry)?, None)?);
        items.push(self.put(self.interaction_item(&lead.interaction)?, None)?);
        items.push(self.put(marketing::card_item(&new_card(lead))?, None)?);
        for word in search_words(&[&party.name, party.company.as_deref().unwrap_or_default()]) {
            items.push(self.put(word_item(&word, &party.id)?, None)?);
        }
        for item in audit_items(&lead.audit)? {
            items.push(self.put(item, None)?);
        }
        self.transact(items, point_range).await
    }

    async fn append_to_history(&self, entry: &HistoryEntry) -> Result<WriteOutcome, StoreError> {
        let not_exists = Some("attribute_not_exists(pk)");
        let interaction = &entry.interaction;
        let mut items = vec![
            self.put(self.record_item(&entry.record)?, not_exists)?,
            self.put(self.interaction_item(interaction)?, None)?,
        ];
        let phones: Vec<PhoneNumber> = interaction.contact.valid_phones();
        let owner = ContactPointOwner {
            party_id: interaction.party_id.clone(),
            contact_id: entry.contact_id.clone(),
            confirmed: entry.points_confirmed,
            source: Some(entry.points_source),
            staff: false,
        };
        let claim_from = items.len();
        for point in &entry.new_contact_points {
            items.push(self.put(
                self.point_item(point, owner.clone(), &phones, interaction.at)?,
                not_exists,
            )?);
        }
        let point_range = claim_from..items.len();
        if !entry.new_contact_points.is_empty() && !entry.contact_id.is_empty() {
            let emails: Vec<AttributeValue> = entry
                .new_contact_points
                .iter()
                .filter_map(|p| match p {
                    ContactPoint::Email(e) => Some(AttributeValue::S(e.to_string())),
                    ContactPoint::Phone(_) => None,
                })
                .collect();
            let new_phones: Vec<AttributeValue> = phones
                .iter()
                .filter(|p| entry.new_contact_points.contains(&p.contact_point()))
                .map(serde_dynamo::to_attribute_value)
                .collect::<Result<_, _>>()
                .map_err(|e| StoreError::Corrupt(format!("cannot map phone: {e}")))?;
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    party_pk(&interaction.party_id),
                    &format!("CONTACT#{}", entry.contact_id),
                )))
                .update_expression(
                    "SET emails = list_append(if_not_exists(emails, :empty), :emails), \
                     phones = list_append(if_not_exists(phones, :empty), :phones)",
                )
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
                .expression_attribute_values(":emails", AttributeValue::L(emails))
                .expression_attribute_values(":phones", AttributeValue::L(new_phones))
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        let new_emails: Vec<String> = entry
            .new_contact_points
            .iter()
            .filter_map(|p| match p {
                ContactPoint::Email(e) => Some(e.to_string()),
                ContactPoint::Phone(_) => None,
            })
            .collect();
        let new_phones: Vec<String> = entry
            .new_contact_points
            .iter()
            .filter_map(|p| match p {
                ContactPoint::Phone(e164) => Some(e164.clone()),
                ContactPoint::Email(_) => None,
            })
            .collect();
        let card = marketing::card_contact_update(
            &self.table,
            &interaction.party_id,
            &Activity {
                at: interaction.at,
                channel: interaction.channel,
            },
            new_emails,
            new_phones,
        )?;
        items.push(TransactWriteItem::builder().update(card).build());
        for item in audit_items(&entry.audit)? {
            items.push(self.put(item, None)?);
        }
        self.transact(items, point_range).await
    }

    async fn record_event(&self, record: &IntakeRecord) -> Result<WriteOutcome, StoreError> {
        Ok(if self.put_if_absent(self.record_item(record)?).await? {
            WriteOutcome::Written
        } else {
            WriteOutcome::DuplicateEvent
        })
    }

    async fn pending_notifications(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<IntakeRecord>, StoreError> {
        let query = self
            .partition_query(Some("gsi2"), "NOTIFY".to_owned())
            .key_condition_expression("#p = :p AND gsi2sk < :before")
            .expression_attribute_values(":before", AttributeValue::S(ts(&before)));
        Ok(self.query_page(query, 500, None).await?.items)
    }

    async fn mark_notified(&self, event_key: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(event_pk(event_key), "EVENT")))
            .update_expression("SET notified_at = :now REMOVE pending_notification, gsi2pk, gsi2sk")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", AttributeValue::S(ts(&Utc::now())))
            .send()
            .await
            .map_err(|e| service_error("UpdateItem", e))?;
        Ok(())
    }

    async fn intake_record(&self, event_key: &str) -> Result<Option<IntakeRecord>, StoreError> {
        DynamoStore::intake_record(self, event_key).await
    }
}

impl Directory for DynamoStore {
    async fn counterparty(&self, id: &str) -> Result<Option<Counterparty>, StoreError> {
        self.get(party_pk(id), "PARTY").await
    }

    async fn employee(&self, id: &str) -> Result<Option<Employee>, StoreError> {
        self.get(employee_pk(id), "EMP").await
    }

    async fn active_heads(&self) -> Result<Vec<Employee>, StoreError> {
        let query = self
            .partition_query(Some("gsi1"), format!("ROLE#{}", Role::Head.code()))
            .filter_expression("active = :yes")
            .expression_attribute_values(":yes", AttributeValue::Bool(true));
        Ok(self.query_page(query, 100, None).await?.items)
    }
}

impl SystemTasks for DynamoStore {
    async fn put_task_if_absent(&self, task: &Task) -> Result<bool, StoreError> {
        DynamoStore::put_task_if_absent(self, task).await
    }
}

impl CallStore for DynamoStore {
    async fn give_call_back(&self, task: &Task, record: &IntakeRecord) -> Result<bool, StoreError> {
        let not_exists = Some("attribute_not_exists(pk)");
        self.transact_conditional(vec![
            self.put(task_item(task)?, not_exists)?,
            self.put(self.record_item(record)?, not_exists)?,
        ])
        .await
    }

    async fn record_call(&self, update: &CallUpdate) -> Result<CallRecord, StoreError> {
        DynamoStore::record_call(self, update).await
    }

    async fn employee_by_extension(&self, extension: &str) -> Result<Option<Employee>, StoreError> {
        DynamoStore::employee_by_extension(self, extension).await
    }

    async fn mark_inquiry_missed(&self, inquiry_id: &str) -> Result<(), StoreError> {
        DynamoStore::mark_inquiry_missed(self, inquiry_id).await
    }

    async fn mark_interaction_missed(
        &self,
        party_id: &str,
        at: &DateTime<Utc>,
        interaction_id: &str,
    ) -> Result<(), StoreError> {
        DynamoStore::mark_interaction_missed(self, party_id, at, interaction_id).await
    }
}
