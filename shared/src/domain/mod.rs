//! Domain types and pure rules: no I/O, no AWS types, unit-tested on their own.

pub mod audit;
pub mod call;
pub mod contact_point;
pub mod deal;
pub mod employee;
pub mod inquiry;
pub mod matching;
pub mod party;
pub mod task;
pub mod working_hours;

pub use audit::{AuditEntry, audit_entries, created_entry, diff};
pub use call::{
    CallEvent, CallNotice, CallNoticeError, caller_id_name, parse_call_notice, parse_pbx_time,
};
pub use contact_point::{ContactPoint, EmailAddress, PhoneNumber, PhoneParse};
pub use deal::{
    BankDetails, Deal, DealContact, DealItem, DealStage, DocumentRef, EquipmentType, LegalEntity,
    NewDeal, Refusal, ServiceDecision, check_transition, creation_problems, inn_is_valid,
    legal_entity_problems, next_stages,
};
pub use employee::{Department, Employee, Role};
pub use inquiry::{
    AttachmentRef, Channel, Inquiry, InquiryKind, InquiryStatus, Interaction, MAX_TEXT_BYTES,
    NotALeadReason, Qualification, RoutingDecision, SourceRef, truncate_text,
};
pub use matching::{MatchDecision, MatchEvidence, match_contact_points};
pub use party::{ContactPerson, Counterparty, CounterpartyKind, PersonDetails};
pub use task::{Task, TaskKind, TaskStatus};
pub use working_hours::{add_working_hours, is_working_time};
