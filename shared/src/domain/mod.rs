//! Domain types and pure rules: no I/O, no AWS types, unit-tested on their own.

pub mod contact_point;
pub mod employee;
pub mod inquiry;
pub mod matching;
pub mod party;

pub use contact_point::{ContactPoint, EmailAddress, PhoneNumber, PhoneParse};
pub use employee::{Department, Employee, Role};
pub use inquiry::{
    AttachmentRef, Channel, Inquiry, InquiryKind, InquiryStatus, Interaction, MAX_TEXT_BYTES,
    SourceRef, truncate_text,
};
pub use matching::{MatchDecision, MatchEvidence, match_contact_points};
pub use party::{ContactPerson, Counterparty, CounterpartyKind, PersonDetails};
