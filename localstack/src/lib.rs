//! `crm-local`: the whole stack on one machine. It reads `infra/template.yaml`, creates its
//! resources in LocalStack and DynamoDB Local, and plays the cloud's triggers — SES inbound
//! (an SMTP listener), Lambda's SQS event source mapping (a poller) and the HTTP API with
//! its JWT authorizer (a gateway) — around the very handler libraries the Lambdas run.
//! The integration tests use the same library to give every test its own stack.

pub mod emulators;
pub mod functions;
pub mod gateway;
pub mod local;
pub mod poller;
pub mod provision;
pub mod scheduler;
pub mod seed;
pub mod smtp;
pub mod stack;
pub mod template;
pub mod web;

pub use local::Endpoints;
pub use stack::{LocalError, LocalStack};
