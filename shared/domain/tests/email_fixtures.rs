//! Every email shape of `events/email/` through parse + classify + extract: the kind, the
//! person, the decoded subject and text, the attachments; and the malformed corpus
//! without a panic.

use crm_domain::intake::email::{
    EmailKind, EmailParseError, InboundEmail, MAX_MESSAGE_BYTES, parse_email,
};
use crm_domain::party::PhoneParse;
use std::path::{Path, PathBuf};

fn events() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/email")
}

fn fixture(name: &str) -> InboundEmail {
    let raw = std::fs::read(events().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    parse_email(&raw).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn e164(email: &InboundEmail) -> Option<&str> {
    match &email.contact.phone {
        Some(PhoneParse::Valid(p)) => Some(&p.e164),
        _ => None,
    }
}

fn email_of(email: &InboundEmail) -> Option<&str> {
    email.contact.email.as_ref().map(|e| e.as_str())
}

#[test]
fn bitrix_feedback_form_in_windows_1251_quoted_printable() {
    let email = fixture("bitrix-feedback-cp1251.eml");
    assert_eq!(email.kind, EmailKind::SiteForm);
    assert_eq!(email.contact.name.as_deref(), Some("Сергей Кузнецов"));
    assert_eq!(email_of(&email), Some("s.kuznetsov@metallprom.ru"));
    assert_eq!(e164(&email), Some("+78452553535"));
    assert_eq!(
        email.subject.as_deref(),
        Some("vacuum-zavod.ru: Сообщение из формы обратной связи")
    );
    assert!(email.text.contains("вакуумный насос для печи закалки"));
    assert_eq!(
        email.message_id.as_deref(),
        Some("c1d2e3f4a5b6@vacuum-zavod.ru")
    );
    assert_eq!(email.natural_key, "email#c1d2e3f4a5b6@vacuum-zavod.ru");
}

#[test]
fn contact_form_7_takes_the_person_from_reply_to_and_body_not_the_site() {
    let email = fixture("cf7-reply-to.eml");
    assert_eq!(email.kind, EmailKind::SiteForm);
    assert_eq!(email.contact.name.as_deref(), Some("Анна Смирнова"));
    assert_eq!(email_of(&email), Some("anna.smirnova@pishcheprom.ru"));
    assert_eq!(e164(&email), Some("+79123456789"));
    assert_eq!(email.subject.as_deref(), Some("Сайт \"Термо\": запрос"));
}

#[test]
fn hand_written_utf8_with_a_signature() {
    let email = fixture("manual-utf8.eml");
    assert_eq!(email.kind, EmailKind::Manual);
    assert_eq!(email.contact.name.as_deref(), Some("Иван Петров"));
    assert_eq!(email_of(&email), Some("ivan.petrov@progress-zavod.ru"));
    assert_eq!(e164(&email), Some("+79123456780"));
    assert_eq!(
        email.contact.company.as_deref(),
        Some("ООО «Завод Прогресс»")
    );
    assert_eq!(email.subject.as_deref(), Some("Запрос КП на компрессор"));
}

#[test]
fn hand_written_windows_1251_base64_with_an_rfc2047_subject() {
    let email = fixture("manual-cp1251-base64.eml");
    assert_eq!(email.kind, EmailKind::Manual);
    assert_eq!(email.contact.name.as_deref(), Some("Ольга Васильева"));
    assert_eq!(
        email.subject.as_deref(),
        Some("Климатическая камера — запрос")
    );
    assert!(email.text.contains("климатическая камера"));
    assert_eq!(e164(&email), Some("+79215551234"));
    assert_eq!(email.contact.company.as_deref(), Some("АО \"Радиоприбор\""));
}

#[test]
fn hand_written_koi8_r() {
    let email = fixture("manual-koi8r.eml");
    assert_eq!(email.kind, EmailKind::Manual);
    assert_eq!(email.contact.name.as_deref(), Some("Николай Смирнов"));
    assert_eq!(email.subject.as_deref(), Some("Цена на насос"));
    assert!(email.text.contains("пластинчато-роторный"));
}

#[test]
fn html_only_mail_is_read_as_text() {
    let email = fixture("html-only.eml");
    assert_eq!(email.kind, EmailKind::Manual);
    assert!(email.text.contains("тренажёр-симулятор"), "{}", email.text);
    assert!(!email.text.contains("<b>"));
    assert_eq!(e164(&email), Some("+74951234567"));
}

#[test]
fn attachments_are_listed_with_decoded_names_and_sizes() {
    let email = fixture("attachments.eml");
    let listed: Vec<(&str, &str, usize)> = email
        .attachments
        .iter()
        .map(|a| (a.filename.as_str(), a.content_type.as_str(), a.size))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("Тз.pdf", "application/pdf", 45),
            (
                "spec.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                1028
            ),
        ]
    );
    assert!(email.attachments[0].bytes.starts_with(b"%PDF"));
    assert!(email.text.starts_with("Добрый день!"));
}

