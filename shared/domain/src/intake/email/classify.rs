//! Classifies an inbound email by its shape: a Jivo chat transcript, a web-site form, a
//! hand-written email, or machine mail (auto-reply, bulk, bounce) that must never become
//! a lead. Works on [`EmailSignals`], plain values read off the message, so the rules are
//! testable without MIME.

use super::fields::LabelledFields;
use crate::intake::inquiry::InquiryKind;
use crate::party::EmailAddress;
use serde::{Deserialize, Serialize};

/// The shape of an inbound email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    JivoChat,
    SiteForm,
    Manual,
    AutoReply,
    Bulk,
    Bounce,
    /// SES's spam verdict is FAIL: recorded, never a lead.
    Spam,
    /// SES's virus verdict is FAIL: recorded, never a lead.
    Virus,
}

impl EmailKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::JivoChat => "jivo_chat",
            Self::SiteForm => "site_form",
            Self::Manual => "manual",
            Self::AutoReply => "auto_reply",
            Self::Bulk => "bulk",
            Self::Bounce => "bounce",
            Self::Spam => "spam",
            Self::Virus => "virus",
        }
    }

    /// The inquiry kind for mail written by or for a person; `None` for machine mail,
    /// which is recorded but never creates a lead or a notification.
    pub fn inquiry_kind(self) -> Option<InquiryKind> {
        match self {
            Self::JivoChat => Some(InquiryKind::JivoChat),
            Self::SiteForm => Some(InquiryKind::SiteForm),
            Self::Manual => Some(InquiryKind::Manual),
            Self::AutoReply | Self::Bulk | Self::Bounce | Self::Spam | Self::Virus => None,
        }
    }
}

/// What the classifier looks at, read off one message.
#[derive(Debug, Clone)]
pub struct EmailSignals<'a> {
    pub from: Option<&'a EmailAddress>,
    pub subject: &'a str,
    /// `Auto-Submitted` (RFC 3834), lower-cased.
    pub auto_submitted: Option<String>,
    /// `Precedence`, lower-cased.
    pub precedence: Option<String>,
    /// `X-Autoreply`, `X-Autorespond` or `X-Auto-Reply` present.
    pub autoreply_header: bool,
    /// `List-Id` or `List-Unsubscribe` present.
    pub list_headers: bool,
    /// `Return-Path: <>`.
    pub null_return_path: bool,
    /// `Content-Type: multipart/report; report-type=delivery-status` or a
    /// `message/delivery-status` part.
    pub delivery_report: bool,
    /// Lines like `[12:03] Имя: текст`: the dialogue of a chat transcript.
    pub timestamped_lines: usize,
    pub fields: &'a LabelledFields,
    pub body: &'a str,
}

/// Domains JivoSite sends transcripts and offline messages from.
const JIVO_DOMAINS: &[&str] = &[
    "jivosite.com",
    "jivosite.ru",
    "jivo.ru",
    "jivochat.com",
    "jivo.chat",
    "jivo.com",
];

/// Local parts of addresses no person reads.
const ROBOT_LOCAL_PARTS: &[&str] = &[
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "robot",
    "mailer",
    "wordpress",
    "bitrix",
    "notification",
    "notifications",
    "notify",
    "webmaster",
    "www-data",
    "apache",
];

const BOUNCE_SUBJECTS: &[&str] = &[
    "undelivered mail returned to sender",
    "delivery status notification",
    "mail delivery failed",
    "mail delivery failure",
    "returned mail",
    "undeliverable:",
    "недоставленное сообщение",
    "не доставлено",
];

const AUTO_REPLY_SUBJECTS: &[&str] = &[
    "автоответ",
    "автоматический ответ",
    "auto:",
    "auto-reply",
    "autoreply",
    "automatic reply",
    "out of office",
    "нет на месте",
];

const FORM_MARKERS: &[&str] = &[
    "сообщение из формы обратной связи",
    "вам было отправлено сообщение через форму обратной связи",
    "информационное сообщение сайта",
    "message body:",
    "this e-mail was sent from a contact form",
    "это сообщение отправлено с сайта",
    "заявка с сайта",
    "новая заявка",
];

/// True for `noreply@…`, `wordpress@…` and the like: a sender that is a program.
pub fn is_robot_address(address: &EmailAddress) -> bool {
    let local = address.local_part();
    ROBOT_LOCAL_PARTS
        .iter()
        .any(|robot| local == *robot || local.starts_with(&format!("{robot}+")))
        || local.starts_with("mailer-daemon")
        || local == "postmaster"
}

/// True when the address belongs to JivoSite.
pub fn is_jivo_address(address: &EmailAddress) -> bool {
    let domain = address.domain();
    JIVO_DOMAINS
        .iter()
        .any(|jivo| domain == *jivo || domain.ends_with(&format!(".{jivo}")))
}

