//! AWS adapters of the ports: DynamoDB ([`dynamo`], the key design at the top of each of
//! its files), S3 objects ([`s3`]), SES notifications ([`ses`]), the SQS deal-events queue
//! ([`sqs`]), secrets read at cold start ([`secrets`]); the SDK clients and the round-trip counter every client carries.

pub mod dynamo;
mod round_trips;
pub mod s3;
pub mod scheduler;
pub mod secrets;
pub mod ses;
pub mod sqs;

pub use dynamo::{
    CatalogError, ContactEditOutcome, CounterpartyDetail, Cursor, DynamoStore, InquiryFilter,
    ListError, Page, StockBatch,
};
pub use round_trips::RoundTrips;
pub use s3::{Blobs, ExportBucket};
pub use scheduler::SegmentScheduler;
pub use ses::SesNotifier;
pub use sqs::{SqsDealEvents, SqsExports};

use aws_config::BehaviorVersion;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Whether an SDK failure may heal by retrying: timeouts, dispatch and response errors,
/// throttling and 5xx do; other 4xx (validation, access, missing resources) do not.
pub fn is_retryable<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    match error {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or_default();
            status >= 500
                || status == 429
                || status == 408
                || code.contains("Throttl")
                || code.contains("LimitExceeded")
                || code == "TransactionConflictException"
                || code == "TransactionInProgressException"
        }
        SdkError::ConstructionFailure(_) => false,
        _ => true,
    }
}

/// The SDK clients a function needs, built once at cold start from the default chain
/// (`AWS_ENDPOINT_URL*`, credentials, region), each carrying the same [`RoundTrips`].
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub ses: aws_sdk_ses::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    pub round_trips: RoundTrips,
}

impl AwsClients {
    pub async fn from_env() -> Self {
        let sdk_config = aws_config::load_defaults(BehaviorVersion::latest()).await;
        Self::from_sdk_config(&sdk_config, RoundTrips::default())
    }

    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, round_trips: RoundTrips) -> Self {
        Self::from_parts(sdk_config, sdk_config, round_trips)
    }

    /// Clients with DynamoDB configured apart from the rest (on one machine DynamoDB
    /// Local listens on its own port).
    pub fn from_parts(
        sdk_config: &aws_config::SdkConfig,
        dynamodb_config: &aws_config::SdkConfig,
        round_trips: RoundTrips,
    ) -> Self {
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(dynamodb_config)
            .interceptor(round_trips.clone())
            .build();
        // Path-style addressing works against AWS and against the emulator alike.
        let s3 = aws_sdk_s3::config::Builder::from(sdk_config)
            .force_path_style(true)
            .interceptor(round_trips.clone())
            .build();
        let ses = aws_sdk_ses::config::Builder::from(sdk_config)
            .interceptor(round_trips.clone())
            .build();
        let sqs = aws_sdk_sqs::config::Builder::from(sdk_config)
            .interceptor(round_trips.clone())
            .build();
        let scheduler = aws_sdk_scheduler::config::Builder::from(sdk_config)
            .interceptor(round_trips.clone())
            .build();
        Self {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb),
            s3: aws_sdk_s3::Client::from_conf(s3),
            ses: aws_sdk_ses::Client::from_conf(ses),
            sqs: aws_sdk_sqs::Client::from_conf(sqs),
            scheduler: aws_sdk_scheduler::Client::from_conf(scheduler),
            round_trips,
        }
    }
}
