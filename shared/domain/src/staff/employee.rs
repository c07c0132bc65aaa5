//! Employees and their roles.

use crate::kernel::Department;
use crate::party::EmailAddress;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a person may do in the system; carried in the bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sales head / dispatcher: routes inquiries, controls managers.
    Head,
    Manager,
    Marketer,
    Warehouse,
    /// The production shop: updates production orders.
    Production,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Self::Head,
        Self::Manager,
        Self::Marketer,
        Self::Warehouse,
        Self::Production,
        Self::Admin,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Head => "head",
            Self::Manager => "manager",
            Self::Marketer => "marketer",
            Self::Warehouse => "warehouse",
            Self::Production => "production",
            Self::Admin => "admin",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A member of staff. `id` is the subject (`sub`) of their identity-provider token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employee {
    pub id: String,
    pub name: String,
    pub email: EmailAddress,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Department>,
    /// The PBX extension, which tells who answered a call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// Absent staff (vacation, left) receive no notifications and no assignments.
    #[serde(default = "active_by_default")]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for d in Department::ALL {
            assert_eq!(Department::from_code(d.code()), Some(d));
        }
        for r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(r));
        }
        assert_eq!(Department::from_code("sales"), None);
        assert_eq!(Department::Thermal.display_name(), "Терм. оборудование");
    }
}
