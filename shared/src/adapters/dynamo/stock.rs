//! Stock in DynamoDB: one item per batch of a product. Items (see `mod.rs` for the rest of
//! the key design):
//!
//! | entity | pk             | sk                 | gsi1pk / gsi1sk                                 |
//! |--------|----------------|--------------------|-------------------------------------------------|
//! | batch  | `STOCK#<sku>`  | `BATCH#<batch id>` | `EXPIRY` / `<expiry>#<sku>#<batch id>` when it expires |
//! | reservation | `RESERVATION#<id>` | `RESERVATION` |                                     |
//!
//! A batch keeps `on_hand`, `reserved` and `free` (= on hand − reserved) side by side, so
//! a reservation can be *conditional on* `free >= n` — DynamoDB conditions cannot do
//! arithmetic. A reservation is one TransactWriteItems: the reservation item
//! (`attribute_not_exists`, so a line is reserved once), an UpdateItem per picked batch
//! (`ADD reserved n, free −n` if `free >= n`) and the audit entries: a race loses as a
//! whole and is allocated again; stock never goes below zero.
//!
//! A receipt is one TransactWriteItems: an UpdateItem that `ADD`s the quantity to the
//! batch (creating it with its receipt time and expiry on first sight; a batch code seen
//! again with another expiry is refused) and the audit entry of the movement.
//!
//! Access patterns: a product's batches (Query `STOCK#<sku>`); batches expiring before a
//! day (Query `gsi1` `EXPIRY` with `gsi1sk <` the day after).

use super::{DynamoStore, Stored, TransactOutcome, audit_items, build_error, key, to_item, ts};
use crate::ports::StoreError;
use crate::warehouse::ports::{Reservation, ReserveWrite, StockStore};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::kernel::audit::AuditEntry;
use crm_domain::warehouse::allocation::Batch;
use crm_domain::warehouse::receipt::ReceiptLine;
use serde::{Deserialize, Serialize};

/// A batch as stored, with what is free of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StockBatch {
    pub sku: String,
    pub batch_id: String,
    pub received_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<NaiveDate>,
    pub on_hand: u32,
    #[serde(default)]
    pub reserved: u32,
}

impl StockBatch {
    pub fn free(&self) -> u32 {
        self.on_hand.saturating_sub(self.reserved)
    }
}

fn stock_pk(sku: &str) -> String {
    format!("STOCK#{sku}")
}

impl DynamoStore {
    /// Puts a receipt line into batch `batch_id`. `false` when that batch exists with
    /// another expiry (a batch code reused for other goods).
    pub async fn receive(
        &self,
        line: &ReceiptLine,
        batch_id: &str,
        now: DateTime<Utc>,
        audit: &[AuditEntry],
    ) -> Result<bool, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(stock_pk(&line.sku), &format!("BATCH#{batch_id}"))))
            .expression_attribute_values(":sku", AttributeValue::S(line.sku.clone()))
            .expression_attribute_values(":batch", AttributeValue::S(batch_id.to_owned()))
            .expression_attribute_values(":now", AttributeValue::S(ts(&now)))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":entity", AttributeValue::S("batch".into()))
            .expression_attribute_values(":q", AttributeValue::N(line.quantity.to_string()));
        let mut set = String::from(
            "SET sku = :sku, batch_id = :batch, entity = :entity, \
             received_at = if_not_exists(received_at, :now), \
             reserved = if_not_exists(reserved, :zero)",
        );
        let condition = match line.expiry {
            Some(expiry) => {
                let day = expiry.format("%Y-%m-%d").to_string();
                set.push_str(", expiry = :expiry, gsi1pk = :expiring, gsi1sk = :expiring_sk");
                update = update
                    .expression_attribute_values(":expiry", AttributeValue::S(day.clone()))
                    .expression_attribute_values(":expiring", AttributeValue::S("EXPIRY".into()))
                    .expression_attribute_values(
                        ":expiring_sk",
                        AttributeValue::S(format!("{day}#{}#{batch_id}", line.sku)),
                    );
                "attribute_not_exists(pk) OR expiry = :expiry"
            }
            None => "attribute_not_exists(pk) OR attribute_not_exists(expiry)",
        };
        let update = update
            // `free` is a reserved word of DynamoDB's expressions.
            .expression_attribute_names("#free", "free")
            .update_expression(format!("{set} ADD on_hand :q, #free :q"))
            .condition_expression(condition)
            .build()
            .map_err(build_error)?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        for item in audit_items(audit)? {
            items.push(self.put(item, None)?);
        }
        Ok(self.transact_failed_at(items).await?.is_none())
    }

    /// A product's batches, by batch id.
    pub async fn stock_of(&self, sku: &str) -> Result<Vec<StockBatch>, StoreError> {
        self.partition(None, stock_pk(sku)).await
    }

    /// Batches expiring on or before `last_day`, soonest first.
    pub async fn expiring(&self, last_day: NaiveDate) -> Result<Vec<StockBatch>, StoreError> {
        let before = (last_day + chrono::Duration::days(1))
            .format("%Y-%m-%d")
            .to_string();
        let query = self
            .partition_query(Some("gsi1"), "EXPIRY".to_owned())
            .key_condition_expression("#p = :p AND gsi1sk < :before")
            .expression_attribute_values(":before", AttributeValue::S(before));
        Ok(self.query_page(query, 1000, None).await?.items)
    }
}

