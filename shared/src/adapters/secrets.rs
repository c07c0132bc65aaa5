//! Secrets Manager: the secrets a function reads once at cold start (webhook path
//! secrets, the cursor key). A function refuses to start without them.

/// Why a secret cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read secret {id}: {message}")]
pub struct SecretError {
    pub id: String,
    pub message: String,
}

/// The string of secret `id`; at least 16 characters, or an error.
pub async fn read_secret(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
) -> Result<String, SecretError> {
    let output = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| SecretError {
            id: id.to_owned(),
            message: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
        })?;
    output
        .secret_string
        .filter(|s| s.len() >= 16)
        .ok_or_else(|| SecretError {
            id: id.to_owned(),
            message: "the secret is empty or shorter than 16 characters".into(),
        })
}
