//! Deal changes and their events. Every change to a deal is written in one transaction
//! together with its audit entries and an outbox item holding the event; the event is then
//! published on the FIFO deal-events queue (message group = deal) and the outbox item
//! removed. A writer that crashes between the two leaves the outbox item, which the next
//! change of that deal or the sweeper sends — always every pending event of the deal,
//! oldest first, so the queue keeps each deal's order.

use super::ports::{DealChange, DealEventPublisher, DealStore, DealWrite, PublishError};
use crate::ports::StoreError;
use crm_domain::kernel::audit::audit_entries;
use crm_domain::sales::{Deal, DealEvent, DealEventKind};

/// A change that could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum DealSaveError {
    /// Someone changed the deal since it was read: read again.
    #[error("the deal changed since version {0}")]
    Conflict(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why events could not be relayed (they stay in the outbox).
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// What a sweep of the deal-event outbox did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelaySweep {
    pub sent: usize,
    /// Deals whose events could not be sent this time (logged; retried next run).
    pub stuck: Vec<String>,
}

/// Sends outbox events to the deal-events queue.
#[derive(Clone, Debug)]
pub struct DealEventRelay<S, P> {
    pub store: S,
    pub publisher: P,
}

/// How many events go out in one publish call (SQS batches hold at most 10).
const PUBLISH_BATCH: usize = 10;

impl<S: DealStore, P: DealEventPublisher> DealEventRelay<S, P> {
    /// Sends every pending event of a deal, oldest first, then removes them from the
    /// outbox. Returns how many were sent.
    pub async fn flush(&self, deal_id: &str) -> Result<usize, RelayError> {
        let pending = self.store.pending_deal_events(deal_id).await?;
        for chunk in pending.chunks(PUBLISH_BATCH) {
            self.publisher.publish(chunk).await?;
            for event in chunk {
                self.store
                    .delete_pending_deal_event(&event.deal_id, event.version)
                    .await?;
            }
        }
        Ok(pending.len())
    }

    /// Relays the events of every deal with something pending (the scheduled sweeper).
    /// A deal whose events cannot go out is reported and left for the next run; it never
    /// holds back the other deals.
    pub async fn sweep(&self) -> Result<RelaySweep, RelayError> {
        let mut sweep = RelaySweep::default();
        for deal_id in self.store.deals_with_pending_events().await? {
            match self.flush(&deal_id).await {
                Ok(sent) => sweep.sent += sent,
                Err(error) => {
                    tracing::error!(deal = %deal_id, %error, "deal events stuck in the outbox");
                    sweep.stuck.push(deal_id);
                }
            }
        }
        Ok(sweep)
    }

