//! The inbound message: what every channel (email, call, chat, form) is read into before
//! the one intake path matches it to a party.

use super::inquiry::{
    AttachmentRef, Inquiry, InquiryKind, InquiryStatus, Interaction, LeftOut, MessageContent,
    SourceRef,
};
use crate::party::{Channel, MatchEvidence, PersonDetails, PointSource};
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
    /// What reading left in the raw copy only.
    pub left_out: Vec<LeftOut>,
    /// Where the contact points came from: whether they confirm or only propose.
    pub source: PointSource,
    /// The employee who forwarded the client's message into the mailbox.
    pub forwarded_by: Option<String>,
}

impl InboundMessage {
    /// Where it came from: its natural key and raw copy.
    pub fn source(&self) -> SourceRef {
        SourceRef {
            event_key: self.event_key.clone(),
            raw_key: self.raw_key.clone(),
        }
    }

    /// What it said, as kept on items (the text cut to fit).
    pub fn content(&self) -> MessageContent {
        MessageContent {
            forwarded_by: self.forwarded_by.clone(),
            ..MessageContent::kept(
                self.subject.clone(),
                &self.text,
                self.attachments.clone(),
                self.left_out.clone(),
            )
        }
    }

    /// The unrouted inquiry this message opens for a new lead.
    pub fn new_inquiry(&self, id: String, party_id: String) -> Inquiry {
        Inquiry {
            id,
            channel: self.channel,
            kind: self.kind,
            status: InquiryStatus::Unrouted,
            received_at: self.received_at,
            counterparty_id: party_id,
            contact: self.contact.clone(),
            content: self.content(),
            source: self.source(),
            department: None,
            manager_id: None,
            missed: false,
            routing: None,
            first_response_due: None,
            qualification: None,
            version: 1,
        }
    }

    /// The entry this message makes in a party's history; `inquiry_id` when it opened one.
    pub fn interaction(
        &self,
        id: String,
        party_id: String,
        inquiry_id: Option<String>,
        evidence: Vec<MatchEvidence>,
    ) -> Interaction {
        Interaction {
            id,
            party_id,
            at: self.received_at,
            channel: self.channel,
            kind: self.kind,
            content: self.content(),
            inquiry_id,
            contact: self.contact.clone(),
            evidence,
            source: self.source(),
            missed: false,
            unverified: false,
        }
    }
}
