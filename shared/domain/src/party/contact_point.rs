//! Contact points: the normalised email addresses and phone numbers by which a person is
//! recognised. Each normalised contact point belongs to one party only; its [`key`] is the
//! unique item the store guards with a conditional write.
//!
//! [`key`]: ContactPoint::key

use rlibphonenumber::phonenumber_matcher::{Leniency, PHONE_MATCHER_FACTORY};
use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumberFormat, enums::Region};

/// The most candidate numbers the matcher examines in one text (its own work bound).
const MAX_MATCHER_TRIES: u64 = 1000;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An email address in canonical form: trimmed, lower-cased, `local@domain` with a dotted
/// domain. Mailbox providers treat the local part case-insensitively in practice, and a
/// CRM that keeps `Ivan@Mail.ru` and `ivan@mail.ru` apart makes duplicate leads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses free text (`" Ivan@Mail.RU "`, `<ivan@mail.ru>`, `mailto:ivan@mail.ru`).
    pub fn parse(text: &str) -> Option<Self> {
        let trimmed = text
            .trim()
            .trim_start_matches("mailto:")
            .trim_matches(|c: char| {
                c == '<' || c == '>' || c == '"' || c == '\'' || c.is_whitespace()
            })
            .trim_end_matches(['.', ',', ';']);
        let (local, domain) = trimmed.rsplit_once('@')?;
        let valid_local = !local.is_empty()
            && local.len() <= 64
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let valid_domain = domain.len() <= 253
            && domain.contains('.')
            && !domain.starts_with(['.', '-'])
            && !domain.ends_with(['.', '-'])
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        (valid_local && valid_domain).then(|| Self(format!("{local}@{domain}").to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The placeholder a configuration reader returns beside a recorded problem.
    pub fn unset() -> Self {
        Self(String::new())
    }

    /// The part after `@`, used to recognise robots (`noreply@`, Jivo, the company's own site).
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or_default()
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or_else(|| "not an email address".to_owned())
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A valid phone number: E.164 plus the last ten digits MikoPBX matches on, the extension
/// if one was written, and the text it was read from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PhoneNumber {
    pub e164: String,
    pub last10: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    pub raw: String,
}

/// The result of reading a phone from free text. Invalid numbers are kept, marked, never
/// silently dropped: a manager can still read and call `3456789`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PhoneParse {
    Valid(PhoneNumber),
    Invalid { raw: String },
}

impl PhoneNumber {
    /// Parses text as written by Russian users: `8 (495) 123-45-67`, `+7 495 1234567`,
    /// `79257181233` (MikoPBX), a bare ten-digit `9123456789`, `8 10 49 30 …`
    /// (international through the Russian exit code), `тел. … доб. 123`.
    /// Default region is RU. Returns `None` when the text holds no digits at all.
    pub fn parse(text: &str) -> Option<PhoneParse> {
        let raw = text.trim();
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return None;
        }
        let candidate = national_prefix_rewrite(raw, &digits);
        let parsed = PHONE_NUMBER_UTIL.parse(candidate.as_deref().unwrap_or(raw), Some(Region::RU));
        let number = match parsed {
            Ok(number) if number.is_valid() => number,
            _ => {
                return Some(PhoneParse::Invalid {
                    raw: raw.to_owned(),
                });
            }
        };
        let e164 = number.format_as(PhoneNumberFormat::E164).into_owned();
        let e164_digits = e164.trim_start_matches('+');
        let last10 = e164_digits[e164_digits.len().saturating_sub(10)..].to_owned();
        let extension = number.extension.clone().filter(|e| !e.is_empty());
        Some(PhoneParse::Valid(PhoneNumber {
            e164,
            last10,
            extension,
            raw: raw.to_owned(),
        }))
    }

    /// Every valid phone number in free text, in order, each once: libphonenumber's own
    /// matcher (`findNumbers`) at its `Valid` leniency with Russia as the home region, so
    /// `тел. 8 (3452) 12-34-56 доб. 123`, `+7 (903) 765-43-21`, `(8202) 53-44-10`,
    /// `89161234567` are found — the extension kept apart — while dates, INNs, KPPs, bank
    /// accounts and order numbers are not. The matcher's work is capped, so this stays
    /// linear in the text.
    pub fn all_in(text: &str) -> Vec<PhoneNumber> {
        const MAX_PHONES: usize = 10;
        let mut found: Vec<PhoneNumber> = Vec::new();
        let matches = PHONE_MATCHER_FACTORY
            .matcher_builder(text)
            .leniency(Leniency::Valid)
            .preferred_region(Region::RU)
            .max_tries(MAX_MATCHER_TRIES)
            .build();
        for found_number in matches {
            let e164 = found_number
                .number
                .format_as(PhoneNumberFormat::E164)
                .into_owned();
            if found.iter().any(|p| p.e164 == e164) {
                continue;
            }
            let digits = e164.trim_start_matches('+');
            found.push(PhoneNumber {
                last10: digits[digits.len().saturating_sub(10)..].to_owned(),
                extension: found_number
                    .number
                    .extension
                    .clone()
                    .filter(|e| !e.is_empty()),
                raw: found_number.raw_string.trim().to_owned(),
                e164,
            });
            if found.len() == MAX_PHONES {
                break;
            }
        }
        found
    }

    /// The `ContactPoint` this number is matched by.
    pub fn contact_point(&self) -> ContactPoint {
        ContactPoint::Phone(self.e164.clone())
    }
}

