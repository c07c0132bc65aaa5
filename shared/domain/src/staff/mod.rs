//! Staff: employees, their roles, who may do what, and the emails staff get.

pub mod access;
pub mod employee;
pub mod notification;

pub use crate::kernel::Department;
pub use crate::kernel::Owner;
pub use access::{Actor, Capability, permits};
pub use employee::{Employee, Role};
pub use notification::{Notification, heads_covering, recipients};
