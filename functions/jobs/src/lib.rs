//! Scheduled jobs, each started by an EventBridge Scheduler schedule of the template with
//! its name as the payload (`{"job": "routing_digest"}`):
//!
//! - `routing_digest` (twice a working day, Moscow time): each head gets what is still
//!   unrouted, oldest first, and what routed inquiries still wait for their manager;
//! - `first_response_sla` (every 15 minutes): a routed inquiry whose manager has not acted
//!   within the configured working hours gives the heads a task, once;
//! - `outbox_sweep` (every minute): deal events a writer left in the outbox are sent.

use chrono::{DateTime, Utc};
use crm_shared::aws::{AwsClients, SesNotifier};
use crm_shared::config::{ConfigError, EnvReader};
use crm_shared::deals::{DealEventRelay, RelayError};
use crm_shared::domain::{EmailAddress, Inquiry, Role, Task, TaskKind, TaskStatus};
use crm_shared::intake::{Links, Notification, Notifier, NotifyError};
use crm_shared::store::{DynamoStore, IntakeStore, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The function's configuration, from the variables the template sets.
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub notify_from: EmailAddress,
    pub app_base_url: String,
    pub deal_events_queue_url: String,
}

impl Config {
    pub fn from_env(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(vars);
        let table_name = env.required("TABLE_NAME");
        let notify_from = env.email("NOTIFY_FROM");
        let app_base_url = env.url("APP_BASE_URL");
        let deal_events_queue_url = env.required("DEAL_EVENTS_QUEUE_URL");
        env.finish()?;
        Ok(Self {
            table_name,
            notify_from,
            app_base_url,
            deal_events_queue_url,
        })
    }
}

/// The schedule's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRequest {
    pub job: String,
}

/// What a job did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobReport {
    pub job: String,
    /// Emails sent, tasks created or events relayed.
    pub done: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("unknown job {0:?}: expected routing_digest, first_response_sla or outbox_sweep")]
    Unknown(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error(transparent)]
    Relay(#[from] RelayError),
}

/// The jobs with their adapters, built once per cold start.
pub struct Jobs {
    store: DynamoStore,
    notifier: SesNotifier,
    links: Links,
    relay: DealEventRelay,
}

fn age(inquiry: &Inquiry, now: DateTime<Utc>) -> String {
    let minutes = (now - inquiry.received_at).num_minutes().max(0);
    match minutes {
        m if m < 60 => format!("{m} мин"),
        m if m < 24 * 60 => format!("{} ч {} мин", m / 60, m % 60),
        m => format!("{} дн {} ч", m / (24 * 60), m / 60 % 24),
    }
}

fn line(inquiry: &Inquiry, now: DateTime<Utc>, links: &Links) -> String {
    format!(
        "- [{}] {} ({}){} — ждёт {} — {}",
        inquiry.channel.code(),
        inquiry.contact.display_name(),
        inquiry.kind.code(),
        if inquiry.missed {
            ", пропущенный звонок"
        } else {
            ""
        },
        age(inquiry, now),
        links.inquiry(&inquiry.id)
    )
}

impl Jobs {
    pub fn new(config: &Config, clients: &AwsClients) -> Self {
        let store = DynamoStore::new(clients.dynamodb.clone(), &config.table_name);
        Self {
            relay: DealEventRelay {
                sqs: clients.sqs.clone(),
                queue_url: config.deal_events_queue_url.clone(),
                store: store.clone(),
            },
            store,
            notifier: SesNotifier::new(clients.ses.clone(), config.notify_from.clone()),
            links: Links {
                app_base_url: config.app_base_url.clone(),
            },
        }
    }

    pub async fn run(&self, request: JobRequest) -> Result<JobReport, JobError> {
        let now = Utc::now();
        let done = match request.job.as_str() {
            "routing_digest" => self.routing_digest(now).await?,
            "first_response_sla" => self.first_response_sla(now).await?,
            "outbox_sweep" => self.relay.sweep().await?,
            other => return Err(JobError::Unknown(other.to_owned())),
        };
        tracing::info!(job = %request.job, done, "job finished");
        Ok(JobReport {
            job: request.job,
            done,
        })
    }

    /// Emails each active head the unrouted and the waiting inquiries; nothing when there
    /// is nothing to do.
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
            let mut body = format!("Не распределено: {}\n", unrouted.len());
            for inquiry in &unrouted {
                body.push_str(&line(inquiry, now, &self.links));
                body.push('\n');
            }
            body.push_str(&format!(
                "\nРаспределено, но без реакции менеджера: {}\n",
                theirs.len()
            ));
            for inquiry in theirs {
                body.push_str(&line(inquiry, now, &self.links));
                body.push_str(&format!(
                    " (менеджер {})\n",
                    inquiry.manager_id.as_deref().unwrap_or("—")
                ));
            }
            self.notifier
                .send(&Notification {
                    to: vec![head.email.clone()],
                    subject: format!("Сводка обращений: {} не распределено", unrouted.len()),
                    body,
                })
                .await?;
            sent += 1;
        }
        Ok(sent)
    }

    /// Gives the heads a task for each routed inquiry past its first-response deadline.
    pub async fn first_response_sla(&self, now: DateTime<Utc>) -> Result<usize, JobError> {
        let mut created = 0;
        for inquiry in self.store.overdue_first_responses(now).await? {
            let task = Task {
                id: format!("first-response-{}", inquiry.id),
                kind: TaskKind::FirstResponseOverdue,
                title: format!(
                    "{}: {}",
                    TaskKind::FirstResponseOverdue.title(),
                    inquiry.contact.display_name()
                ),
                assignee_id: None,
                assignee_role: Some(Role::Head),
                party_id: Some(inquiry.counterparty_id.clone()),
                inquiry_id: Some(inquiry.id.clone()),
                deal_id: None,
                department: inquiry.department,
                status: TaskStatus::Open,
                due_at: now + chrono::Duration::hours(1),
                created_at: now,
                source: "job:first_response_sla".into(),
                note: inquiry
                    .manager_id
                    .as_ref()
                    .map(|m| format!("Менеджер: {m}")),
                completed_at: None,
                completed_by: None,
                created_by: "system".into(),
            };
            if self.store.put_task_if_absent(&task).await? {
                created += 1;
                let heads: Vec<EmailAddress> = self
                    .store
                    .active_heads()
                    .await?
                    .into_iter()
                    .filter(|h| h.department.is_none_or(|d| inquiry.department == Some(d)))
                    .map(|h| h.email)
                    .collect();
                if !heads.is_empty() {
                    self.notifier
                        .send(&Notification {
                            to: heads,
                            subject: task.title.clone(),
                            body: format!(
                                "{}\n{}\n",
                                task.note.as_deref().unwrap_or(""),
                                self.links.inquiry(&inquiry.id)
                            ),
                        })
                        .await?;
                }
            }
        }
        Ok(created)
    }
}