/// Rewrites the forms libphonenumber does not read with region RU by itself:
/// `7XXXXXXXXXX` without a plus (MikoPBX sends callers like that) and the old Russian
/// exit code `8 10 …`. Returns `None` when the text can be parsed as it is.
fn national_prefix_rewrite(raw: &str, digits: &str) -> Option<String> {
    let starts_with_plus = raw.trim_start().starts_with('+');
    if starts_with_plus {
        return None;
    }
    let first_digit_at = raw.find(|c: char| c.is_ascii_digit())?;
    let leading = &raw[first_digit_at..];
    let compact: String = leading
        .chars()
        .take_while(|c| c.is_ascii_digit() || " -()".contains(*c))
        .filter(char::is_ascii_digit)
        .collect();
    if compact.len() == 11 && compact.starts_with('7') {
        return Some(format!("+{compact}{}", rest_after_number(leading)));
    }
    if compact.starts_with("810") && compact.len() > 10 && digits.len() == compact.len() {
        return Some(format!("+{}", &compact[3..]));
    }
    None
}

/// What follows the leading number in `leading` (an extension such as ` доб. 123`).
fn rest_after_number(leading: &str) -> &str {
    let end = leading
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || " -()".contains(*c)))
        .map(|(i, _)| i)
        .unwrap_or(leading.len());
    &leading[end..]
}

/// Where the contact points of a message were learned, and so whether they are trusted.
/// Only what an authenticated source vouches for *confirms* a point: mail whose sender
/// SES authenticated (DMARC, or DKIM/SPF aligned with the From domain), the PBX's caller
/// number, a member of staff. Everything else *proposes*: Reply-To, unauthenticated mail
/// and its signature, form fields, Jivo visitor data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointSource {
    AuthenticatedMail,
    UnauthenticatedMail,
    ReplyTo,
    FormField,
    JivoVisitor,
    PbxCaller,
    Staff,
}

impl PointSource {
    /// Whether a point from this source is confirmed on arrival.
    pub fn confirms(self) -> bool {
        matches!(
            self,
            Self::AuthenticatedMail | Self::PbxCaller | Self::Staff
        )
    }
}

/// A normalised contact point. Its key is what makes it unique in the store.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord, utoipa::ToSchema,
)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum ContactPoint {
    Email(EmailAddress),
    /// E.164, e.g. `+74951234567`.
    Phone(String),
}

impl ContactPoint {
    /// `email#ivan@mail.ru` or `phone#+74951234567`.
    pub fn key(&self) -> String {
        match self {
            Self::Email(email) => format!("email#{email}"),
            Self::Phone(e164) => format!("phone#{e164}"),
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        match key.split_once('#')? {
            ("email", value) => EmailAddress::parse(value).map(Self::Email),
            ("phone", value) if value.starts_with('+') => Some(Self::Phone(value.to_owned())),
            _ => None,
        }
    }
}

/// In the API contract an address is a string (normalised: trimmed, lower-case).
impl utoipa::PartialSchema for EmailAddress {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Email,
            )))
            .into()
    }
}

