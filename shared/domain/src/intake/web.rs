//! Web intake payloads: Jivo webhooks and site forms (Tilda's urlencoded POST, or a plain
//! JSON form), read into what the shared intake path needs. Pure functions: the webhook
//! function stores the raw request, then calls these.

use super::email::fields::{Field, field_for_label};
use super::inquiry::InquiryKind;
use crate::kernel::sha256_hex;
use crate::kernel::time::format_moscow;
use crate::party::{Channel, EmailAddress, PersonDetails, PhoneNumber};
use serde::Deserialize;
use serde_json::Value;

/// A request that carries an inquiry.
#[derive(Debug, Clone, PartialEq)]
pub struct WebInquiry {
    /// `jivo#chat#<chat_id>`, `jivo#offline#<id>`, `form#tilda#<tranid>`, `form#sha256:<hash>`.
    pub event_key: String,
    pub channel: Channel,
    pub kind: InquiryKind,
    pub contact: PersonDetails,
    pub subject: Option<String>,
    pub text: String,
}

/// What a webhook request is.
#[derive(Debug, Clone, PartialEq)]
pub enum WebRequest {
    Inquiry(Box<WebInquiry>),
    /// A request to acknowledge and ignore (other Jivo events, Tilda's test ping).
    Acknowledge(&'static str),
}

/// Why a webhook body cannot be read: the sender gets a 400 with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the body is not valid JSON: {0}")]
    Json(String),
    #[error("the body is not valid form encoding: {0}")]
    FormEncoding(String),
    #[error("{0}")]
    Shape(String),
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Deserialize, Default)]
struct JivoVisitor {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct JivoMessage {
    #[serde(default)]
    message: String,
    timestamp: Option<i64>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize, Default)]
struct JivoChat {
    #[serde(default)]
    messages: Vec<JivoMessage>,
}

#[derive(Deserialize, Default)]
struct JivoPage {
    url: Option<String>,
    title: Option<String>,
}

#[derive(Deserialize)]
struct JivoEvent {
    event_name: String,
    #[serde(default)]
    chat_id: Value,
    #[serde(default)]
    offline_message_id: Value,
    #[serde(default)]
    visitor: Option<JivoVisitor>,
    #[serde(default)]
    chat: Option<JivoChat>,
    plain_messages: Option<String>,
    message: Option<String>,
    #[serde(default)]
    page: Option<JivoPage>,
}

fn person(
    name: Option<String>,
    email: Option<&str>,
    phone: Option<&str>,
    company: Option<String>,
) -> PersonDetails {
    PersonDetails {
        name: name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
        email: email.and_then(EmailAddress::parse),
        phone: phone.and_then(PhoneNumber::parse),
        company: company
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty()),
        other_phones: Vec::new(),
    }
}

/// Reads a Jivo webhook. `chat_finished` and `offline_message` are inquiries of channel
/// `chat` with the transcript; every other event is acknowledged.
pub fn parse_jivo(body: &[u8]) -> Result<WebRequest, WebhookError> {
    let event: JivoEvent =
        serde_json::from_slice(body).map_err(|e| WebhookError::Json(e.to_string()))?;
    let (event_key, transcript) = match event.event_name.as_str() {
        "chat_finished" => {
            let chat_id = text_of(&event.chat_id)
                .ok_or_else(|| WebhookError::Shape("chat_finished needs chat_id".into()))?;
            let lines: Vec<String> = event
                .chat
                .unwrap_or_default()
                .messages
                .into_iter()
                .filter(|m| !m.message.trim().is_empty())
                .map(|m| {
                    let who = match m.kind.as_deref() {
                        Some("visitor") => "Посетитель",
                        Some("agent") => "Оператор",
                        _ => "—",
                    };
                    let at = m
                        .timestamp
                        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                        // Staff read Moscow time, as the same chat shows when mailed.
                        .map(|t| format!("[{}] ", format_moscow(t, "%H:%M:%S")))
                        .unwrap_or_default();
                    format!("{at}{who}: {}", m.message.trim())
                })
                .collect();
            let transcript = if lines.is_empty() {
                event.plain_messages.unwrap_or_default()
            } else {
                lines.join("\n")
            };
            (format!("jivo#chat#{chat_id}"), transcript)
        }
        "offline_message" => {
            let id = text_of(&event.offline_message_id)
                .or_else(|| text_of(&event.chat_id))
                .ok_or_else(|| {
                    WebhookError::Shape("offline_message needs offline_message_id".into())
                })?;
            (
                format!("jivo#offline#{id}"),
                event.message.unwrap_or_default(),
            )
        }
        _ => return Ok(WebRequest::Acknowledge("jivo event without an inquiry")),
    };
    let visitor = event.visitor.unwrap_or_default();
    let page = event.page.unwrap_or_default();
    let mut text = transcript;
    if let Some(description) = visitor.description.filter(|d| !d.trim().is_empty()) {
        text.push_str(&format!("\n\nО посетителе: {description}"));
    }
    if let Some(url) = page.url {
        text.push_str(&format!("\nСтраница: {url}"));
    }
    Ok(WebRequest::Inquiry(Box::new(WebInquiry {
        event_key,
        channel: Channel::Chat,
        kind: InquiryKind::JivoChat,
        contact: person(
            visitor.name,
            visitor.email.as_deref(),
            visitor.phone.as_deref(),
            None,
        ),
        subject: page
            .title
            .map(|t| format!("Чат на странице «{t}»"))
            .or(Some("Чат Jivo".into())),
        text,
    })))
}

