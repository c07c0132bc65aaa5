//! Email intake: raw MIME in, an [`InboundEmail`] out — its natural key, its kind, the
//! person behind it, the text and the attachments. Pure: no I/O, so the same code serves
//! the Lambda, `crm-local parse-email` and the benchmark.

pub mod classify;
pub mod fields;
mod html;
pub mod verdicts;

pub use classify::{EmailKind, EmailSignals, classify};

use crate::intake::LeftOut;
use crate::kernel::sha256_hex;
use crate::party::{EmailAddress, PersonDetails, PhoneNumber, PhoneParse, PointSource};
use classify::{count_timestamped_lines, is_jivo_address, is_robot_address};
use fields::{company_from_signature, labelled_fields, quoted_sender, strip_quoted_history};
use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders, PartType};
use serde::Serialize;
use verdicts::ses_verdicts;

/// The largest message intake reads. SES inbound delivers at most 40 MB to S3.
pub const MAX_MESSAGE_BYTES: usize = 40 * 1024 * 1024;

/// The largest HTML body turned into text; the rest stays in the raw copy.
pub const MAX_HTML_BYTES: usize = 4 * 1024 * 1024;

/// The most body text read for fields, contacts and classification (what is kept on the
/// inquiry is smaller still); the rest stays in the raw copy.
pub const MAX_READ_TEXT_BYTES: usize = 512 * 1024;

/// The most attachments taken in from one message; the rest stay in the raw copy.
pub const MAX_ATTACHMENTS: usize = 50;

/// Headers of which a real message has at least one; bytes without any are not mail.
const MESSAGE_HEADERS: &[&str] = &[
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Date",
    "Subject",
    "Message-ID",
    "Received",
    "Return-Path",
    "MIME-Version",
    "Content-Type",
];

/// Why a raw object cannot be read as an email. Permanent: retrying will not help.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailParseError {
    #[error("the object is empty")]
    Empty,
    #[error("the message is {0} bytes, over the {MAX_MESSAGE_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("no RFC 5322 header could be read")]
    NoHeaders,
}

/// A file that came with the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmailAttachment {
    pub filename: String,
    pub content_type: String,
    pub size: usize,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// An inbound email, read and classified.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboundEmail {
    /// The `Message-ID` without angle brackets, when the message has one.
    pub message_id: Option<String>,
    /// `email#<message-id>`, or `email#sha256:<hash of the raw bytes>` without one: the
    /// idempotency key of this message.
    #[serde(skip)]
    pub natural_key: String,
    pub kind: EmailKind,
    pub contact: PersonDetails,
    pub subject: Option<String>,
    pub text: String,
    pub attachments: Vec<EmailAttachment>,
    /// What reading left in the raw copy only, past a budget.
    pub left_out: Vec<LeftOut>,
    /// Where the contact came from: authenticated mail confirms it, anything else
    /// (Reply-To, unauthenticated mail, form fields) only proposes it.
    pub contact_source: PointSource,
    /// The employee who forwarded a client's message into the mailbox.
    pub forwarded_by: Option<EmailAddress>,
    /// Why no sender could be read, when none could.
    #[serde(skip)]
    pub sender_problem: Option<&'static str>,
}

