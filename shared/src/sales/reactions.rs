//! Reactions to deal events, as the deal-events consumer runs them:
//!
//! - a deal became `unfit` → the heads of its department get "Check the seller's work";
//! - a deal entered `service` → its manager gets "Offer service";
//! - the client agreed to service → its manager gets "Conclude service contract".
//!
//! Idempotent: tasks have ids derived from the deal, notifications go out only when a task
//! is new, and every consumed event is logged once.

use super::ports::DealStore;
use crate::ports::{Notifier, StoreError, active_employee};
use chrono::{DateTime, Duration, Utc};
use crm_domain::kernel::time::add_working_hours;
use crm_domain::sales::task::Assignee;
use crm_domain::sales::{DealEvent, DealEventKind, DealStage, ServiceDecision, Task, TaskKind};
use crm_domain::staff::{Employee, heads_covering};
use crm_domain::templates::{self, Links};

/// The reactions with the store and notifier they need.
pub struct DealReactions<'a, S, N> {
    pub store: &'a S,
    pub notifier: &'a N,
    pub links: &'a Links,
}

impl<S: DealStore, N: Notifier> DealReactions<'_, S, N> {
    /// Reacts to one event and logs it consumed; `true` the first time it is consumed.
    pub async fn consume(&self, event: &DealEvent, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.react(event, now).await?;
        self.store.record_consumed_deal_event(event).await
    }

    /// The reactions: each creates its task once and notifies only then.
    pub async fn react(&self, event: &DealEvent, now: DateTime<Utc>) -> Result<(), StoreError> {
        let deal = &event.deal;
        match &event.kind {
            DealEventKind::StageChanged {
                to: DealStage::Unfit,
                ..
            } => {
                let heads =
                    heads_covering(&self.store.active_heads().await?, Some(deal.department));
                let task = Task {
                    note: Some(format!(
                        "Сделка проиграна до согласования. Причина: {}",
                        deal.unfit_reason.as_deref().unwrap_or("—")
                    )),
                    ..deal_task(event, TaskKind::CheckSellersWork, Assignee::Heads, 8, now)
                };
                self.create_and_notify(task, &heads).await
            }
            DealEventKind::StageChanged {
                to: DealStage::Invoice,
                ..
            } => {
                // The invoice went out: the manager checks within two working days that
                // it is paid, or calls.
                let manager = Assignee::Employee(deal.manager_id.clone());
                let task = Task {
                    note: deal
                        .invoice_number
                        .as_ref()
                        .map(|number| format!("Счёт № {number}")),
                    ..deal_task(event, TaskKind::CheckPayment, manager, 16, now)
                };
                self.create_and_notify(task, &self.manager(&deal.manager_id).await?)
                    .await
            }
            DealEventKind::StageChanged {
                to: DealStage::Service,
                ..
            } => {
                let manager = Assignee::Employee(deal.manager_id.clone());
                let task = deal_task(event, TaskKind::OfferService, manager, 16, now);
                self.create_and_notify(task, &self.manager(&deal.manager_id).await?)
                    .await
            }
            DealEventKind::Edited { fields }
                if fields.iter().any(|f| f == "service_decision")
                    && deal.service_decision == Some(ServiceDecision::Contract) =>
            {
                let manager = Assignee::Employee(deal.manager_id.clone());
                let task = deal_task(event, TaskKind::ConcludeServiceContract, manager, 24, now);
                self.create_and_notify(task, &self.manager(&deal.manager_id).await?)
                    .await
            }
            _ => Ok(()),
        }
    }

    async fn manager(&self, id: &str) -> Result<Vec<Employee>, StoreError> {
        Ok(active_employee(self.store, id).await?.into_iter().collect())
    }

    async fn create_and_notify(
        &self,
        task: Task,
        recipients: &[Employee],
    ) -> Result<(), StoreError> {
        if !self.store.put_task_if_absent(&task).await? || recipients.is_empty() {
            return Ok(());
        }
        let notification = templates::deal_task(recipients, &task, self.links);
        // The task is the record; a lost email is logged, the task stays visible.
        if let Err(error) = self.notifier.send(&notification).await {
            tracing::warn!(%error, "task notification not sent");
        }
        Ok(())
    }
}

