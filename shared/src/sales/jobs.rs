//! The scheduled jobs of the sales process:
//!
//! - the routing digest (twice a working day): each head gets what is still unrouted,
//!   oldest first, and what routed inquiries of theirs still wait for their manager;
//! - the first-response timer (every 15 minutes): a routed inquiry whose manager has not
//!   acted within the configured working hours gives the heads a task, once.

use super::ports::InquiryStore;
use crate::ports::{Notifier, NotifyError, StoreError, SystemTasks};
use chrono::{DateTime, Duration, Utc};
use crm_domain::intake::Inquiry;
use crm_domain::sales::task::Assignee;
use crm_domain::sales::{Task, TaskKind};
use crm_domain::staff::heads_covering;
use crm_domain::templates::{self, Links};

/// Why a job stopped.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Notify(#[from] NotifyError),
}

/// The sales jobs with the store and notifier they need.
pub struct SalesJobs<'a, S, N> {
    pub store: &'a S,
    pub notifier: &'a N,
    pub links: &'a Links,
}

impl<S: InquiryStore + SystemTasks, N: Notifier> SalesJobs<'_, S, N> {
    /// Emails each active head the unrouted and their waiting inquiries; nothing when
    /// there is nothing to do. Returns how many emails were sent.
    pub async fn routing_digest(&self, now: DateTime<Utc>) -> Result<usize, JobError> {
        let unrouted = self.store.unrouted_inquiries().await?;
        let awaiting = self.store.awaiting_inquiries().await?;
        if unrouted.is_empty() && awaiting.is_empty() {
            return Ok(0);
        }
        let mut sent = 0;
        for head in self.store.active_heads().await? {
            let theirs: Vec<&Inquiry> = awaiting
                .iter()
                .filter(|i| head.department.is_none_or(|d| i.department == Some(d)))
                .collect();
            let digest = templates::routing_digest(&head, &unrouted, &theirs, now, self.links);
            self.notifier.send(&digest).await?;
            sent += 1;
        }
        Ok(sent)
    }

    /// Gives the heads a task for each routed inquiry past its first-response deadline.
    /// Returns how many tasks were created.
    pub async fn first_response_sla(&self, now: DateTime<Utc>) -> Result<usize, JobError> {
        let mut created = 0;
        for inquiry in self.store.overdue_first_responses(now).await? {
            let task = Task {
                party_id: Some(inquiry.counterparty_id.clone()),
                inquiry_id: Some(inquiry.id.clone()),
                department: inquiry.department,
                note: inquiry
                    .manager_id
                    .as_ref()
                    .map(|m| format!("Менеджер: {m}")),
                ..Task::open(
                    format!("first-response-{}", inquiry.id),
                    TaskKind::FirstResponseOverdue,
                    format!(
                        "{}: {}",
                        TaskKind::FirstResponseOverdue.title(),
                        inquiry.contact.display_name()
                    ),
                    Assignee::Heads,
                    now + Duration::hours(1),
                    now,
                    "job:first_response_sla".into(),
                )
            };
            if !self.store.put_task_if_absent(&task).await? {
                continue;
            }
            created += 1;
            let heads = heads_covering(&self.store.active_heads().await?, inquiry.department);
            if !heads.is_empty() {
                let notification =
                    templates::first_response_overdue(&heads, &task, &inquiry.id, self.links);
                self.notifier.send(&notification).await?;
            }
        }
        Ok(created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::tests::{employee, unrouted_inquiry};
    use crate::memory::{MemoryNotifier, MemoryStore};
    use crate::sales::routing::{RouteInquiries, Routing};
    use crm_domain::kernel::Department;
    use crm_domain::staff::Role;

    #[tokio::test]
    async fn the_digest_goes_to_each_head_once_with_their_departments_waiting_inquiries() {
        let store = MemoryStore::default();
        store.add_employee(employee("m1", Role::Manager, Some(Department::High)));
        store.add_employee(employee("head-all", Role::Head, None));
        store.add_employee(employee(
            "head-thermal",
            Role::Head,
            Some(Department::Thermal),
        ));
        unrouted_inquiry(&store, "i1");
        unrouted_inquiry(&store, "i2");
        let routing = Routing {
            store: &store,
            first_response_hours: 4,
        };
        let command = RouteInquiries {
            inquiry_ids: vec!["i2".into()],
            department: Department::High,
            manager_id: "m1".into(),
            reason: None,
        };
        routing
            .route(
                &command,
                &crate::memory::tests::head("head-all", None),
                "a",
                Utc::now(),
            )
            .await
            .unwrap();
        let notifier = MemoryNotifier::default();
        let links = Links {
            app_base_url: "https://crm.example".into(),
        };
        let jobs = SalesJobs {
            store: &store,
            notifier: &notifier,
            links: &links,
        };
        assert_eq!(jobs.routing_digest(Utc::now()).await.unwrap(), 2);
        let sent = notifier.sent();
        let to_all = sent
            .iter()
            .find(|n| n.to[0].as_str().starts_with("head-all"))
            .unwrap();
        assert!(to_all.body.contains("Не распределено: 1"));
        assert!(to_all.body.contains("без реакции менеджера: 1"));
        let to_thermal = sent
            .iter()
            .find(|n| n.to[0].as_str().starts_with("head-thermal"))
            .unwrap();
        assert!(to_thermal.body.contains("без реакции менеджера: 0"));
    }

    #[tokio::test]
    async fn an_overdue_first_response_gives_the_heads_one_task_and_a_qualified_one_none() {
        let store = MemoryStore::default();
        store.add_employee(employee("m1", Role::Manager, Some(Department::High)));
        store.add_employee(employee("head", Role::Head, None));
        unrouted_inquiry(&store, "late");
        unrouted_inquiry(&store, "done");
        let routing = Routing {
            store: &store,
            first_response_hours: 1,
        };
        let command = RouteInquiries {
            inquiry_ids: vec!["late".into(), "done".into()],
            department: Department::High,
            manager_id: "m1".into(),
            reason: None,
        };
        let routed_at = Utc::now() - Duration::days(7);
        routing
            .route(
                &command,
                &crate::memory::tests::head("head", None),
                "a",
                routed_at,
            )
            .await
            .unwrap();
        let mut done = store.inquiry("done").await.unwrap().unwrap();
        done.status = crm_domain::intake::InquiryStatus::NotALead;
        store.put_inquiry(done);
        let notifier = MemoryNotifier::default();
        let links = Links {
            app_base_url: "https://crm.example".into(),
        };
        let jobs = SalesJobs {
            store: &store,
            notifier: &notifier,
            links: &links,
        };
        assert_eq!(jobs.first_response_sla(Utc::now()).await.unwrap(), 1);
        assert_eq!(
            jobs.first_response_sla(Utc::now()).await.unwrap(),
            0,
            "once"
        );
        let tasks = store.tasks();
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].id, "first-response-late");
        assert_eq!(tasks[0].assignee_role, Some(Role::Head));
        assert_eq!(notifier.sent().len(), 1);
    }
}
