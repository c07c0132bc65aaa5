//! Staff notifications by email through SES.

use super::is_retryable;
use crate::ports::{Notifier, NotifyError};
use aws_sdk_ses::error::DisplayErrorContext;
use aws_sdk_ses::types::{Body, Content, Destination, Message};
use crm_domain::party::EmailAddress;
use crm_domain::staff::Notification;

/// Sends notifications from one verified sender address.
#[derive(Clone, Debug)]
pub struct SesNotifier {
    client: aws_sdk_ses::Client,
    from: EmailAddress,
}

impl SesNotifier {
    pub fn new(client: aws_sdk_ses::Client, from: EmailAddress) -> Self {
        Self { client, from }
    }
}

fn utf8(text: &str) -> Result<Content, NotifyError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| NotifyError {
            message: e.to_string(),
            retryable: false,
        })
}

impl Notifier for SesNotifier {
    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        let destination = Destination::builder()
            .set_to_addresses(Some(
                notification.to.iter().map(ToString::to_string).collect(),
            ))
            .build();
        let message = Message::builder()
            .subject(utf8(&notification.header_subject())?)
            .body(Body::builder().text(utf8(&notification.body)?).build())
            .build();
        self.client
            .send_email()
            .source(self.from.as_str())
            .destination(destination)
            .message(message)
            .send()
            .await
            .map_err(|error| NotifyError {
                retryable: is_retryable(&error),
                message: DisplayErrorContext(&error).to_string(),
            })?;
        Ok(())
    }
}