/// A task about the deal, due in `hours` working hours (at least 30 minutes); its id makes
/// it unique per deal and kind.
fn deal_task(
    event: &DealEvent,
    kind: TaskKind,
    assignee: Assignee,
    hours: u32,
    now: DateTime<Utc>,
) -> Task {
    Task {
        party_id: Some(event.deal.party_id.clone()),
        inquiry_id: event.deal.inquiry_id.clone(),
        deal_id: Some(event.deal_id.clone()),
        department: Some(event.department),
        ..Task::open(
            format!("{}-{}", kind.code().replace('_', "-"), event.deal_id),
            kind,
            format!(
                "{}: сделка {}",
                kind.title(),
                event.deal.terms.legal_entity.name
            ),
            assignee,
            add_working_hours(now, hours).max(now + Duration::minutes(30)),
            now,
            format!("event:{}", event.event_id),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::tests::employee;
    use crate::memory::{MemoryNotifier, MemoryStore};
    use crate::sales::deals::tests::new_deal;
    use crm_domain::kernel::Department;
    use crm_domain::staff::Role;

    fn links() -> Links {
        Links {
            app_base_url: "https://crm.example".into(),
        }
    }

    fn event(stage: DealStage, kind: DealEventKind) -> DealEvent {
        let mut deal = new_deal("d1");
        deal.stage = stage;
        deal.version = match stage {
            DealStage::Unfit => 2,
            _ if matches!(kind, DealEventKind::Edited { .. }) => 4,
            _ => 3,
        };
        deal.unfit_reason = Some("дорого".into());
        deal.service_decision = Some(ServiceDecision::Contract);
        DealEvent::new(&deal, kind, "m1")
    }

    #[tokio::test]
    async fn each_reaction_creates_its_task_once_and_tells_the_right_people() {
        let store = MemoryStore::default();
        store.add_employee(employee("m1", Role::Manager, Some(Department::High)));
        store.add_employee(employee("head-high", Role::Head, Some(Department::High)));
        store.add_employee(employee(
            "head-thermal",
            Role::Head,
            Some(Department::Thermal),
        ));
        let notifier = MemoryNotifier::default();
        let links = links();
        let reactions = DealReactions {
            store: &store,
            notifier: &notifier,
            links: &links,
        };
        let unfit = event(
            DealStage::Unfit,
            DealEventKind::StageChanged {
                from: DealStage::Proposal,
                to: DealStage::Unfit,
            },
        );
        let service = event(
            DealStage::Service,
            DealEventKind::StageChanged {
                from: DealStage::Installation,
                to: DealStage::Service,
            },
        );
        let contract = event(
            DealStage::Service,
            DealEventKind::Edited {
                fields: vec!["service_decision".into()],
            },
        );
        let mut invoice = event(
            DealStage::Invoice,
            DealEventKind::StageChanged {
                from: DealStage::Proposal,
                to: DealStage::Invoice,
            },
        );
        invoice.deal.invoice_number = Some("С-17".into());
        // Its own version: events are logged once by deal and version.
        invoice.version = 5;
        invoice.event_id = "d1#5".into();
        let now = Utc::now();
        for event in [&unfit, &service, &contract, &invoice] {
            assert!(reactions.consume(event, now).await.unwrap());
            assert!(!reactions.consume(event, now).await.unwrap(), "logged once");
        }
        let mut ids: Vec<String> = store.tasks().into_iter().map(|t| t.id).collect();
        ids.sort();
        assert_eq!(
            ids,
            [
                "check-payment-d1",
                "check-sellers-work-d1",
                "conclude-service-contract-d1",
                "offer-service-d1"
            ]
        );
        let payment = store
            .tasks()
            .into_iter()
            .find(|t| t.kind == TaskKind::CheckPayment)
            .unwrap();
        assert_eq!(payment.assignee_id.as_deref(), Some("m1"));
        assert_eq!(payment.note.as_deref(), Some("Счёт № С-17"));
        let sent = notifier.sent();
        assert_eq!(sent.len(), 4, "one email per new task");
        assert_eq!(
            sent[0].to.len(),
            1,
            "only the head of the deal's department"
        );
        assert!(sent[0].to[0].as_str().starts_with("head-high@"));
        assert!(sent[0].body.contains("(МСК)"));
        assert!(sent[1].to[0].as_str().starts_with("m1@"));
    }

    #[tokio::test]
    async fn other_events_create_nothing() {
        let store = MemoryStore::default();
        let notifier = MemoryNotifier::default();
        let links = links();
        let reactions = DealReactions {
            store: &store,
            notifier: &notifier,
            links: &links,
        };
        let edited = event(
            DealStage::Proposal,
            DealEventKind::Edited {
                fields: vec!["needs".into()],
            },
        );
        reactions.consume(&edited, Utc::now()).await.unwrap();
        assert!(store.tasks().is_empty());
        assert!(notifier.sent().is_empty());
    }
}
