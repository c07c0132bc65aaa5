//! Marketing in DynamoDB.
//!
//! | entity       | pk                | sk        | gsi1pk / gsi1sk |
//! |--------------|-------------------|-----------|-----------------|
//! | contact card | `PARTY#<id>`      | `CARD`    | `CARDS#<department or none>` / `<kind>#<party id>` |
//! | segment      | `SEGMENT#<id>`    | `SEGMENT` | `SEGMENTS` / `<id>` |
//! | opt-out      | `OPTOUT#<email>`  | `OPTOUT`  |                 |
//! | export       | `EXPORT#<id>`     | `EXPORT`  | `EXPORTS#<segment>` / `<requested at>#<id>` |
//!
//! **The segment query.** A segment reads the card partitions of its departments (all
//! four when it names none: the three and the unrouted) and, within each, the sort-key
//! range of each kind it names (`lead#…`); other filters are the domain's rule on each
//! card. So the common filters — department and lead or client — read just their cards,
//! page by page, and nothing ever scans the table. Party ids are UUID v7, so a partition
//! reads oldest first and an export's rows come in a stable order.
//!
//! **Keeping the cards.** Intake puts a card with the new lead (same transaction) and
//! adds new addresses and the latest contact with each history entry (same transaction);
//! routing sets department and manager with the assignment (same transaction); the
//! deal-events function records each deal's stage and equipment and turns the card into
//! a client's ([`DynamoStore::record_deal_on_card`]); staff set tags.
//!
//! Opt-outs are written with BatchWriteItem (25 a call) and looked up with BatchGetItem
//! (100 a call) for each page of cards.

use super::{DynamoStore, Item, Stored, build_error, from_item, key, service_error, to_item, ts};
use crate::marketing::ports::{CardPage, MarketingStore};
use crate::ports::StoreError;
use crate::sales::ports::Assignment;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, Update, WriteRequest};
use crm_domain::kernel::Department;
use crm_domain::kernel::audit::AuditEntry;
use crm_domain::marketing::segment::{Activity, DealSummary};
use crm_domain::marketing::unsubscribes::OptOut;
use crm_domain::marketing::{ContactCard, ExportRecord, Segment};
use crm_domain::party::CounterpartyKind;
use crm_domain::sales::Deal;
use crm_domain::staff::{Employee, Role};
use std::collections::{BTreeSet, HashSet};

pub(super) fn card_pk(party_id: &str) -> String {
    super::party_pk(party_id)
}

pub(super) fn cards_partition(department: Option<Department>) -> String {
    format!("CARDS#{}", department.map_or("none", Department::code))
}

pub(super) fn card_sort(kind: CounterpartyKind, party_id: &str) -> String {
    format!("{}#{party_id}", kind.code())
}

/// The item of a new card.
pub(super) fn card_item(card: &ContactCard) -> Result<Item, StoreError> {
    to_item(
        &Stored::new(card_pk(&card.party_id), "CARD", "card", card).gsi1(
            cards_partition(card.department),
            card_sort(card.kind, &card.party_id),
        ),
    )
}

/// An update of the card's latest contact and new addresses (a history entry). Without a
/// condition: a party from before cards gets a partial item, outside every segment
/// partition, rather than a failed history entry.
pub(super) fn card_contact_update(
    table: &str,
    party_id: &str,
    activity: &Activity,
    emails: Vec<String>,
    phones: Vec<String>,
) -> Result<Update, StoreError> {
    let activity = serde_dynamo::to_attribute_value(activity)
        .map_err(|e| StoreError::Corrupt(format!("cannot map activity: {e}")))?;
    let list = |values: Vec<String>| {
        AttributeValue::L(values.into_iter().map(AttributeValue::S).collect())
    };
    Update::builder()
        .table_name(table)
        .set_key(Some(key(card_pk(party_id), "CARD")))
        .update_expression(
            "SET last_activity = :activity, \
             emails = list_append(if_not_exists(emails, :empty), :emails), \
             phones = list_append(if_not_exists(phones, :empty), :phones)",
        )
        .expression_attribute_values(":activity", activity)
        .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
        .expression_attribute_values(":emails", list(emails))
        .expression_attribute_values(":phones", list(phones))
        .build()
        .map_err(build_error)
}

