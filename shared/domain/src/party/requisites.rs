//! A counterparty's requisites (реквизиты): legal entity, INN/KPP, bank details, and the
//! checks every document that names a legal entity needs (deals, orders, shipping and tax
//! documents, 1C imports). Problems are reported as field paths a person can act on.

use serde::{Deserialize, Serialize};

/// Bank details of a legal entity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BankDetails {
    #[serde(default)]
    pub bank_name: String,
    /// БИК, 9 digits.
    #[serde(default)]
    pub bik: String,
    /// Расчётный счёт, 20 digits.
    #[serde(default)]
    pub account: String,
    /// Корреспондентский счёт, 20 digits.
    #[serde(default)]
    pub correspondent_account: String,
}

/// The client's legal entity, required to create a deal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LegalEntity {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub inn: String,
    /// Only legal entities (10-digit INN) have a KPP.
    #[serde(default)]
    pub kpp: Option<String>,
    #[serde(default)]
    pub bank: BankDetails,
    #[serde(default)]
    pub address: String,
}

/// Checks an INN (ИНН) by its check digits: 10 digits for organisations, 12 for
/// individual entrepreneurs.
pub fn inn_is_valid(inn: &str) -> bool {
    let digits: Vec<u32> = inn.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != inn.chars().count() {
        return false;
    }
    let check = |weights: &[u32], upto: usize| -> u32 {
        let sum: u32 = weights
            .iter()
            .zip(&digits[..upto])
            .map(|(w, d)| w * d)
            .sum();
        sum % 11 % 10
    };
    match digits.len() {
        10 => check(&[2, 4, 10, 3, 5, 9, 4, 6, 8], 9) == digits[9],
        12 => {
            check(&[7, 2, 4, 10, 3, 5, 9, 4, 6, 8], 10) == digits[10]
                && check(&[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8], 11) == digits[11]
        }
        _ => false,
    }
}

fn all_digits(text: &str, len: usize) -> bool {
    text.len() == len && text.chars().all(|c| c.is_ascii_digit())
}

/// What a legal entity lacks, as field paths (`legal_entity.inn`, …).
pub fn legal_entity_problems(entity: &LegalEntity) -> Vec<String> {
    let mut missing = Vec::new();
    if entity.name.trim().is_empty() {
        missing.push("legal_entity.name".to_owned());
    }
    if !inn_is_valid(entity.inn.trim()) {
        missing.push("legal_entity.inn".to_owned());
    }
    let needs_kpp = entity.inn.trim().len() == 10;
    let kpp_ok = match &entity.kpp {
        Some(kpp) => all_digits(kpp.trim(), 9),
        None => !needs_kpp,
    };
    if !kpp_ok {
        missing.push("legal_entity.kpp".to_owned());
    }
    if entity.bank.bank_name.trim().is_empty() {
        missing.push("legal_entity.bank.bank_name".to_owned());
    }
    if !all_digits(entity.bank.bik.trim(), 9) {
        missing.push("legal_entity.bank.bik".to_owned());
    }
    if !all_digits(entity.bank.account.trim(), 20) {
        missing.push("legal_entity.bank.account".to_owned());
    }
    if !all_digits(entity.bank.correspondent_account.trim(), 20) {
        missing.push("legal_entity.bank.correspondent_account".to_owned());
    }
    if entity.address.trim().is_empty() {
        missing.push("legal_entity.address".to_owned());
    }
    missing
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn valid_entity() -> LegalEntity {
        LegalEntity {
            name: "ООО «Завод Прогресс»".into(),
            inn: "7707083893".into(),
            kpp: Some("773601001".into()),
            bank: BankDetails {
                bank_name: "ПАО Сбербанк".into(),
                bik: "044525225".into(),
                account: "40702810938000012345".into(),
                correspondent_account: "30101810400000000225".into(),
            },
            address: "Москва, ул. Вавилова, 19".into(),
        }
    }

    #[test]
    fn inn_checksums() {
        for valid in ["7707083893", "7736050003", "500100732259", "7830002293"] {
            assert!(inn_is_valid(valid), "{valid}");
        }
        for invalid in [
            "7707083890",
            "500100732250",
            "123",
            "77070838931",
            "77O7083893",
            "",
        ] {
            assert!(!inn_is_valid(invalid), "{invalid}");
        }
    }
}
