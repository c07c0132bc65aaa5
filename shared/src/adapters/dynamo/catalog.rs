//! The product catalogue in DynamoDB. Items (see `mod.rs` for the rest of the key design):
//!
//! | entity   | pk                 | sk        | gsi1pk / gsi1sk                          |
//! |----------|--------------------|-----------|------------------------------------------|
//! | product  | `PRODUCT#<sku>`    | `PRODUCT` | `PRODUCTS` / `<name, searchable form>#<sku>` |
//! | barcode  | `BARCODE#<gtin14>` | `BARCODE` |                                          |
//!
//! A barcode item claims its GTIN for one SKU (`attribute_not_exists`), in the same
//! transaction as the product, so two products can never share a barcode. A change is
//! conditional on the product's version, and releases the barcodes it drops (each delete
//! conditional on still naming this SKU).
//!
//! Access patterns: a product by SKU (GetItem); by barcode (GetItem of the claim, then of
//! the product); by name prefix (Query `gsi1` `PRODUCTS` with `begins_with`); create and
//! change (TransactWriteItems).

use super::{DynamoStore, Item, Stored, audit_items, build_error, key, to_item};
use crate::ports::StoreError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use crm_domain::kernel::audit::AuditEntry;
use crm_domain::warehouse::Product;
use crm_domain::warehouse::product::search_form;
use serde::{Deserialize, Serialize};

fn product_pk(sku: &str) -> String {
    format!("PRODUCT#{sku}")
}

fn barcode_pk(gtin: &str) -> String {
    format!("BARCODE#{gtin}")
}

#[derive(Serialize, Deserialize)]
struct BarcodeClaim {
    gtin: String,
    sku: String,
}

/// Why a product could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("a product with this SKU exists")]
    SkuTaken,
    #[error("the product changed meanwhile")]
    Conflict,
    #[error("barcode {0} belongs to another product")]
    BarcodeTaken(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DynamoStore {
    fn product_item(&self, product: &Product) -> Result<Item, StoreError> {
        to_item(
            &Stored::new(product_pk(&product.sku), "PRODUCT", "product", product).gsi1(
                "PRODUCTS".to_owned(),
                format!("{}#{}", search_form(&product.name), product.sku),
            ),
        )
    }

    fn claim(&self, gtin: &str, sku: &str) -> Result<TransactWriteItem, StoreError> {
        let item = to_item(&Stored::new(
            barcode_pk(gtin),
            "BARCODE",
            "barcode",
            BarcodeClaim {
                gtin: gtin.to_owned(),
                sku: sku.to_owned(),
            },
        ))?;
        self.put(item, Some("attribute_not_exists(pk)"))
    }

    /// Saves a product: new (`old` `None`) or a change of `old`, conditional on its
    /// version; claims its new barcodes and releases those it dropped, with the audit.
    pub async fn save_product(
        &self,
        old: Option<&Product>,
        new: &Product,
        audit: &[AuditEntry],
    ) -> Result<(), CatalogError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.product_item(new)?));
        let put = match old {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(old) => put
                .condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(old.version.to_string())),
        }
        .build()
        .map_err(build_error)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        let kept: &[String] = old.map_or(&[], |o| o.barcodes.as_slice());
        let claimed: Vec<&String> = new.barcodes.iter().filter(|b| !kept.contains(b)).collect();
        for gtin in &claimed {
            items.push(self.claim(gtin, &new.sku)?);
        }
        for gtin in kept.iter().filter(|b| !new.barcodes.contains(b)) {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(barcode_pk(gtin), "BARCODE")))
                .condition_expression("sku = :sku")
                .expression_attribute_values(":sku", AttributeValue::S(new.sku.clone()))
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        for item in audit_items(audit)? {
            items.push(self.put(item, None)?);
        }
        match self.transact_failed_at(items).await? {
            None => Ok(()),
            Some(0) if old.is_none() => Err(CatalogError::SkuTaken),
            Some(0) => Err(CatalogError::Conflict),
            Some(index) => Err(claimed
                .get(index - 1)
                .map(|gtin| CatalogError::BarcodeTaken((*gtin).clone()))
                .unwrap_or(CatalogError::Conflict)),
        }
    }

    pub async fn product(&self, sku: &str) -> Result<Option<Product>, StoreError> {
        self.get(product_pk(sku), "PRODUCT").await
    }

    /// The product a barcode (GTIN-14) belongs to.
    pub async fn product_by_barcode(&self, gtin: &str) -> Result<Option<Product>, StoreError> {
        let claim: Option<BarcodeClaim> = self.get(barcode_pk(gtin), "BARCODE").await?;
        match claim {
            Some(claim) => self.product(&claim.sku).await,
            None => Ok(None),
        }
    }

    /// Products whose name starts with `prefix` (case, `ё`/`е` and spacing aside), by name.
    pub async fn products_named(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<Product>, StoreError> {
        let query = self
            .partition_query(Some("gsi1"), "PRODUCTS".to_owned())
            .key_condition_expression("#p = :p AND begins_with(gsi1sk, :prefix)")
            .expression_attribute_values(":prefix", AttributeValue::S(search_form(prefix)));
        Ok(self.query_page(query, limit, None).await?.items)
    }
}
