//! Reserving stock for an order line: read the product's batches, allocate (FEFO, then
//! FIFO), and write the picks conditionally; when another order took stock meanwhile the
//! write fails as a whole and the line is allocated again from what is left. Stock can
//! never be oversold, and a line that cannot be covered is told exactly what is missing.

use super::ports::{Reservation, ReserveWrite, StockStore};
use crate::ports::StoreError;
use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::kernel::audit::AuditEntry;
use crm_domain::warehouse::allocation::{Allocation, allocate};

/// How many times a line is allocated again after losing a race.
const MAX_ATTEMPTS: u32 = 8;

/// Why a line could not be reserved.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    #[error("stock kept changing under {0} attempts; try again")]
    Contention(u32),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One line to reserve.
#[derive(Debug, Clone)]
pub struct ReserveLine {
    pub reservation_id: String,
    pub sku: String,
    pub quantity: u32,
}

/// The reservation use case over its store.
pub struct Reserving<'a, S> {
    pub store: &'a S,
}

impl<S: StockStore> Reserving<'_, S> {
    /// Reserves what stock covers of `line` on `today`; the allocation says which batches
    /// and what is missing. Reserving the same line again changes nothing.
    pub async fn reserve(
        &self,
        line: &ReserveLine,
        actor: &str,
        source: &str,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> Result<Allocation, ReserveError> {
        for _ in 0..MAX_ATTEMPTS {
            // Two round trips in the common case: the batches, then the transaction. The
            // reservation made before is read only when the write says there is one, or
            // when nothing is free (it may hold what this line got earlier).
            let batches = self.store.batches(&line.sku).await?;
            let allocation = allocate(&batches, line.quantity, today);
            if allocation.picks.is_empty() {
                return Ok(match self.store.reservation(&line.reservation_id).await? {
                    Some(done) => allocation_of(&done, line.quantity),
                    None => allocation,
                });
            }
            let reservation = Reservation {
                id: line.reservation_id.clone(),
                sku: line.sku.clone(),
                picks: allocation.picks.clone(),
            };
            let audit: Vec<AuditEntry> = allocation
                .picks
                .iter()
                .map(|pick| AuditEntry {
                    record: "stock".to_owned(),
                    record_id: format!("{}/{}", line.sku, pick.batch_id),
                    field: "reserved".to_owned(),
                    old: serde_json::Value::Null,
                    new: serde_json::json!({
                        "reserved": pick.quantity,
                        "for": line.reservation_id,
                    }),
                    actor: actor.to_owned(),
                    at: now,
                    source: source.to_owned(),
                })
                .collect();
            match self.store.reserve(&reservation, &audit).await? {
                ReserveWrite::Reserved => return Ok(allocation),
                // Reserved before (a redelivered event, or a twin request right now): what
                // it got then is the answer.
                ReserveWrite::AlreadyReserved => {
                    if let Some(done) = self.store.reservation(&line.reservation_id).await? {
                        return Ok(allocation_of(&done, line.quantity));
                    }
                }
                ReserveWrite::StockChanged => {}
            }
        }
        Err(ReserveError::Contention(MAX_ATTEMPTS))
    }
}

/// What an earlier reservation of a line of `quantity` covered.
fn allocation_of(reservation: &Reservation, quantity: u32) -> Allocation {
    let taken: u32 = reservation.picks.iter().map(|p| p.quantity).sum();
    Allocation {
        picks: reservation.picks.clone(),
        missing: quantity.saturating_sub(taken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crm_domain::warehouse::allocation::Batch;

    fn batch(id: &str, day: u32, expiry_day: Option<u32>, on_hand: u32) -> Batch {
        Batch {
            id: id.into(),
            received_at: format!("2026-11-{day:02}T10:00:00Z").parse().unwrap(),
            expiry: expiry_day.and_then(|d| NaiveDate::from_ymd_opt(2027, 1, d)),
            on_hand,
            reserved: 0,
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    fn line(id: &str, quantity: u32) -> ReserveLine {
        ReserveLine {
            reservation_id: id.into(),
            sku: "OIL-5".into(),
            quantity,
        }
    }

    #[tokio::test]
    async fn lines_take_the_earliest_expiry_and_never_more_than_there_is() {
        let store = MemoryStore::default();
        store.put_batch("OIL-5", batch("late", 1, Some(20), 5));
        store.put_batch("OIL-5", batch("early", 5, Some(10), 3));
        let reserving = Reserving { store: &store };
        let first = reserving
            .reserve(&line("o1#1", 4), "wh", "api:1", Utc::now(), today())
            .await
            .unwrap();
        assert_eq!(first.picks.len(), 2);
        assert_eq!(first.picks[0].batch_id, "early");
        assert_eq!(first.missing, 0);
        let second = reserving
            .reserve(&line("o2#1", 10), "wh", "api:2", Utc::now(), today())
            .await
            .unwrap();
        assert_eq!(second.picks[0].quantity, 4, "what is left of `late`");
        assert_eq!(second.missing, 6, "told exactly what is missing");
        let again = reserving
            .reserve(&line("o1#1", 4), "wh", "api:3", Utc::now(), today())
            .await
            .unwrap();
        assert_eq!(
            again, first,
            "a line reserved again answers what it got the first time"
        );
        let reserved: u32 = store
            .batches("OIL-5")
            .await
            .unwrap()
            .iter()
            .map(|b| b.reserved)
            .sum();
        assert_eq!(
            reserved, 8,
            "a line reserved twice is reserved once; nothing oversold"
        );
    }

    #[tokio::test]
    async fn a_lost_race_is_allocated_again_from_what_is_left() {
        let store = MemoryStore::default();
        store.put_batch("OIL-5", batch("a", 1, None, 2));
        store.put_batch("OIL-5", batch("b", 2, None, 2));
        // Another order takes batch `a` between this line's read and its write.
        store.steal_once("OIL-5", "a", 2);
        let reserving = Reserving { store: &store };
        let allocation = reserving
            .reserve(&line("o1#1", 3), "wh", "api:1", Utc::now(), today())
            .await
            .unwrap();
        assert_eq!(
            allocation.picks,
            [crm_domain::warehouse::allocation::Pick {
                batch_id: "b".into(),
                quantity: 2
            }]
        );
        assert_eq!(allocation.missing, 1);
    }
}
