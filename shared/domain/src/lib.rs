//! The domain of the sales backend: types and pure rules, with no I/O. The crate depends
//! on no AWS, tokio or Lambda crate, so the compiler — not a convention — keeps it pure
//! (`tests/architecture.rs` checks the dependency tree and that no module imports its
//! sibling back).
//!
//! Organised by bounded context, lowest first; a module only uses those above it in this
//! list:
//!
//! | module | what lives there |
//! |---|---|
//! | [`kernel`] | error kind (retry or not), ids and hashes, the `system` actor, Moscow time and working hours, the departments, the audit trail |
//! | [`party`] | contact points and phone normalisation, the matching rule, counterparties and contacts, channels, requisites (INN/KPP/bank) |
//! | [`staff`] | employees and roles, notifications and their recipients |
//! | [`intake`] | inquiries and their transitions, history entries, the inbound message, PBX call notices, email parsing and classification, Jivo and form payloads |
//! | [`sales`] | deals and their stage machine, routing rules, tasks, deal events, the commercial proposal |
//! | [`warehouse`] | the product catalogue, barcodes and GS1 element strings as scanned, receipts, batch allocation (FEFO, then FIFO) |
//! | [`orders`] | the customer order of an agreed deal and its split between stock, production and suppliers; production and supplier orders; shipping by scan; the waybill (УПД) |
//! | [`marketing`] | segments over the contact cards, the Mailchimp CSV and the telemarketing call list written row by row, addresses never exported again |
//! | [`templates`] | every Russian text staff receive, with the links into the app |
//!
//! Room is left for the next context, `migration`, a folder of its own.

pub mod intake;
pub mod kernel;
pub mod marketing;
pub mod orders;
pub mod party;
pub mod sales;
pub mod staff;
pub mod templates;
pub mod warehouse;
