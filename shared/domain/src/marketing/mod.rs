//! Marketing: saved segments with their schedules and exports ([`export`]) over what is
//! known of each counterparty ([`segment`]), the
//! Mailchimp CSV ([`mailchimp`]) and the telemarketing call list ([`telemarketing`])
//! written row by row, and the addresses never to be exported again ([`unsubscribes`]).

pub mod export;
pub mod mailchimp;
pub mod segment;
pub mod telemarketing;
pub mod unsubscribes;

pub use export::{ExportRecord, ExportSchedule, Segment};
pub use segment::{ContactCard, SegmentDefinition};
