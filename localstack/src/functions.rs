//! The functions of the template as local handlers: [`Functions`] builds every Lambda's
//! library type once from the template's resolved environment — the one place that does,
//! for `crm-local up` and the integration tests alike — and the traits below wire each to
//! the trigger kind the local stand-ins play (a queue's batches, the HTTP API's requests).

use crate::gateway::HttpHandler;
use crate::local::Endpoints;
use crate::poller::BatchHandler;
use crate::stack::LocalStack;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use crm_shared::adapters::AwsClients;
use futures::FutureExt;
use std::future::Future;
use std::sync::Arc;

/// A function triggered by an SQS queue.
pub trait QueueFunction: Send + Sync + 'static {
    fn handle_batch(&self, event: SqsEvent) -> impl Future<Output = SqsBatchResponse> + Send;
}

/// A function behind the HTTP API.
pub trait HttpFunction: Send + Sync + 'static {
    fn handle(
        &self,
        request: lambda_http::Request,
    ) -> impl Future<Output = lambda_http::Response<lambda_http::Body>> + Send;
}

impl QueueFunction for inbound_email::InboundEmailHandler {
    fn handle_batch(&self, event: SqsEvent) -> impl Future<Output = SqsBatchResponse> + Send {
        inbound_email::InboundEmailHandler::handle_batch(self, event)
    }
}

impl QueueFunction for deal_events::DealEventsHandler {
    fn handle_batch(&self, event: SqsEvent) -> impl Future<Output = SqsBatchResponse> + Send {
        deal_events::DealEventsHandler::handle_batch(self, event)
    }
}

impl QueueFunction for exports::ExportsHandler {
    fn handle_batch(&self, event: SqsEvent) -> impl Future<Output = SqsBatchResponse> + Send {
        exports::ExportsHandler::handle_batch(self, event)
    }
}

impl HttpFunction for api::Api {
    fn handle(
        &self,
        request: lambda_http::Request,
    ) -> impl Future<Output = lambda_http::Response<lambda_http::Body>> + Send {
        api::Api::handle(self, request)
    }
}

impl HttpFunction for webhooks::Webhooks {
    fn handle(
        &self,
        request: lambda_http::Request,
    ) -> impl Future<Output = lambda_http::Response<lambda_http::Body>> + Send {
        webhooks::Webhooks::handle(self, request)
    }
}

/// The poller's handler for a queue function.
pub fn batch_handler<F: QueueFunction>(function: Arc<F>) -> BatchHandler {
    Arc::new(move |event| {
        let function = function.clone();
        async move { function.handle_batch(event).await }.boxed()
    })
}

/// The gateway's handler for an HTTP function.
pub fn http_handler<F: HttpFunction>(function: Arc<F>) -> HttpHandler {
    Arc::new(move |request| {
        let function = function.clone();
        async move { function.handle(request).await }.boxed()
    })
}

/// Why the functions could not be built.
pub type BuildError = Box<dyn std::error::Error + Send + Sync>;

/// Every function of the template, configured from its `Environment` as the template
/// resolves it, sharing one set of SDK clients.
pub struct Functions {
    pub inbound_email: Arc<inbound_email::InboundEmailHandler>,
    pub api: Arc<api::Api>,
    pub api_config: api::Config,
    pub webhooks: Arc<webhooks::Webhooks>,
    pub secrets: webhooks::Secrets,
    pub deal_events: Arc<deal_events::DealEventsHandler>,
    pub exports: Arc<exports::ExportsHandler>,
    pub jobs: Arc<jobs::Jobs>,
}

impl Functions {
    pub async fn build(
        stack: &LocalStack,
        endpoints: &Endpoints,
        clients: &AwsClients,
    ) -> Result<Self, BuildError> {
        let env = |id: &str| stack.function_env(id);
        let api_config = api::Config::from_env(env("ApiFunction")?)?;
        let webhooks_config = webhooks::Config::from_env(env("WebhooksFunction")?)?;
        let secrets_client = endpoints.secrets().await;
        let secrets = webhooks::Secrets::load(&secrets_client, &webhooks_config).await?;
        let cursors = api::Api::cursor_seal(&secrets_client, &api_config).await?;
        Ok(Self {
            inbound_email: Arc::new(inbound_email::InboundEmailHandler::new(
                &inbound_email::Config::from_env(env("InboundEmailFunction")?)?,
                clients,
            )),
            api: Arc::new(api::Api::new(&api_config, clients, cursors)),
            api_config,
            webhooks: Arc::new(webhooks::Webhooks::new(
                &webhooks_config,
                clients,
                secrets.clone(),
            )),
            secrets,
            deal_events: Arc::new(deal_events::DealEventsHandler::new(
                &deal_events::Config::from_env(env("DealEventsFunction")?)?,
                clients,
            )),
            exports: Arc::new(exports::ExportsHandler::new(
                &exports::Config::from_env(env("ExportsFunction")?)?,
                clients,
            )),
            jobs: Arc::new(jobs::Jobs::new(
                &jobs::Config::from_env(env("JobsFunction")?)?,
                clients,
            )),
        })
    }
}
