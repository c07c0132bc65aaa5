//! What a warehouse scanner types: a plain GTIN (EAN-8, UPC-A/GTIN-12, EAN-13, GTIN-14)
//! with its check digit, or a GS1-128 / GS1 DataMatrix element string of application
//! identifiers — `01` GTIN, `10` batch, `17` expiry, `11` production date, `21` serial,
//! `30`/`37` quantity — with or without the GS separator (keyboard-wedge scanners often
//! drop it: fixed-length identifiers are cut by the GS1 table, and a variable-length one
//! ends at a GS, at its maximum length, or at the end of the scan).
//!
//! One pass over the input; anything it cannot read is a [`ScanError`], never a panic.

use chrono::{Datelike, NaiveDate};

/// The GS separator (ASCII 29) between variable-length fields.
pub const GS: char = '\u{1d}';

/// The longest scan read.
const MAX_SCAN_CHARS: usize = 200;

/// What one scan identified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// The product's GTIN as 14 digits (shorter GTINs left-padded with zeros).
    pub gtin: String,
    pub batch: Option<String>,
    /// The expiry date (`17`; day `00` is the month's last day).
    pub expiry: Option<NaiveDate>,
    pub produced: Option<NaiveDate>,
    pub serial: Option<String>,
    /// Units in this scan (`30` or `37`), when the label says.
    pub quantity: Option<u32>,
}

/// Why a scan cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("the scan is empty or longer than {MAX_SCAN_CHARS} characters")]
    Length,
    #[error("{0} is not a GTIN-8, -12, -13 or -14")]
    NotAGtin(String),
    #[error("the check digit of {0} is wrong")]
    CheckDigit(String),
    #[error("application identifier ({0}) is not one this warehouse reads")]
    UnknownIdentifier(String),
    #[error("the value of ({0}) is missing or malformed")]
    BadValue(&'static str),
    #[error("the element string names no product (01)")]
    NoGtin,
}

/// Whether `digits` (8, 12, 13 or 14 of them) end with the right GS1 check digit.
pub fn gtin_check_digit_ok(digits: &str) -> bool {
    if !matches!(digits.len(), 8 | 12 | 13 | 14) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let values: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
    let (body, check) = values.split_at(values.len() - 1);
    // Weights 3, 1, 3, … from the digit next to the check digit leftwards.
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    (10 - sum % 10) % 10 == check[0]
}

/// A GTIN as scanned, checked and padded to 14 digits.
pub fn gtin14(digits: &str) -> Result<String, ScanError> {
    if !matches!(digits.len(), 8 | 12 | 13 | 14) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ScanError::NotAGtin(digits.to_owned()));
    }
    if !gtin_check_digit_ok(digits) {
        return Err(ScanError::CheckDigit(digits.to_owned()));
    }
    Ok(format!("{digits:0>14}"))
}

/// The identifiers read, with their fixed value length (`None`: variable, up to `max`).
const IDENTIFIERS: &[(&str, Option<usize>, usize)] = &[
    ("01", Some(14), 14),
    ("10", None, 20),
    ("11", Some(6), 6),
    ("17", Some(6), 6),
    ("21", None, 20),
    ("30", None, 8),
    ("37", None, 8),
];

/// Reads one scan: a bare GTIN, or an element string (optionally with a `]C1`/`]d2`/`]Q3`
/// symbology prefix and `(AI)` brackets as printed under the bars).
pub fn parse_scan(input: &str) -> Result<Scan, ScanError> {
    let input = input.trim_matches(|c: char| c.is_whitespace() && c != GS);
    if input.is_empty() || input.chars().count() > MAX_SCAN_CHARS {
        return Err(ScanError::Length);
    }
    let input = ["]C1", "]d2", "]Q3", "]e0"]
        .iter()
        .find_map(|prefix| input.strip_prefix(prefix))
        .unwrap_or(input);
    if input.bytes().all(|b| b.is_ascii_digit()) && matches!(input.len(), 8 | 12 | 13) {
        return Ok(Scan {
            gtin: gtin14(input)?,
            ..Scan::default()
        });
    }
    // Printed form `(01)…(10)…`: brackets mark identifiers; read them as separators.
    let plain: String = if input.starts_with('(') {
        let mut out = String::with_capacity(input.len());
        for (index, part) in input.split('(').enumerate().skip(1) {
            if index > 1 {
                out.push(GS);
            }
            out.push_str(&part.replacen(')', "", 1));
        }
        out
    } else {
        input.to_owned()
    };
    parse_element_string(&plain)
}

fn parse_element_string(text: &str) -> Result<Scan, ScanError> {
    let mut scan = Scan::default();
    let mut rest = text;
    while !rest.is_empty() {
        rest = rest.trim_start_matches(GS);
        if rest.is_empty() {
            break;
        }
        let code = rest
            .get(..2)
            .ok_or(ScanError::UnknownIdentifier(rest.to_owned()))?;
        let &(ai, fixed, max) = IDENTIFIERS
            .iter()
            .find(|(ai, _, _)| *ai == code)
            .ok_or_else(|| ScanError::UnknownIdentifier(code.to_owned()))?;
        let after = &rest[2..];
        let (value, next) = match fixed {
            Some(length) => {
                let value = after.get(..length).ok_or(ScanError::BadValue(ai))?;
                (value, &after[length..])
            }
            None => variable_value(after, max),
        };
        apply(&mut scan, ai, value)?;
        rest = next;
    }
    if scan.gtin.is_empty() {
        return Err(ScanError::NoGtin);
    }
    Ok(scan)
}

