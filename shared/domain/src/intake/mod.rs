//! Intake: how a person's request arrives and what it is — inquiries (обращения) and the
//! history entries of a counterparty, the inbound message every channel is read into, PBX
//! call notices, email parsing and classification, Jivo and site-form payloads — and the
//! inquiry's own transitions (`unrouted → routed → qualified | not_a_lead`).

pub mod call;
pub mod email;
pub mod inquiry;
pub mod message;
pub mod web;

pub use inquiry::{
    AttachmentRef, Inquiry, InquiryKind, InquiryRefusal, InquiryStatus, Interaction, LeftOut,
    MessageContent, NotALeadReason, Qualification, RoutingDecision, SourceRef,
};
pub use message::InboundMessage;