/// A client's new responsible manager and department, on condition that its owner is the
/// one read (`attribute_not_exists` where it had none): a head cannot hand on a client
/// someone else took meanwhile.
pub(super) fn party_assignment_update(
    table: &str,
    assignment: &Assignment,
) -> Result<Update, StoreError> {
    let mut condition = vec!["attribute_exists(pk)"];
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key(super::party_pk(&assignment.party_id), "PARTY")))
        .update_expression("SET responsible_manager_id = :m, department = :d")
        .expression_attribute_values(":m", AttributeValue::S(assignment.manager_id.clone()))
        .expression_attribute_values(
            ":d",
            AttributeValue::S(assignment.department.code().to_owned()),
        );
    match &assignment.was_manager_id {
        Some(manager) => {
            condition.push("responsible_manager_id = :was_m");
            update =
                update.expression_attribute_values(":was_m", AttributeValue::S(manager.clone()));
        }
        None => condition.push("attribute_not_exists(responsible_manager_id)"),
    }
    match assignment.was_department {
        Some(department) => {
            condition.push("department = :was_d");
            update = update.expression_attribute_values(
                ":was_d",
                AttributeValue::S(department.code().to_owned()),
            );
        }
        None => condition.push("attribute_not_exists(department)"),
    }
    update
        .condition_expression(condition.join(" AND "))
        .build()
        .map_err(build_error)
}

/// An update of the card's department and manager (routing).
pub(super) fn card_assignment_update(
    table: &str,
    party_id: &str,
    manager_id: &str,
    department: Department,
) -> Result<Update, StoreError> {
    Update::builder()
        .table_name(table)
        .set_key(Some(key(card_pk(party_id), "CARD")))
        .update_expression("SET manager_id = :m, department = :d, gsi1pk = :p")
        .expression_attribute_values(":m", AttributeValue::S(manager_id.to_owned()))
        .expression_attribute_values(":d", AttributeValue::S(department.code().to_owned()))
        .expression_attribute_values(":p", AttributeValue::S(cards_partition(Some(department))))
        .build()
        .map_err(build_error)
}

/// A conditional UpdateItem's outcome: `false` when its condition failed.
fn conditional<T>(
    result: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    >,
) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(error) => Err(service_error("UpdateItem", error)),
    }
}

fn segment_pk(id: &str) -> String {
    format!("SEGMENT#{id}")
}

fn opt_out_pk(email: &str) -> String {
    format!("OPTOUT#{}", email.to_lowercase())
}

fn export_pk(id: &str) -> String {
    format!("EXPORT#{id}")
}

