//! The application layer of the sales backend: the use cases, the ports they depend on,
//! and the adapters that implement those ports. The rules themselves are pure functions
//! of the domain crate (`crm_domain`); this crate orchestrates them against storage,
//! queues and email.
//!
//! | module | what lives there |
//! |---|---|
//! | [`ports`] | ports every context shares (directory, system tasks, notifier) and their errors |
//! | [`intake`] | the one intake path (lead or history entry, notification), the call desk; intake's ports |
//! | [`sales`] | routing, qualification, deal changes with outbox and relay, deal-event reactions, scheduled jobs; sales ports |
//! | [`warehouse`] | reserving stock for an order line without ever overselling; the stock port |
//! | [`memory`] | in-memory implementations of every port, for the use cases' unit tests |
//! | [`adapters`] | DynamoDB (key design at the top of each file), S3, SES, SQS; the SDK clients and their round-trip counter |
//! | [`config`] | typed configuration read once at cold start; the base every function shares |
//! | [`auth`] | who is calling the API (JWT claims; local development tokens) |
//! | [`error`] | the error chain for logs |
//!
//! Dependencies point one way: `error`, `config`, `auth` and `ports` below the contexts;
//! `intake` below `sales`; `memory` and `adapters` implement ports and are used by no use
//! case. `crm_domain`'s architecture test fails on any module that imports its sibling
//! back.

pub mod adapters;
pub mod auth;
pub mod config;
pub mod cursor;
pub mod error;
pub mod intake;
pub mod marketing;
pub mod memory;
pub mod orders;
pub mod ports;
pub mod sales;
pub mod warehouse;

pub use error::ErrorKind;
