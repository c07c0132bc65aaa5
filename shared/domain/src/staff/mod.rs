//! Staff: employees, their roles, and the emails staff get.

pub mod employee;
pub mod notification;

pub use crate::kernel::Department;
pub use employee::{Employee, Role};
pub use notification::{Notification, heads_covering, recipients};
