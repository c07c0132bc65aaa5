//! The warehouse: goods received by scan (the warehouse role alone changes stock, every
//! movement audited), stock by product and batch with what is free, and what expires soon.

use crate::{Api, ApiError, Caller, Query, json};
use chrono::Utc;
use crm_domain::kernel::audit::AuditEntry;
use crm_domain::kernel::new_id;
use crm_domain::kernel::time::moscow;
use crm_domain::warehouse::barcode::parse_scan;
use crm_domain::warehouse::product::sku_is_valid;
use crm_domain::warehouse::receipt::receipt_line;
use crm_shared::adapters::StockBatch;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::{Deserialize, Serialize};

/// What the scanner typed, and the count when the label does not say it.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ReceiptRequest {
    scan: String,
    #[serde(default)]
    quantity: Option<u32>,
}

/// What a scanned label put into stock: the batch it went into.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Received {
    sku: String,
    batch_id: String,
    expiry: Option<chrono::NaiveDate>,
    received: u32,
}

/// A batch as the warehouse sees it.
#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    batch: &'a StockBatch,
    free: u32,
}

fn listed(batches: &[StockBatch]) -> serde_json::Value {
    let items: Vec<Listed<'_>> = batches
        .iter()
        .map(|batch| Listed {
            batch,
            free: batch.free(),
        })
        .collect();
    serde_json::json!({ "items": items })
}

impl Api {
    /// Receives one scanned label: 422 naming `scan` (or `quantity`) for a label that
    /// cannot be read, an unknown barcode, a missing batch or expiry, expired goods.
    pub(crate) async fn receive(
        &self,
        caller: &Caller,
        request: ReceiptRequest,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let refuse = |field: &str, reason: String| ApiError::missing(reason, vec![field.into()]);
        let scan = parse_scan(&request.scan).map_err(|e| refuse("scan", e.to_string()))?;
        let product = self
            .store
            .product_by_barcode(&scan.gtin)
            .await?
            .ok_or_else(|| refuse("scan", format!("no product has barcode {}", scan.gtin)))?;
        let now = Utc::now();
        let today = now.with_timezone(&moscow()).date_naive();
        let line = receipt_line(&scan, &product, request.quantity, today)
            .map_err(|refusal| refuse(refusal.field(), refusal.to_string()))?;
        let batch_id = line.batch.clone().unwrap_or_else(new_id);
        let audit = [AuditEntry {
            record: "stock".to_owned(),
            record_id: format!("{}/{batch_id}", line.sku),
            field: "on_hand".to_owned(),
            old: serde_json::Value::Null,
            new: serde_json::json!({ "received": line.quantity }),
            actor: caller.id().to_owned(),
            at: now,
            source: source.to_owned(),
        }];
        if !self.store.receive(&line, &batch_id, now, &audit).await? {
            return Err(ApiError::conflict(format!(
                "batch {batch_id} of {} is in stock with another expiry",
                line.sku
            )));
        }
        Ok(json(
            StatusCode::CREATED,
            &Received {
                sku: line.sku,
                batch_id,
                expiry: line.expiry,
                received: line.quantity,
            },
        ))
    }

    /// `sku`: the product's batches, earliest expiry first, with what is free of each.
    pub(crate) async fn stock(&self, query: &Query) -> Result<Response<Body>, ApiError> {
        let sku = query
            .get("sku")
            .filter(|sku| sku_is_valid(sku))
            .ok_or_else(|| ApiError::bad_request("sku is required"))?;
        let mut batches = self.store.stock_of(sku).await?;
        batches.sort_by(|a, b| {
            (a.expiry.is_none(), a.expiry, a.received_at).cmp(&(
                b.expiry.is_none(),
                b.expiry,
                b.received_at,
            ))
        });
        Ok(json(StatusCode::OK, &listed(&batches)))
    }

    /// `days` (default 30, at most 3650): batches expiring within that many days.
    pub(crate) async fn expiring(&self, query: &Query) -> Result<Response<Body>, ApiError> {
        let days: i64 = match query.get("days") {
            None => 30,
            Some(text) => text
                .parse()
                .ok()
                .filter(|d| (0..=3650).contains(d))
                .ok_or_else(|| ApiError::bad_request("days must be a number from 0 to 3650"))?,
        };
        let today = Utc::now().with_timezone(&moscow()).date_naive();
        let batches = self
            .store
            .expiring(today + chrono::Duration::days(days))
            .await?;
        Ok(json(StatusCode::OK, &listed(&batches)))
    }
}
