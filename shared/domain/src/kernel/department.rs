//! The three sales departments of the company: organisation-wide constants that
//! parties, inquiries, deals and staff all refer to.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A sales department. The process is the same in all three; only routing differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Department {
    /// Высокий: high vacuum (its test lab works with the same clients).
    High,
    /// Промышленный: industrial.
    Industrial,
    /// Терм. оборудование: thermal equipment.
    Thermal,
}

impl Department {
    pub const ALL: [Department; 3] = [Self::High, Self::Industrial, Self::Thermal];

    /// The stable code used in keys, the API and the seed file.
    pub fn code(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Industrial => "industrial",
            Self::Thermal => "thermal",
        }
    }

    /// The name as the company writes it.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::High => "Высокий",
            Self::Industrial => "Промышленный",
            Self::Thermal => "Терм. оборудование",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.code() == code)
    }
}

impl fmt::Display for Department {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Who owns a record, as far as access is concerned: its responsible manager and its
/// department, once routed (`staff::access` decides from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner<'a> {
    pub manager_id: Option<&'a str>,
    pub department: Option<Department>,
}
