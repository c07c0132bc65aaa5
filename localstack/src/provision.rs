//! Creates a resolved stack's resources in the emulators: tables (keys, indexes, TTL) in
//! DynamoDB Local; buckets (encryption, public-access block, notifications), queues with
//! their redrive policies, SES identities and SSM parameters in LocalStack. Existing
//! resources are reused, so `crm-local up` can run again over a live stack.
//!
//! What LocalStack's CloudFormation would silently skip (the SES receipt rule) is played by
//! the local SMTP listener; IAM policies and the HTTP API are played by the local gateway.

use crate::template::{LOCAL_REGION, ResolvedStack, Resource};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, FilterRule, FilterRuleName,
    NotificationConfiguration, NotificationConfigurationFilter, PublicAccessBlockConfiguration,
    QueueConfiguration, S3KeyFilter, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;
use std::collections::HashMap;

/// The SDK clients provisioning uses, pointed at the emulators.
#[derive(Clone, Debug)]
pub struct ProvisionClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ses: aws_sdk_ses::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

/// A resource that could not be created.
#[derive(Debug, thiserror::Error)]
#[error("cannot create {kind} {logical_id}: {message}")]
pub struct ProvisionError {
    pub kind: String,
    pub logical_id: String,
    pub message: String,
}

fn failed(resource: &Resource, message: impl Into<String>) -> ProvisionError {
    ProvisionError {
        kind: resource.kind.clone(),
        logical_id: resource.logical_id.clone(),
        message: message.into(),
    }
}

/// Where the created resources are.
#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    /// Queue ARN → queue URL as the emulator returned it.
    pub queue_urls: HashMap<String, String>,
    /// Logical id → physical name of tables and buckets.
    pub names: HashMap<String, String>,
}

impl Provisioned {
    pub fn name(&self, logical_id: &str) -> Option<&str> {
        self.names.get(logical_id).map(String::as_str)
    }

    pub fn queue_url_by_name(&self, queue_name: &str) -> Option<&str> {
        self.queue_urls
            .iter()
            .find(|(arn, _)| arn.rsplit(':').next() == Some(queue_name))
            .map(|(_, url)| url.as_str())
    }
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn number_text(value: &Value, pointer: &str) -> Option<String> {
    value.pointer(pointer).map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Creates every resource the local stack needs, in dependency order.
pub async fn provision(
    stack: &ResolvedStack,
    clients: &ProvisionClients,
) -> Result<Provisioned, ProvisionError> {
    let mut provisioned = Provisioned::default();
    for table in stack.of_kind("AWS::DynamoDB::Table") {
        let name = create_table(table, &clients.dynamodb).await?;
        provisioned.names.insert(table.logical_id.clone(), name);
    }
    // Dead-letter queues before the queues that redrive into them.
    let mut queues: Vec<&Resource> = stack.of_kind("AWS::SQS::Queue").collect();
    queues.sort_by_key(|q| q.properties.get("RedrivePolicy").is_some());
    for queue in queues {
        let (arn, url) = create_queue(queue, &clients.sqs).await?;
        provisioned.queue_urls.insert(arn, url);
    }
    for bucket in stack.of_kind("AWS::S3::Bucket") {
        let name = create_bucket(bucket, &clients.s3).await?;
        provisioned.names.insert(bucket.logical_id.clone(), name);
    }
    for identity in stack.of_kind("AWS::SES::EmailIdentity") {
        let email = text(&identity.properties, "/EmailIdentity").unwrap_or_default();
        clients
            .ses
            .verify_email_identity()
            .email_address(email)
            .send()
            .await
            .map_err(|e| failed(identity, DisplayErrorContext(&e).to_string()))?;
    }
    for secret in stack.of_kind("AWS::SecretsManager::Secret") {
        create_secret(secret, &clients.secrets).await?;
    }
    for parameter in stack.of_kind("AWS::SSM::Parameter") {
        let name = text(&parameter.properties, "/Name").unwrap_or_default();
        let value = text(&parameter.properties, "/Value").unwrap_or_default();
        clients
            .ssm
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(false)
            .send()
            .await
            .map(|_| ())
            .or_else(|e| {
                if e.as_service_error()
                    .is_some_and(|e| e.is_parameter_already_exists())
                {
                    Ok(())
                } else {
                    Err(failed(parameter, DisplayErrorContext(&e).to_string()))
                }
            })?;
    }
    Ok(provisioned)
}

/// Creates a secret as `GenerateSecretString` would: random letters and digits of the
/// requested length. An existing secret keeps its value.
async fn create_secret(
    secret: &Resource,
    client: &aws_sdk_secretsmanager::Client,
) -> Result<(), ProvisionError> {
    let name = text(&secret.properties, "/Name").unwrap_or_default();
    let length = secret
        .properties
        .pointer("/GenerateSecretString/PasswordLength")
        .and_then(Value::as_u64)
        .unwrap_or(32) as usize;
    let mut value = String::new();
    while value.len() < length {
        value.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    value.truncate(length);
    let result = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_exists_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(failed(
            secret,
            aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
        )),
    }
}

fn key_schema(value: &Value) -> Vec<KeySchemaElement> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| {
            KeySchemaElement::builder()
                .attribute_name(k.get("AttributeName")?.as_str()?)
                .key_type(KeyType::from(k.get("KeyType")?.as_str()?))
                .build()
                .ok()
        })
        .collect()
}

