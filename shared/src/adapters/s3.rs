//! S3 objects: reading raw inbound payloads and storing documents (attachments).

use crate::ports::BlobError;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::is_retryable;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

fn service_error<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> BlobError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    BlobError::Service {
        operation,
        retryable: is_retryable(&error),
        message: DisplayErrorContext(&error).to_string(),
    }
}

/// S3 access for one function.
#[derive(Clone, Debug)]
pub struct Blobs {
    client: aws_sdk_s3::Client,
}

impl Blobs {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }

    /// Reads a whole object, refusing objects over `limit` bytes before downloading them.
    pub async fn get(&self, bucket: &str, key: &str, limit: usize) -> Result<Vec<u8>, BlobError> {
        let response = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await;
        let output = match response {
            Ok(output) => output,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Err(BlobError::NotFound {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                });
            }
            Err(error) => return Err(service_error("GetObject", error)),
        };
        let size = output.content_length().unwrap_or_default();
        if usize::try_from(size).is_ok_and(|s| s > limit) {
            return Err(BlobError::TooLarge {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                size,
                limit,
            });
        }
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| BlobError::Service {
                operation: "GetObject",
                message: e.to_string(),
                retryable: true,
            })?;
        Ok(body.into_bytes().to_vec())
    }

    /// Writes an object. Keys are derived from natural keys, so writing again is harmless.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), BlobError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| service_error("PutObject", e))?;
        Ok(())
    }
}

/// The exports bucket as the place export files go: files are streamed from disk.
#[derive(Debug, Clone)]
pub struct ExportBucket {
    pub blobs: Blobs,
    pub bucket: String,
}

impl crate::marketing::ports::ExportFiles for ExportBucket {
    async fn put_file(
        &self,
        key: &str,
        path: &std::path::Path,
        content_type: &str,
    ) -> Result<(), BlobError> {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| BlobError::Service {
                operation: "PutObject",
                message: e.to_string(),
                retryable: false,
            })?;
        self.blobs
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| service_error("PutObject", e))?;
        Ok(())
    }

    async fn put_bytes(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), BlobError> {
        self.blobs.put(&self.bucket, key, bytes, content_type).await
    }
}
