//! Integration tests against LocalStack and DynamoDB Local (`make test` starts them).
//! Each test creates its own stack from `infra/template.yaml`, so they run in parallel.

mod access;
mod api;
mod catalog;
mod email_intake;
mod hardening;
mod local_triggers;
mod marketing;
mod orders;
mod round_trips;
mod sales;
mod webhooks;
