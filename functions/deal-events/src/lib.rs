//! The deal-events function: consumes the FIFO deal-events queue (one message group per
//! deal, so each deal's events arrive in order) and reacts to what happened:
//!
//! - a deal became `unfit` → the head gets "Check the seller's work";
//! - a deal entered `service` → its manager gets "Offer service";
//! - the client agreed to service → its manager gets "Conclude service contract".
//!
//! Idempotent: tasks have ids derived from the deal, notifications go out only when a task
//! is new, and every consumed event is logged once. FIFO batch semantics: processing stops
//! at the first failure and that record and every later one are reported failed, so order
//! is kept on retry; an unreadable message goes to the DLQ after its retries.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{Duration, Utc};
use crm_shared::aws::{AwsClients, SesNotifier};
use crm_shared::config::{ConfigError, EnvReader};
use crm_shared::deals::{DealEvent, DealEventKind};
use crm_shared::domain::{
    DealStage, EmailAddress, Employee, Role, ServiceDecision, Task, TaskKind, TaskStatus,
    add_working_hours,
};
use crm_shared::error::error_chain;
use crm_shared::intake::{Links, Notification, Notifier};
use crm_shared::store::{DynamoStore, IntakeStore, StoreError};
use std::collections::HashMap;

/// The function's configuration, from the variables the template sets.
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub notify_from: EmailAddress,
    pub app_base_url: String,
}

impl Config {
    pub fn from_env(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(vars);
        let table_name = env.required("TABLE_NAME");
        let notify_from = env.email("NOTIFY_FROM");
        let app_base_url = env.url("APP_BASE_URL");
        env.finish()?;
        Ok(Self {
            table_name,
            notify_from,
            app_base_url,
        })
    }
}

/// Why an event could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error("the message is not a deal event: {0}")]
    NotADealEvent(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The handler with its adapters, built once per cold start.
pub struct DealEventsHandler {
    store: DynamoStore,
    notifier: SesNotifier,
    links: Links,
}

impl DealEventsHandler {
    pub fn new(config: &Config, clients: &AwsClients) -> Self {
        Self {
            store: DynamoStore::new(clients.dynamodb.clone(), &config.table_name),
            notifier: SesNotifier::new(clients.ses.clone(), config.notify_from.clone()),
            links: Links {
                app_base_url: config.app_base_url.clone(),
            },
        }
    }

    /// Handles a FIFO batch in order; from the first failure on, every record is retried.
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        let mut failed = false;
        for record in &event.records {
            let id = record.message_id.clone().unwrap_or_default();
            if failed {
                response.add_failure(id);
                continue;
            }
            if let Err(error) = self.consume(record).await {
                tracing::error!(message_id = %id, error = error_chain(&error), "deal event not handled; it and the rest of the batch are retried");
                failed = true;
                response.add_failure(id);
            }
        }
        response
    }

    async fn consume(&self, record: &SqsMessage) -> Result<(), ConsumeError> {
        let body = record.body.as_deref().unwrap_or_default();
        let event: DealEvent =
            serde_json::from_str(body).map_err(|e| ConsumeError::NotADealEvent(e.to_string()))?;
        self.react(&event).await?;
        let first_time = self.store.record_consumed_deal_event(&event).await?;
        tracing::info!(deal = %event.deal_id, version = event.version, first_time, "deal event consumed");
        Ok(())
    }

    /// The reactions: each creates its task once and notifies only then.
    pub async fn react(&self, event: &DealEvent) -> Result<(), ConsumeError> {
        let deal = &event.deal;
        match &event.kind {
            DealEventKind::StageChanged {
                to: DealStage::Unfit,
                ..
            } => {
                let heads: Vec<Employee> = self
                    .store
                    .active_heads()
                    .await?
                    .into_iter()
                    .filter(|h| h.department.is_none_or(|d| d == deal.department))
                    .collect();
                let task = self.task(event, TaskKind::CheckSellersWork, None, 8);
                let note = format!(
                    "Сделка проиграна до согласования. Причина: {}",
                    deal.unfit_reason.as_deref().unwrap_or("—")
                );
                self.create_and_notify(
                    Task {
                        note: Some(note),
                        ..task
                    },
                    &heads,
                )
                .await
            }
            DealEventKind::StageChanged {
                to: DealStage::Service,
                ..
            } => {
                let manager = self.manager(&deal.manager_id).await?;
                let task = self.task(event, TaskKind::OfferService, Some(&deal.manager_id), 16);
                self.create_and_notify(task, &manager).await
            }
            DealEventKind::Edited { fields }
                if fields.iter().any(|f| f == "service_decision")
                    && deal.service_decision == Some(ServiceDecision::Contract) =>
            {
                let manager = self.manager(&deal.manager_id).await?;
                let task = self.task(
                    event,
                    TaskKind::ConcludeServiceContract,
                    Some(&deal.manager_id),
                    24,
                );
                self.create_and_notify(task, &manager).await
            }
            _ => Ok(()),
        }
    }

    async fn manager(&self, id: &str) -> Result<Vec<Employee>, ConsumeError> {
        Ok(self
            .store
            .employee(id)
            .await?
            .filter(|e| e.active)
            .into_iter()
            .collect())
    }

    /// A task about the deal, due in `hours` working hours; its id makes it unique per deal.
    fn task(&self, event: &DealEvent, kind: TaskKind, assignee: Option<&str>, hours: u32) -> Task {
        let now = Utc::now();
        Task {
            id: format!("{}-{}", kind.code().replace('_', "-"), event.deal_id),
            kind,
            title: format!("{}: сделка {}", kind.title(), event.deal.legal_entity.name),
            assignee_id: assignee.map(str::to_owned),
            assignee_role: assignee.is_none().then_some(Role::Head),
            party_id: Some(event.deal.party_id.clone()),
            inquiry_id: event.deal.inquiry_id.clone(),
            deal_id: Some(event.deal_id.clone()),
            department: Some(event.department),
            status: TaskStatus::Open,
            due_at: add_working_hours(now, hours).max(now + Duration::minutes(30)),
            created_at: now,
            source: format!("event:{}", event.event_id),
            note: None,
            completed_at: None,
            completed_by: None,
            created_by: "system".to_owned(),
        }
    }

    async fn create_and_notify(
        &self,
        task: Task,
        recipients: &[Employee],
    ) -> Result<(), ConsumeError> {
        if !self.store.put_task_if_absent(&task).await? {
            return Ok(());
        }
        let mut to: Vec<EmailAddress> = recipients.iter().map(|e| e.email.clone()).collect();
        to.sort();
        to.dedup();
        if to.is_empty() {
            return Ok(());
        }
        let deal_link = format!(
            "{}/deals/{}",
            self.links.app_base_url,
            task.deal_id.as_deref().unwrap_or_default()
        );
        let notification = Notification {
            to,
            subject: format!("Задача: {}", task.title),
            body: format!(
                "{}\nСрок: {} (UTC)\n{}\n{}\n",
                task.title,
                task.due_at.format("%d.%m.%Y %H:%M"),
                task.note.as_deref().unwrap_or(""),
                deal_link
            ),
        };
        // The task is the record; a lost email is logged, the task stays visible.
        if let Err(error) = self.notifier.send(&notification).await {
            tracing::warn!(%error, "task notification not sent");
        }
        Ok(())
    }
}
