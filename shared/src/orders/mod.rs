//! Orders: fulfilling agreed deals from stock, production and suppliers, and shipping them
//! ([`fulfilment`]), over the order port ([`ports`]).

pub mod fulfilment;
pub mod ports;
