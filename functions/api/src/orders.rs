//! Orders: a deal's customer order with its picking list; production orders (the
//! production role updates them); supplier orders and their receipts by scan; shipping
//! by scan with the waybill stored and linked to the deal; who got a batch. The use cases
//! are `crm_shared::orders::fulfilment`; this module reads requests and answers.

use crate::{Api, ApiError, Caller, Query, json, valid_id};
use chrono::Utc;
use crm_domain::kernel::time::moscow;
use crm_domain::orders::OrderBook;
use crm_domain::orders::production::ProductionEdit;
use crm_domain::orders::shipment::{OrderToShip, ScannedGoods, picking_list};
use crm_domain::orders::supply::SupplyEdit;
use crm_domain::orders::waybill::waybill;
use crm_domain::sales::{Deal, DocumentRef};
use crm_domain::warehouse::barcode::parse_scan;
use crm_domain::warehouse::receipt::receipt_line;
use crm_shared::adapters::Page;
use crm_shared::orders::fulfilment::{
    Fulfilment, FulfilmentError, PreparedShipment, ReceivedGoods,
};
use crm_shared::orders::ports::OrderStore;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};

/// The most scans one shipment request carries.
pub const MAX_SCANS: usize = 200;
/// The longest scan accepted, in characters.
const MAX_SCAN_CHARS: usize = 200;

/// A deal's order as the order screens show it: the deal's fulfilment flags, the customer
/// order with its production, supply and shipments, and what is left to pick.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct OrderView {
    deal: DealFlags,
    order: crm_domain::orders::CustomerOrder,
    production: Vec<crm_domain::orders::ProductionOrder>,
    supply: Vec<crm_domain::orders::SupplierOrder>,
    shipments: Vec<crm_domain::orders::Shipment>,
    picking: Vec<crm_domain::orders::shipment::ExpectedPick>,
}

/// What the scans would ship, line by line and batch by batch.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ShipmentCheck {
    deal_id: String,
    lines: Vec<crm_domain::orders::shipment::ShippedLine>,
}

/// A shipment: new (201, with whether the deal is now shipped in full and its version),
/// or the same shipment id again (200, `repeated`: nothing more shipped).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Shipped {
    shipment: crm_domain::orders::Shipment,
    #[serde(skip_serializing_if = "Option::is_none")]
    repeated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shipped: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deal_version: Option<u64>,
}

/// The deal as its order changes it.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct DealFlags {
    id: String,
    stage: crm_domain::sales::DealStage,
    version: u64,
    production_required: bool,
    production_ready: bool,
    shipped: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ProductionRequest {
    /// The production order's version as read; a stale one gets 409.
    #[serde(default)]
    version: Option<u64>,
    #[serde(flatten)]
    edit: ProductionEdit,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct SupplyRequest {
    #[serde(default)]
    version: Option<u64>,
    #[serde(flatten)]
    edit: SupplyEdit,
}

/// Goods of a supplier order arriving: the label's scan (catalogued goods), the count.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct SupplyReceiptRequest {
    version: u64,
    #[serde(default)]
    scan: Option<String>,
    #[serde(default)]
    quantity: Option<u32>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ScanRequest {
    scan: String,
    #[serde(default)]
    quantity: Option<u32>,
}

/// A shipment: the client's id for it (a repeated request ships nothing more) and the
/// scans.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ShipmentRequest {
    shipment_id: String,
    scans: Vec<ScanRequest>,
}

fn refused(field: &str, reason: String) -> ApiError {
    ApiError::missing(reason, vec![field.to_owned()])
}

impl From<FulfilmentError> for ApiError {
    fn from(error: FulfilmentError) -> Self {
        let reason = error.to_string();
        match error {
            FulfilmentError::NoDeal | FulfilmentError::NoSuchPart => ApiError::not_found(),
            FulfilmentError::NoOrder
            | FulfilmentError::NotAgreed
            | FulfilmentError::ExpiryMismatch(_)
            | FulfilmentError::Stale(_)
            | FulfilmentError::StockMismatch(_)
            | FulfilmentError::Contention => ApiError::conflict(reason),
            FulfilmentError::Production(refusal) => refused(refusal.field(), reason),
            FulfilmentError::Supply(refusal) => refused(refusal.field(), reason),
            FulfilmentError::Scan(refusal) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "wrong_scan", reason)
                    .with_details(serde_json::json!({ "refusal": refusal }))
            }
            FulfilmentError::Reserve(error) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                error.to_string(),
            ),
            FulfilmentError::Store(error) => error.into(),
        }
    }
}

