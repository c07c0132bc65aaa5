//! The warehouse: the product catalogue ([`product`]), what a scanner types
//! ([`barcode`]), what a scan puts into stock ([`receipt`]), and which batches an order
//! takes ([`allocation`]: earliest expiry first, then the oldest receipt, never expired
//! stock).

pub mod allocation;
pub mod barcode;
pub mod product;
pub mod receipt;

pub use product::{Product, ProductKind};
