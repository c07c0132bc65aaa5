//! Qualification, the first processing of a routed inquiry: either a deal (needs, legal
//! entity, contact — the deal, the qualified inquiry and the counterparty turned client in
//! one transaction, with the deal's first event) or "not a lead" with a reason. The
//! inquiry moves by the domain's transition ([`Inquiry::qualify`]).

use super::deals::{DealEventRelay, DealSaveError};
use super::ports::{DealEventPublisher, DealStore, DealWrite, InquiryChange, InquiryStore};
use crate::ports::StoreError;
use chrono::{DateTime, Utc};
use crm_domain::intake::{Inquiry, InquiryRefusal, NotALeadReason, Qualification};
use crm_domain::kernel::audit::audit_entries;
use crm_domain::kernel::{Department, new_id};
use crm_domain::party::CounterpartyKind;
use crm_domain::sales::{Deal, DealEventKind, DealTerms, NewDeal, creation_problems};

/// The outcome of first processing, as the manager gives it.
#[derive(Debug, Clone)]
pub enum QualifyAs {
    Deal(Box<DealTerms>),
    NotALead {
        reason: NotALeadReason,
        comment: Option<String>,
    },
}

/// What qualification produced.
#[derive(Debug, Clone)]
pub enum Qualified {
    Deal(Box<Deal>),
    NotALead(Box<Inquiry>),
}

/// Why an inquiry was not qualified.
#[derive(Debug, thiserror::Error)]
pub enum QualifyError {
    #[error(transparent)]
    Refused(#[from] InquiryRefusal),
    /// The deal lacks required data: field paths to fill first.
    #[error("a deal needs the client's needs, legal entity and contact")]
    Missing(Vec<String>),
    #[error("the inquiry's counterparty does not exist")]
    NoCounterparty,
    #[error("the inquiry changed meanwhile")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DealSaveError> for QualifyError {
    fn from(error: DealSaveError) -> Self {
        match error {
            DealSaveError::Conflict(_) => Self::Conflict,
            DealSaveError::Store(e) => Self::Store(e),
        }
    }
}

/// The qualification use case: the store and the relay that writes deals.
pub struct Qualifier<'a, S, P> {
    pub relay: &'a DealEventRelay<S, P>,
}

