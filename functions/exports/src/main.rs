//! Lambda entry point: configuration and clients once per cold start, then the handler.
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::SqsEvent;
use crm_shared::adapters::AwsClients;
use crm_shared::config::process_env;
use exports::{Config, ExportsHandler};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env(&process_env())?;
    let clients = AwsClients::from_env().await;
    let handler = ExportsHandler::new(&config, &clients);
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async {
        Ok::<_, Error>(handler.handle_batch(event.payload).await)
    }))
    .await
}
