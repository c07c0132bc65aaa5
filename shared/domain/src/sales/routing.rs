//! The routing rule: who may be given an inquiry. A head routes each inquiry to a
//! department and a person of it who can take it: an active manager (or head) of that
//! department, or of all departments.

use crate::kernel::Department;
use crate::staff::{Employee, Role};

/// Why a person cannot take inquiries of a department; the field to correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AssigneeRefusal {
    #[error("no such manager")]
    NoSuchManager,
    #[error("the manager is absent")]
    Absent,
    #[error("the manager works in another department")]
    OtherDepartment,
}

impl AssigneeRefusal {
    /// The request field a person has to correct.
    pub fn field(self) -> &'static str {
        match self {
            Self::NoSuchManager | Self::Absent => "manager_id",
            Self::OtherDepartment => "department",
        }
    }
}

/// Checks that `employee` can take inquiries of `department`.
pub fn check_assignee(
    employee: Option<&Employee>,
    department: Department,
) -> Result<(), AssigneeRefusal> {
    let employee = employee
        .filter(|e| matches!(e.role, Role::Manager | Role::Head))
        .ok_or(AssigneeRefusal::NoSuchManager)?;
    if !employee.active {
        return Err(AssigneeRefusal::Absent);
    }
    if employee.department.is_some_and(|d| d != department) {
        return Err(AssigneeRefusal::OtherDepartment);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::party::EmailAddress;

    fn employee(role: Role, department: Option<Department>, active: bool) -> Employee {
        Employee {
            id: "e".into(),
            name: "e".into(),
            email: EmailAddress::parse("e@zavod.example").unwrap(),
            role,
            department,
            extension: None,
            active,
        }
    }

    #[test]
    fn who_may_take_an_inquiry() {
        use AssigneeRefusal::*;
        let high = Some(Department::High);
        let ok = |e: Employee| check_assignee(Some(&e), Department::High);
        assert_eq!(ok(employee(Role::Manager, high, true)), Ok(()));
        assert_eq!(ok(employee(Role::Head, None, true)), Ok(()));
        assert_eq!(ok(employee(Role::Marketer, high, true)), Err(NoSuchManager));
        assert_eq!(ok(employee(Role::Manager, high, false)), Err(Absent));
        let thermal = employee(Role::Manager, Some(Department::Thermal), true);
        assert_eq!(ok(thermal), Err(OtherDepartment));
        assert_eq!(OtherDepartment.field(), "department");
        assert_eq!(check_assignee(None, Department::High), Err(NoSuchManager));
    }
}