impl<S: InquiryStore + DealStore, P: DealEventPublisher> Qualifier<'_, S, P> {
    /// Qualifies `inquiry` (read by the caller, who checked that `actor` may) as `actor`.
    pub async fn qualify(
        &self,
        inquiry: &Inquiry,
        outcome: QualifyAs,
        actor: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<Qualified, QualifyError> {
        let store = &self.relay.store;
        inquiry.check_qualifiable()?;
        match outcome {
            QualifyAs::NotALead { reason, comment } => {
                let new = inquiry.qualify(Qualification::NotALead {
                    reason,
                    comment,
                    by: actor.to_owned(),
                    at: now,
                })?;
                let audit =
                    audit_entries("inquiry", &new.id, Some(inquiry), &new, actor, source, now);
                if !store
                    .save_inquiry(InquiryChange {
                        expected_version: inquiry.version,
                        inquiry: &new,
                        audit: &audit,
                        assignment: None,
                    })
                    .await?
                {
                    return Err(QualifyError::Conflict);
                }
                Ok(Qualified::NotALead(Box::new(new)))
            }
            QualifyAs::Deal(input) => {
                let input = *input;
                let missing = creation_problems(&input);
                if !missing.is_empty() {
                    return Err(QualifyError::Missing(missing));
                }
                let party = store
                    .counterparty(&inquiry.counterparty_id)
                    .await?
                    .ok_or(QualifyError::NoCounterparty)?;
                // The deal is the client's manager's: the one the inquiry was routed to,
                // unless a head handed the client on since.
                let (manager_id, department) =
                    match (&party.responsible_manager_id, party.department) {
                        (Some(manager), Some(department)) => (manager.clone(), department),
                        _ => (
                            inquiry
                                .manager_id
                                .clone()
                                .unwrap_or_else(|| actor.to_owned()),
                            inquiry
                                .department
                                .or(party.department)
                                .unwrap_or(Department::Industrial),
                        ),
                    };
                let deal = Deal::open(
                    NewDeal {
                        id: new_id(),
                        party_id: party.id.clone(),
                        inquiry_id: Some(inquiry.id.clone()),
                        department,
                        manager_id,
                        terms: input,
                    },
                    now,
                );
                let qualified = inquiry.qualify(Qualification::Deal {
                    deal_id: deal.id.clone(),
                    by: actor.to_owned(),
                    at: now,
                })?;
                let mut audit = audit_entries(
                    "inquiry",
                    &qualified.id,
                    Some(inquiry),
                    &qualified,
                    actor,
                    source,
                    now,
                );
                let mut client = party.clone();
                client.kind = CounterpartyKind::Client;
                audit.extend(audit_entries(
                    "counterparty",
                    &party.id,
                    Some(&party),
                    &client,
                    actor,
                    source,
                    now,
                ));
                let extra = DealWrite {
                    inquiry: Some((qualified, inquiry.version)),
                    client_party_id: Some(party.id.clone()),
                    audit,
                    orders: Vec::new(),
                };
                self.relay
                    .save(None, &deal, DealEventKind::Created, actor, source, extra)
                    .await?;
                Ok(Qualified::Deal(Box::new(deal)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::tests::{employee, unrouted_inquiry};
    use crate::memory::{MemoryPublisher, MemoryStore};
    use crate::ports::Directory;
    use crate::sales::deals::tests::new_deal;
    use crate::sales::routing::{RouteInquiries, Routing};
    use crm_domain::intake::InquiryStatus;
    use crm_domain::staff::Role;

    async fn routed(relay: &DealEventRelay<MemoryStore, MemoryPublisher>) -> Inquiry {
        relay
            .store
            .add_employee(employee("m1", Role::Manager, Some(Department::High)));
        unrouted_inquiry(&relay.store, "i1");
        let command = RouteInquiries {
            inquiry_ids: vec!["i1".into()],
            department: Department::High,
            manager_id: "m1".into(),
            reason: None,
        };
        let routing = Routing {
            store: &relay.store,
            first_response_hours: 4,
        };
        routing
            .route(
                &command,
                &crate::memory::tests::head("head", None),
                "api:1",
                Utc::now(),
            )
            .await
            .unwrap();
        relay.store.inquiry("i1").await.unwrap().unwrap()
    }

    fn input() -> DealTerms {
        new_deal("x").terms
    }

    /// The deal `m1` opens by qualifying `inquiry`.
    async fn deal_by_m1(
        relay: &DealEventRelay<MemoryStore, MemoryPublisher>,
        inquiry: &Inquiry,
    ) -> Deal {
        let outcome = QualifyAs::Deal(Box::new(input()));
        let Qualified::Deal(deal) = Qualifier { relay }
            .qualify(inquiry, outcome, "m1", "api:2", Utc::now())
            .await
            .unwrap()
        else {
            panic!("expected a deal");
        };
        *deal
    }

    fn relay() -> DealEventRelay<MemoryStore, MemoryPublisher> {
        DealEventRelay {
            store: MemoryStore::default(),
            publisher: MemoryPublisher::default(),
        }
    }

    #[tokio::test]
    async fn a_deal_qualifies_the_inquiry_and_makes_the_lead_a_client() {
        let relay = relay();
        let inquiry = routed(&relay).await;
        let deal = deal_by_m1(&relay, &inquiry).await;
        assert_eq!(deal.manager_id, "m1");
        assert_eq!(deal.department, Department::High);
        let inquiry = relay.store.inquiry("i1").await.unwrap().unwrap();
        assert_eq!(inquiry.status, InquiryStatus::Qualified);
        let party = relay
            .store
            .counterparty(&inquiry.counterparty_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(party.kind, CounterpartyKind::Client);
        let published = relay.publisher.published();
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].kind, DealEventKind::Created);
    }

    #[tokio::test]
    async fn a_client_handed_on_since_routing_gets_its_deal_with_its_new_manager() {
        let relay = relay();
        let inquiry = routed(&relay).await;
        let mut party = relay
            .store
            .counterparty(&inquiry.counterparty_id)
            .await
            .unwrap()
            .unwrap();
        party.responsible_manager_id = Some("m2".into());
        party.department = Some(Department::Thermal);
        relay.store.add_party(party);
        let deal = deal_by_m1(&relay, &inquiry).await;
        assert_eq!(
            (deal.manager_id.as_str(), deal.department),
            ("m2", Department::Thermal)
        );
    }

    #[tokio::test]
    async fn missing_data_and_unrouted_inquiries_are_refused_without_writes() {
        let relay = relay();
        let qualifier = Qualifier { relay: &relay };
        let inquiry = routed(&relay).await;
        let mut bad = input();
        bad.legal_entity.inn = "7707083890".into();
        bad.needs.clear();
        let error = qualifier
            .qualify(
                &inquiry,
                QualifyAs::Deal(Box::new(bad)),
                "m1",
                "a",
                Utc::now(),
            )
            .await
            .unwrap_err();
        let QualifyError::Missing(missing) = error else {
            panic!("expected missing data, got {error}");
        };
        assert_eq!(missing, ["needs", "legal_entity.inn"]);
        assert!(relay.publisher.published().is_empty());

        let (_, unrouted) = unrouted_inquiry(&relay.store, "i2");
        let not_a_lead = QualifyAs::NotALead {
            reason: NotALeadReason::Spam,
            comment: None,
        };
        let error = qualifier
            .qualify(&unrouted, not_a_lead, "m1", "a", Utc::now())
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            QualifyError::Refused(InquiryRefusal::NotRouted(_))
        ));
    }

    #[tokio::test]
    async fn not_a_lead_keeps_the_reason_and_a_second_qualification_conflicts() {
        let relay = relay();
        let qualifier = Qualifier { relay: &relay };
        let inquiry = routed(&relay).await;
        let spam = || QualifyAs::NotALead {
            reason: NotALeadReason::Spam,
            comment: Some("реклама".into()),
        };
        let Qualified::NotALead(rejected) = qualifier
            .qualify(&inquiry, spam(), "m1", "a", Utc::now())
            .await
            .unwrap()
        else {
            panic!("expected not a lead");
        };
        assert_eq!(rejected.status, InquiryStatus::NotALead);
        // A second manager still holding the routed copy loses the race.
        let error = qualifier
            .qualify(&inquiry, spam(), "m1", "b", Utc::now())
            .await
            .unwrap_err();
        assert!(matches!(error, QualifyError::Conflict));
    }

    #[tokio::test]
    async fn a_qualification_on_a_stale_read_loses_to_a_re_route() {
        let relay = relay();
        let inquiry = routed(&relay).await;
        // A head re-routes the inquiry while the manager still has the old one open.
        let command = RouteInquiries {
            inquiry_ids: vec![inquiry.id.clone()],
            department: Department::High,
            manager_id: "m2".into(),
            reason: None,
        };
        relay
            .store
            .add_employee(employee("m2", Role::Manager, Some(Department::High)));
        let routing = Routing {
            store: &relay.store,
            first_response_hours: 4,
        };
        let report = routing
            .route(
                &command,
                &crate::memory::tests::head("head", None),
                "api:2",
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(report.routed, vec![inquiry.id.clone()]);
        let qualifier = Qualifier { relay: &relay };
        let stale = qualifier
            .qualify(
                &inquiry,
                QualifyAs::NotALead {
                    reason: NotALeadReason::Spam,
                    comment: None,
                },
                "m1",
                "api:3",
                Utc::now(),
            )
            .await;
        assert!(matches!(stale, Err(QualifyError::Conflict)), "{stale:?}");
        let now = relay.store.inquiry(&inquiry.id).await.unwrap().unwrap();
        assert_eq!(now.manager_id.as_deref(), Some("m2"), "the re-route stands");
        assert_eq!(now.version, inquiry.version + 1);
    }
}