/// Reads, classifies and extracts one raw message.
pub fn parse_email(raw: &[u8]) -> Result<InboundEmail, EmailParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(EmailParseError::Empty);
    }
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(EmailParseError::TooLarge(raw.len()));
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(EmailParseError::NoHeaders)?;
    let has_message_headers = message.headers().iter().any(|h| {
        MESSAGE_HEADERS
            .iter()
            .any(|known| h.name().eq_ignore_ascii_case(known))
    });
    if !has_message_headers {
        return Err(EmailParseError::NoHeaders);
    }

    let message_id = message
        .message_id()
        .map(|id| id.trim().trim_matches(['<', '>']).trim().to_owned())
        .filter(|id| !id.is_empty());
    let natural_key = natural_key(message_id.as_deref(), raw);
    let subject = message
        .subject()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let mut left_out = Vec::new();
    let text = body_text(&message, &mut left_out);
    let from = first_address(message.from());
    let reply_to = first_address(message.reply_to());
    let fields = labelled_fields(&text);

    let signals = EmailSignals {
        from: from.as_ref().map(|(address, _)| address),
        subject: subject.as_deref().unwrap_or_default(),
        auto_submitted: header_text(&message, "Auto-Submitted"),
        precedence: header_text(&message, "Precedence"),
        autoreply_header: ["X-Autoreply", "X-Autorespond", "X-Auto-Reply"]
            .iter()
            .any(|h| message.header(*h).is_some()),
        list_headers: message.header("List-Id").is_some()
            || message.header("List-Unsubscribe").is_some(),
        null_return_path: has_null_return_path(&message),
        delivery_report: is_delivery_report(&message),
        timestamped_lines: count_timestamped_lines(&text),
        fields: &fields,
        body: &text,
    };
    let verdicts = ses_verdicts(
        |name| first_header(&message, raw, name),
        from.as_ref().map(|(address, _)| address.domain()),
    );
    let kind = if verdicts.virus_failed {
        EmailKind::Virus
    } else if verdicts.spam_failed {
        EmailKind::Spam
    } else {
        classify(&signals)
    };

    let company_domain = company_domain(&message, raw);
    let Extracted {
        person: contact,
        source: contact_source,
        forwarded_by,
    } = extract_person(
        kind,
        &fields,
        from.as_ref(),
        reply_to.as_ref(),
        &text,
        verdicts.sender_authenticated,
        company_domain.as_deref(),
    );
    let sender_problem = match (&contact.email, &contact.phone, &from) {
        (None, None, None) => Some("the message has no readable From and no contact in its body"),
        (None, None, Some(_)) => Some("no contact point of the person could be read"),
        _ => None,
    };

    Ok(InboundEmail {
        message_id,
        natural_key,
        kind,
        contact,
        subject,
        text,
        attachments: attachments(&message, &mut left_out),
        left_out,
        contact_source,
        forwarded_by,
        sender_problem,
    })
}

/// The idempotency key of a message: its Message-ID, or a hash of its bytes. Very long
/// ids are hashed too, to stay well inside DynamoDB's key size.
pub fn natural_key(message_id: Option<&str>, raw: &[u8]) -> String {
    match message_id {
        Some(id) if id.len() <= 400 => format!("email#{id}"),
        Some(id) => format!("email#sha256:{}", sha256_hex(id.as_bytes())),
        None => format!("email#sha256:{}", sha256_hex(raw)),
    }
}

/// The company's own mail domain, from the file alone: the domain the message was
/// delivered to (`Delivered-To`, `X-Original-To`, else the first `To`). Delivery headers
/// are the receiving server's, on top: the topmost one, never a sender's copy lower down.
fn company_domain(message: &Message<'_>, raw: &[u8]) -> Option<String> {
    ["Delivered-To", "X-Original-To"]
        .iter()
        .find_map(|name| first_header(message, raw, name))
        .and_then(|raw| EmailAddress::parse(raw.trim().trim_matches(['<', '>'])))
        .or_else(|| first_address(message.to()).map(|(address, _)| address))
        .map(|address| address.domain().to_ascii_lowercase())
}

/// The topmost occurrence of a header, raw (mail-parser's own lookup answers the last).
fn first_header<'a>(message: &Message<'_>, raw: &'a [u8], name: &str) -> Option<&'a str> {
    let header = message
        .headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))?;
    let bytes = raw.get(header.offset_start() as usize..header.offset_end() as usize)?;
    std::str::from_utf8(bytes).ok()
}

fn header_text(message: &Message<'_>, name: &str) -> Option<String> {
    match message.header(name)? {
        HeaderValue::Text(text) => Some(text.trim().to_lowercase()),
        HeaderValue::TextList(list) => list.first().map(|t| t.trim().to_lowercase()),
        _ => message
            .header_raw(name)
            .map(|raw| raw.trim().to_lowercase()),
    }
}

