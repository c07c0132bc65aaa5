//! Routing: a head gives one or many inquiries to a department and a manager. Each
//! inquiry moves by the domain's transition ([`Inquiry::route`]); the decision is kept on
//! it (who, when, why); its counterparty gets the manager as responsible, audited as its
//! own change; the manager owes a first response within the configured working hours.
//! Inquiries that cannot move are reported one by one, the others are routed.

use super::ports::{Assignment, InquiryChange, InquiryStore};
use crate::ports::StoreError;
use chrono::{DateTime, Utc};
use crm_domain::intake::{Inquiry, RoutingDecision};
use crm_domain::kernel::Department;
use crm_domain::kernel::audit::audit_entries;
use crm_domain::kernel::time::add_working_hours;
use crm_domain::sales::routing::{AssigneeRefusal, check_assignee};
use crm_domain::staff::Actor;
use serde::Serialize;

/// A head's routing decision for several inquiries.
#[derive(Debug, Clone)]
pub struct RouteInquiries {
    pub inquiry_ids: Vec<String>,
    pub department: Department,
    pub manager_id: String,
    pub reason: Option<String>,
}

/// An inquiry that was not routed, and why (`not_found`, `forbidden`: routed to another
/// department than the head's, `already_qualified`,
/// `changed_meanwhile`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NotRouted {
    pub id: String,
    pub reason: &'static str,
}

/// What routing did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RoutingReport {
    pub routed: Vec<String>,
    pub failed: Vec<NotRouted>,
}

/// Why nothing was routed.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error(transparent)]
    Assignee(#[from] AssigneeRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The routing use case over its store.
pub struct Routing<'a, S> {
    pub store: &'a S,
    /// Working hours a routed inquiry may wait for its manager.
    pub first_response_hours: u32,
}

