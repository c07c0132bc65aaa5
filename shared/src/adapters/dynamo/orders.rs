//! Customer orders in DynamoDB: one partition per deal holds its order and every part of
//! it, so the deal's whole fulfilment is one Query.
//!
//! | entity           | pk                        | sk                          | gsi1pk / gsi1sk |
//! |------------------|---------------------------|-----------------------------|-----------------|
//! | customer order   | `ORDER#<deal>`            | `ORDER`                     | `ORDERS_TO_SHIP` / `<placed at>#<deal>` while not shipped in full |
//! | production order | `ORDER#<deal>`            | `PRODUCTION#<line, 3 digits>` | `PRODUCTION_OPEN` / `<promised or 9999-12-31>#<id>` while not done |
//! | supplier order   | `ORDER#<deal>`            | `SUPPLY#<line, 3 digits>`   |                 |
//! | shipment         | `ORDER#<deal>`            | `SHIPMENT#<id>`             |                 |
//! | batch recipient  | `TRACE#<article>#<batch>` | `<shipped at>#<shipment>#<line>` |            |
//!
//! Every write is part of the deal change's TransactWriteItems (`save_deal`): the deal
//! (conditional on its version), its outbox event and audit, and these — the order placed
//! only if absent, production and supplier orders conditional on their version, a
//! shipment only once, and each stock movement conditional on the batch being exactly as
//! read (`on_hand = :before AND reserved = :before`, or absent for a new batch), setting
//! `on_hand`, `reserved` and `free` together. Shipping one batch line is three items
//! (batch, recipient, audit), so a shipment takes at most 25 batch lines.
//!
//! Access patterns: a deal's order book (Query `ORDER#<deal>`); the warehouse's work list,
//! orders not shipped in full, oldest first (Query `gsi1` `ORDERS_TO_SHIP`); open
//! production orders, soonest promise first (Query `gsi1` `PRODUCTION_OPEN`); who got a batch (Query
//! `TRACE#<article>#<batch>`); products of an order (BatchGetItem `PRODUCT#<sku>`).

use super::{
    Cursor, DynamoStore, Item, ListError, Page, Stored, build_error, from_item, key, to_item, ts,
};
use crate::orders::ports::{BatchRecipient, OrderStore, OrderWrite, StockMove};
use crate::ports::StoreError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use crm_domain::orders::{CustomerOrder, OrderBook, ProductionOrder, Shipment, SupplierOrder};
use crm_domain::warehouse::Product;
use crm_domain::warehouse::allocation::Batch;
use std::collections::{BTreeSet, HashMap};

fn order_pk(deal_id: &str) -> String {
    format!("ORDER#{deal_id}")
}

fn trace_pk(article: &str, batch_id: &str) -> String {
    format!("TRACE#{article}#{batch_id}")
}

