//! The product catalogue: search by SKU, barcode or name prefix (everyone who works with
//! orders), create and change (heads and admins), every change audited.

use crate::{Api, ApiError, Caller, Query, json};
use crm_domain::kernel::audit::audit_entries;
use crm_domain::warehouse::Product;
use crm_domain::warehouse::barcode::gtin14;
use crm_shared::adapters::CatalogError;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Deserialize;

/// A change of a product: the version read and the product as it should be (its `sku`,
/// if given, is the path's).
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ProductEdit {
    version: u64,
    #[serde(flatten)]
    product: Product,
}

fn saved(error: CatalogError) -> ApiError {
    match error {
        CatalogError::Store(e) => e.into(),
        other => ApiError::conflict(other.to_string()),
    }
}

fn invalid(problems: Vec<String>) -> ApiError {
    ApiError::missing("the product has missing or invalid fields", problems)
}

impl Api {
    /// `q`: a barcode (any GTIN length), an exact SKU, or the start of a name.
    pub(crate) async fn search_products(&self, query: &Query) -> Result<Response<Body>, ApiError> {
        let q = query
            .get("q")
            .map(str::trim)
            .filter(|q| !q.is_empty() && q.chars().count() <= 100)
            .ok_or_else(|| ApiError::bad_request("q (1–100 characters) is required"))?;
        let limit = query.limit()?;
        let mut found: Vec<Product> = Vec::new();
        let digits = q.bytes().all(|b| b.is_ascii_digit());
        if digits && matches!(q.len(), 8 | 12 | 13 | 14) {
            let gtin = gtin14(q).map_err(|e| ApiError::bad_request(e.to_string()))?;
            found.extend(self.store.product_by_barcode(&gtin).await?);
        }
        if found.is_empty() {
            found.extend(self.store.product(q).await?);
            for product in self.store.products_named(q, limit).await? {
                if !found.iter().any(|p| p.sku == product.sku) {
                    found.push(product);
                }
            }
        }
        found.truncate(limit);
        Ok(json(StatusCode::OK, &serde_json::json!({ "items": found })))
    }

    pub(crate) async fn get_product(&self, sku: &str) -> Result<Response<Body>, ApiError> {
        let product = self
            .store
            .product(sku)
            .await?
            .ok_or_else(ApiError::not_found)?;
        Ok(json(StatusCode::OK, &product))
    }

    pub(crate) async fn create_product(
        &self,
        caller: &Caller,
        product: Product,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let product = Product {
            version: 1,
            ..product.normalised().map_err(invalid)?
        };
        let audit = audit_entries(
            "product",
            &product.sku,
            None::<&Product>,
            &product,
            caller.id(),
            source,
            chrono::Utc::now(),
        );
        self.store
            .save_product(None, &product, &audit)
            .await
            .map_err(saved)?;
        Ok(json(StatusCode::CREATED, &product))
    }

    pub(crate) async fn edit_product(
        &self,
        caller: &Caller,
        sku: &str,
        edit: ProductEdit,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let old = self
            .store
            .product(sku)
            .await?
            .ok_or_else(ApiError::not_found)?;
        if edit.version != old.version {
            return Err(ApiError::conflict(format!(
                "the product is at version {}, not {}",
                old.version, edit.version
            )));
        }
        // The SKU is the path's: a product is never renamed into another.
        let new = Product {
            sku: old.sku.clone(),
            ..edit.product
        }
        .normalised()
        .map_err(invalid)?;
        let new = Product {
            version: old.version + 1,
            ..new
        };
        let audit = audit_entries(
            "product",
            &new.sku,
            Some(&old),
            &new,
            caller.id(),
            source,
            chrono::Utc::now(),
        );
        self.store
            .save_product(Some(&old), &new, &audit)
            .await
            .map_err(saved)?;
        Ok(json(StatusCode::OK, &new))
    }
}