/// The fields of a submitted form, in order.
type FormFields = Vec<(String, String)>;

fn decode_urlencoded(body: &[u8]) -> Result<FormFields, WebhookError> {
    let text =
        std::str::from_utf8(body).map_err(|_| WebhookError::FormEncoding("not UTF-8".into()))?;
    let decode = |part: &str| -> Result<String, WebhookError> {
        let spaced = part.replace('+', " ");
        let bytes = spaced.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let valid = bytes
                    .get(i + 1..i + 3)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
                if !valid {
                    return Err(WebhookError::FormEncoding(format!(
                        "bad percent-escape in {part:?}"
                    )));
                }
                i += 3;
            } else {
                i += 1;
            }
        }
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| WebhookError::FormEncoding("an escape is not UTF-8".into()))
    };
    text.trim()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

fn json_fields(body: &[u8]) -> Result<FormFields, WebhookError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::Json(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(WebhookError::Shape("a JSON form must be an object".into()));
    };
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            Value::Number(n) => Some((k, n.to_string())),
            Value::Bool(b) => Some((k, b.to_string())),
            _ => None,
        })
        .collect())
}

/// Form fields that are bookkeeping, not the person's answers.
const SERVICE_FIELDS: &[&str] = &[
    "tranid",
    "formid",
    "formname",
    "cookies",
    "utm_source",
    "utm_medium",
    "utm_campaign",
];