impl DynamoStore {
    fn versioned_put(
        &self,
        item: Item,
        expected_version: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = match expected_version {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(version) => put
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(version.to_string())),
        };
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(build_error)?)
            .build())
    }

    fn stock_move_item(&self, stock: &StockMove) -> Result<TransactWriteItem, StoreError> {
        let number = |n: u32| AttributeValue::N(n.to_string());
        let (on_hand, reserved) = stock.after;
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                format!("STOCK#{}", stock.article),
                &format!("BATCH#{}", stock.batch_id),
            )))
            .expression_attribute_names("#free", "free")
            .expression_attribute_values(":on_hand", number(on_hand))
            .expression_attribute_values(":reserved", number(reserved))
            .expression_attribute_values(":free", number(on_hand.saturating_sub(reserved)));
        let mut set = String::from("SET on_hand = :on_hand, reserved = :reserved, #free = :free");
        match stock.before {
            Some((before_on_hand, before_reserved)) => {
                update = update
                    .condition_expression(
                        "on_hand = :before_on_hand AND reserved = :before_reserved",
                    )
                    .expression_attribute_values(":before_on_hand", number(before_on_hand))
                    .expression_attribute_values(":before_reserved", number(before_reserved));
            }
            None => {
                set.push_str(
                    ", sku = :sku, batch_id = :batch, entity = :entity, received_at = :received",
                );
                update = update
                    .condition_expression("attribute_not_exists(pk)")
                    .expression_attribute_values(":sku", AttributeValue::S(stock.article.clone()))
                    .expression_attribute_values(
                        ":batch",
                        AttributeValue::S(stock.batch_id.clone()),
                    )
                    .expression_attribute_values(":entity", AttributeValue::S("batch".into()))
                    .expression_attribute_values(
                        ":received",
                        AttributeValue::S(ts(&stock.received_at)),
                    );
                if let Some(expiry) = stock.expiry {
                    let day = expiry.format("%Y-%m-%d").to_string();
                    set.push_str(", expiry = :expiry, gsi1pk = :expiring, gsi1sk = :expiring_sk");
                    update = update
                        .expression_attribute_values(
                            ":expiring_sk",
                            AttributeValue::S(format!(
                                "{day}#{}#{}",
                                stock.article, stock.batch_id
                            )),
                        )
                        .expression_attribute_values(":expiry", AttributeValue::S(day))
                        .expression_attribute_values(
                            ":expiring",
                            AttributeValue::S("EXPIRY".into()),
                        );
                }
            }
        }
        let update = update.update_expression(set).build().map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The customer order; on the work list (`gsi1`) until every line has left.
    fn order_item(order: &CustomerOrder) -> Result<Item, StoreError> {
        let mut stored = Stored::new(order_pk(&order.deal_id), "ORDER", "order", order);
        if !order.is_shipped() {
            stored = stored.gsi1(
                "ORDERS_TO_SHIP".to_owned(),
                format!("{}#{}", ts(&order.created_at), order.deal_id),
            );
        }
        to_item(&stored)
    }

    /// Orders not shipped in full, oldest first: a page of at most `limit` from `cursor`.
    pub async fn orders_to_ship(
        &self,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> Result<Page<CustomerOrder>, ListError> {
        let partition = "ORDERS_TO_SHIP".to_owned();
        let start = self.start_key(cursor, "gsi1pk", &partition)?;
        let query = self.partition_query(Some("gsi1"), partition);
        Ok(self.query_page(query, limit, start).await?)
    }

    fn production_item(order: &ProductionOrder) -> Result<Item, StoreError> {
        let mut stored = Stored::new(
            order_pk(&order.deal_id),
            &format!("PRODUCTION#{:03}", order.line),
            "production",
            order,
        );
        if !order.is_done() {
            let promised = order.promised_date.map_or_else(
                || "9999-12-31".to_owned(),
                |d| d.format("%Y-%m-%d").to_string(),
            );
            stored = stored.gsi1(
                "PRODUCTION_OPEN".to_owned(),
                format!("{promised}#{}", order.id),
            );
        }
        to_item(&stored)
    }

    /// The transaction items of a deal change's order writes.
    pub(super) fn order_write_items(
        &self,
        deal_id: &str,
        writes: &[OrderWrite],
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items = Vec::new();
        for write in writes {
            match write {
                OrderWrite::PlaceOrder(order) | OrderWrite::Order(order) => {
                    let item = Self::order_item(order)?;
                    let condition = match write {
                        OrderWrite::PlaceOrder(_) => "attribute_not_exists(pk)",
                        _ => "attribute_exists(pk)",
                    };
                    items.push(self.put(item, Some(condition))?);
                }
                OrderWrite::Production {
                    order,
                    expected_version,
                } => items
                    .push(self.versioned_put(Self::production_item(order)?, *expected_version)?),
                OrderWrite::Supply {
                    order,
                    expected_version,
                } => {
                    let item = to_item(&Stored::new(
                        order_pk(deal_id),
                        &format!("SUPPLY#{:03}", order.line),
                        "supply",
                        order,
                    ))?;
                    items.push(self.versioned_put(item, *expected_version)?);
                }
                OrderWrite::Stock(stock) => items.push(self.stock_move_item(stock)?),
                OrderWrite::Shipment(shipment) => {
                    let item = to_item(&Stored::new(
                        order_pk(deal_id),
                        &format!("SHIPMENT#{}", shipment.id),
                        "shipment",
                        shipment,
                    ))?;
                    items.push(self.put(item, Some("attribute_not_exists(pk)"))?);
                    for line in &shipment.lines {
                        let recipient = BatchRecipient {
                            article: line.article.clone(),
                            batch_id: line.batch_id.clone(),
                            party_id: shipment.party_id.clone(),
                            deal_id: shipment.deal_id.clone(),
                            shipment_id: shipment.id.clone(),
                            quantity: line.quantity,
                            shipped_at: shipment.shipped_at,
                        };
                        let item = to_item(&Stored::new(
                            trace_pk(&line.article, &line.batch_id),
                            &format!("{}#{}#{}", ts(&shipment.shipped_at), shipment.id, line.line),
                            "batch_recipient",
                            recipient,
                        ))?;
                        items.push(self.put(item, None)?);
                    }
                }
            }
        }
        Ok(items)
    }
}

impl OrderStore for DynamoStore {
    async fn order_book(&self, deal_id: &str) -> Result<Option<OrderBook>, StoreError> {
        let items = self.partition_items(order_pk(deal_id)).await?;
        let mut order: Option<CustomerOrder> = None;
        let mut production = Vec::new();
        let mut supply = Vec::new();
        let mut shipments: Vec<Shipment> = Vec::new();
        for item in items {
            let entity = item
                .get("entity")
                .and_then(|e| e.as_s().ok())
                .cloned()
                .unwrap_or_default();
            match entity.as_str() {
                "order" => order = Some(from_item(item)?),
                "production" => production.push(from_item::<ProductionOrder>(item)?),
                "supply" => supply.push(from_item::<SupplierOrder>(item)?),
                "shipment" => shipments.push(from_item(item)?),
                _ => {}
            }
        }
        shipments.sort_by_key(|s| s.shipped_at);
        Ok(order.map(|order| OrderBook {
            order,
            production,
            supply,
            shipments,
        }))
    }

    async fn products(&self, skus: &[String]) -> Result<HashMap<String, Product>, StoreError> {
        let unique: BTreeSet<&String> = skus.iter().collect();
        let mut products = HashMap::new();
        let keys: Vec<Item> = unique
            .into_iter()
            .map(|sku| key(format!("PRODUCT#{sku}"), "PRODUCT"))
            .collect();
        for item in self.batch_get(keys).await? {
            let product: Product = from_item(item)?;
            products.insert(product.sku.clone(), product);
        }
        Ok(products)
    }

    async fn batch(&self, article: &str, batch_id: &str) -> Result<Option<Batch>, StoreError> {
        let stored: Option<super::StockBatch> = self
            .get(format!("STOCK#{article}"), &format!("BATCH#{batch_id}"))
            .await?;
        Ok(stored.map(|b| Batch {
            id: b.batch_id,
            received_at: b.received_at,
            expiry: b.expiry,
            on_hand: b.on_hand,
            reserved: b.reserved,
        }))
    }

    async fn open_production(&self) -> Result<Vec<ProductionOrder>, StoreError> {
        self.partition(Some("gsi1"), "PRODUCTION_OPEN".to_owned())
            .await
    }

    async fn batch_recipients(
        &self,
        article: &str,
        batch_id: &str,
    ) -> Result<Vec<BatchRecipient>, StoreError> {
        self.partition(None, trace_pk(article, batch_id)).await
    }
}