impl<S: InquiryStore> Routing<'_, S> {
    /// Routes every inquiry of `command` as `actor` (a head; the caller checks the role).
    /// An inquiry already routed out of the head's department is theirs to see no more:
    /// it is reported `forbidden`, not taken back.
    pub async fn route(
        &self,
        command: &RouteInquiries,
        actor: &Actor,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<RoutingReport, RoutingError> {
        let manager = self.store.employee(&command.manager_id).await?;
        check_assignee(manager.as_ref(), command.department)?;
        let due = add_working_hours(now, self.first_response_hours);
        let mut report = RoutingReport::default();
        for id in &command.inquiry_ids {
            let outcome = match self.store.inquiry(id).await? {
                None => Err("not_found"),
                Some(old) if !actor.sees(old.owner()) => Err("forbidden"),
                Some(old) => {
                    self.route_one(&old, command, actor, source, now, due)
                        .await?
                }
            };
            match outcome {
                Ok(()) => report.routed.push(id.clone()),
                Err(reason) => report.failed.push(NotRouted {
                    id: id.clone(),
                    reason,
                }),
            }
        }
        Ok(report)
    }

    async fn route_one(
        &self,
        old: &Inquiry,
        command: &RouteInquiries,
        actor: &Actor,
        source: &str,
        now: DateTime<Utc>,
        due: DateTime<Utc>,
    ) -> Result<Result<(), &'static str>, StoreError> {
        let decision = RoutingDecision {
            department: command.department,
            manager_id: command.manager_id.clone(),
            by: actor.id.clone(),
            at: now,
            reason: command.reason.clone(),
        };
        let new = match old.route(decision, due) {
            Ok(new) => new,
            Err(refusal) => return Ok(Err(refusal.code())),
        };
        let mut audit = audit_entries("inquiry", &new.id, Some(old), &new, &actor.id, source, now);
        // The counterparty gets its responsible manager: audited as its own change. A
        // client another department holds is not the head's to take by routing.
        let party = self.store.counterparty(&new.counterparty_id).await?;
        if let Some(party) = &party
            && !actor.sees(party.owner())
        {
            return Ok(Err("forbidden"));
        }
        if let Some(party) = &party {
            let mut assigned = party.clone();
            assigned.responsible_manager_id = Some(command.manager_id.clone());
            assigned.department = Some(command.department);
            audit.extend(audit_entries(
                "counterparty",
                &party.id,
                Some(party),
                &assigned,
                &actor.id,
                source,
                now,
            ));
        }
        let assignment = Assignment {
            party_id: new.counterparty_id.clone(),
            manager_id: command.manager_id.clone(),
            department: command.department,
            was_manager_id: party
                .as_ref()
                .and_then(|p| p.responsible_manager_id.clone()),
            was_department: party.as_ref().and_then(|p| p.department),
        };
        let saved = self
            .store
            .save_inquiry(InquiryChange {
                expected_version: old.version,
                inquiry: &new,
                audit: &audit,
                assignment: Some(&assignment),
            })
            .await?;
        Ok(if saved {
            Ok(())
        } else {
            Err("changed_meanwhile")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::memory::tests::{employee, head, unrouted_inquiry};
    use crate::ports::Directory;
    use crm_domain::intake::InquiryStatus;
    use crm_domain::staff::Role;

    fn command(ids: &[&str], manager: &str) -> RouteInquiries {
        RouteInquiries {
            inquiry_ids: ids.iter().map(|id| id.to_string()).collect(),
            department: Department::High,
            manager_id: manager.into(),
            reason: Some("вакуум".into()),
        }
    }

    #[tokio::test]
    async fn routing_sets_the_manager_on_the_inquiry_and_its_counterparty() {
        let store = MemoryStore::default();
        store.add_employee(employee("m1", Role::Manager, Some(Department::High)));
        let (party, inquiry) = unrouted_inquiry(&store, "i1");
        let routing = Routing {
            store: &store,
            first_response_hours: 4,
        };
        let report = routing
            .route(
                &command(&["i1", "nope"], "m1"),
                &head("head", None),
                "api:1",
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(report.routed, ["i1"]);
        assert_eq!(
            report.failed,
            [NotRouted {
                id: "nope".into(),
                reason: "not_found"
            }]
        );
        let routed = store.inquiry(&inquiry.id).await.unwrap().unwrap();
        assert_eq!(routed.status, InquiryStatus::Routed);
        assert_eq!(routed.manager_id.as_deref(), Some("m1"));
        assert_eq!(routed.routing.unwrap().reason.as_deref(), Some("вакуум"));
        assert!(routed.first_response_due.is_some());
        let party = store.counterparty(&party).await.unwrap().unwrap();
        assert_eq!(party.responsible_manager_id.as_deref(), Some("m1"));
        let trail = store.audit_entries_of("counterparty", &party.id);
        assert!(
            trail
                .iter()
                .any(|e| e.field == "responsible_manager_id" && e.actor == "head")
        );
    }

    #[tokio::test]
    async fn a_manager_of_another_department_or_absent_routes_nothing() {
        let store = MemoryStore::default();
        store.add_employee(employee("m2", Role::Manager, Some(Department::Thermal)));
        let mut absent = employee("m3", Role::Manager, Some(Department::High));
        absent.active = false;
        store.add_employee(absent);
        unrouted_inquiry(&store, "i1");
        let routing = Routing {
            store: &store,
            first_response_hours: 4,
        };
        for (manager, refusal) in [
            ("m2", AssigneeRefusal::OtherDepartment),
            ("m3", AssigneeRefusal::Absent),
            ("ghost", AssigneeRefusal::NoSuchManager),
        ] {
            let error = routing
                .route(
                    &command(&["i1"], manager),
                    &head("head", None),
                    "api:1",
                    Utc::now(),
                )
                .await
                .unwrap_err();
            assert!(
                matches!(error, RoutingError::Assignee(r) if r == refusal),
                "{manager}"
            );
        }
        let inquiry = store.inquiry("i1").await.unwrap().unwrap();
        assert_eq!(inquiry.status, InquiryStatus::Unrouted);
    }

    #[tokio::test]
    async fn a_qualified_inquiry_is_not_routed_again() {
        let store = MemoryStore::default();
        store.add_employee(employee("m1", Role::Manager, Some(Department::High)));
        let (_, mut inquiry) = unrouted_inquiry(&store, "i1");
        inquiry.status = InquiryStatus::Qualified;
        store.put_inquiry(inquiry);
        let routing = Routing {
            store: &store,
            first_response_hours: 4,
        };
        let report = routing
            .route(
                &command(&["i1"], "m1"),
                &head("head", None),
                "api:1",
                Utc::now(),
            )
            .await
            .unwrap();
        assert!(report.routed.is_empty());
        assert_eq!(report.failed[0].reason, "already_qualified");
    }

    #[tokio::test]
    async fn a_head_of_one_department_cannot_take_back_what_another_department_owns() {
        let store = MemoryStore::default();
        store.add_employee(employee("m1", Role::Manager, Some(Department::High)));
        let (party, _) = unrouted_inquiry(&store, "i1");
        let routing = Routing {
            store: &store,
            first_response_hours: 4,
        };
        let thermal = head("head-thermal", Some(Department::Thermal));
        // Unrouted, the inquiry is every head's to hand to the department it belongs to.
        let report = routing
            .route(&command(&["i1"], "m1"), &thermal, "api:1", Utc::now())
            .await
            .unwrap();
        assert_eq!(report.routed, ["i1"]);
        let routed = store.inquiry("i1").await.unwrap().unwrap();
        // Routed to high vacuum, it is not the thermal head's to route again.
        let report = routing
            .route(&command(&["i1"], "m1"), &thermal, "api:2", Utc::now())
            .await
            .unwrap();
        assert!(report.routed.is_empty());
        assert_eq!(
            report.failed,
            [NotRouted {
                id: "i1".into(),
                reason: "forbidden"
            }]
        );
        let unchanged = store.inquiry("i1").await.unwrap().unwrap();
        assert_eq!(unchanged, routed, "the refused routing changed nothing");
        let party = store.counterparty(&party).await.unwrap().unwrap();
        assert_eq!(party.department, Some(Department::High));
        // Its own department's head may.
        let high = head("head-high", Some(Department::High));
        let report = routing
            .route(&command(&["i1"], "m1"), &high, "api:3", Utc::now())
            .await
            .unwrap();
        assert_eq!(report.routed, ["i1"]);
    }

    #[tokio::test]
    async fn routing_does_not_take_a_client_another_department_holds() {
        let store = MemoryStore::default();
        store.add_employee(employee("m1", Role::Manager, Some(Department::High)));
        let (party_id, _) = unrouted_inquiry(&store, "i1");
        // The thermal head took the client (not its inquiry) meanwhile.
        let mut party = store.counterparty(&party_id).await.unwrap().unwrap();
        party.responsible_manager_id = Some("m-thermal".into());
        party.department = Some(Department::Thermal);
        store.add_party(party.clone());
        let routing = Routing {
            store: &store,
            first_response_hours: 4,
        };
        let high = head("head-high", Some(Department::High));
        let report = routing
            .route(&command(&["i1"], "m1"), &high, "api:1", Utc::now())
            .await
            .unwrap();
        assert_eq!(report.failed[0].reason, "forbidden");
        assert_eq!(store.counterparty(&party_id).await.unwrap(), Some(party));
        // A head of every department may.
        let all = head("head-all", None);
        let report = routing
            .route(&command(&["i1"], "m1"), &all, "api:2", Utc::now())
            .await
            .unwrap();
        assert_eq!(report.routed, ["i1"]);
    }
}
