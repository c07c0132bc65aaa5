//! The product catalogue: SKU, name, unit, whether the company makes it or buys it, its
//! equipment type, its barcodes (GTIN-8/12/13/14, several per product, stored as 14
//! digits), whether batches and expiry are tracked, and the default supplier of what is
//! bought.

use super::barcode::gtin14;
use crate::sales::EquipmentType;
use serde::{Deserialize, Serialize};

/// Whether the company makes a product or buys it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    OwnProduction,
    Purchased,
}

/// A product of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Product {
    pub sku: String,
    pub name: String,
    /// `шт`, `компл`, `м` …
    pub unit: String,
    pub kind: ProductKind,
    pub equipment_type: EquipmentType,
    /// GTIN-14 each.
    #[serde(default)]
    pub barcodes: Vec<String>,
    #[serde(default)]
    pub tracks_batches: bool,
    #[serde(default)]
    pub tracks_expiry: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_supplier: Option<String>,
    /// Optimistic-lock version, as deals have.
    #[serde(default)]
    pub version: u64,
}

/// The most barcodes one product carries.
pub const MAX_BARCODES: usize = 10;

pub use crate::kernel::sku_is_valid;

impl Product {
    /// The product with its barcodes checked and written as GTIN-14, or the fields that
    /// are missing or wrong (`barcodes[1]`).
    pub fn normalised(mut self) -> Result<Product, Vec<String>> {
        let mut problems = Vec::new();
        if !sku_is_valid(&self.sku) {
            problems.push("sku".to_owned());
        }
        self.name = self.name.trim().to_owned();
        if self.name.is_empty() || self.name.chars().count() > 300 {
            problems.push("name".to_owned());
        }
        self.unit = self.unit.trim().to_owned();
        if self.unit.is_empty() || self.unit.chars().count() > 20 {
            problems.push("unit".to_owned());
        }
        if self.barcodes.len() > MAX_BARCODES {
            problems.push("barcodes".to_owned());
        }
        let mut barcodes = Vec::with_capacity(self.barcodes.len());
        for (index, code) in self.barcodes.iter().enumerate() {
            match gtin14(code.trim()) {
                Ok(gtin) if !barcodes.contains(&gtin) => barcodes.push(gtin),
                Ok(_) => {}
                Err(_) => problems.push(format!("barcodes[{index}]")),
            }
        }
        self.barcodes = barcodes;
        if self.tracks_expiry && !self.tracks_batches {
            problems.push("tracks_batches".to_owned());
        }
        if self
            .default_supplier
            .as_deref()
            .is_some_and(|s| s.trim().is_empty() || s.chars().count() > 200)
        {
            problems.push("default_supplier".to_owned());
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(problems)
        }
    }
}

pub use crate::kernel::search_form;

#[cfg(test)]
mod tests {
    use super::*;

    fn pump() -> Product {
        Product {
            sku: "NVR-16D".into(),
            name: " Насос НВР-16Д ".into(),
            unit: "шт".into(),
            kind: ProductKind::OwnProduction,
            equipment_type: EquipmentType::VacuumPump,
            barcodes: vec![
                "4006381333931".into(),
                "04006381333931".into(),
                "96385074".into(),
            ],
            tracks_batches: true,
            tracks_expiry: false,
            default_supplier: None,
            version: 0,
        }
    }

    #[test]
    fn a_product_is_trimmed_and_its_barcodes_become_gtin_14_once() {
        let product = pump().normalised().unwrap();
        assert_eq!(product.name, "Насос НВР-16Д");
        assert_eq!(product.barcodes, ["04006381333931", "00000096385074"]);
    }

    #[test]
    fn what_is_wrong_is_named() {
        let broken = Product {
            sku: "NVR 16D".into(),
            unit: " ".into(),
            barcodes: vec!["4006381333932".into()],
            tracks_batches: false,
            tracks_expiry: true,
            ..pump()
        };
        assert_eq!(
            broken.normalised().unwrap_err(),
            ["sku", "unit", "barcodes[0]", "tracks_batches"]
        );
    }

    #[test]
    fn names_are_searched_without_case_or_yo() {
        assert_eq!(search_form("  Ёмкость   ВАКУУМНАЯ "), "емкость вакуумная");
    }
}
