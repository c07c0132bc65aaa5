//! The shared kernel: primitives every bounded context uses and none owns — whether an
//! error may heal by retrying, ids, content hashes, the `system` actor, company time, the
//! three sales departments and the audit trail. It depends on no other module of the crate.

pub mod audit;
pub mod department;
pub mod time;

pub use department::{Department, Owner};

use sha2::{Digest, Sha256};

/// Whether an error can go away by trying again. Permanent errors are bad input: answered
/// with a 4xx, or sent to the DLQ after logging. Transient errors (throttling, network, a
/// concurrent writer) are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Permanent,
    Transient,
}

/// The actor of changes the system makes by itself (intake, reactions, jobs).
pub const SYSTEM: &str = "system";

/// Whether `sku` is a usable article (артикул): 1–40 letters, digits, `-`, `_`, `.`. Deal
/// lines name articles and the warehouse keeps stock by them.
pub fn sku_is_valid(sku: &str) -> bool {
    (1..=40).contains(&sku.len())
        && sku
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// The form a name is searched by: lower case, `ё` as `е`, single spaces.
pub fn search_form(name: &str) -> String {
    name.to_lowercase()
        .replace('ё', "е")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A time-ordered unique id (UUID v7): ids sort by creation, which lists rely on.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The SHA-256 of `bytes` in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The first 12 bytes of the SHA-256 of `text` in hex: a short, stable key part made from
/// text that may hold anything (a PBX call id, a Message-ID).
pub fn short_hash(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes())[..12])
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(short_hash("abc"), "ba7816bf8f01cfea414140de");
    }
}