fn line_number(text: &str) -> Result<u32, ApiError> {
    text.parse::<u32>()
        .ok()
        .filter(|n| (1..=1000).contains(n))
        .ok_or_else(ApiError::not_found)
}

impl Api {
    fn fulfilment(
        &self,
    ) -> Fulfilment<'_, crm_shared::adapters::DynamoStore, crm_shared::adapters::SqsDealEvents>
    {
        Fulfilment { relay: &self.relay }
    }

    /// The deal, when the caller sees it, and its order book.
    async fn deal_and_order(
        &self,
        caller: &Caller,
        deal_id: &str,
    ) -> Result<(Deal, OrderBook), ApiError> {
        let deal = self
            .store
            .deal(deal_id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        caller.check_sees(deal.owner(), "deal")?;
        let book = self
            .store
            .order_book(deal_id)
            .await?
            .ok_or_else(|| ApiError::conflict("the deal has no customer order yet"))?;
        Ok((deal, book))
    }

    /// The order book with its picking list and the deal's flags.
    fn order_answer(deal: &Deal, book: OrderBook) -> OrderView {
        OrderView {
            deal: DealFlags {
                id: deal.id.clone(),
                stage: deal.stage,
                version: deal.version,
                production_required: deal.production_required,
                production_ready: deal.production_ready,
                shipped: deal.shipped,
            },
            picking: picking_list(&book.order),
            order: book.order,
            production: book.production,
            supply: book.supply,
            shipments: book.shipments,
        }
    }

    pub(crate) async fn get_order(
        &self,
        caller: &Caller,
        deal_id: &str,
    ) -> Result<Response<Body>, ApiError> {
        let (deal, book) = self.deal_and_order(caller, deal_id).await?;
        Ok(json(StatusCode::OK, &Self::order_answer(&deal, book)))
    }

    /// The warehouse's work list: orders not shipped in full, oldest first (`limit`), with
    /// what waits on the shelf and what is still to come, of the deals the caller sees.
    pub(crate) async fn orders_to_ship(
        &self,
        caller: &Caller,
        query: &Query,
    ) -> Result<Response<Body>, ApiError> {
        let binding = query.binding("orders", caller);
        let cursor = self.list_cursor(query, &binding)?;
        let page = self
            .store
            .orders_to_ship(query.limit()?, cursor.as_ref())
            .await?;
        // A narrower scope keeps the orders of the page it sees: a short (even empty) page
        // with a cursor, never an order skipped.
        let seen = self
            .deals_seen(caller, page.items.iter().map(|o| o.deal_id.as_str()))
            .await?;
        let listed = Page {
            items: page
                .items
                .iter()
                .filter(|order| seen.contains(&order.deal_id))
                .map(OrderToShip::of)
                .collect::<Vec<_>>(),
            next_cursor: page.next_cursor,
        };
        Ok(json(StatusCode::OK, &self.sealed(listed, &binding)))
    }

    /// Which of these deals are within the caller's scope: all of them for a caller who
    /// sees everything (nothing read); else those whose owner the caller sees, read in one
    /// BatchGetItem per 100 deals (the deal, not a copy of its owner elsewhere: a
    /// reassignment moves the deal).
    async fn deals_seen<'a>(
        &self,
        caller: &Caller,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<HashSet<String>, ApiError> {
        let ids: BTreeSet<String> = ids.map(str::to_owned).collect();
        if caller.actor.sees_all() {
            return Ok(ids.into_iter().collect());
        }
        Ok(self
            .store
            .deals(&ids)
            .await?
            .into_iter()
            .filter(|deal| caller.actor.sees(deal.owner()))
            .map(|deal| deal.id)
            .collect())
    }

    /// Production orders not done yet, soonest promise first; a manager sees their deals'.
    pub(crate) async fn open_production(
        &self,
        caller: &Caller,
    ) -> Result<Response<Body>, ApiError> {
        let open = self.store.open_production().await?;
        let seen = self
            .deals_seen(caller, open.iter().map(|p| p.deal_id.as_str()))
            .await?;
        let items: Vec<_> = open
            .into_iter()
            .filter(|production| seen.contains(&production.deal_id))
            .collect();
        Ok(json(StatusCode::OK, &serde_json::json!({ "items": items })))
    }

    pub(crate) async fn update_production(
        &self,
        caller: &Caller,
        deal_id: &str,
        line: &str,
        request: ProductionRequest,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let line = line_number(line)?;
        // Scope first; the use case reads the deal and its order itself.
        let deal = self.load_deal(caller, deal_id).await?;
        let (deal, book) = self
            .fulfilment()
            .update_production(
                &deal.id,
                line,
                &request.edit,
                request.version,
                caller.id(),
                source,
                Utc::now(),
            )
            .await?;
        Ok(json(StatusCode::OK, &Self::order_answer(&deal, book)))
    }

    pub(crate) async fn edit_supply(
        &self,
        caller: &Caller,
        deal_id: &str,
        line: &str,
        request: SupplyRequest,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let line = line_number(line)?;
        // Scope first; the use case reads the deal and its order itself.
        let deal = self.load_deal(caller, deal_id).await?;
        let (deal, book) = self
            .fulfilment()
            .edit_supply(
                &deal.id,
                line,
                &request.edit,
                request.version,
                caller.id(),
                source,
                Utc::now(),
            )
            .await?;
        Ok(json(StatusCode::OK, &Self::order_answer(&deal, book)))
    }

    /// Receives goods of a supplier order. Catalogued goods are scanned like any receipt
    /// (the product must be the ordered one; batch, expiry and count from the label);
    /// goods bought for the order alone need only the count.
    pub(crate) async fn receive_supply(
        &self,
        caller: &Caller,
        deal_id: &str,
        line: &str,
        request: SupplyReceiptRequest,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let line = line_number(line)?;
        let (deal, book) = self.deal_and_order(caller, deal_id).await?;
        let supply = book
            .supply
            .iter()
            .find(|s| s.line == line)
            .ok_or_else(ApiError::not_found)?;
        let now = Utc::now();
        let goods = if supply.catalogued {
            let text = request
                .scan
                .as_deref()
                .ok_or_else(|| refused("scan", "scan the goods' label".into()))?;
            let scan = parse_scan(text).map_err(|e| refused("scan", e.to_string()))?;
            let product = self
                .store
                .product_by_barcode(&scan.gtin)
                .await?
                .ok_or_else(|| refused("scan", format!("no product has barcode {}", scan.gtin)))?;
            if product.sku != supply.article {
                return Err(refused(
                    "scan",
                    format!(
                        "the label is of {}, the supplier order is for {}",
                        product.sku, supply.article
                    ),
                ));
            }
            let today = now.with_timezone(&moscow()).date_naive();
            let quantity = request
                .quantity
                .or(scan.quantity)
                .or(Some(supply.outstanding()));
            let receipt = receipt_line(&scan, &product, quantity, today)
                .map_err(|refusal| refused(refusal.field(), refusal.to_string()))?;
            ReceivedGoods {
                batch_id: receipt.batch,
                expiry: receipt.expiry,
                quantity: receipt.quantity,
                version: request.version,
            }
        } else {
            ReceivedGoods {
                batch_id: None,
                expiry: None,
                quantity: request.quantity.unwrap_or(supply.outstanding()),
                version: request.version,
            }
        };
        let (deal, book) = self
            .fulfilment()
            .receive_supply(&deal.id, line, &goods, caller.id(), source, now)
            .await?;
        Ok(json(StatusCode::CREATED, &Self::order_answer(&deal, book)))
    }

    /// What each scan is: a product's barcode (with its batch), or else the label of
    /// goods made or bought for an order.
    async fn scanned(&self, scans: &[ScanRequest]) -> Result<Vec<ScannedGoods>, ApiError> {
        if scans.is_empty() || scans.len() > MAX_SCANS {
            return Err(refused("scans", format!("1 to {MAX_SCANS} scans")));
        }
        let mut goods = Vec::with_capacity(scans.len());
        for (index, request) in scans.iter().enumerate() {
            let text = request.scan.trim();
            if text.is_empty() || text.chars().count() > MAX_SCAN_CHARS {
                return Err(refused(
                    &format!("scans[{index}].scan"),
                    "an empty or overlong scan".into(),
                ));
            }
            if request
                .quantity
                .is_some_and(|q| !(1..=100_000).contains(&q))
            {
                return Err(refused(
                    &format!("scans[{index}].quantity"),
                    "1 to 100000".into(),
                ));
            }
            let product = match parse_scan(text) {
                Ok(scan) => self
                    .store
                    .product_by_barcode(&scan.gtin)
                    .await?
                    .map(|product| (scan, product)),
                Err(_) => None,
            };
            goods.push(match product {
                Some((scan, product)) => ScannedGoods {
                    scan: text.to_owned(),
                    article: Some(product.sku),
                    batch: scan.batch,
                    batch_required: product.tracks_batches,
                    quantity: request.quantity.or(scan.quantity).unwrap_or(1),
                },
                None => ScannedGoods {
                    scan: text.to_owned(),
                    article: None,
                    batch: Some(text.to_owned()),
                    batch_required: false,
                    quantity: request.quantity.unwrap_or(1),
                },
            });
        }
        Ok(goods)
    }

    /// Checks scans against the picking list without shipping: what they would ship, or
    /// the wrong scan with what is expected.
    pub(crate) async fn check_shipment(
        &self,
        caller: &Caller,
        deal_id: &str,
        request: ShipmentRequest,
    ) -> Result<Response<Body>, ApiError> {
        let (deal, book) = self.deal_and_order(caller, deal_id).await?;
        let scans = self.scanned(&request.scans).await?;
        let lines = crm_domain::orders::shipment::confirm_scans(&picking_list(&book.order), &scans)
            .map_err(FulfilmentError::from)?;
        Ok(json(
            StatusCode::OK,
            &ShipmentCheck {
                deal_id: deal.id,
                lines,
            },
        ))
    }

    /// Ships what the scans confirm: stock leaves, the waybill is stored and linked to
    /// the deal, the deal is `shipped` once everything is.
    pub(crate) async fn ship(
        &self,
        caller: &Caller,
        deal_id: &str,
        request: ShipmentRequest,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let shipment_id = valid_id(&request.shipment_id)
            .map_err(|_| refused("shipment_id", "letters, digits and '-', up to 80".into()))?
            .to_owned();
        let deal = self.load_deal(caller, deal_id).await?;
        let scans = self.scanned(&request.scans).await?;
        for _ in 0..3 {
            let prepared = self
                .fulfilment()
                .prepare_shipment(&deal.id, &shipment_id, &scans, caller.id(), Utc::now())
                .await?;
            let ready = match prepared {
                PreparedShipment::Shipped(shipment) => {
                    return Ok(json(
                        StatusCode::OK,
                        &Shipped {
                            shipment: *shipment,
                            repeated: Some(true),
                            shipped: None,
                            deal_version: None,
                        },
                    ));
                }
                PreparedShipment::Ready(ready) => ready,
            };
            let bytes = waybill(
                &ready.shipment,
                &ready.order,
                &self.config.seller,
                &ready.deal.terms.legal_entity,
            )
            .map_err(|e| {
                tracing::error!(error = %e, "waybill not generated");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the waybill could not be generated",
                )
            })?;
            let document = DocumentRef {
                id: format!("shipment-{shipment_id}"),
                kind: "shipping".into(),
                filename: format!("УПД-{}.xlsx", ready.shipment.number),
                key: format!("deals/{}/shipment-{shipment_id}.xlsx", deal.id),
                created_at: ready.shipment.shipped_at,
                created_by: caller.id().to_owned(),
            };
            self.store_workbook(&document, bytes).await?;
            if let Some((shipment, deal)) = self
                .fulfilment()
                .commit_shipment(*ready, document, source)
                .await?
            {
                return Ok(json(
                    StatusCode::CREATED,
                    &Shipped {
                        shipment,
                        repeated: None,
                        shipped: Some(deal.shipped),
                        deal_version: Some(deal.version),
                    },
                ));
            }
        }
        Err(ApiError::conflict(
            "the order kept changing while shipping; scan again",
        ))
    }

    /// `sku` and `batch`: who got goods of that batch (of the deals the caller sees).
    pub(crate) async fn batch_recipients(
        &self,
        caller: &Caller,
        query: &Query,
    ) -> Result<Response<Body>, ApiError> {
        let sku = query
            .get("sku")
            .filter(|s| s.len() <= 80)
            .ok_or_else(|| ApiError::bad_request("sku is required"))?;
        let batch = query
            .get("batch")
            .filter(|b| b.len() <= 80)
            .ok_or_else(|| ApiError::bad_request("batch is required"))?;
        let mut recipients = self.store.batch_recipients(sku, batch).await?;
        let seen = self
            .deals_seen(caller, recipients.iter().map(|r| r.deal_id.as_str()))
            .await?;
        recipients.retain(|recipient| seen.contains(&recipient.deal_id));
        Ok(json(
            StatusCode::OK,
            &serde_json::json!({ "items": recipients }),
        ))
    }
}
