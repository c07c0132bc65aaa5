//! How an agreed line is fulfilled: what is free in stock is reserved; the rest, if the
//! company makes the product, goes to production; otherwise to a supplier. A line made to
//! order (custom equipment) is produced whole, whatever is in stock.

use crate::warehouse::ProductKind;
use serde::{Deserialize, Serialize};

/// One line's parts; they add up to its quantity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineSplit {
    pub reserve: u32,
    pub produce: u32,
    pub purchase: u32,
}

/// Splits `quantity` given what is `free` in stock.
pub fn split_line(quantity: u32, free: u32, kind: ProductKind, made_to_order: bool) -> LineSplit {
    let reserve = if made_to_order { 0 } else { free.min(quantity) };
    let rest = quantity - reserve;
    match (made_to_order, kind) {
        (true, _) | (false, ProductKind::OwnProduction) => LineSplit {
            reserve,
            produce: rest,
            purchase: 0,
        },
        (false, ProductKind::Purchased) => LineSplit {
            reserve,
            produce: 0,
            purchase: rest,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_first_then_production_or_a_supplier() {
        use ProductKind::*;
        let split = |q, free, kind, mto| split_line(q, free, kind, mto);
        assert_eq!(
            split(5, 2, OwnProduction, false),
            LineSplit {
                reserve: 2,
                produce: 3,
                purchase: 0
            }
        );
        assert_eq!(
            split(5, 9, Purchased, false),
            LineSplit {
                reserve: 5,
                produce: 0,
                purchase: 0
            }
        );
        assert_eq!(
            split(5, 1, Purchased, false),
            LineSplit {
                reserve: 1,
                produce: 0,
                purchase: 4
            }
        );
        assert_eq!(
            split(2, 9, OwnProduction, true),
            LineSplit {
                reserve: 0,
                produce: 2,
                purchase: 0
            }
        );
        for q in 0..20 {
            for free in 0..20 {
                for kind in [OwnProduction, Purchased] {
                    for mto in [false, true] {
                        let s = split(q, free, kind, mto);
                        assert_eq!(s.reserve + s.produce + s.purchase, q);
                        assert!(s.reserve <= free);
                    }
                }
            }
        }
    }
}