fn has_null_return_path(message: &Message<'_>) -> bool {
    message
        .header_raw("Return-Path")
        .is_some_and(|raw| raw.trim().trim_matches(['<', '>']).trim().is_empty())
}

fn is_delivery_report(message: &Message<'_>) -> bool {
    let report_root = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    });
    report_root
        || message.parts.iter().any(|part| {
            part.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("message")
                    && ct
                        .subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("delivery-status"))
            })
        })
}

/// The first mailbox of an address header, with its display name.
fn first_address(address: Option<&Address<'_>>) -> Option<(EmailAddress, Option<String>)> {
    address?.iter().find_map(|addr| {
        let email = EmailAddress::parse(addr.address()?)?;
        let name = addr
            .name()
            .map(|n| n.trim().trim_matches('"').trim().to_owned())
            .filter(|n| !n.is_empty() && !n.contains('@'));
        Some((email, name))
    })
}

/// The main text of a message: the first text body, else the first HTML body as text.
/// Both are cut to their budgets ([`MAX_HTML_BYTES`], [`MAX_READ_TEXT_BYTES`]), noted in
/// `left_out`.
fn body_text(message: &Message<'_>, left_out: &mut Vec<LeftOut>) -> String {
    let html_only = message
        .text_bodies()
        .next()
        .is_some_and(|part| matches!(part.body, PartType::Html(_)));
    let text = if html_only {
        message.body_html(0).map(|html| {
            let (html, cut) = cut_to(&html, MAX_HTML_BYTES);
            if cut {
                left_out.push(LeftOut::Html);
            }
            html::to_text(html)
        })
    } else {
        message.body_text(0).map(|t| t.replace("\r\n", "\n"))
    };
    let text = text.unwrap_or_default();
    let (text, cut) = cut_to(text.trim(), MAX_READ_TEXT_BYTES);
    if cut {
        left_out.push(LeftOut::Text);
    }
    text.to_owned()
}