    /// Saves `new` (whose version must be `old.version + 1`) as a change by `actor`.
    /// `extra` are further writes of the same transaction (the inquiry, the counterparty).
    pub async fn save(
        &self,
        old: Option<&Deal>,
        new: &Deal,
        kind: DealEventKind,
        actor: &str,
        source: &str,
        extra: DealWrite,
    ) -> Result<DealEvent, DealSaveError> {
        let event = DealEvent::new(new, kind, actor);
        let audit = audit_entries("deal", &new.id, old, new, actor, source, new.updated_at);
        let written = self
            .store
            .save_deal(DealChange {
                expected_version: old.map(|d| d.version),
                deal: new,
                audit: &audit,
                event: &event,
                extra,
            })
            .await?;
        if !written {
            return Err(DealSaveError::Conflict(
                old.map(|d| d.version).unwrap_or_default(),
            ));
        }
        // The change is committed; a failed send leaves the event for the sweeper.
        if let Err(error) = self.flush(&new.id).await {
            tracing::warn!(deal = %new.id, %error, "deal event left in the outbox for the sweeper");
        }
        Ok(event)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::memory::{MemoryPublisher, MemoryStore};
    use chrono::Utc;
    use crm_domain::kernel::Department;
    use crm_domain::party::requisites::{BankDetails, LegalEntity};
    use crm_domain::sales::{DealContact, DealItem, DealStage, DealTerms, EquipmentType, NewDeal};

    pub(crate) fn new_deal(id: &str) -> Deal {
        Deal::open(
            NewDeal {
                id: id.into(),
                party_id: "p".into(),
                inquiry_id: None,
                department: Department::High,
                manager_id: "m1".into(),
                terms: DealTerms {
                    needs: vec!["насос".into()],
                    legal_entity: LegalEntity {
                        name: "ООО «Завод»".into(),
                        inn: "7707083893".into(),
                        kpp: Some("773601001".into()),
                        bank: BankDetails {
                            bank_name: "Банк".into(),
                            bik: "044525225".into(),
                            account: "40702810938000012345".into(),
                            correspondent_account: "30101810400000000225".into(),
                        },
                        address: "Москва".into(),
                    },
                    contact: DealContact {
                        name: "Иван".into(),
                        phone: Some("+79120000000".into()),
                        email: None,
                    },
                    items: vec![DealItem {
                        product: "Насос".into(),
                        equipment_type: EquipmentType::Pump,
                        quantity: 1,
                        unit_price_kopecks: 100_000,
                        made_to_order: false,
                        sku: None,
                        purchase: false,
                    }],
                    ..DealTerms::default()
                },
            },
            Utc::now(),
        )
    }

    fn next(old: &Deal, stage: DealStage) -> Deal {
        let mut new = old.clone();
        new.stage = stage;
        new.version = old.version + 1;
        new
    }

    #[tokio::test]
    async fn a_deal_through_its_stages_publishes_every_event_in_order() {
        let relay = DealEventRelay {
            store: MemoryStore::default(),
            publisher: MemoryPublisher::default(),
        };
        let deal = new_deal("d1");
        relay
            .save(
                None,
                &deal,
                DealEventKind::Created,
                "m1",
                "api:1",
                DealWrite::default(),
            )
            .await
            .unwrap();
        let mut old = deal;
        for stage in [DealStage::Invoice, DealStage::Agreed] {
            let new = next(&old, stage);
            let kind = DealEventKind::StageChanged {
                from: old.stage,
                to: stage,
            };
            relay
                .save(Some(&old), &new, kind, "m1", "api:2", DealWrite::default())
                .await
                .unwrap();
            old = new;
        }
        let versions: Vec<u64> = relay
            .publisher
            .published()
            .iter()
            .map(|e| e.version)
            .collect();
        assert_eq!(versions, [1, 2, 3]);
        assert!(
            relay
                .store
                .pending_deal_events("d1")
                .await
                .unwrap()
                .is_empty()
        );
        let trail = relay.store.audit_entries_of("deal", "d1");
        assert!(
            trail
                .iter()
                .any(|e| e.field == "stage" && e.new == "agreed")
        );
    }

    #[tokio::test]
    async fn a_stale_version_is_a_conflict_and_writes_nothing() {
        let relay = DealEventRelay {
            store: MemoryStore::default(),
            publisher: MemoryPublisher::default(),
        };
        let deal = new_deal("d1");
        relay
            .save(
                None,
                &deal,
                DealEventKind::Created,
                "m1",
                "api:1",
                DealWrite::default(),
            )
            .await
            .unwrap();
        let first = next(&deal, DealStage::Invoice);
        let kind = || DealEventKind::Edited { fields: vec![] };
        relay
            .save(Some(&deal), &first, kind(), "m1", "a", DealWrite::default())
            .await
            .unwrap();
        let racing = next(&deal, DealStage::Proposal);
        let error = relay
            .save(
                Some(&deal),
                &racing,
                kind(),
                "m2",
                "b",
                DealWrite::default(),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, DealSaveError::Conflict(1)));
        assert_eq!(relay.publisher.published().len(), 2);
        assert_eq!(
            relay.store.deal("d1").await.unwrap().unwrap().stage,
            DealStage::Invoice
        );
    }

    #[tokio::test]
    async fn events_left_by_a_failed_publish_go_first_on_the_next_change() {
        let relay = DealEventRelay {
            store: MemoryStore::default(),
            publisher: MemoryPublisher::default(),
        };
        let deal = new_deal("d1");
        relay.publisher.fail(true);
        relay
            .save(
                None,
                &deal,
                DealEventKind::Created,
                "m1",
                "a",
                DealWrite::default(),
            )
            .await
            .unwrap();
        let second = next(&deal, DealStage::Invoice);
        relay
            .save(
                Some(&deal),
                &second,
                DealEventKind::Edited { fields: vec![] },
                "m1",
                "b",
                DealWrite::default(),
            )
            .await
            .unwrap();
        assert!(relay.publisher.published().is_empty());
        assert_eq!(
            relay.store.pending_deal_events("d1").await.unwrap().len(),
            2
        );

        relay.publisher.fail(false);
        let third = next(&second, DealStage::Agreed);
        relay
            .save(
                Some(&second),
                &third,
                DealEventKind::Edited { fields: vec![] },
                "m1",
                "c",
                DealWrite::default(),
            )
            .await
            .unwrap();
        let versions: Vec<u64> = relay
            .publisher
            .published()
            .iter()
            .map(|e| e.version)
            .collect();
        assert_eq!(versions, [1, 2, 3], "older pending events first");
        assert_eq!(relay.sweep().await.unwrap(), RelaySweep::default());
    }

    #[tokio::test]
    async fn the_sweeper_reports_a_deal_it_cannot_send_and_sends_the_others() {
        let relay = DealEventRelay {
            store: MemoryStore::default(),
            publisher: MemoryPublisher::default(),
        };
        relay.publisher.fail(true);
        for id in ["a", "b", "c"] {
            let deal = new_deal(id);
            relay
                .save(
                    None,
                    &deal,
                    DealEventKind::Created,
                    "m1",
                    "x",
                    DealWrite::default(),
                )
                .await
                .unwrap();
        }
        relay.publisher.fail(false);
        relay.publisher.refuse_deal("a");
        let sweep = relay.sweep().await.unwrap();
        assert_eq!(sweep.sent, 2);
        assert_eq!(sweep.stuck, ["a"]);
        let sent: Vec<String> = relay
            .publisher
            .published()
            .iter()
            .map(|e| e.deal_id.clone())
            .collect();
        assert_eq!(sent, ["b", "c"]);
        assert_eq!(relay.store.pending_deal_events("a").await.unwrap().len(), 1);
    }
}
