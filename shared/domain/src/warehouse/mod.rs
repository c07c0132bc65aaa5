//! The warehouse: what a scanner types ([`barcode`]) and which batches an order takes
//! ([`allocation`]: earliest expiry first, then the oldest receipt, never expired stock).

pub mod allocation;
pub mod barcode;
