//! The inbound message: what every channel (email, call, chat, form) is read into before
//! the one intake path matches it to a party.

use super::inquiry::{AttachmentRef, InquiryKind};
use crate::party::{Channel, PersonDetails};
use chrono::{DateTime, Utc};

/// A request from a person, whatever the channel, ready for matching.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// Natural key of the event (`email#<Message-ID>`, `call#<linkedid>`, …).
    pub event_key: String,
    /// Object key of the raw payload in the inbound bucket.
    pub raw_key: String,
    pub channel: Channel,
    pub kind: InquiryKind,
    pub received_at: DateTime<Utc>,
    pub contact: PersonDetails,
    pub subject: Option<String>,
    pub text: String,
    pub attachments: Vec<AttachmentRef>,
}
