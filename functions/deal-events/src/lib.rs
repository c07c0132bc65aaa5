//! The deal-events function: consumes the FIFO deal-events queue (one message group per
//! deal, so each deal's events arrive in order) and runs the reactions of
//! `crm_shared::sales::reactions` (tasks for an unfit deal, service offers and contracts)
//! and of `crm_shared::orders::fulfilment` (an agreed deal gets its customer order: stock
//! reserved, production and supplier orders made, the `order_placed` event published);
//! every event also updates the counterparty's contact card (marketing's segments read it).
//!
//! Idempotent: tasks have ids derived from the deal, notifications go out only when a task
//! is new, and every consumed event is logged once. FIFO batch semantics: processing stops
//! at the first failure and that record and every later one are reported failed, so order
//! is kept on retry; an unreadable message goes to the DLQ after its retries.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use crm_domain::sales::DealEvent;
use crm_domain::templates::Links;
use crm_shared::adapters::{AwsClients, DynamoStore, SesNotifier, SqsDealEvents};
use crm_shared::config::{BaseConfig, ConfigError, EnvReader, StaffMail};
use crm_shared::error::error_chain;
use crm_shared::orders::fulfilment::{Fulfilment, FulfilmentError};
use crm_shared::ports::StoreError;
use crm_shared::sales::deals::DealEventRelay;
use crm_shared::sales::reactions::DealReactions;
use std::collections::HashMap;

/// The function's configuration, from the variables the template sets.
#[derive(Debug, Clone)]
pub struct Config {
    pub base: BaseConfig,
    pub mail: StaffMail,
    /// The queue the order's own deal events go out on (this function's source).
    pub deal_events_queue_url: String,
}

impl Config {
    pub fn from_env(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(vars);
        let base = BaseConfig::read(&mut env);
        let mail = StaffMail::read(&mut env);
        let deal_events_queue_url = env.required("DEAL_EVENTS_QUEUE_URL");
        env.finish()?;
        Ok(Self {
            base,
            mail,
            deal_events_queue_url,
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
    #[error(transparent)]
    Fulfilment(#[from] FulfilmentError),
}

/// The handler with its adapters, built once per cold start.
pub struct DealEventsHandler {
    relay: DealEventRelay<DynamoStore, SqsDealEvents>,
    store: DynamoStore,
    notifier: SesNotifier,
    links: Links,
}

impl DealEventsHandler {
    pub fn new(config: &Config, clients: &AwsClients) -> Self {
        let store = config.base.store(clients);
        Self {
            relay: SqsDealEvents::relay(store.clone(), clients, &config.deal_events_queue_url),
            store,
            notifier: config.mail.notifier(clients),
            links: config.mail.links.clone(),
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
        let reactions = DealReactions {
            store: &self.store,
            notifier: &self.notifier,
            links: &self.links,
        };
        let now = Utc::now();
        reactions.react(&event, now).await?;
        // Boxed: placing an order is a large future, kept off the stack.
        let placed = Box::pin(Fulfilment { relay: &self.relay }.react(&event, now)).await?;
        // The counterparty's contact card learns the deal's stage and equipment.
        self.store.record_deal_on_card(&event.deal).await?;
        let first_time = self.store.record_consumed_deal_event(&event).await?;
        tracing::info!(deal = %event.deal_id, version = event.version, first_time, placed, "deal event consumed");
        Ok(())
    }
}