impl utoipa::ToSchema for EmailAddress {}

#[cfg(test)]
mod tests {

    #[test]
    fn phones_are_found_in_free_text_and_nothing_else_is() {
        let e164 = |text: &str| -> Vec<String> {
            PhoneNumber::all_in(text)
                .into_iter()
                .map(|p| match p.extension {
                    Some(ext) => format!("{} доб. {ext}", p.e164),
                    None => p.e164,
                })
                .collect()
        };
        assert_eq!(
            e164("тел. 8 (3452) 12-34-56 доб. 123"),
            ["+73452123456 доб. 123"]
        );
        assert_eq!(e164("--\nИван\n+7 (903) 765-43-21"), ["+79037654321"]);
        assert_eq!(e164("Петров Иван, 8-800-555-35-35"), ["+78005553535"]);
        assert_eq!(e164("Тел.: (8202) 53-44-10"), ["+78202534410"]);
        assert_eq!(e164("Перезвоните: 89161234567"), ["+79161234567"]);
        assert_eq!(
            e164("+7 495 123 45 67 доб. 12, моб 8 916 111 22 33, ещё раз 8 916 111-22-33"),
            ["+74951234567 доб. 12", "+79161112233"]
        );
        assert!(
            e164("Дата 29.11.2026, ИНН 7707083893, КПП 773601001, р/с 40702810938000012345, счёт № 1234567, заказ 2026-11-29, БИК 044525225, ОГРН 1027700132195")
                .is_empty()
        );
    }

    use super::*;

    fn e164(text: &str) -> Option<String> {
        match PhoneNumber::parse(text)? {
            PhoneParse::Valid(p) => Some(p.e164),
            PhoneParse::Invalid { .. } => None,
        }
    }

    /// The table in `events/phones.tsv`: text as written → E.164, or empty when invalid.
    #[test]
    fn the_russian_phone_table_normalises_to_one_e164() {
        let table = include_str!("../../../../events/phones.tsv");
        let mut rows = 0;
        for line in table
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let (text, expected) = line.split_once('\t').unwrap_or((line, ""));
            let expected = Some(expected.trim()).filter(|e| !e.is_empty());
            assert_eq!(e164(text).as_deref(), expected, "{text}");
            rows += 1;
        }
        assert_eq!(rows, 14);
    }

    #[test]
    fn the_extension_is_kept_and_last10_is_the_national_number() {
        let Some(PhoneParse::Valid(phone)) = PhoneNumber::parse("тел. 8(3452)12-34-56 доб. 123")
        else {
            panic!("expected a valid number");
        };
        assert_eq!(phone.extension.as_deref(), Some("123"));
        assert_eq!(phone.last10, "3452123456");
        assert_eq!(phone.raw, "тел. 8(3452)12-34-56 доб. 123");
    }

    #[test]
    fn short_numbers_are_marked_invalid_not_dropped() {
        assert_eq!(
            PhoneNumber::parse("3456789"),
            Some(PhoneParse::Invalid {
                raw: "3456789".into()
            })
        );
        assert_eq!(PhoneNumber::parse("нет телефона"), None);
    }

    #[test]
    fn emails_are_canonical() {
        assert_eq!(
            EmailAddress::parse(" <Ivan.Petrov@Mail.RU> ")
                .unwrap()
                .as_str(),
            "ivan.petrov@mail.ru"
        );
        assert_eq!(
            EmailAddress::parse("mailto:a@b.ru").unwrap().domain(),
            "b.ru"
        );
        for bad in [
            "",
            "ivan",
            "ivan@",
            "@mail.ru",
            "ivan@localhost",
            "a b@c.ru",
            "a@b..ru",
        ] {
            assert!(EmailAddress::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn contact_point_keys_round_trip() {
        let points = [
            ContactPoint::Email(EmailAddress::parse("a@b.ru").unwrap()),
            ContactPoint::Phone("+74951234567".into()),
        ];
        for point in points {
            assert_eq!(ContactPoint::from_key(&point.key()), Some(point.clone()));
        }
    }
}