fn reservation_pk(id: &str) -> String {
    format!("RESERVATION#{id}")
}

impl StockStore for DynamoStore {
    async fn reservation(&self, id: &str) -> Result<Option<Reservation>, StoreError> {
        self.get(reservation_pk(id), "RESERVATION").await
    }

    async fn batches(&self, sku: &str) -> Result<Vec<Batch>, StoreError> {
        Ok(self
            .stock_of(sku)
            .await?
            .into_iter()
            .map(|b| Batch {
                id: b.batch_id,
                received_at: b.received_at,
                expiry: b.expiry,
                on_hand: b.on_hand,
                reserved: b.reserved,
            })
            .collect())
    }

    async fn reserve(
        &self,
        reservation: &Reservation,
        audit: &[AuditEntry],
    ) -> Result<ReserveWrite, StoreError> {
        let record = to_item(&Stored::new(
            reservation_pk(&reservation.id),
            "RESERVATION",
            "reservation",
            reservation,
        ))?;
        let mut items = vec![self.put(record, Some("attribute_not_exists(pk)"))?];
        for pick in &reservation.picks {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    stock_pk(&reservation.sku),
                    &format!("BATCH#{}", pick.batch_id),
                )))
                .update_expression("ADD reserved :n, #free :minus")
                .condition_expression("#free >= :n")
                .expression_attribute_names("#free", "free")
                .expression_attribute_values(":n", AttributeValue::N(pick.quantity.to_string()))
                .expression_attribute_values(
                    ":minus",
                    AttributeValue::N(format!("-{}", pick.quantity)),
                )
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        for item in audit_items(audit)? {
            items.push(self.put(item, None)?);
        }
        Ok(match self.transact_outcome(items).await? {
            TransactOutcome::Written => ReserveWrite::Reserved,
            TransactOutcome::ConditionFailed(0) => ReserveWrite::AlreadyReserved,
            // A batch changed, or another transaction was on it: allocate again.
            TransactOutcome::ConditionFailed(_) | TransactOutcome::Conflict => {
                ReserveWrite::StockChanged
            }
        })
    }
}

#[cfg(test)]
mod tests {
    //! What DynamoDB Local never does: cancel a transaction for a conflict with another
    //! one. Mocked here with `aws-smithy-mocks`.
    use super::*;
    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    use aws_sdk_dynamodb::types::CancellationReason;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;
    use aws_smithy_mocks::{mock, mock_client};
    use crm_domain::warehouse::allocation::Pick;

    fn cancelled(codes: &'static [&'static str]) -> DynamoStore {
        let rule = mock!(Client::transact_write_items).then_error(move || {
            let mut error = TransactionCanceledException::builder().message("cancelled");
            for code in codes {
                error =
                    error.cancellation_reasons(CancellationReason::builder().code(*code).build());
            }
            TransactWriteItemsError::TransactionCanceledException(error.build())
        });
        DynamoStore::new(mock_client!(aws_sdk_dynamodb, [&rule]), "crm".to_owned())
    }

    fn reservation() -> Reservation {
        Reservation {
            id: "order-1#1".into(),
            sku: "FLT-1".into(),
            picks: vec![Pick {
                batch_id: "01".into(),
                quantity: 2,
            }],
        }
    }

    #[tokio::test]
    async fn a_conflict_with_another_transaction_means_allocate_again() {
        let store = cancelled(&["None", "TransactionConflict"]);
        assert_eq!(
            store.reserve(&reservation(), &[]).await.unwrap(),
            ReserveWrite::StockChanged
        );
    }

    #[tokio::test]
    async fn which_condition_failed_decides_the_answer() {
        let taken = cancelled(&["None", "ConditionalCheckFailed"]);
        assert_eq!(
            taken.reserve(&reservation(), &[]).await.unwrap(),
            ReserveWrite::StockChanged
        );
        let twice = cancelled(&["ConditionalCheckFailed", "None"]);
        assert_eq!(
            twice.reserve(&reservation(), &[]).await.unwrap(),
            ReserveWrite::AlreadyReserved
        );
        let other = cancelled(&["None", "ValidationError"]);
        assert!(other.reserve(&reservation(), &[]).await.is_err());
    }
}