/// `text` cut to at most `max` bytes on a character boundary, and whether it was cut.
fn cut_to(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

/// Who a message is from, and how far to trust it.
struct Extracted {
    person: PersonDetails,
    source: PointSource,
    forwarded_by: Option<EmailAddress>,
}

/// Who the message is from, by its kind: site forms and Jivo carry the person in the body
/// (their `From` is a robot); hand-written mail is from `Reply-To`, else `From` — unless
/// that is one of ours (`company_domain`, the domain the mail was sent to): then a
/// forwarded or quoted client's message names the client, and the employee is noted as
/// who forwarded it; our own addresses and our signatures' phones never become a client's.
/// Phones are every number in the author's own part (above the quoted history).
fn extract_person(
    kind: EmailKind,
    fields: &fields::LabelledFields,
    from: Option<&(EmailAddress, Option<String>)>,
    reply_to: Option<&(EmailAddress, Option<String>)>,
    text: &str,
    authenticated: bool,
    company_domain: Option<&str>,
) -> Extracted {
    let labelled_phone =
        |f: &fields::LabelledFields| f.phone.as_deref().and_then(PhoneNumber::parse);
    let human = |address: &&(EmailAddress, Option<String>)| {
        !is_robot_address(&address.0) && !is_jivo_address(&address.0)
    };
    let ours =
        |e: &EmailAddress| company_domain.is_some_and(|d| e.domain().eq_ignore_ascii_case(d));
    match kind {
        EmailKind::JivoChat | EmailKind::SiteForm => {
            let reply_to = reply_to.filter(human);
            let source = if kind == EmailKind::JivoChat {
                PointSource::JivoVisitor
            } else {
                PointSource::FormField
            };
            let person = PersonDetails {
                name: fields
                    .name
                    .clone()
                    .or_else(|| reply_to.and_then(|(_, n)| n.clone())),
                email: fields
                    .email
                    .as_deref()
                    .and_then(EmailAddress::parse)
                    .or_else(|| reply_to.map(|(e, _)| e.clone()))
                    .filter(|e| !ours(e)),
                phone: labelled_phone(fields),
                company: fields.company.clone(),
                other_phones: Vec::new(),
            };
            Extracted {
                person,
                source,
                forwarded_by: None,
            }
        }
        _ => {
            let human_reply_to = reply_to.filter(human);
            let sender = human_reply_to.or(from);
            // Reply-To is the sender's claim; only the authenticated From address vouches.
            let reply_to_differs =
                human_reply_to.is_some_and(|(r, _)| from.is_none_or(|(f, _)| f != r));
            let source = match (authenticated, reply_to_differs) {
                (_, true) => PointSource::ReplyTo,
                (true, false) => PointSource::AuthenticatedMail,
                (false, false) => PointSource::UnauthenticatedMail,
            };
            let own_text = strip_quoted_history(text);
            let history = &text[own_text.len()..];
            if let Some((employee, _)) = sender.filter(|(e, _)| ours(e)) {
                // One of ours wrote: the client is whoever the forwarded block is from.
                let forwarded = quoted_sender(history).and_then(|(address, name, body)| {
                    let client = EmailAddress::parse(&address).filter(|e| !ours(e))?;
                    Some((client, name, body))
                });
                let person = match forwarded {
                    Some((client, name, body)) => {
                        person_from_text(Some(client), name, body, labelled_phone)
                    }
                    None => PersonDetails::default(),
                };
                return Extracted {
                    person,
                    // We only have our employee's word for the forwarded sender.
                    source: PointSource::UnauthenticatedMail,
                    forwarded_by: Some(employee.clone()),
                };
            }
            let name = sender
                .and_then(|(_, n)| n.clone())
                .or_else(|| from.and_then(|(_, n)| n.clone()));
            Extracted {
                person: person_from_text(
                    sender.map(|(e, _)| e.clone()),
                    name,
                    own_text,
                    labelled_phone,
                ),
                source,
                forwarded_by: None,
            }
        }
    }
}

/// A person from an address, its display name and the text they wrote themselves: every
/// phone in it (a labelled one that is not valid is kept as written), the company from
/// the signature, and, for a shared mailbox (`info@`), the name the signature gives.
fn person_from_text(
    email: Option<EmailAddress>,
    name: Option<String>,
    own_text: &str,
    labelled_phone: impl Fn(&fields::LabelledFields) -> Option<PhoneParse>,
) -> PersonDetails {
    let signature = labelled_fields(own_text);
    let mut phones = PhoneNumber::all_in(own_text).into_iter();
    let phone = phones
        .next()
        .map(PhoneParse::Valid)
        .or_else(|| labelled_phone(&signature));
    let generic = email
        .as_ref()
        .is_some_and(|e| fields::is_generic_mailbox(e.local_part()));
    let name = if generic || name.is_none() {
        fields::name_from_signature(own_text).or(name)
    } else {
        name
    };
    PersonDetails {
        name,
        email,
        phone,
        company: signature
            .company
            .clone()
            .or_else(|| company_from_signature(own_text)),
        other_phones: phones.collect(),
    }
}

/// The first [`MAX_ATTACHMENTS`] files; more is noted in `left_out`.
fn attachments(message: &Message<'_>, left_out: &mut Vec<LeftOut>) -> Vec<EmailAttachment> {
    let files = || {
        message
            .attachments()
            .filter(|part| !matches!(part.body, PartType::Multipart(_)))
    };
    if files().nth(MAX_ATTACHMENTS).is_some() {
        left_out.push(LeftOut::Attachments);
    }
    files()
        .take(MAX_ATTACHMENTS)
        .enumerate()
        .map(|(index, part)| {
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub).to_lowercase(),
                    None => ct.ctype().to_lowercase(),
                })
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            let filename = part
                .attachment_name()
                .map(str::to_owned)
                .or_else(|| {
                    part.message()
                        .and_then(|m| m.subject())
                        .map(|s| format!("{s}.eml"))
                })
                .unwrap_or_else(|| format!("attachment-{}", index + 1));
            let bytes = part.contents().to_vec();
            EmailAttachment {
                filename,
                content_type,
                size: bytes.len(),
                bytes,
            }
        })
        .collect()
}
