//! Addresses that must never be exported again: Mailchimp's unsubscribed and cleaned
//! exports (CSV with `Email Address`, then `UNSUB_TIME`, `UNSUB_CAMPAIGN_TITLE`,
//! `UNSUB_REASON` … or `CLEAN_TIME`, `CLEAN_CAMPAIGN_TITLE` …), one address marked by
//! hand, and mail to us that bounced. The contact keeps the address for correspondence;
//! only exports leave it out.

use crate::party::EmailAddress;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why an address is no longer mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OptOutKind {
    /// The person unsubscribed.
    Unsubscribed,
    /// Mailchimp cleaned it (hard bounces).
    Cleaned,
    /// Our own mail to it bounced.
    Bounced,
    /// Marked by staff.
    Marked,
}

/// One address that is not mailed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OptOut {
    /// Lower case.
    pub email: String,
    pub kind: OptOutKind,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub reason: Option<String>,
    /// `mailchimp:<file>`, `api:<request>`, `intake:<event>`.
    pub source: String,
}

/// What a Mailchimp file gave: the opt-outs, and the lines that were not addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportedOptOuts {
    pub opt_outs: Vec<OptOut>,
    pub skipped: usize,
}

/// Why a file could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the file has no `Email Address` column")]
    NoEmailColumn,
    #[error("the file is not CSV: {0}")]
    NotCsv(String),
}

/// The most rows one file may hold.
pub const MAX_IMPORT_ROWS: usize = 1_000_000;

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

/// Reads a Mailchimp unsubscribed or cleaned export; the kind comes from its columns
/// (`CLEAN_TIME`: cleaned, else unsubscribed). Rows without a valid address are counted
/// as skipped, never fatal.
pub fn read_mailchimp(
    bytes: &[u8],
    source: &str,
    now: DateTime<Utc>,
) -> Result<ImportedOptOuts, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| ImportError::NotCsv(e.to_string()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let email = column("Email Address").ok_or(ImportError::NoEmailColumn)?;
    let (kind, time, reason) = match column("CLEAN_TIME") {
        Some(clean) => (OptOutKind::Cleaned, Some(clean), None),
        None => (
            OptOutKind::Unsubscribed,
            column("UNSUB_TIME"),
            column("UNSUB_REASON"),
        ),
    };
    let mut imported = ImportedOptOuts::default();
    for record in reader.records().take(MAX_IMPORT_ROWS) {
        let Ok(record) = record else {
            imported.skipped += 1;
            continue;
        };
        let Some(address) = record
            .get(email)
            .and_then(|e| EmailAddress::parse(e.trim()))
        else {
            imported.skipped += 1;
            continue;
        };
        imported.opt_outs.push(OptOut {
            email: address.as_str().to_lowercase(),
            kind,
            at: time
                .and_then(|t| record.get(t))
                .and_then(parse_time)
                .unwrap_or(now),
            reason: reason
                .and_then(|r| record.get(r))
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(|r| r.chars().take(200).collect()),
            source: source.to_owned(),
        });
    }
    Ok(imported)
}

/// The most addresses one bounce report gives.
const MAX_BOUNCED: usize = 50;

/// The addresses a delivery report (a bounce of our own mail) says failed: its
/// `Final-Recipient: rfc822; …` lines (or `Original-Recipient:` when there is no final
/// one). One pass over the message, at most 50 addresses.
pub fn bounced_recipients(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut finals = Vec::new();
    let mut originals = Vec::new();
    for line in text.lines() {
        let (list, rest) = match line.split_once(':') {
            Some((name, rest)) if name.trim().eq_ignore_ascii_case("final-recipient") => {
                (&mut finals, rest)
            }
            Some((name, rest)) if name.trim().eq_ignore_ascii_case("original-recipient") => {
                (&mut originals, rest)
            }
            _ => continue,
        };
        let address = rest.rsplit(';').next().unwrap_or(rest);
        if let Some(email) = EmailAddress::parse(address.trim()) {
            let email = email.as_str().to_lowercase();
            if !list.contains(&email) && list.len() < MAX_BOUNCED {
                list.push(email);
            }
        }
    }
    if finals.is_empty() { originals } else { finals }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_report_names_the_addresses_that_failed() {
        let report = "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.ru\r\n\r\n\
            Final-Recipient: rfc822; Nobody@Nonexistent-Domain.ru\r\nAction: failed\r\n\
            Original-Recipient: rfc822;other@x.ru\r\n";
        assert_eq!(
            bounced_recipients(report.as_bytes()),
            ["nobody@nonexistent-domain.ru"]
        );
        assert_eq!(
            bounced_recipients(b"Original-Recipient: rfc822; a@b.ru\n"),
            ["a@b.ru"]
        );
        assert!(bounced_recipients(b"no report here").is_empty());
    }

    #[test]
    fn unsubscribed_and_cleaned_files_give_their_addresses() {
        let unsubscribed = "\u{feff}Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME,UNSUB_TIME,UNSUB_CAMPAIGN_TITLE,UNSUB_CAMPAIGN_ID,UNSUB_REASON,UNSUB_REASON_OTHER\r\n\
            Igor@Zavod.ru,Игорь,Петров,2,2026-01-10 10:00:00,2026-11-01 09:30:00,Новинки,abc,NORMAL,\r\n\
            not an address,,,,,,,,,\r\n";
        let read = read_mailchimp(unsubscribed.as_bytes(), "mailchimp:u.csv", Utc::now()).unwrap();
        assert_eq!(read.skipped, 1);
        assert_eq!(read.opt_outs.len(), 1);
        let out = &read.opt_outs[0];
        assert_eq!(out.email, "igor@zavod.ru");
        assert_eq!(out.kind, OptOutKind::Unsubscribed);
        assert_eq!(out.at.to_rfc3339(), "2026-11-01T09:30:00+00:00");
        assert_eq!(out.reason.as_deref(), Some("NORMAL"));

        let cleaned = "Email Address,First Name,CLEAN_TIME,CLEAN_CAMPAIGN_TITLE\nold@mail.ru,Анна,2026-10-01 08:00:00,Осень\n";
        let read = read_mailchimp(cleaned.as_bytes(), "mailchimp:c.csv", Utc::now()).unwrap();
        assert_eq!(read.opt_outs[0].kind, OptOutKind::Cleaned);
        assert_eq!(
            read_mailchimp(b"Name\nx\n", "x", Utc::now()),
            Err(ImportError::NoEmailColumn)
        );
    }
}