impl DynamoStore {
    /// Records a deal on its party's card: its stage and equipment, the address of its
    /// legal entity as the region, and the party as a client. Nothing when the party has
    /// no card (written before cards existed).
    pub async fn record_deal_on_card(&self, deal: &Deal) -> Result<bool, StoreError> {
        let summary = serde_dynamo::to_attribute_value(DealSummary::of(deal))
            .map_err(|e| StoreError::Corrupt(format!("cannot map deal summary: {e}")))?;
        let mut expression =
            String::from("SET deals.#deal = :summary, kind = :client, gsi1sk = :sort");
        let address = deal.terms.legal_entity.address.trim();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(card_pk(&deal.party_id), "CARD")))
            // Every card is written with its (empty) map of deals.
            .condition_expression("attribute_exists(deals)")
            .expression_attribute_names("#deal", &deal.id)
            .expression_attribute_values(":summary", summary)
            .expression_attribute_values(":client", AttributeValue::S("client".into()))
            .expression_attribute_values(
                ":sort",
                AttributeValue::S(card_sort(CounterpartyKind::Client, &deal.party_id)),
            );
        if !address.is_empty() {
            expression.push_str(", #region = :region");
            update = update
                .expression_attribute_names("#region", "region")
                .expression_attribute_values(":region", AttributeValue::S(address.to_owned()));
        }
        conditional(update.update_expression(expression).send().await)
    }

    /// Makes the assignment's manager and department a counterparty's owner: the party
    /// (on condition that its owner is as read) and its card in one transaction with the
    /// audit entries; `false` when there is no such party or its owner changed meanwhile.
    pub async fn reassign_party(
        &self,
        assignment: &Assignment,
        audit: &[AuditEntry],
    ) -> Result<bool, StoreError> {
        let party = party_assignment_update(&self.table, assignment)?;
        let card = card_assignment_update(
            &self.table,
            &assignment.party_id,
            &assignment.manager_id,
            assignment.department,
        )?;
        let mut items = vec![
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .update(party)
                .build(),
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .update(card)
                .build(),
        ];
        for item in super::audit_items(audit)? {
            items.push(self.put(item, None)?);
        }
        Ok(self.transact_failed_at(items).await?.is_none())
    }

    /// Takes a contact point off a party's card (a rejected one). The list is rewritten on
    /// condition that it is still as read; a concurrent change means read again.
    pub async fn forget_on_card(
        &self,
        party_id: &str,
        point: &crm_domain::party::ContactPoint,
    ) -> Result<(), StoreError> {
        let (attribute, value) = match point {
            crm_domain::party::ContactPoint::Email(email) => ("emails", email.to_string()),
            crm_domain::party::ContactPoint::Phone(e164) => ("phones", e164.clone()),
        };
        for _ in 0..5 {
            let Some(card) = self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(key(card_pk(party_id), "CARD")))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| service_error("GetItem", e))?
                .item
            else {
                return Ok(());
            };
            let Some(AttributeValue::L(old)) = card.get(attribute).cloned() else {
                return Ok(());
            };
            let kept: Vec<AttributeValue> = old
                .iter()
                .filter(|v| v.as_s().is_ok_and(|s| !s.eq_ignore_ascii_case(&value)))
                .cloned()
                .collect();
            if kept.len() == old.len() {
                return Ok(());
            }
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(card_pk(party_id), "CARD")))
                .update_expression("SET #list = :kept")
                .condition_expression("#list = :old")
                .expression_attribute_names("#list", attribute)
                .expression_attribute_values(":kept", AttributeValue::L(kept))
                .expression_attribute_values(":old", AttributeValue::L(old))
                .send()
                .await;
            if conditional(result)? {
                return Ok(());
            }
        }
        Err(StoreError::Service {
            operation: "UpdateItem",
            message: "the contact card kept changing".into(),
            retryable: true,
        })
    }

    /// Sets a counterparty's tags on its card; `false` when it has none.
    pub async fn set_card_tags(&self, party_id: &str, tags: &[String]) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(card_pk(party_id), "CARD")))
            .update_expression("SET tags = :tags")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(
                ":tags",
                AttributeValue::L(tags.iter().cloned().map(AttributeValue::S).collect()),
            )
            .send()
            .await;
        conditional(result)
    }

    /// Writes cards as they are (a migration, a benchmark), 25 a call.
    pub async fn put_cards(&self, cards: &[ContactCard]) -> Result<(), StoreError> {
        for chunk in cards.chunks(25) {
            let requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|card| {
                    let put = PutRequest::builder()
                        .set_item(Some(card_item(card)?))
                        .build()
                        .map_err(build_error)?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_, StoreError>>()?;
            let mut pending = Some(requests);
            let mut attempts = 0;
            while let Some(batch) = pending.take().filter(|b| !b.is_empty()) {
                attempts += 1;
                if attempts > 8 {
                    return Err(StoreError::Service {
                        operation: "BatchWriteItem",
                        message: "items stayed unprocessed".into(),
                        retryable: true,
                    });
                }
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, batch)
                    .send()
                    .await
                    .map_err(|e| service_error("BatchWriteItem", e))?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table));
            }
        }
        Ok(())
    }

    /// A counterparty's card.
    pub async fn card(&self, party_id: &str) -> Result<Option<ContactCard>, StoreError> {
        self.get(card_pk(party_id), "CARD").await
    }

    /// The exports of a segment, newest first.
    pub async fn exports_of(&self, segment_id: &str) -> Result<Vec<ExportRecord>, StoreError> {
        let query = self
            .partition_query(Some("gsi1"), format!("EXPORTS#{segment_id}"))
            .scan_index_forward(false);
        Ok(self.query_page(query, 50, None).await?.items)
    }
}

impl MarketingStore for DynamoStore {
    async fn segment(&self, id: &str) -> Result<Option<Segment>, StoreError> {
        self.get(segment_pk(id), "SEGMENT").await
    }

