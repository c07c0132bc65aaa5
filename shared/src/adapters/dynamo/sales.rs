//! The sales process in DynamoDB: inquiries as they are routed and qualified, deals with
//! their audit trail and event outbox, tasks, and the deal-events consumer's log. Items
//! (see `dynamo.rs` for the rest of the key design):
//!
//! | entity        | pk                      | sk                  | gsi1pk / gsi1sk                        | gsi2pk / gsi2sk                  |
//! |---------------|-------------------------|---------------------|----------------------------------------|----------------------------------|
//! | inquiry       | `INQ#<id>`              | `INQ`               | `INQ` / `<received>#<id>`              | `UNROUTED` or `AWAITING` / `<received or due>#<id>` |
//! | deal          | `DEAL#<id>`             | `DEAL`              | `DEALS#MGR#<manager>` / `<updated>#<id>` | `DEALS#DEPT#<dept>` / `<updated>#<id>` |
//! | audit entry   | `AUDIT#<entity>#<id>`   | `<at>#<seq>`        |                                        |                                  |
//! | outbox event  | `OUTBOX#<deal>`         | `V#<version>`       |                                        | `OUTBOX` / `<at>#<deal>#<version>` |
//! | consumed event| `DEALLOG#<deal>`        | `V#<version>`       |                                        |                                  |
//! | task          | `TASK#<id>`             | `TASK`              | `ASSIGNEE#<id or role:head>` / `<due>#<id>` while open | `TASKDEPT#<dept>` / `<due>#<id>` while open |
//!
//! A deal change is one TransactWriteItems: the deal (conditional on the version read),
//! its audit entries, its outbox event, and — on creation — the qualified inquiry
//! (conditional on its status) and the counterparty turned client.

use super::{
    DynamoStore, Item, ListError, Page, Stored, audit_items, build_error, from_item, inquiry_item,
    key, party_pk, service_error, task_item, to_item, ts,
};
use crate::ports::StoreError;
use crate::sales::ports::{DealChange, DealStore, InquiryChange, InquiryStore};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use crm_domain::intake::Inquiry;
use crm_domain::kernel::Department;
use crm_domain::kernel::audit::AuditEntry;
use crm_domain::sales::dashboard::Dashboard;
use crm_domain::sales::{Deal, DealEvent, DealEventKind, Task, TaskStatus};
use std::collections::BTreeSet;

/// Whose deals to list.
#[derive(Debug, Clone)]
pub enum DealScope {
    Manager(String),
    Department(Department),
}

fn deal_item(deal: &Deal) -> Result<Item, StoreError> {
    let listed = format!("{}#{}", ts(&deal.updated_at), deal.id);
    to_item(
        &Stored::new(format!("DEAL#{}", deal.id), "DEAL", "deal", deal)
            .gsi1(format!("DEALS#MGR#{}", deal.manager_id), listed.clone())
            .gsi2(format!("DEALS#DEPT#{}", deal.department.code()), listed),
    )
}

fn version_sk(version: u64) -> String {
    format!("V#{version:012}")
}

