//! The functions of the template as local handlers: each Lambda's library type wired to
//! the trigger kind the local stand-ins play (a queue's batches, the HTTP API's requests).

use crate::gateway::HttpHandler;
use crate::poller::BatchHandler;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
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
