//! Employees, their roles, and the three sales departments of the company.

use super::EmailAddress;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A sales department. The process is the same in all three; only routing differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// What a person may do in the system; carried in the bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sales head / dispatcher: routes inquiries, controls managers.
    Head,
    Manager,
    Marketer,
    Warehouse,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Self::Head,
        Self::Manager,
        Self::Marketer,
        Self::Warehouse,
        Self::Admin,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Head => "head",
            Self::Manager => "manager",
            Self::Marketer => "marketer",
            Self::Warehouse => "warehouse",
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
