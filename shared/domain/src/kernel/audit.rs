//! The audit trail: every change to a deal, inquiry, counterparty or task is recorded as
//! actor, time, source (API call or event id), field, old → new. [`diff`] finds the fields
//! that changed between two versions of a record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One changed field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// `deal`, `inquiry`, `counterparty`, `task`.
    pub record: String,
    pub record_id: String,
    pub field: String,
    pub old: Value,
    pub new: Value,
    /// Employee id, or `system`.
    pub actor: String,
    pub at: DateTime<Utc>,
    /// `api:<request id>` or `event:<event id>`.
    pub source: String,
}

/// The audit entries of a change from `old` (None for a new record) to `new`.
pub fn audit_entries<T: Serialize>(
    entity: &str,
    entity_id: &str,
    old: Option<&T>,
    new: &T,
    actor: &str,
    source: &str,
    at: DateTime<Utc>,
) -> Vec<AuditEntry> {
    let old = old
        .and_then(|o| serde_json::to_value(o).ok())
        .unwrap_or(serde_json::Value::Null);
    let new = serde_json::to_value(new).unwrap_or(serde_json::Value::Null);
    diff(&old, &new)
        .into_iter()
        .map(|(field, old, new)| AuditEntry {
            record: entity.to_owned(),
            record_id: entity_id.to_owned(),
            field,
            old,
            new,
            actor: actor.to_owned(),
            at,
            source: source.to_owned(),
        })
        .collect()
}

/// One entry for a record made whole (by intake, say): field `created`, the record as new.
pub fn created_entry<T: Serialize>(
    record: &str,
    id: &str,
    value: &T,
    actor: &str,
    source: &str,
    at: DateTime<Utc>,
) -> AuditEntry {
    AuditEntry {
        record: record.to_owned(),
        record_id: id.to_owned(),
        field: "created".to_owned(),
        old: Value::Null,
        new: serde_json::to_value(value).unwrap_or(Value::Null),
        actor: actor.to_owned(),
        at,
        source: source.to_owned(),
    }
}

/// Fields that change on every write and say nothing by themselves.
const BOOKKEEPING: &[&str] = &["version", "updated_at"];

/// The top-level fields that differ between `old` and `new` (objects compared whole, so
/// `legal_entity` is one entry with both versions), in field order of `new`.
pub fn diff(old: &Value, new: &Value) -> Vec<(String, Value, Value)> {
    let empty = serde_json::Map::new();
    let old_fields = old.as_object().unwrap_or(&empty);
    let new_fields = new.as_object().unwrap_or(&empty);
    let mut changes: Vec<(String, Value, Value)> = new_fields
        .iter()
        .filter(|(k, _)| !BOOKKEEPING.contains(&k.as_str()))
        .filter(|(k, v)| old_fields.get(*k).unwrap_or(&Value::Null) != *v)
        .map(|(k, v)| {
            (
                k.clone(),
                old_fields.get(k).cloned().unwrap_or(Value::Null),
                v.clone(),
            )
        })
        .collect();
    changes.extend(
        old_fields
            .iter()
            .filter(|(k, v)| {
                !new_fields.contains_key(*k) && !v.is_null() && !BOOKKEEPING.contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone(), Value::Null)),
    );
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_changed_fields_are_reported() {
        let old = json!({"stage": "proposal", "items": [1], "version": 3, "note": "x"});
        let new = json!({"stage": "agreed", "items": [1], "version": 4, "extra": true});
        assert_eq!(
            diff(&old, &new),
            vec![
                ("stage".to_owned(), json!("proposal"), json!("agreed")),
                ("extra".to_owned(), Value::Null, json!(true)),
                ("note".to_owned(), json!("x"), Value::Null),
            ]
        );
        assert!(diff(&old, &old).is_empty());
    }
}
