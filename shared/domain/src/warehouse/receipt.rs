//! Receiving goods by scan: what one scan (and an optional count) puts into which batch.
//! A product that tracks batches needs the batch (`10`) on its label, one that tracks
//! expiry the expiry (`17`), and goods already past their expiry are refused.

use super::barcode::Scan;
use super::product::Product;
use chrono::NaiveDate;

/// The most units one receipt line takes.
pub const MAX_RECEIPT_QUANTITY: u32 = 100_000;

/// Goods to put into stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLine {
    pub sku: String,
    /// The batch code of a batch-tracked product; `None`: the receipt makes its own batch.
    pub batch: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub quantity: u32,
}

/// Why goods cannot be received as scanned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptRefusal {
    #[error("the label has no batch (10), and this product tracks batches")]
    NoBatch,
    #[error("the label has no expiry (17), and this product tracks expiry")]
    NoExpiry,
    #[error("the goods expired on {0}")]
    Expired(NaiveDate),
    #[error("the quantity must be 1 to {MAX_RECEIPT_QUANTITY}")]
    Quantity,
}

impl ReceiptRefusal {
    /// The request field to fix.
    pub fn field(&self) -> &'static str {
        match self {
            Self::NoBatch | Self::NoExpiry | Self::Expired(_) => "scan",
            Self::Quantity => "quantity",
        }
    }
}

/// The receipt line for `scan` of `product` on `today`; the count is the request's, else
/// the label's (`30`/`37`), else one.
pub fn receipt_line(
    scan: &Scan,
    product: &Product,
    count: Option<u32>,
    today: NaiveDate,
) -> Result<ReceiptLine, ReceiptRefusal> {
    if product.tracks_batches && scan.batch.is_none() {
        return Err(ReceiptRefusal::NoBatch);
    }
    if product.tracks_expiry && scan.expiry.is_none() {
        return Err(ReceiptRefusal::NoExpiry);
    }
    if let Some(expiry) = scan.expiry.filter(|expiry| *expiry < today) {
        return Err(ReceiptRefusal::Expired(expiry));
    }
    let quantity = count.or(scan.quantity).unwrap_or(1);
    if !(1..=MAX_RECEIPT_QUANTITY).contains(&quantity) {
        return Err(ReceiptRefusal::Quantity);
    }
    Ok(ReceiptLine {
        sku: product.sku.clone(),
        batch: scan.batch.clone().filter(|_| product.tracks_batches),
        expiry: scan.expiry.filter(|_| product.tracks_expiry),
        quantity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sales::EquipmentType;
    use crate::warehouse::ProductKind;
    use crate::warehouse::barcode::parse_scan;

    fn oil() -> Product {
        Product {
            sku: "OIL-5".into(),
            name: "Масло вакуумное".into(),
            unit: "л".into(),
            kind: ProductKind::Purchased,
            equipment_type: EquipmentType::Other,
            barcodes: vec!["04006381333931".into()],
            tracks_batches: true,
            tracks_expiry: true,
            default_supplier: Some("ООО «Смазки»".into()),
            version: 1,
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    #[test]
    fn a_label_gives_the_batch_expiry_and_count() {
        let scan = parse_scan("010400638133393117270600\u{1d}10L-77\u{1d}3720").unwrap();
        let line = receipt_line(&scan, &oil(), None, today()).unwrap();
        assert_eq!(line.batch.as_deref(), Some("L-77"));
        assert_eq!(line.expiry, NaiveDate::from_ymd_opt(2027, 6, 30));
        assert_eq!(line.quantity, 20);
        assert_eq!(
            receipt_line(&scan, &oil(), Some(3), today())
                .unwrap()
                .quantity,
            3
        );
    }

    #[test]
    fn a_missing_batch_or_expiry_and_expired_goods_are_refused() {
        let plain = parse_scan("4006381333931").unwrap();
        assert_eq!(
            receipt_line(&plain, &oil(), None, today()),
            Err(ReceiptRefusal::NoBatch)
        );
        let no_expiry = parse_scan("010400638133393110L-1").unwrap();
        assert_eq!(
            receipt_line(&no_expiry, &oil(), None, today()),
            Err(ReceiptRefusal::NoExpiry)
        );
        let expired = parse_scan("010400638133393117261128\u{1d}10L-1").unwrap();
        assert_eq!(
            receipt_line(&expired, &oil(), None, today()),
            Err(ReceiptRefusal::Expired(
                NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
            ))
        );
        let untracked = Product {
            tracks_batches: false,
            tracks_expiry: false,
            ..oil()
        };
        let line = receipt_line(&plain, &untracked, Some(5), today()).unwrap();
        assert_eq!((line.batch, line.quantity), (None, 5));
        assert_eq!(
            receipt_line(&plain, &untracked, Some(0), today()),
            Err(ReceiptRefusal::Quantity)
        );
    }
}