impl DynamoStore {
    /// Runs a transaction; `false` when a condition failed (the record changed meanwhile).
    pub(super) async fn transact_conditional(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<bool, StoreError> {
        Ok(self.transact_failed_at(items).await?.is_none())
    }

    /// A put of `item` on condition that its stored `version` is still `expected` (0: an
    /// item written before versions, which has none).
    fn put_with_version(&self, item: Item, expected: u64) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = if expected == 0 {
            put.condition_expression("attribute_exists(pk) AND attribute_not_exists(version)")
        } else {
            put.condition_expression("version = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
        };
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(build_error)?)
            .build())
    }

    /// A put of `item` on condition that its stored `status` is still `expected`.
    fn put_with_status(&self, item: Item, expected: &str) -> Result<TransactWriteItem, StoreError> {
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#status = :expected")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":expected", AttributeValue::S(expected.to_owned()))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub async fn inquiry(&self, id: &str) -> Result<Option<Inquiry>, StoreError> {
        self.get(format!("INQ#{id}"), "INQ").await
    }

    /// Routed inquiries whose first-response deadline passed by `now`.
    pub async fn overdue_first_responses(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Inquiry>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi2")
            .key_condition_expression("gsi2pk = :p AND gsi2sk < :now")
            .expression_attribute_values(":p", AttributeValue::S("AWAITING".into()))
            .expression_attribute_values(":now", AttributeValue::S(ts(&now)));
        Ok(self.query_page(query, 500, None).await?.items)
    }

    /// Saves a deal change (see the module doc). `false` when the deal or the inquiry
    /// changed meanwhile.
    pub async fn save_deal(&self, change: DealChange<'_>) -> Result<bool, StoreError> {
        let (deal, event, extra) = (change.deal, change.event, change.extra);
        let deal_put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(deal_item(deal)?));
        let deal_put = match change.expected_version {
            None => deal_put.condition_expression("attribute_not_exists(pk)"),
            Some(version) => deal_put
                .condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(version.to_string())),
        }
        .build()
        .map_err(build_error)?;
        let mut items = vec![TransactWriteItem::builder().put(deal_put).build()];
        items.push(
            self.put(
                to_item(
                    &Stored::new(
                        format!("OUTBOX#{}", deal.id),
                        &version_sk(deal.version),
                        "outbox",
                        event,
                    )
                    .gsi2(
                        "OUTBOX".to_owned(),
                        format!("{}#{}#{}", ts(&event.at), deal.id, version_sk(deal.version)),
                    ),
                )?,
                Some("attribute_not_exists(pk)"),
            )?,
        );
        let mut all_audit = change.audit.to_vec();
        all_audit.extend(extra.audit.iter().cloned());
        for item in audit_items(&all_audit)? {
            items.push(self.put(item, None)?);
        }
        if let Some((inquiry, expected)) = &extra.inquiry {
            items.push(self.put_with_version(inquiry_item(inquiry)?, *expected)?);
        }
        if let Some(party_id) = &extra.client_party_id {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(party_pk(party_id), "PARTY")))
                .update_expression("SET kind = :client, gsi1pk = :kind")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":client", AttributeValue::S("client".into()))
                .expression_attribute_values(":kind", AttributeValue::S("KIND#client".into()))
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        items.extend(self.order_write_items(&deal.id, &extra.orders)?);
        self.transact_conditional(items).await
    }

    pub async fn deal(&self, id: &str) -> Result<Option<Deal>, StoreError> {
        self.get(format!("DEAL#{id}"), "DEAL").await
    }

    /// The deals among `ids` that exist, strongly consistent, one BatchGetItem per 100.
    pub async fn deals(&self, ids: &BTreeSet<String>) -> Result<Vec<Deal>, StoreError> {
        let keys = ids
            .iter()
            .map(|id| key(format!("DEAL#{id}"), "DEAL"))
            .collect();
        self.batch_get(keys)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    /// Deals of a manager or a department, most recently changed first.
    pub async fn list_deals(
        &self,
        scope: &DealScope,
        limit: usize,
        cursor: Option<&super::Cursor>,
    ) -> Result<Page<Deal>, ListError> {
        match scope {
            DealScope::Manager(id) => {
                self.newest_first("gsi1", format!("DEALS#MGR#{id}"), limit, cursor)
                    .await
            }
            DealScope::Department(d) => {
                self.newest_first("gsi2", format!("DEALS#DEPT#{}", d.code()), limit, cursor)
                    .await
            }
        }
    }

    /// The audit trail of a record, oldest first.
    pub async fn audit_trail(&self, entity: &str, id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        self.partition(None, format!("AUDIT#{entity}#{id}")).await
    }

    /// A deal's events not yet on the queue, oldest first.
    pub async fn pending_deal_events(&self, deal_id: &str) -> Result<Vec<DealEvent>, StoreError> {
        self.partition(None, format!("OUTBOX#{deal_id}")).await
    }

    pub async fn delete_pending_deal_event(
        &self,
        deal_id: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("OUTBOX#{deal_id}"), &version_sk(version))))
            .send()
            .await
            .map_err(|e| service_error("DeleteItem", e))?;
        Ok(())
    }

    /// Deals that have events waiting in the outbox.
    pub async fn deals_with_pending_events(&self) -> Result<Vec<String>, StoreError> {
        let events: Vec<DealEvent> = self.partition(Some("gsi2"), "OUTBOX".to_owned()).await?;
        let mut deals: Vec<String> = events.into_iter().map(|e| e.deal_id).collect();
        deals.sort();
        deals.dedup();
        Ok(deals)
    }

    /// Records that the consumer handled an event; `false` when it had already.
    pub async fn record_consumed_deal_event(&self, event: &DealEvent) -> Result<bool, StoreError> {
        #[derive(serde::Serialize)]
        struct Consumed<'a> {
            event_id: &'a str,
            version: u64,
            kind: &'a DealEventKind,
            consumed_at: String,
        }
        let item = to_item(&Stored::new(
            format!("DEALLOG#{}", event.deal_id),
            &version_sk(event.version),
            "consumed_deal_event",
            Consumed {
                event_id: &event.event_id,
                version: event.version,
                kind: &event.kind,
                consumed_at: ts(&Utc::now()),
            },
        ))?;
        self.put_if_absent(item).await
    }

    /// Versions of a deal's events the consumer handled, in the order of their versions,
    /// each with when it was handled.
    pub async fn consumed_deal_events(
        &self,
        deal_id: &str,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        #[derive(serde::Deserialize)]
        struct Consumed {
            version: u64,
            consumed_at: String,
        }
        let consumed: Vec<Consumed> = self.partition(None, format!("DEALLOG#{deal_id}")).await?;
        Ok(consumed
            .into_iter()
            .map(|c| (c.version, c.consumed_at))
            .collect())
    }

    pub async fn task(&self, id: &str) -> Result<Option<Task>, StoreError> {
        self.get(format!("TASK#{id}"), "TASK").await
    }

    /// Saves a task that must still have `expected` status (`None` for a new task), with
    /// its audit entries. `false` on a conflict.
    pub async fn save_task(
        &self,
        expected: Option<TaskStatus>,
        task: &Task,
        audit: &[AuditEntry],
    ) -> Result<bool, StoreError> {
        let item = task_item(task)?;
        let first = match expected {
            None => self.put(item, Some("attribute_not_exists(pk)"))?,
            Some(TaskStatus::Open) => self.put_with_status(item, "open")?,
            Some(TaskStatus::Done) => self.put_with_status(item, "done")?,
        };
        let mut items = vec![first];
        for item in audit_items(audit)? {
            items.push(self.put(item, None)?);
        }
        self.transact_conditional(items).await
    }

    /// What the dashboard is rolled up from: inquiries received since `since` (Query
    /// `gsi1` `INQ` from that time) and the unrouted ones received before it (Query `gsi2`
    /// `UNROUTED` up to that time), every deal (Query `gsi2` `DEALS#DEPT#<d>` of each
    /// department), every department's open tasks (Query `gsi2` `TASKDEPT#<d>`) and the
    /// heads' pool's open tasks of no department (Query `gsi1` `ASSIGNEE#role:head`).
    pub async fn dashboard_inputs(
        &self,
        since: DateTime<Utc>,
    ) -> Result<(Vec<Inquiry>, Vec<Deal>, Vec<Task>), StoreError> {
        let query = self
            .partition_query(Some("gsi1"), "INQ".to_owned())
            .key_condition_expression("#p = :p AND gsi1sk >= :since")
            .expression_attribute_values(":since", AttributeValue::S(ts(&since)));
        let mut inquiries: Vec<Inquiry> = self.query_page(query, 100_000, None).await?.items;
        // What still waits for routing is counted however old it is.
        let older_unrouted = self
            .partition_query(Some("gsi2"), "UNROUTED".to_owned())
            .key_condition_expression("#p = :p AND gsi2sk < :since")
            .expression_attribute_values(":since", AttributeValue::S(ts(&since)));
        inquiries.extend(
            self.query_page::<Inquiry>(older_unrouted, 100_000, None)
                .await?
                .items,
        );
        let mut deals = Vec::new();
        let mut tasks = Vec::new();
        for department in [
            Department::High,
            Department::Industrial,
            Department::Thermal,
        ] {
            let query =
                self.partition_query(Some("gsi2"), format!("DEALS#DEPT#{}", department.code()));
            deals.extend(self.query_page::<Deal>(query, 100_000, None).await?.items);
            tasks.extend(self.tasks_of_department(department).await?);
        }
        // The heads' pool holds tasks of no department (a missed call of an unrouted
        // number): they are overdue too.
        tasks.extend(
            self.tasks_of("role:head")
                .await?
                .into_iter()
                .filter(|t| t.department.is_none()),
        );
        Ok((inquiries, deals, tasks))
    }

    /// Keeps a rolled-up dashboard (one item per department, and one for all).
    pub async fn put_dashboard(&self, dashboard: &Dashboard) -> Result<(), StoreError> {
        let scope = dashboard.department.map_or("all", Department::code);
        self.put_unconditionally(to_item(&Stored::new(
            "STATS#DASHBOARD".to_owned(),
            scope,
            "dashboard",
            dashboard,
        ))?)
        .await
    }

    /// The dashboard of a department (`None`: all), as last rolled up.
    pub async fn dashboard(
        &self,
        department: Option<Department>,
    ) -> Result<Option<Dashboard>, StoreError> {
        self.get(
            "STATS#DASHBOARD".to_owned(),
            department.map_or("all", Department::code),
        )
        .await
    }

    /// Tasks visible to a department's head: those marked with the department.
    pub async fn tasks_of_department(
        &self,
        department: Department,
    ) -> Result<Vec<Task>, StoreError> {
        self.partition(Some("gsi2"), format!("TASKDEPT#{}", department.code()))
            .await
    }

    /// Unrouted inquiries, oldest first (the digest).
    pub async fn unrouted_inquiries(&self) -> Result<Vec<Inquiry>, StoreError> {
        self.partition(Some("gsi2"), "UNROUTED".to_owned()).await
    }

    /// Routed inquiries still waiting for their manager, soonest deadline first.
    pub async fn awaiting_inquiries(&self) -> Result<Vec<Inquiry>, StoreError> {
        self.partition(Some("gsi2"), "AWAITING".to_owned()).await
    }
}

