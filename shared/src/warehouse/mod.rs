//! The warehouse's use cases: reserving stock for an order line ([`reservations`]) over
//! the stock port ([`ports`]).

pub mod ports;
pub mod reservations;
