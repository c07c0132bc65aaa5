//! Orders: the product catalogue an agreed deal's lines name ([`product`]), and how each
//! line is split between what the warehouse reserves, what production makes and what is
//! bought from a supplier ([`split`]).

pub mod product;
pub mod split;

pub use product::{Product, ProductKind};
pub use split::{LineSplit, split_line};