impl InquiryStore for DynamoStore {
    async fn inquiry(&self, id: &str) -> Result<Option<Inquiry>, StoreError> {
        DynamoStore::inquiry(self, id).await
    }

    async fn save_inquiry(&self, change: InquiryChange<'_>) -> Result<bool, StoreError> {
        let (inquiry, audit, assignment) = (change.inquiry, change.audit, change.assignment);
        let mut items =
            vec![self.put_with_version(inquiry_item(inquiry)?, change.expected_version)?];
        for item in audit_items(audit)? {
            items.push(self.put(item, None)?);
        }
        if let Some(assignment) = assignment {
            let update = super::marketing::party_assignment_update(&self.table, assignment)?;
            items.push(TransactWriteItem::builder().update(update).build());
            let card = super::marketing::card_assignment_update(
                &self.table,
                &assignment.party_id,
                &assignment.manager_id,
                assignment.department,
            )?;
            items.push(TransactWriteItem::builder().update(card).build());
        }
        self.transact_conditional(items).await
    }

    async fn overdue_first_responses(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Inquiry>, StoreError> {
        DynamoStore::overdue_first_responses(self, now).await
    }

    async fn unrouted_inquiries(&self) -> Result<Vec<Inquiry>, StoreError> {
        DynamoStore::unrouted_inquiries(self).await
    }

    async fn awaiting_inquiries(&self) -> Result<Vec<Inquiry>, StoreError> {
        DynamoStore::awaiting_inquiries(self).await
    }
}

impl DealStore for DynamoStore {
    async fn deal(&self, id: &str) -> Result<Option<Deal>, StoreError> {
        DynamoStore::deal(self, id).await
    }

    async fn save_deal(&self, change: DealChange<'_>) -> Result<bool, StoreError> {
        DynamoStore::save_deal(self, change).await
    }

    async fn pending_deal_events(&self, deal_id: &str) -> Result<Vec<DealEvent>, StoreError> {
        DynamoStore::pending_deal_events(self, deal_id).await
    }

    async fn delete_pending_deal_event(
        &self,
        deal_id: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        DynamoStore::delete_pending_deal_event(self, deal_id, version).await
    }

    async fn deals_with_pending_events(&self) -> Result<Vec<String>, StoreError> {
        DynamoStore::deals_with_pending_events(self).await
    }

    async fn record_consumed_deal_event(&self, event: &DealEvent) -> Result<bool, StoreError> {
        DynamoStore::record_consumed_deal_event(self, event).await
    }
}
