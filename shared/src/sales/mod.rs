//! The sales process as use cases: routing inquiries, qualifying them, deal changes with
//! their outbox and relay, the reactions to deal events, and the scheduled jobs (routing
//! digest, first-response timer). Each depends only on the ports of [`ports`] and
//! [`crate::ports`]; the rules themselves are in `crm_domain::sales` and
//! `crm_domain::intake`.

pub mod deals;
pub mod jobs;
pub mod ports;
pub mod qualification;
pub mod reactions;
pub mod routing;
