//! Where the emulators listen and SDK clients pointed at them: fixed test credentials, the
//! local region, path-style S3. Used by `crm-local` and by the integration tests, which
//! therefore can never reach a real AWS account.

use crate::provision::ProvisionClients;
use crate::template::LOCAL_REGION;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use crm_shared::adapters::{AwsClients, RoundTrips};

/// The emulators' endpoints.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub localstack: String,
    pub dynamodb: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            localstack: std::env::var("CRM_LOCALSTACK_ENDPOINT")
                .unwrap_or_else(|_| "http://127.0.0.1:4566".into()),
            dynamodb: std::env::var("CRM_DYNAMODB_ENDPOINT")
                .unwrap_or_else(|_| "http://127.0.0.1:8000".into()),
        }
    }
}

impl Endpoints {
    async fn config(endpoint: &str) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(LOCAL_REGION))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "crm-local",
            ))
            .endpoint_url(endpoint)
            .load()
            .await
    }

    /// The clients the functions use, counting round trips into `round_trips`.
    pub async fn clients(&self, round_trips: RoundTrips) -> AwsClients {
        let general = Self::config(&self.localstack).await;
        let dynamodb = Self::config(&self.dynamodb).await;
        AwsClients::from_parts(&general, &dynamodb, round_trips)
    }

    pub async fn ssm(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&Self::config(&self.localstack).await)
    }

    pub async fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&Self::config(&self.localstack).await)
    }

    /// Clients for creating resources (not counted).
    pub async fn provision_clients(&self) -> ProvisionClients {
        let clients = self.clients(RoundTrips::default()).await;
        ProvisionClients {
            dynamodb: clients.dynamodb,
            s3: clients.s3,
            sqs: clients.sqs,
            ses: clients.ses,
            ssm: self.ssm().await,
            secrets: self.secrets().await,
        }
    }

    /// The environment a child process (or an SDK loading defaults) needs to reach the
    /// emulators.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.localstack.clone()),
            ("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb.clone()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", LOCAL_REGION.into()),
        ]
    }
}
