//! Lambda entry point: configuration, clients and the cursor key once per cold start (the
//! function refuses to start without it), then the handler.

use api::{Api, Config};
use crm_shared::adapters::{AwsClients, RoundTrips};
use crm_shared::config::process_env;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env(&process_env())?;
    let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = AwsClients::from_sdk_config(&sdk_config, RoundTrips::default());
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk_config);
    let api = Api::new(
        &config,
        &clients,
        Api::cursor_seal(&secrets, &config).await?,
    );
    lambda_http::run(service_fn(|request: Request| async {
        Ok::<_, Error>(api.handle(request).await)
    }))
    .await
}
