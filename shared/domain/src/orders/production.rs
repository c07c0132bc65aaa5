//! Production orders (заказы на производство): what the company makes for a customer
//! order, with status (`planned` → `in_progress` → `done`), readiness in percent, and the
//! planned and promised dates. Production changes them ([`ProductionOrder::edited`]); a
//! finished one is final, and its goods go into stock as a batch named after it, reserved
//! for its order line. One whose promised date has passed is late
//! ([`ProductionOrder::is_late`]): the deal's manager and the heads get a task once per
//! promised date (a new promise that is missed again is reported again).

use super::order::OrderLine;
use crate::sales::Deal;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductionStatus {
    Planned,
    InProgress,
    Done,
}

impl ProductionStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::InProgress => "in_progress",
            Self::Done => "done",
        }
    }
}

/// A production order of one customer order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductionOrder {
    /// `<deal id>-P<line>`; also the batch its goods are received as.
    pub id: String,
    pub deal_id: String,
    pub line: u32,
    pub article: String,
    pub catalogued: bool,
    pub product: String,
    pub unit: String,
    pub quantity: u32,
    pub status: ProductionStatus,
    /// 0–100.
    pub readiness: u8,
    #[serde(default)]
    pub planned_date: Option<NaiveDate>,
    /// The date promised to the client; past it, the order is late.
    #[serde(default)]
    pub promised_date: Option<NaiveDate>,
    pub version: u64,
    pub updated_at: DateTime<Utc>,
}

/// What production changes; every field given replaces the order's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ProductionEdit {
    pub status: Option<ProductionStatus>,
    pub readiness: Option<u8>,
    pub planned_date: Option<NaiveDate>,
    pub promised_date: Option<NaiveDate>,
}

/// Why a production change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductionRefusal {
    #[error("the production order is done; it takes no more changes")]
    Done,
    #[error("readiness is a percentage from 0 to 100")]
    Readiness,
    #[error("a started production order cannot go back to planned")]
    BackToPlanned,
    #[error("nothing to change")]
    Nothing,
}

impl ProductionRefusal {
    /// The request field to fix.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Done | Self::BackToPlanned | Self::Nothing => "status",
            Self::Readiness => "readiness",
        }
    }
}

impl ProductionOrder {
    /// A new production order of `quantity` units of `line`.
    pub fn planned(deal: &Deal, line: &OrderLine, quantity: u32, now: DateTime<Utc>) -> Self {
        Self {
            id: format!("{}-P{}", deal.id, line.line),
            deal_id: deal.id.clone(),
            line: line.line,
            article: line.article.clone(),
            catalogued: line.catalogued,
            product: line.product.clone(),
            unit: line.unit.clone(),
            quantity,
            status: ProductionStatus::Planned,
            readiness: 0,
            planned_date: None,
            promised_date: None,
            version: 1,
            updated_at: now,
        }
    }

    pub fn is_done(&self) -> bool {
        self.status == ProductionStatus::Done
    }

    /// Not done, and its promised date is before `today`.
    pub fn is_late(&self, today: NaiveDate) -> bool {
        !self.is_done() && self.promised_date.is_some_and(|promised| promised < today)
    }

    /// The order as `edit` leaves it, version bumped. Done means 100 % and is final.
    pub fn edited(
        &self,
        edit: &ProductionEdit,
        now: DateTime<Utc>,
    ) -> Result<ProductionOrder, ProductionRefusal> {
        if self.is_done() {
            return Err(ProductionRefusal::Done);
        }
        if edit == &ProductionEdit::default() {
            return Err(ProductionRefusal::Nothing);
        }
        if edit.readiness.is_some_and(|r| r > 100) {
            return Err(ProductionRefusal::Readiness);
        }
        if self.status == ProductionStatus::InProgress
            && edit.status == Some(ProductionStatus::Planned)
        {
            return Err(ProductionRefusal::BackToPlanned);
        }
        let mut new = self.clone();
        if let Some(status) = edit.status {
            new.status = status;
        }
        if let Some(readiness) = edit.readiness {
            new.readiness = readiness;
        }
        if edit.planned_date.is_some() {
            new.planned_date = edit.planned_date;
        }
        if edit.promised_date.is_some() {
            new.promised_date = edit.promised_date;
        }
        if new.status == ProductionStatus::Done {
            new.readiness = 100;
        } else if new.readiness > 0 && new.status == ProductionStatus::Planned {
            new.status = ProductionStatus::InProgress;
        }
        new.version += 1;
        new.updated_at = now;
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::book::place_order;
    use crate::orders::book::tests::{agreed, item};
    use std::collections::HashMap;

    fn order() -> ProductionOrder {
        let mut line = item(None, 2);
        line.made_to_order = true;
        let deal = agreed(vec![line]);
        place_order(&deal, &HashMap::new(), &HashMap::new(), Utc::now()).production[0].clone()
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    #[test]
    fn production_moves_forward_and_done_is_final() {
        let planned = order();
        assert_eq!(planned.id, "deal-1-P1");
        let started = planned
            .edited(
                &ProductionEdit {
                    readiness: Some(40),
                    promised_date: Some(day(20)),
                    ..ProductionEdit::default()
                },
                Utc::now(),
            )
            .unwrap();
        assert_eq!(
            started.status,
            ProductionStatus::InProgress,
            "readiness starts it"
        );
        assert_eq!(started.version, 2);
        assert_eq!(
            started.edited(
                &ProductionEdit {
                    status: Some(ProductionStatus::Planned),
                    ..ProductionEdit::default()
                },
                Utc::now()
            ),
            Err(ProductionRefusal::BackToPlanned)
        );
        assert_eq!(
            started.edited(
                &ProductionEdit {
                    readiness: Some(101),
                    ..ProductionEdit::default()
                },
                Utc::now()
            ),
            Err(ProductionRefusal::Readiness)
        );
        let done = started
            .edited(
                &ProductionEdit {
                    status: Some(ProductionStatus::Done),
                    ..ProductionEdit::default()
                },
                Utc::now(),
            )
            .unwrap();
        assert_eq!(done.readiness, 100);
        assert_eq!(
            done.edited(
                &ProductionEdit {
                    readiness: Some(50),
                    ..ProductionEdit::default()
                },
                Utc::now()
            ),
            Err(ProductionRefusal::Done)
        );
    }

    #[test]
    fn late_means_promised_before_today_and_not_done() {
        let mut order = order();
        assert!(!order.is_late(day(25)), "nothing promised yet");
        order.promised_date = Some(day(20));
        assert!(
            !order.is_late(day(20)),
            "the promised day itself is in time"
        );
        assert!(order.is_late(day(21)));
        order.status = ProductionStatus::Done;
        assert!(!order.is_late(day(21)));
    }
}
