//! Errors that say whether to retry. Permanent errors are bad input: answered with a 4xx,
//! or sent to the DLQ after logging. Transient errors (throttling, network, a concurrent
//! writer) are retried by the queue.

use crate::aws::{BlobError, NotifyError};
use crate::email::EmailParseError;
use crate::store::StoreError;

/// Whether an error can go away by trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Permanent,
    Transient,
}

/// Why one inbound event could not be taken in.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("the queue message is not an S3 event notification: {0}")]
    NotAnS3Event(String),
    #[error("the raw message cannot be read")]
    Unreadable(#[source] EmailParseError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error("still racing other writers for the same contact point after {0} attempts")]
    Contention(u32),
}

impl IntakeError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotAnS3Event(_) | Self::Unreadable(_) => ErrorKind::Permanent,
            Self::Store(e) => e.kind(),
            Self::Blob(e) => e.kind(),
            Self::Notify(e) => e.kind(),
            Self::Contention(_) => ErrorKind::Transient,
        }
    }

    /// A short machine-readable name for logs and metrics.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::NotAnS3Event(_) => "NotAnS3Event",
            Self::Unreadable(_) => "UnreadableMessage",
            Self::Store(_) => "StoreError",
            Self::Blob(_) => "BlobError",
            Self::Notify(_) => "NotifyError",
            Self::Contention(_) => "Contention",
        }
    }
}

/// The whole `source()` chain of an error on one line, for logs.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
