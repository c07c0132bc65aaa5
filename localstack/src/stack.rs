//! One provisioned stack: the resolved template, where its resources are, and the wiring
//! of each function to its trigger — what both `crm-local up` and the tests stand on.

use crate::emulators::repo_root;
use crate::gateway::{Gateway, HttpHandler, Route};
use crate::local::Endpoints;
use crate::poller::{BatchHandler, QueueBinding};
use crate::provision::{ProvisionError, Provisioned, provision};
use crate::smtp::MailDrop;
use crate::template::{self, ResolvedStack, TemplateError, Trigger};
use crm_shared::auth::DevTokens;
use crm_shared::config::ConfigError;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why the local stack cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the template has no {0}")]
    Missing(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The template every local stack is made from.
pub fn template_path() -> PathBuf {
    repo_root().join("infra/template.yaml")
}

/// The local parameter overrides (`localstack/parameters.json`), as `sam deploy
/// --parameter-overrides` would give them.
pub fn local_parameters() -> HashMap<String, String> {
    std::fs::read_to_string(repo_root().join("localstack/parameters.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<HashMap<String, String>>(&text).ok())
        .unwrap_or_default()
}

/// A provisioned stack.
#[derive(Debug, Clone)]
pub struct LocalStack {
    pub resolved: ResolvedStack,
    pub provisioned: Provisioned,
    pub endpoints: Endpoints,
}

impl LocalStack {
    /// Resolves the template for `stack_name` and creates (or reuses) its resources.
    pub async fn create(
        stack_name: &str,
        endpoints: Endpoints,
        overrides: &HashMap<String, String>,
    ) -> Result<Self, LocalError> {
        let resolved = template::load(&template_path(), stack_name, overrides)?;
        let provisioned = provision(&resolved, &endpoints.provision_clients().await).await?;
        Ok(Self {
            resolved,
            provisioned,
            endpoints,
        })
    }

    /// The environment the template gives a function.
    pub fn function_env(&self, logical_id: &str) -> Result<&HashMap<String, String>, LocalError> {
        self.resolved
            .function(logical_id)
            .map(|f| &f.environment)
            .ok_or_else(|| LocalError::Missing(format!("function {logical_id}")))
    }

    /// Physical name of a bucket or table.
    pub fn name(&self, logical_id: &str) -> Result<&str, LocalError> {
        self.provisioned
            .name(logical_id)
            .ok_or_else(|| LocalError::Missing(logical_id.to_owned()))
    }

    /// URL of a queue by logical id.
    pub fn queue_url(&self, logical_id: &str) -> Result<String, LocalError> {
        let queue = self
            .resolved
            .of_kind("AWS::SQS::Queue")
            .find(|q| q.logical_id == logical_id)
            .ok_or_else(|| LocalError::Missing(format!("queue {logical_id}")))?;
        let name = queue
            .properties
            .get("QueueName")
            .and_then(Value::as_str)
            .unwrap_or(logical_id);
        self.provisioned
            .queue_url_by_name(name)
            .map(str::to_owned)
            .ok_or_else(|| LocalError::Missing(format!("queue {logical_id}")))
    }

    /// Where SES inbound would store received mail: the receipt rule's S3 action.
    pub fn mail_drop(&self) -> Result<MailDrop, LocalError> {
        self.resolved
            .of_kind("AWS::SES::ReceiptRule")
            .find_map(|rule| {
                rule.properties
                    .pointer("/Rule/Actions")?
                    .as_array()?
                    .iter()
                    .find_map(|action| action.get("S3Action"))
                    .map(|s3| MailDrop {
                        bucket: s3
                            .get("BucketName")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        prefix: s3
                            .get("ObjectKeyPrefix")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    })
            })
            .ok_or_else(|| LocalError::Missing("SES receipt rule with an S3 action".into()))
    }

    /// The function's SQS trigger wired to `handler`.
    pub fn queue_binding(
        &self,
        function: &str,
        handler: BatchHandler,
    ) -> Result<QueueBinding, LocalError> {
        let spec = self
            .resolved
            .function(function)
            .ok_or_else(|| LocalError::Missing(format!("function {function}")))?;
        spec.triggers
            .iter()
            .find_map(|t| match t {
                Trigger::Sqs {
                    queue_arn,
                    batch_size,
                } => Some((queue_arn.clone(), *batch_size)),
                _ => None,
            })
            .and_then(|(queue_arn, batch_size)| {
                let url = self.provisioned.queue_urls.get(&queue_arn)?.clone();
                Some(QueueBinding {
                    queue_url: url,
                    queue_arn,
                    batch_size,
                    handler: handler.clone(),
                })
            })
            .ok_or_else(|| LocalError::Missing(format!("SQS trigger of {function}")))
    }

    /// The function's schedules: (expression, time zone, JSON input).
    pub fn schedules(
        &self,
        function: &str,
    ) -> Result<Vec<(String, Option<String>, String)>, LocalError> {
        let spec = self
            .resolved
            .function(function)
            .ok_or_else(|| LocalError::Missing(format!("function {function}")))?;
        Ok(spec
            .triggers
            .iter()
            .filter_map(|t| match t {
                Trigger::Schedule {
                    expression,
                    timezone,
                    input,
                } => Some((expression.clone(), timezone.clone(), input.clone())),
                _ => None,
            })
            .collect())
    }

    /// Development tokens for the named JWT authorizer, signed with the local key.
    pub fn dev_tokens(&self, authorizer: &str) -> Result<DevTokens, LocalError> {
        let config = self
            .resolved
            .authorizers
            .get(authorizer)
            .ok_or_else(|| LocalError::Missing(format!("authorizer {authorizer}")))?;
        Ok(DevTokens::new(
            dev_key(&repo_root())?,
            config.issuer.clone(),
            config.audience.first().cloned().unwrap_or_default(),
        ))
    }

    /// The HTTP API's routes, each wired to its function's handler from `handlers`
    /// (by function logical id).
    pub fn gateway(&self, handlers: &HashMap<String, HttpHandler>) -> Result<Gateway, LocalError> {
        let mut routes = Vec::new();
        for function in &self.resolved.functions {
            let Some(handler) = handlers.get(&function.logical_id) else {
                continue;
            };
            for trigger in &function.triggers {
                if let Trigger::Http {
                    method,
                    path,
                    authorizer,
                } = trigger
                {
                    let authorizer = authorizer
                        .as_deref()
                        .map(|name| self.dev_tokens(name).map(Arc::new))
                        .transpose()?;
                    routes.push(Route {
                        method: method.clone(),
                        path: path.clone(),
                        authorizer,
                        handler: handler.clone(),
                    });
                }
            }
        }
        Ok(Gateway { routes, site: None })
    }
}

impl LocalStack {
    /// The value of a webhook secret by the secret's logical id (`MikoWebhookSecret`, …).
    pub async fn secret(&self, logical_id: &str) -> Result<String, LocalError> {
        let name = self
            .resolved
            .of_kind("AWS::SecretsManager::Secret")
            .find(|s| s.logical_id == logical_id)
            .and_then(|s| s.properties.get("Name").and_then(Value::as_str))
            .ok_or_else(|| LocalError::Missing(format!("secret {logical_id}")))?
            .to_owned();
        let output = self
            .endpoints
            .secrets()
            .await
            .get_secret_value()
            .secret_id(&name)
            .send()
            .await
            .map_err(|e| {
                LocalError::Missing(format!(
                    "secret {name}: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                ))
            })?;
        output
            .secret_string
            .ok_or_else(|| LocalError::Missing(format!("value of secret {name}")))
    }
}

/// The local signing key of development tokens: made once, kept out of git in
/// `localstack/.state/dev-jwt.key`.
pub fn dev_key(root: &Path) -> Result<Vec<u8>, std::io::Error> {
    let path = root.join("localstack/.state/dev-jwt.key");
    if let Ok(key) = std::fs::read_to_string(&path)
        && key.trim().len() >= 32
    {
        // A key file from before it was made private is made private now.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        return Ok(key.trim().as_bytes().to_vec());
    }
    std::fs::create_dir_all(root.join("localstack/.state"))?;
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    // Written aside (readable by its owner only) and linked into place, so concurrent
    // first uses agree on one key.
    let aside = path.with_extension(format!("{}.tmp", uuid::Uuid::new_v4().simple()));
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&aside)?;
        file.write_all(key.as_bytes())?;
    }
    let linked = std::fs::hard_link(&aside, &path);
    let _ = std::fs::remove_file(&aside);
    match linked {
        Ok(()) => Ok(key.into_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path)?.trim().as_bytes().to_vec())
        }
        Err(e) => Err(e),
    }
}
