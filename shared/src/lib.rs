//! The domain crate of the sales backend: what an inquiry, a lead and a counterparty are,
//! the pure rules that decide what happens to an incoming message, the ports those rules
//! need, and the AWS adapters (DynamoDB, S3, SES, SQS) that implement them.
//!
//! Layout: [`domain`] holds types and rules with no I/O; [`email`] turns raw MIME into an
//! [`email::InboundEmail`]; [`intake`] is the one path every channel takes from "a person
//! wrote to us" to a lead or a history entry; [`store`] and [`aws`] are the adapters.

pub mod auth;
pub mod aws;
pub mod calls;
pub mod config;
pub mod deals;
pub mod documents;
pub mod domain;
pub mod email;
pub mod error;
pub mod intake;
pub mod store;
pub mod webhooks;

pub use error::{ErrorKind, IntakeError};
