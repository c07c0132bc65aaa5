//! Lambda entry point: configuration, clients and the per-source secrets once per cold
//! start (the function refuses to start without them), then the handler.

use crm_shared::adapters::AwsClients;
use crm_shared::config::process_env;
use lambda_http::{Error, Request, service_fn};
use webhooks::{Config, Secrets, Webhooks};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env(&process_env())?;
    let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = AwsClients::from_sdk_config(&sdk_config, Default::default());
    let secrets = Secrets::load(&aws_sdk_secretsmanager::Client::new(&sdk_config), &config).await?;
    let webhooks = Webhooks::new(&config, &clients, secrets);
    lambda_http::run(service_fn(|request: Request| async {
        Ok::<_, Error>(webhooks.handle(request).await)
    }))
    .await
}
