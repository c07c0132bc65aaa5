//! Domain types and pure rules: no I/O, no AWS types, unit-tested on their own.

pub mod call;
pub mod contact_point;
pub mod employee;
pub mod inquiry;
pub mod matching;
pub mod party;
pub mod task;

pub use call::{
    CallEvent, CallNotice, CallNoticeError, caller_id_name, parse_call_notice, parse_pbx_time,
};
pub use contact_point::{ContactPoint, EmailAddress, PhoneNumber, PhoneParse};
pub use employee::{Department, Employee, Role};
pub use inquiry::{
    AttachmentRef, Channel, Inquiry, InquiryKind, InquiryStatus, Interaction, MAX_TEXT_BYTES,
    SourceRef, truncate_text,
};
pub use matching::{MatchDecision, MatchEvidence, match_contact_points};
pub use party::{ContactPerson, Counterparty, CounterpartyKind, PersonDetails};
pub use task::{Task, TaskKind, TaskStatus};