fn subject_starts_with_any(subject: &str, prefixes: &[&str]) -> bool {
    let subject = subject.trim().to_lowercase();
    prefixes.iter().any(|p| subject.starts_with(p))
}

/// Decides the kind. Machine mail is recognised first, by headers (RFC 3834 and the list
/// headers), then people's mail by content. When unsure, a message is `Manual`: a person
/// reads it, which is the safe way to be wrong.
pub fn classify(signals: &EmailSignals<'_>) -> EmailKind {
    let from_local = signals
        .from
        .map(EmailAddress::local_part)
        .unwrap_or_default();
    let body_lower = signals.body.to_lowercase();
    let subject_lower = signals.subject.to_lowercase();

    let is_bounce = signals.delivery_report
        || from_local.starts_with("mailer-daemon")
        || from_local == "postmaster"
        || (signals.null_return_path && subject_starts_with_any(signals.subject, BOUNCE_SUBJECTS));
    if is_bounce {
        return EmailKind::Bounce;
    }

    let from_jivo = signals.from.is_some_and(is_jivo_address);
    let looks_like_form = FORM_MARKERS
        .iter()
        .any(|m| body_lower.contains(m) || subject_lower.contains(m))
        || (signals.fields.labels_found >= 2
            && signals.fields.has_contact()
            && (signals.from.is_some_and(is_robot_address)
                || signals.fields.name.is_some()
                || differs_from_sender(signals)));
    let looks_like_jivo = from_jivo
        || (signals.timestamped_lines >= 2
            && (subject_lower.contains("jivo") || body_lower.contains("jivo")));

    match signals.auto_submitted.as_deref() {
        Some("no") | None => {}
        // A site or Jivo robot may mark its mail auto-generated; that mail still carries a person.
        Some(value)
            if value.starts_with("auto-generated") && (looks_like_form || looks_like_jivo) => {}
        Some(_) => return EmailKind::AutoReply,
    }
    if signals.autoreply_header
        || matches!(signals.precedence.as_deref(), Some("auto_reply"))
        || subject_starts_with_any(signals.subject, AUTO_REPLY_SUBJECTS)
        || (signals.null_return_path && !looks_like_form && !looks_like_jivo)
    {
        return EmailKind::AutoReply;
    }
    if from_jivo {
        return EmailKind::JivoChat;
    }
    if signals.list_headers
        || matches!(
            signals.precedence.as_deref(),
            Some("bulk" | "list" | "junk")
        )
    {
        return EmailKind::Bulk;
    }
    if looks_like_jivo {
        return EmailKind::JivoChat;
    }
    if looks_like_form {
        return EmailKind::SiteForm;
    }
    EmailKind::Manual
}

fn differs_from_sender(signals: &EmailSignals<'_>) -> bool {
    match (
        signals
            .fields
            .email
            .as_deref()
            .and_then(EmailAddress::parse),
        signals.from,
    ) {
        (Some(labelled), Some(from)) => &labelled != from,
        _ => false,
    }
}

