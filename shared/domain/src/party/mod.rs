//! Parties: counterparties (leads, clients) and their contact persons, the contact points
//! (normalised email, E.164 phone) that identify a person across channels, the matching
//! rule, the channels people reach us through, and a counterparty's requisites.

pub mod channel;
pub mod contact_point;
pub mod counterparty;
pub mod matching;
pub mod requisites;
pub mod search;

pub use channel::Channel;
pub use contact_point::{ContactPoint, EmailAddress, PhoneNumber, PhoneParse, PointSource};
pub use counterparty::{ContactEdit, ContactPerson, Counterparty, CounterpartyKind, PersonDetails};
pub use matching::{MatchDecision, MatchEvidence, Owned, match_contact_points};
pub use requisites::{BankDetails, LegalEntity, inn_is_valid, legal_entity_problems};
