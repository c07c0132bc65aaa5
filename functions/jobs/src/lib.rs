//! Scheduled jobs, each started by an EventBridge Scheduler schedule of the template with
//! its name as the payload (`{"job": "routing_digest"}`):
//!
//! - `routing_digest` (twice a working day, Moscow time): each head gets what is still
//!   unrouted, oldest first, and what routed inquiries still wait for their manager;
//! - `first_response_sla` (every 15 minutes): a routed inquiry whose manager has not acted
//!   within the configured working hours gives the heads a task, once;
//! - `late_production` (each working morning): a production order past the date promised
//!   to the client gives the deal's manager and the heads a task, once per promise;
//! - `dashboard` (every 15 minutes): the heads' dashboard rolled up, for all departments
//!   and each (the API reads it, never computes it per request);
//! - `outbox_sweep` (every minute): deal events a writer left in the outbox are sent, a
//!   deal that cannot be sent is reported without holding back the others; notifications
//!   left unsent (mail was down) are sent once they are a minute old.

use chrono::{DateTime, Duration, Utc};
use crm_domain::kernel::Department;
use crm_domain::kernel::time::moscow;
use crm_domain::sales::dashboard;
use crm_domain::templates::Links;
use crm_shared::adapters::{AwsClients, DynamoStore, SesNotifier, SqsDealEvents};
use crm_shared::config::{BaseConfig, ConfigError, EnvReader, StaffMail};
use crm_shared::intake::{Intake, IntakeError};
use crm_shared::orders::fulfilment::Fulfilment;
use crm_shared::ports::StoreError;
use crm_shared::sales::deals::{DealEventRelay, RelayError};
use crm_shared::sales::jobs::{JobError as SalesJobError, SalesJobs};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The function's configuration, from the variables the template sets.
#[derive(Debug, Clone)]
pub struct Config {
    pub base: BaseConfig,
    pub mail: StaffMail,
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

/// The schedule's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRequest {
    pub job: String,
}

/// What a job did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobReport {
    pub job: String,
    /// Emails sent, tasks created, or events and notifications relayed.
    pub done: usize,
    /// Deals whose events could not be sent (the sweep).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stuck_deals: Vec<String>,
    /// Notifications that still could not be sent (the sweep).
    #[serde(skip_serializing_if = "is_zero")]
    pub notifications_left: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// How old an unsent notification must be before the sweeper takes it: the event's own
/// first attempt may still be under way.
const NOTIFICATION_GRACE_SECONDS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(
        "unknown job {0:?}: expected routing_digest, first_response_sla, late_production, dashboard or outbox_sweep"
    )]
    Unknown(String),
    #[error(transparent)]
    Sales(#[from] SalesJobError),
    #[error(transparent)]
    Relay(#[from] RelayError),
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The jobs with their adapters, built once per cold start.
pub struct Jobs {
    store: DynamoStore,
    notifier: SesNotifier,
    links: Links,
    relay: DealEventRelay<DynamoStore, SqsDealEvents>,
}

impl Jobs {
    pub fn new(config: &Config, clients: &AwsClients) -> Self {
        let store = config.base.store(clients);
        Self {
            relay: SqsDealEvents::relay(store.clone(), clients, &config.deal_events_queue_url),
            store,
            notifier: config.mail.notifier(clients),
            links: config.mail.links.clone(),
        }
    }

    fn sales(&self) -> SalesJobs<'_, DynamoStore, SesNotifier> {
        SalesJobs {
            store: &self.store,
            notifier: &self.notifier,
            links: &self.links,
        }
    }

    /// The routing digest as of `now`: how many emails went out.
    pub async fn routing_digest(&self, now: DateTime<Utc>) -> Result<usize, JobError> {
        Ok(self.sales().routing_digest(now).await?)
    }

    /// The first-response timer as of `now`: how many tasks were created.
    pub async fn first_response_sla(&self, now: DateTime<Utc>) -> Result<usize, JobError> {
        Ok(self.sales().first_response_sla(now).await?)
    }

    /// Production orders past their promised date as of `now`: how many tasks were given
    /// (the deal's manager and the heads, once per promised date).
    pub async fn late_production(&self, now: DateTime<Utc>) -> Result<usize, JobError> {
        let today = now.with_timezone(&moscow()).date_naive();
        Ok(Fulfilment { relay: &self.relay }
            .late_production(&self.notifier, &self.links, now, today)
            .await?)
    }

    /// Rolls the heads' dashboard up (all departments, and each): how many were written.
    pub async fn dashboard(&self, now: DateTime<Utc>) -> Result<usize, JobError> {
        let since = now - Duration::days(dashboard::DAYS);
        let (inquiries, deals, tasks) = self.store.dashboard_inputs(since).await?;
        let mut written = 0;
        for department in [
            None,
            Some(Department::High),
            Some(Department::Industrial),
            Some(Department::Thermal),
        ] {
            let figures = dashboard::dashboard(department, &inquiries, &deals, &tasks, now);
            self.store.put_dashboard(&figures).await?;
            written += 1;
        }
        Ok(written)
    }

    /// Both outboxes: deal events, and notifications older than the grace period.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<JobReport, JobError> {
        let relayed = self.relay.sweep().await?;
        let intake = Intake {
            store: &self.store,
            notifier: &self.notifier,
            links: &self.links,
        };
        let notified = intake
            .resend_pending(now - Duration::seconds(NOTIFICATION_GRACE_SECONDS))
            .await?;
        Ok(JobReport {
            job: "outbox_sweep".to_owned(),
            done: relayed.sent + notified.sent,
            stuck_deals: relayed.stuck,
            notifications_left: notified.left,
        })
    }

    pub async fn run(&self, request: JobRequest) -> Result<JobReport, JobError> {
        let now = Utc::now();
        let done = match request.job.as_str() {
            "routing_digest" => self.routing_digest(now).await?,
            "first_response_sla" => self.first_response_sla(now).await?,
            "late_production" => self.late_production(now).await?,
            "dashboard" => self.dashboard(now).await?,
            "outbox_sweep" => {
                let report = self.sweep(now).await?;
                tracing::info!(
                    job = "outbox_sweep",
                    done = report.done,
                    stuck_deals = report.stuck_deals.len(),
                    notifications_left = report.notifications_left,
                    "job finished"
                );
                return Ok(report);
            }
            other => return Err(JobError::Unknown(other.to_owned())),
        };
        tracing::info!(job = %request.job, done, "job finished");
        Ok(JobReport {
            job: request.job,
            done,
            ..JobReport::default()
        })
    }
}