/// Counts dialogue lines of a chat transcript: `[12:03:45] Имя: текст`, `12:03 Имя: текст`,
/// `(25.10.2023 12:03) Имя: текст`.
pub fn count_timestamped_lines(body: &str) -> usize {
    body.lines()
        .filter(|line| {
            let line = line.trim().trim_start_matches(['[', '(']);
            let bytes = line.as_bytes();
            let time_at = |i: usize| {
                bytes.len() > i + 4
                    && bytes[i].is_ascii_digit()
                    && bytes[i + 1].is_ascii_digit()
                    && bytes[i + 2] == b':'
                    && bytes[i + 3].is_ascii_digit()
                    && bytes[i + 4].is_ascii_digit()
            };
            // `HH:MM` at the start, or after a `DD.MM.YYYY ` date.
            let starts_with_time = time_at(0)
                || (bytes.len() > 11
                    && bytes[..10].iter().enumerate().all(|(i, b)| {
                        if i == 2 || i == 5 {
                            *b == b'.'
                        } else {
                            b.is_ascii_digit()
                        }
                    })
                    && time_at(11));
            starts_with_time && line.contains(':') && line.len() > 6
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::email::fields::labelled_fields;

    fn classify_with(
        from: &str,
        subject: &str,
        body: &str,
        tweak: impl FnOnce(&mut EmailSignals<'_>),
    ) -> EmailKind {
        let from = EmailAddress::parse(from);
        let fields = labelled_fields(body);
        let mut signals = EmailSignals {
            from: from.as_ref(),
            subject,
            auto_submitted: None,
            precedence: None,
            autoreply_header: false,
            list_headers: false,
            null_return_path: false,
            delivery_report: false,
            timestamped_lines: count_timestamped_lines(body),
            fields: &fields,
            body,
        };
        tweak(&mut signals);
        classify(&signals)
    }

    #[test]
    fn machine_mail_by_headers() {
        let plain = "Здравствуйте";
        assert_eq!(
            classify_with("ivan@zavod.ru", "Re: КП", plain, |s| s.auto_submitted =
                Some("auto-replied".into())),
            EmailKind::AutoReply
        );
        assert_eq!(
            classify_with("ivan@zavod.ru", "Re: КП", plain, |s| s.autoreply_header =
                true),
            EmailKind::AutoReply
        );
        assert_eq!(
            classify_with("ivan@zavod.ru", "Автоответ: КП", plain, |_| {}),
            EmailKind::AutoReply
        );
        assert_eq!(
            classify_with("news@shop.ru", "Скидки", plain, |s| s.list_headers =
                true),
            EmailKind::Bulk
        );
        assert_eq!(
            classify_with("news@shop.ru", "Скидки", plain, |s| s.precedence =
                Some("bulk".into())),
            EmailKind::Bulk
        );
        assert_eq!(
            classify_with("MAILER-DAEMON@mx.ru", "Undelivered", plain, |_| {}),
            EmailKind::Bounce
        );
        assert_eq!(
            classify_with("x@mx.ru", "Report", plain, |s| s.delivery_report = true),
            EmailKind::Bounce
        );
        assert_eq!(
            classify_with(
                "x@mx.ru",
                "Undelivered Mail Returned to Sender",
                plain,
                |s| s.null_return_path = true
            ),
            EmailKind::Bounce
        );
        assert_eq!(
            classify_with("x@mx.ru", "Привет", plain, |s| s.null_return_path =
                true),
            EmailKind::AutoReply
        );
        assert_eq!(
            classify_with("ivan@zavod.ru", "Re: КП", plain, |s| s.auto_submitted =
                Some("no".into())),
            EmailKind::Manual
        );
    }

    #[test]
    fn forms_and_chats_by_content() {
        let bitrix =
            "Информационное сообщение сайта zavod.ru\nАвтор: Иван\nE-mail автора: ivan@mail.ru\n";
        assert_eq!(
            classify_with(
                "noreply@zavod.ru",
                "zavod.ru: Сообщение из формы обратной связи",
                bitrix,
                |_| {}
            ),
            EmailKind::SiteForm
        );
        let php = "Имя: Ольга\nТелефон: 89120000000\nСообщение: нужен насос\n";
        assert_eq!(
            classify_with("info@oursite.ru", "Заявка", php, |_| {}),
            EmailKind::SiteForm
        );
        let generated = "Имя: Ольга\nТелефон: 89120000000\n";
        assert_eq!(
            classify_with("robot@oursite.ru", "Заявка", generated, |s| s
                .auto_submitted =
                Some("auto-generated".into())),
            EmailKind::SiteForm
        );
        let chat = "Имя: Пётр\n[12:01:10] Пётр: Здравствуйте\n[12:02:11] Оператор: Добрый день\n";
        assert_eq!(
            classify_with("noreply@jivosite.com", "Чат", chat, |_| {}),
            EmailKind::JivoChat
        );
        assert_eq!(
            classify_with("robot@oursite.ru", "Переписка JivoChat", chat, |_| {}),
            EmailKind::JivoChat
        );
    }

    #[test]
    fn hand_written_mail_with_a_signature_stays_manual() {
        let body = "Добрый день!\nПришлите КП на насос.\n--\nИван\nТел.: 8 (912) 345-67-89\nE-mail: ivan@zavod.ru\n";
        assert_eq!(
            classify_with("ivan@zavod.ru", "Запрос", body, |_| {}),
            EmailKind::Manual
        );
        assert_eq!(
            classify_with("ivan@zavod.ru", "", "", |_| {}),
            EmailKind::Manual
        );
    }

    #[test]
    fn timestamped_lines_are_counted() {
        let body =
            "[12:01:10] Пётр: a\n12:02 Оператор: b\n(25.10.2023 12:03) Пётр: c\n12 насосов: нет\n";
        assert_eq!(count_timestamped_lines(body), 3);
    }

    #[test]
    fn robots_and_jivo_are_recognised() {
        assert!(is_robot_address(
            &EmailAddress::parse("wordpress@site.ru").unwrap()
        ));
        assert!(is_robot_address(
            &EmailAddress::parse("noreply@site.ru").unwrap()
        ));
        assert!(!is_robot_address(
            &EmailAddress::parse("info@site.ru").unwrap()
        ));
        assert!(is_jivo_address(
            &EmailAddress::parse("noreply@mail.jivosite.com").unwrap()
        ));
    }
}
