//! Errors for logs. Whether an error may heal by retrying is the domain's
//! [`ErrorKind`]; every adapter and use-case error reports one.

pub use crm_domain::kernel::ErrorKind;

/// The whole `source()` chain of an error on one line, for logs.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
