//! Lambda entry point: configuration and clients once per cold start, then the handler.

use api::{Api, Config};
use crm_shared::adapters::AwsClients;
use crm_shared::config::process_env;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env(&process_env())?;
    let clients = AwsClients::from_env().await;
    let api = Api::new(&config, &clients);
    lambda_http::run(service_fn(|request: Request| async {
        Ok::<_, Error>(api.handle(request).await)
    }))
    .await
}
