//! Marketing: segments exported for Mailchimp and telemarketing, and "Call client" tasks
//! for a whole segment ([`exports`]), over the marketing port ([`ports`]).

pub mod exports;
pub mod ports;