async fn create_table(
    table: &Resource,
    client: &aws_sdk_dynamodb::Client,
) -> Result<String, ProvisionError> {
    let p = &table.properties;
    let name = text(p, "/TableName").unwrap_or_default().to_owned();
    let attributes = p
        .get("AttributeDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            AttributeDefinition::builder()
                .attribute_name(a.get("AttributeName")?.as_str()?)
                .attribute_type(ScalarAttributeType::from(a.get("AttributeType")?.as_str()?))
                .build()
                .ok()
        })
        .collect();
    let indexes = p
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|index| {
            GlobalSecondaryIndex::builder()
                .index_name(index.get("IndexName")?.as_str()?)
                .set_key_schema(Some(key_schema(index.get("KeySchema")?)))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            text(index, "/Projection/ProjectionType").unwrap_or("ALL"),
                        ))
                        .build(),
                )
                .build()
                .ok()
        })
        .collect::<Vec<_>>();
    let result = client
        .create_table()
        .table_name(&name)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(p.get("KeySchema").unwrap_or(&Value::Null))))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match result {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            return Ok(name);
        }
        Err(e) => return Err(failed(table, DisplayErrorContext(&e).to_string())),
    }
    if let Some(attribute) = text(p, "/TimeToLiveSpecification/AttributeName") {
        let specification = TimeToLiveSpecification::builder()
            .attribute_name(attribute)
            .enabled(true)
            .build()
            .map_err(|e| failed(table, e.to_string()))?;
        client
            .update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(specification)
            .send()
            .await
            .map_err(|e| failed(table, DisplayErrorContext(&e).to_string()))?;
    }
    Ok(name)
}

async fn create_queue(
    queue: &Resource,
    client: &aws_sdk_sqs::Client,
) -> Result<(String, String), ProvisionError> {
    let p = &queue.properties;
    let name = text(p, "/QueueName")
        .map(str::to_owned)
        .unwrap_or_else(|| queue.logical_id.clone());
    let mut request = client.create_queue().queue_name(&name);
    for (property, attribute) in [
        ("/VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
        (
            "/MessageRetentionPeriod",
            QueueAttributeName::MessageRetentionPeriod,
        ),
        ("/FifoQueue", QueueAttributeName::FifoQueue),
        (
            "/ContentBasedDeduplication",
            QueueAttributeName::ContentBasedDeduplication,
        ),
        ("/DelaySeconds", QueueAttributeName::DelaySeconds),
    ] {
        if let Some(value) = number_text(p, property) {
            request = request.attributes(attribute, value);
        }
    }
    if let Some(redrive) = p.get("RedrivePolicy") {
        request = request.attributes(QueueAttributeName::RedrivePolicy, redrive.to_string());
    }
    let output = request
        .send()
        .await
        .map_err(|e| failed(queue, DisplayErrorContext(&e).to_string()))?;
    let url = output.queue_url.unwrap_or_default();
    let arn = format!(
        "arn:aws:sqs:{LOCAL_REGION}:{}:{name}",
        crate::template::LOCAL_ACCOUNT
    );
    Ok((arn, url))
}

async fn create_bucket(
    bucket: &Resource,
    client: &aws_sdk_s3::Client,
) -> Result<String, ProvisionError> {
    let p = &bucket.properties;
    let name = text(p, "/BucketName").unwrap_or_default().to_owned();
    let created = client
        .create_bucket()
        .bucket(&name)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(LOCAL_REGION))
                .build(),
        )
        .send()
        .await;
    if let Err(e) = created {
        let reusable = e
            .as_service_error()
            .is_some_and(|e| e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists());
        if !reusable {
            return Err(failed(bucket, DisplayErrorContext(&e).to_string()));
        }
    }
    if p.get("BucketEncryption").is_some() {
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(
                ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::Aes256)
                    .build()
                    .map_err(|e| failed(bucket, e.to_string()))?,
            )
            .build();
        client
            .put_bucket_encryption()
            .bucket(&name)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(rule)
                    .build()
                    .map_err(|e| failed(bucket, e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| failed(bucket, DisplayErrorContext(&e).to_string()))?;
    }
    if let Some(block) = p.get("PublicAccessBlockConfiguration") {
        let flag = |key: &str| block.get(key).and_then(Value::as_bool).unwrap_or(false);
        client
            .put_public_access_block()
            .bucket(&name)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(flag("BlockPublicAcls"))
                    .block_public_policy(flag("BlockPublicPolicy"))
                    .ignore_public_acls(flag("IgnorePublicAcls"))
                    .restrict_public_buckets(flag("RestrictPublicBuckets"))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| failed(bucket, DisplayErrorContext(&e).to_string()))?;
    }
    let queue_configurations: Vec<QueueConfiguration> = p
        .pointer("/NotificationConfiguration/QueueConfigurations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let rules: Vec<FilterRule> = c
                .pointer("/Filter/S3Key/Rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|r| {
                    FilterRule::builder()
                        .name(FilterRuleName::from(text(r, "/Name").unwrap_or("prefix")))
                        .value(text(r, "/Value").unwrap_or_default())
                        .build()
                })
                .collect();
            QueueConfiguration::builder()
                .queue_arn(text(c, "/Queue")?)
                .events(aws_sdk_s3::types::Event::from(text(c, "/Event")?))
                .set_filter((!rules.is_empty()).then(|| {
                    NotificationConfigurationFilter::builder()
                        .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
                        .build()
                }))
                .build()
                .ok()
        })
        .collect();
    if !queue_configurations.is_empty() {
        client
            .put_bucket_notification_configuration()
            .bucket(&name)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .set_queue_configurations(Some(queue_configurations))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| failed(bucket, DisplayErrorContext(&e).to_string()))?;
    }
    Ok(name)
}