#[test]
fn machine_mail_is_classified_before_anything_else() {
    assert_eq!(fixture("auto-reply.eml").kind, EmailKind::AutoReply);
    assert_eq!(fixture("bulk.eml").kind, EmailKind::Bulk);
    assert_eq!(fixture("bounce.eml").kind, EmailKind::Bounce);
}

#[test]
fn jivo_transcript_gives_the_visitor() {
    let email = fixture("jivo-chat.eml");
    assert_eq!(email.kind, EmailKind::JivoChat);
    assert_eq!(email.contact.name.as_deref(), Some("Дмитрий"));
    assert_eq!(email_of(&email), Some("dmitry.sokolov@agroholding.ru"));
    assert_eq!(e164(&email), Some("+79031234567"));
}

#[test]
fn hand_made_php_form_in_an_html_table() {
    let email = fixture("php-form.eml");
    assert_eq!(email.kind, EmailKind::SiteForm);
    assert_eq!(email.contact.name.as_deref(), Some("Алексей Громов"));
    assert_eq!(email_of(&email), Some("gromov@stalkon.ru"));
    assert_eq!(e164(&email), Some("+74951234567"));
    assert_eq!(
        email.contact.company.as_deref(),
        Some("ООО \"СтальКонструкция\"")
    );
}

#[test]
fn missing_from_and_missing_message_id() {
    let no_from = fixture("no-from.eml");
    assert_eq!(no_from.contact.email, None);
    assert!(no_from.sender_problem.is_some());

    let no_id = fixture("no-message-id.eml");
    assert_eq!(no_id.message_id, None);
    assert!(
        no_id.natural_key.starts_with("email#sha256:"),
        "{}",
        no_id.natural_key
    );
    let again = parse_email(&std::fs::read(events().join("no-message-id.eml")).unwrap()).unwrap();
    assert_eq!(
        no_id.natural_key, again.natural_key,
        "the content hash is stable"
    );
}

#[test]
fn an_unknown_charset_degrades_without_losing_the_sender() {
    let email = fixture("unknown-charset.eml");
    assert_eq!(email_of(&email), Some("x@strange-charset.ru"));
    assert_eq!(email.kind, EmailKind::Manual);
}

#[test]
fn the_malformed_corpus_never_panics() {
    let mut read = 0;
    for folder in ["mime-torture/malformed", "mime-torture/thirdparty"] {
        for entry in std::fs::read_dir(events().join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "eml") {
                let raw = std::fs::read(&path).unwrap();
                // Either a readable message or a clear, permanent reason.
                match parse_email(&raw) {
                    Ok(email) => assert!(!email.natural_key.is_empty()),
                    Err(reason) => assert!(!reason.to_string().is_empty()),
                }
                read += 1;
            }
        }
    }
    assert!(read >= 40, "read {read} files");
}

#[test]
fn empty_and_oversized_input_get_a_reason() {
    assert_eq!(parse_email(b""), Err(EmailParseError::Empty));
    assert_eq!(parse_email(b"  \r\n"), Err(EmailParseError::Empty));
    assert_eq!(
        parse_email(b"\x00\x01 not mime at all"),
        Err(EmailParseError::NoHeaders)
    );
    let huge = vec![b'a'; MAX_MESSAGE_BYTES + 1];
    assert_eq!(
        parse_email(&huge),
        Err(EmailParseError::TooLarge(MAX_MESSAGE_BYTES + 1))
    );
}

#[test]
fn a_30_mb_message_is_parsed_with_its_attachment() {
    let mut raw = b"From: Big <big@sender.ru>\r\nTo: sales@vacuum-zavod.ru\r\nSubject: big\r\nMessage-ID: <big.1@sender.ru>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"scan.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    let line = b"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n";
    while raw.len() < 30 * 1024 * 1024 {
        raw.extend_from_slice(line);
    }
    raw.extend_from_slice(b"--XX--\r\n");
    let email = parse_email(&raw).unwrap();
    assert_eq!(email.kind, EmailKind::Manual);
    assert_eq!(email.attachments.len(), 1);
    assert!(email.attachments[0].size > 20 * 1024 * 1024);
}
