//! Orders: the customer order made from an agreed deal ([`order`], placed with its parts
//! as an [`book::OrderBook`]), each line split
//! between what the warehouse reserves, what production makes and what is bought
//! ([`split`]); production orders ([`production`]) and supplier orders ([`supply`]);
//! shipping by scan ([`shipment`]) and the shipping document ([`waybill`]).

pub mod book;
pub mod order;
pub mod production;
pub mod shipment;
pub mod split;
pub mod supply;
pub mod waybill;

pub use book::{OrderBook, place_order};
pub use order::{CustomerOrder, OrderLine};
pub use production::{ProductionOrder, ProductionStatus};
pub use shipment::Shipment;
pub use split::{LineSplit, split_line};
pub use supply::{SupplierOrder, SupplyStatus};