/// Reads a site form: Tilda's `application/x-www-form-urlencoded` (`Name`, `Email`,
/// `Phone`, custom fields, `tranid`, `formid`; `test=test` is its ping) or a JSON object.
/// Idempotent on `tranid` (or a submission id), else on a hash of the body.
pub fn parse_form(content_type: &str, body: &[u8]) -> Result<WebRequest, WebhookError> {
    let is_json = content_type.to_ascii_lowercase().contains("json")
        || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let fields = if is_json {
        json_fields(body)?
    } else {
        decode_urlencoded(body)?
    };
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if fields.len() == 1 && get("test").as_deref() == Some("test") {
        return Ok(WebRequest::Acknowledge("tilda test ping"));
    }
    if fields.is_empty() {
        return Err(WebhookError::Shape("the form has no fields".into()));
    }
    let mut name = None;
    let mut email = None;
    let mut phone = None;
    let mut company = None;
    let mut subject = None;
    for (key, value) in &fields {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let slot = match field_for_label(key) {
            Some(Field::Name) => &mut name,
            Some(Field::Email) => &mut email,
            Some(Field::Phone) => &mut phone,
            Some(Field::Company) => &mut company,
            Some(Field::Subject) => &mut subject,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value.to_owned());
        }
    }
    let event_key = match get("tranid")
        .or_else(|| get("submission_id"))
        .or_else(|| get("id"))
    {
        Some(id) if id.len() <= 200 => format!("form#tilda#{id}"),
        _ => format!("form#sha256:{}", sha256_hex(body)),
    };
    let text = fields
        .iter()
        .filter(|(k, v)| {
            !v.trim().is_empty() && !SERVICE_FIELDS.contains(&k.to_ascii_lowercase().as_str())
        })
        .map(|(k, v)| format!("{k}: {}", v.trim()))
        .collect::<Vec<_>>()
        .join("\n");
    let form_name = get("formname").or_else(|| get("formid"));
    Ok(WebRequest::Inquiry(Box::new(WebInquiry {
        event_key,
        channel: Channel::Form,
        kind: InquiryKind::SiteForm,
        contact: person(name, email.as_deref(), phone.as_deref(), company),
        subject: subject.or_else(|| form_name.map(|f| format!("Форма {f}"))),
        text,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::party::PhoneParse;

    fn inquiry(request: WebRequest) -> WebInquiry {
        match request {
            WebRequest::Inquiry(inquiry) => *inquiry,
            other => panic!("expected an inquiry, got {other:?}"),
        }
    }

    #[test]
    fn jivo_chat_finished_gives_the_visitor_and_transcript() {
        let body = r#"{"event_name":"chat_finished","chat_id":4411,"widget_id":"w1",
            "visitor":{"name":"Дмитрий","email":"d@agro.ru","phone":"8 903 123-45-67","chats_count":1},
            "page":{"url":"https://site/catalog","title":"Насосы"},
            "chat":{"messages":[{"message":"Есть насосы?","timestamp":1764400000,"type":"visitor"},{"message":"Да","timestamp":1764400060,"type":"agent","agent_id":1}]}}"#.as_bytes();
        let chat = inquiry(parse_jivo(body).unwrap());
        assert_eq!(chat.event_key, "jivo#chat#4411");
        assert_eq!(chat.channel, Channel::Chat);
        assert!(
            matches!(&chat.contact.phone, Some(PhoneParse::Valid(p)) if p.e164 == "+79031234567")
        );
        assert!(
            chat.text.contains("[10:06:40] Посетитель: Есть насосы?"),
            "Moscow time, as staff read it: {}",
            chat.text
        );
        assert!(chat.text.contains("Оператор: Да"));
        assert!(chat.text.contains("https://site/catalog"));
    }

    #[test]
    fn jivo_offline_message_and_other_events() {
        let body = r#"{"event_name":"offline_message","chat_id":"77","offline_message_id":"om-9","message":"Перезвоните","visitor":{"phone":"+7 912 000-11-22"}}"#.as_bytes();
        let offline = inquiry(parse_jivo(body).unwrap());
        assert_eq!(offline.event_key, "jivo#offline#om-9");
        assert_eq!(offline.text, "Перезвоните");
        assert_eq!(
            parse_jivo(br#"{"event_name":"chat_accepted","chat_id":1}"#).unwrap(),
            WebRequest::Acknowledge("jivo event without an inquiry")
        );
        assert!(matches!(
            parse_jivo(b"{not json"),
            Err(WebhookError::Json(_))
        ));
        assert!(matches!(
            parse_jivo(br#"{"event_name":"chat_finished"}"#),
            Err(WebhookError::Shape(_))
        ));
    }

    #[test]
    fn tilda_forms_ping_and_json_forms() {
        let body = "Name=%D0%9E%D0%BB%D1%8C%D0%B3%D0%B0&Email=olga%40firm.ru&Phone=%2B7+(912)+111-22-33&Comments=%D0%9D%D1%83%D0%B6%D0%B5%D0%BD+%D0%BD%D0%B0%D1%81%D0%BE%D1%81&tranid=123456:789&formid=form1";
        let form =
            inquiry(parse_form("application/x-www-form-urlencoded", body.as_bytes()).unwrap());
        assert_eq!(form.event_key, "form#tilda#123456:789");
        assert_eq!(form.contact.name.as_deref(), Some("Ольга"));
        assert_eq!(
            form.contact.email.as_ref().map(|e| e.as_str()),
            Some("olga@firm.ru")
        );
        assert!(
            matches!(&form.contact.phone, Some(PhoneParse::Valid(p)) if p.e164 == "+79121112233")
        );
        assert!(form.text.contains("Comments: Нужен насос"));
        assert!(!form.text.contains("tranid"));
        assert_eq!(
            parse_form("application/x-www-form-urlencoded", b"test=test").unwrap(),
            WebRequest::Acknowledge("tilda test ping")
        );
        let json = inquiry(parse_form("application/json", r#"{"name":"Пётр","phone":"89120001122","company":"ООО Ромашка","message":"Цена?"}"#.as_bytes()).unwrap());
        assert!(json.event_key.starts_with("form#sha256:"));
        assert_eq!(json.contact.company.as_deref(), Some("ООО Ромашка"));
    }

    #[test]
    fn broken_forms_are_refused_with_a_reason() {
        assert!(matches!(
            parse_form("application/x-www-form-urlencoded", b"Name=%ZZ"),
            Err(WebhookError::FormEncoding(_))
        ));
        assert!(matches!(
            parse_form("application/x-www-form-urlencoded", b"Name=\xff\xfe"),
            Err(WebhookError::FormEncoding(_))
        ));
        assert!(matches!(
            parse_form("application/json", b"{\"a\":"),
            Err(WebhookError::Json(_))
        ));
        assert!(matches!(
            parse_form("application/json", b"[1,2]"),
            Err(WebhookError::Shape(_))
        ));
        assert!(matches!(
            parse_form("application/x-www-form-urlencoded", b""),
            Err(WebhookError::Shape(_))
        ));
    }
}
