//! Phone calls as MikoPBX reports them through ModuleHttpAlert: one GET per event, whose
//! query the PBX admin writes (the templates are in the README). A call is one record,
//! keyed by the Asterisk `linkedid`, that the start, answer and end events complete in
//! whatever order they arrive.

use crate::party::{PhoneNumber, PhoneParse};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What happened on the PBX.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallEvent {
    /// The call reached the PBX (urlStartCall); the PBX waits for a caller-ID name.
    Start,
    /// An employee answered (urlAnswer).
    Answer,
    /// The whole call ended (urlCompleteCdrGlobal).
    End,
}

impl CallEvent {
    pub fn code(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Answer => "answer",
            Self::End => "end",
        }
    }
}

/// One MikoPBX request, read tolerantly.
#[derive(Debug, Clone, PartialEq)]
pub struct CallNotice {
    pub event: CallEvent,
    pub linkedid: String,
    pub uid: Option<String>,
    /// The caller as the PBX wrote it, and as we read it.
    pub caller_raw: Option<String>,
    pub caller: Option<PhoneParse>,
    pub called: Option<String>,
    /// The number or line name the call came in on.
    pub did: Option<String>,
    /// The employee's extension (answer, end).
    pub extension: Option<String>,
    pub at: Option<DateTime<Utc>>,
    /// `missed=1` on the end event.
    pub missed: bool,
    /// Recording path on the PBX (not a URL).
    pub recording: Option<String>,
}

/// Why a MikoPBX request cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallNoticeError {
    #[error("event must be start, answer or end")]
    UnknownEvent,
    #[error("linkedid is missing")]
    NoLinkedId,
    #[error("linkedid is too long or has control characters")]
    BadLinkedId,
}

fn non_empty(params: &HashMap<String, String>, name: &str) -> Option<String> {
    params
        .get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Reads the query of a ModuleHttpAlert request. Unknown parameters are ignored.
pub fn parse_call_notice(params: &HashMap<String, String>) -> Result<CallNotice, CallNoticeError> {
    let event = match non_empty(params, "event").as_deref() {
        Some("start") => CallEvent::Start,
        Some("answer") => CallEvent::Answer,
        Some("end") => CallEvent::End,
        _ => return Err(CallNoticeError::UnknownEvent),
    };
    let linkedid = non_empty(params, "linkedid").ok_or(CallNoticeError::NoLinkedId)?;
    if linkedid.len() > 200 || linkedid.chars().any(char::is_control) {
        return Err(CallNoticeError::BadLinkedId);
    }
    let caller_raw = non_empty(params, "from");
    Ok(CallNotice {
        event,
        caller: caller_raw.as_deref().and_then(PhoneNumber::parse),
        caller_raw,
        linkedid,
        uid: non_empty(params, "uid"),
        called: non_empty(params, "to"),
        did: non_empty(params, "did"),
        extension: non_empty(params, "ext"),
        at: non_empty(params, "ts").as_deref().and_then(parse_pbx_time),
        missed: non_empty(params, "missed")
            .is_some_and(|m| m == "1" || m.eq_ignore_ascii_case("true")),
        recording: non_empty(params, "rec"),
    })
}

/// Reads PBX times: ISO 8601 with an offset, the offset's `+` decoded to a space
/// (`2023-10-25T13:10:10 03:00`), or a local time without offset (taken as Moscow time,
/// where the company's PBX runs).
pub fn parse_pbx_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    // `+03:00` arrived as ` 03:00`.
    if let Some((stamp, offset)) = text.rsplit_once(' ')
        && offset.len() == 5
        && offset.as_bytes()[2] == b':'
        && stamp.contains('T')
        && let Ok(at) = DateTime::parse_from_rfc3339(&format!("{stamp}+{offset}"))
    {
        return Some(at.with_timezone(&Utc));
    }
    let local = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())?;
    let moscow = chrono::FixedOffset::east_opt(3 * 3600)?;
    moscow
        .from_local_datetime(&local)
        .single()
        .map(|at| at.with_timezone(&Utc))
}

/// The caller-ID text the PBX shows: at most 40 characters. `None` for a name that is
/// only a number (a lead known by its phone alone): the PBX shows the number anyway.
pub fn caller_id_name(name: &str) -> Option<String> {
    let is_a_number = name
        .chars()
        .all(|c| c.is_ascii_digit() || "+-() ".contains(c));
    let shown: String = name.chars().filter(|c| !c.is_control()).take(40).collect();
    let shown = shown.trim();
    (!is_a_number && !shown.is_empty()).then(|| shown.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_three_templates_read() {
        let start = parse_call_notice(&query(&[
            ("event", "start"),
            ("linkedid", "mikopbx-1698228609.369"),
            ("from", "79257181233"),
            ("did", "1233"),
        ]))
        .unwrap();
        assert_eq!(start.event, CallEvent::Start);
        assert!(matches!(&start.caller, Some(PhoneParse::Valid(p)) if p.e164 == "+79257181233"));

        let end = parse_call_notice(&query(&[
            ("event", "end"),
            ("linkedid", "mikopbx-1698228609.369"),
            ("uid", "mikopbx-1698228610.373_een3wt"),
            ("ext", "201"),
            ("from", "89257181233"),
            ("to", "201"),
            ("did", "Основная линия"),
            ("ts", "2023-10-25T13:10:10 03:00"),
            ("missed", ""),
            (
                "rec",
                "/storage/usbdisk1/mikopbx/astspool/monitor/2023/10/25/13/x.mp3",
            ),
            ("unknown", "ignored"),
        ]))
        .unwrap();
        assert!(!end.missed);
        assert_eq!(end.at, Some("2023-10-25T10:10:10Z".parse().unwrap()));
        assert_eq!(end.did.as_deref(), Some("Основная линия"));
        assert!(matches!(&end.caller, Some(PhoneParse::Valid(p)) if p.e164 == "+79257181233"));
        let missed = parse_call_notice(&query(&[
            ("event", "end"),
            ("linkedid", "x"),
            ("missed", "1"),
        ]))
        .unwrap();
        assert!(missed.missed);
    }

    #[test]
    fn bad_requests_are_named() {
        assert_eq!(
            parse_call_notice(&query(&[("event", "ring"), ("linkedid", "x")])),
            Err(CallNoticeError::UnknownEvent)
        );
        assert_eq!(
            parse_call_notice(&query(&[("event", "start")])),
            Err(CallNoticeError::NoLinkedId)
        );
        assert_eq!(
            parse_call_notice(&query(&[("event", "start"), ("linkedid", "a\nb")])),
            Err(CallNoticeError::BadLinkedId)
        );
    }

    #[test]
    fn pbx_times_are_read_tolerantly() {
        let expected: DateTime<Utc> = "2023-10-25T10:10:10Z".parse().unwrap();
        for text in [
            "2023-10-25T13:10:10+03:00",
            "2023-10-25T13:10:10 03:00",
            "2023-10-25 13:10:10",
            "2023-10-25T10:10:10Z",
        ] {
            assert_eq!(parse_pbx_time(text), Some(expected), "{text}");
        }
        assert_eq!(parse_pbx_time("yesterday"), None);
    }

    #[test]
    fn caller_id_is_cut_to_40_characters() {
        let long = "ООО «Очень длинное название завода вакуумного оборудования»";
        assert_eq!(caller_id_name(long).unwrap().chars().count(), 40);
        assert_eq!(caller_id_name("+79257181233"), None);
        assert_eq!(caller_id_name("Иван"), Some("Иван".to_owned()));
    }
}
