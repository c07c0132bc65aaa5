//! Orders: how each line of an agreed deal is split between what the warehouse reserves,
//! what production makes and what is bought from a supplier ([`split`]).

pub mod split;

pub use split::{LineSplit, split_line};