    async fn save_segment(
        &self,
        segment: &Segment,
        expected_version: Option<u64>,
        audit: &[AuditEntry],
    ) -> Result<bool, StoreError> {
        let item = to_item(
            &Stored::new(segment_pk(&segment.id), "SEGMENT", "segment", segment)
                .gsi1("SEGMENTS".to_owned(), segment.id.clone()),
        )?;
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item));
        let put = match expected_version {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(version) => put
                .condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(version.to_string())),
        };
        let mut items = vec![
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(put.build().map_err(build_error)?)
                .build(),
        ];
        for item in super::audit_items(audit)? {
            items.push(self.put(item, None)?);
        }
        Ok(self.transact_failed_at(items).await?.is_none())
    }

    async fn delete_segment(&self, id: &str, audit: &[AuditEntry]) -> Result<bool, StoreError> {
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(segment_pk(id), "SEGMENT")))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(build_error)?;
        let mut items = vec![
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .delete(delete)
                .build(),
        ];
        for item in super::audit_items(audit)? {
            items.push(self.put(item, None)?);
        }
        Ok(self.transact_failed_at(items).await?.is_none())
    }

    async fn segments(&self) -> Result<Vec<Segment>, StoreError> {
        self.partition(Some("gsi1"), "SEGMENTS".to_owned()).await
    }

    async fn cards_page(
        &self,
        department: Option<Department>,
        kind: CounterpartyKind,
        after: Option<&str>,
        limit: usize,
    ) -> Result<CardPage, StoreError> {
        let from = match after {
            Some(after) => format!("{}\u{1}", card_sort(kind, after)),
            None => format!("{}#", kind.code()),
        };
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :p AND gsi1sk BETWEEN :from AND :to")
            .expression_attribute_values(":p", AttributeValue::S(cards_partition(department)))
            .expression_attribute_values(":from", AttributeValue::S(from))
            .expression_attribute_values(":to", AttributeValue::S(format!("{}#~", kind.code())))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| service_error("Query", e))?;
        let mut cards = Vec::new();
        let mut last = None;
        for item in output.items.unwrap_or_default() {
            let party = item.get("party_id").and_then(|v| v.as_s().ok()).cloned();
            match from_item::<ContactCard>(item) {
                Ok(card) => cards.push(card),
                Err(error) => {
                    tracing::warn!(%error, "a contact card that cannot be read is left out")
                }
            }
            last = party.or(last);
        }
        Ok(CardPage {
            cards,
            next_after: output.last_evaluated_key.and(last),
        })
    }

    async fn opted_out(&self, emails: &[String]) -> Result<HashSet<String>, StoreError> {
        let unique: BTreeSet<String> = emails.iter().map(|e| e.to_lowercase()).collect();
        let keys: Vec<Item> = unique
            .iter()
            .map(|email| key(opt_out_pk(email), "OPTOUT"))
            .collect();
        let mut out = HashSet::new();
        for item in self.batch_get(keys).await? {
            let opt_out: OptOut = from_item(item)?;
            out.insert(opt_out.email);
        }
        Ok(out)
    }

    async fn put_opt_outs(&self, opt_outs: &[OptOut]) -> Result<usize, StoreError> {
        // One write per address: the latest record of a file wins within it.
        let mut unique = std::collections::BTreeMap::new();
        for out in opt_outs {
            unique.insert(out.email.to_lowercase(), out);
        }
        let requests: Vec<WriteRequest> = unique
            .values()
            .map(|out| {
                let item = to_item(&Stored::new(
                    opt_out_pk(&out.email),
                    "OPTOUT",
                    "opt_out",
                    out,
                ))?;
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(build_error)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<_, StoreError>>()?;
        for chunk in requests.chunks(25) {
            let mut pending = Some(chunk.to_vec());
            let mut attempts = 0;
            while let Some(batch) = pending.take().filter(|b| !b.is_empty()) {
                attempts += 1;
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, batch)
                    .send()
                    .await
                    .map_err(|e| service_error("BatchWriteItem", e))?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table));
                if attempts > 8 && pending.as_ref().is_some_and(|p| !p.is_empty()) {
                    return Err(StoreError::Service {
                        operation: "BatchWriteItem",
                        message: "items stayed unprocessed".into(),
                        retryable: true,
                    });
                }
            }
        }
        Ok(unique.len())
    }

    async fn export(&self, id: &str) -> Result<Option<ExportRecord>, StoreError> {
        self.get(export_pk(id), "EXPORT").await
    }

    async fn save_export(
        &self,
        record: &ExportRecord,
        create: bool,
        audit: &[AuditEntry],
    ) -> Result<bool, StoreError> {
        let item = to_item(
            &Stored::new(export_pk(&record.id), "EXPORT", "export", record).gsi1(
                format!("EXPORTS#{}", record.segment_id),
                format!("{}#{}", ts(&record.requested_at), record.id),
            ),
        )?;
        let mut items = vec![self.put(item, create.then_some("attribute_not_exists(pk)"))?];
        for item in super::audit_items(audit)? {
            items.push(self.put(item, None)?);
        }
        Ok(self.transact_failed_at(items).await?.is_none())
    }

    async fn employees(&self) -> Result<Vec<Employee>, StoreError> {
        let mut all = Vec::new();
        for role in Role::ALL {
            let query = self.partition_query(Some("gsi1"), format!("ROLE#{}", role.code()));
            all.extend(self.query_page::<Employee>(query, 1000, None).await?.items);
        }
        Ok(all)
    }
}