/// A variable-length value: up to a GS, else up to `max` characters or the end. Without
/// separators only the last field may be variable-length (as GS1 asks labels to put it);
/// guessing where a batch "really" ends would misread batches that end in digits.
fn variable_value(text: &str, max: usize) -> (&str, &str) {
    let end = text.find(GS).unwrap_or(text.len()).min(max).min(text.len());
    let end = (0..=end)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    (&text[..end], &text[end..])
}

fn apply(scan: &mut Scan, ai: &'static str, value: &str) -> Result<(), ScanError> {
    match ai {
        "01" => scan.gtin = gtin14(value)?,
        "10" => scan.batch = Some(non_empty(ai, value)?),
        "21" => scan.serial = Some(non_empty(ai, value)?),
        "11" => scan.produced = Some(gs1_date(ai, value)?),
        "17" => scan.expiry = Some(gs1_date(ai, value)?),
        _ => {
            let quantity = value
                .parse::<u32>()
                .ok()
                .filter(|q| *q > 0)
                .ok_or(ScanError::BadValue(ai))?;
            scan.quantity = Some(quantity);
        }
    }
    Ok(())
}

fn non_empty(ai: &'static str, value: &str) -> Result<String, ScanError> {
    let printable = !value.is_empty() && value.chars().all(|c| c.is_ascii_graphic());
    printable
        .then(|| value.to_owned())
        .ok_or(ScanError::BadValue(ai))
}

/// `YYMMDD` as GS1 reads it: the century that puts the year nearest today's (within
/// 2000–2099 for this product's lifetime), day `00` the month's last day.
fn gs1_date(ai: &'static str, value: &str) -> Result<NaiveDate, ScanError> {
    if value.len() != 6 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ScanError::BadValue(ai));
    }
    let number = |range: std::ops::Range<usize>| value[range].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (2000 + number(0..2) as i32, number(2..4), number(4..6));
    let date = if day == 0 {
        NaiveDate::from_ymd_opt(year, month, 1).and_then(|first| {
            let next = if month == 12 {
                NaiveDate::from_ymd_opt(year + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(year, month + 1, 1)
            };
            next.and_then(|n| n.pred_opt())
                .filter(|last| last.month() == first.month())
        })
    } else {
        NaiveDate::from_ymd_opt(year, month, day)
    };
    date.ok_or(ScanError::BadValue(ai))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn check_digits_of_every_gtin_length() {
        for good in [
            "96385074",
            "036000291452",
            "4006381333931",
            "10614141000415",
        ] {
            assert!(gtin_check_digit_ok(good), "{good}");
        }
        for bad in [
            "96385075",
            "036000291453",
            "4006381333932",
            "10614141000416",
            "123",
        ] {
            assert!(!gtin_check_digit_ok(bad), "{bad}");
        }
        assert_eq!(gtin14("4006381333931").unwrap(), "04006381333931");
        assert_eq!(
            parse_scan("4006381333932"),
            Err(ScanError::CheckDigit("4006381333932".into()))
        );
    }

    #[test]
    fn an_element_string_with_separators() {
        let scan = parse_scan("]d20104006381333931\u{1d}10LOT-7\u{1d}17261200\u{1d}3712").unwrap();
        assert_eq!(scan.gtin, "04006381333931");
        assert_eq!(scan.batch.as_deref(), Some("LOT-7"));
        assert_eq!(
            scan.expiry,
            Some(date(2026, 12, 31)),
            "day 00: the month's last day"
        );
        assert_eq!(scan.quantity, Some(12));
    }

    #[test]
    fn an_element_string_whose_separators_the_scanner_dropped() {
        assert_eq!(
            parse_scan("010400638133393117270229"),
            Err(ScanError::BadValue("17")),
            "2027-02-29 does not exist"
        );
        let scan = parse_scan("01040063813339311125011517270228").unwrap();
        assert_eq!(scan.produced, Some(date(2025, 1, 15)));
        assert_eq!(scan.expiry, Some(date(2027, 2, 28)));
        let scan = parse_scan("0104006381333931172702281017270101").unwrap();
        assert_eq!(
            scan.batch.as_deref(),
            Some("17270101"),
            "a batch last runs to the end, even when it looks like an expiry"
        );
    }

    #[test]
    fn the_printed_form_with_brackets() {
        let scan = parse_scan("(01)04006381333931(17)270100(10)B-2(21)SN42").unwrap();
        assert_eq!(scan.expiry, Some(date(2027, 1, 31)));
        assert_eq!(scan.batch.as_deref(), Some("B-2"));
        assert_eq!(scan.serial.as_deref(), Some("SN42"));
    }

    #[test]
    fn what_cannot_be_read_is_refused_with_a_reason() {
        assert_eq!(parse_scan(""), Err(ScanError::Length));
        assert_eq!(
            parse_scan("9904006381333931"),
            Err(ScanError::UnknownIdentifier("99".into()))
        );
        assert_eq!(parse_scan("10LOT"), Err(ScanError::NoGtin));
        assert_eq!(
            parse_scan("0104006381333931171313"),
            Err(ScanError::BadValue("17"))
        );
        assert_eq!(parse_scan("01040063813339"), Err(ScanError::BadValue("01")));
    }
}
