//! Who wrote, and how to reach them, read out of everyday mail: phones anywhere in the
//! author's own part, quoted history in its common forms, the company's own people and
//! numbers never taken for a client, forwarded mail, and names from signatures.

use crm_domain::intake::email::{InboundEmail, parse_email};
use crm_domain::party::PhoneParse;

/// A plain-text message to the company's sales mailbox.
fn mail(from: &str, body: &str) -> InboundEmail {
    mail_with(from, "", body)
}

fn mail_with(from: &str, extra_headers: &str, body: &str) -> InboundEmail {
    let raw = format!(
        "From: {from}\r\nTo: sales@vacuum-zavod.ru\r\nSubject: Запрос\r\nMessage-ID: <m@x>\r\n{extra_headers}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    );
    parse_email(raw.as_bytes()).unwrap()
}

/// The person's numbers as E.164 (with `доб.` when an extension was written).
fn phones(email: &InboundEmail) -> Vec<String> {
    let mut all = Vec::new();
    if let Some(PhoneParse::Valid(p)) = &email.contact.phone {
        all.push(p.clone());
    }
    all.extend(email.contact.other_phones.iter().cloned());
    all.into_iter()
        .map(|p| match p.extension {
            Some(ext) => format!("{} доб. {ext}", p.e164),
            None => p.e164,
        })
        .collect()
}

#[test]
fn signature_phones_in_every_everyday_form() {
    let cases = [
        (
            "Добрый день\n\nС уважением,\nИван\nтел. 8 (3452) 12-34-56 доб. 123",
            vec!["+73452123456 доб. 123"],
        ),
        (
            "Нужен насос\n--\nИван Петров\nмоб. +7 912 345-67-89\nраб. 8 (495) 123-45-67",
            vec!["+79123456789", "+74951234567"],
        ),
        (
            "Прошу КП\n--\nОльга\n+7 (903) 765-43-21",
            vec!["+79037654321"],
        ),
        (
            "Пришлите каталог.\nИван Сидоров, 8-800-555-35-35",
            vec!["+78005553535"],
        ),
        (
            "Вопрос по печи\n\nАО «Северсталь»\n(8202) 53-44-10",
            vec!["+78202534410"],
        ),
        ("Перезвоните: 89161234567, пожалуйста", vec!["+79161234567"]),
    ];
    for (body, expected) in cases {
        let email = mail("Клиент <client@zavod-client.ru>", body);
        assert_eq!(phones(&email), expected, "{body}");
    }
}

#[test]
fn dates_inns_accounts_and_order_numbers_are_not_phones() {
    let email = mail(
        "Бухгалтерия <buh@zavod-client.ru>",
        "Счёт № 1234567 от 29.11.2026 оплачен.\nИНН 7707083893 КПП 773601001\nр/с 40702810938000012345 БИК 044525225\nЗаказ 2026-11-29",
    );
    assert!(phones(&email).is_empty(), "{:?}", phones(&email));
}

#[test]
fn a_tel_link_in_html_gives_the_phone() {
    let raw = "From: Иван <ivan@zavod-client.ru>\r\nTo: sales@vacuum-zavod.ru\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Звоните: <a href=\"tel:+79031112233\">позвонить</a></p>";
    let email = parse_email(raw.as_bytes()).unwrap();
    assert_eq!(phones(&email), ["+79031112233"]);
}

#[test]
fn outlooks_russian_quoted_history_is_not_the_clients_signature() {
    let body = "Спасибо, договорились.\n\nОльга\n\n________________________________\nОт: Менеджер Петров <petrov@vacuum-zavod.ru>\nОтправлено: 28 ноября 2026 г. 15:02\nКому: olga@zavod-client.ru\nТема: КП на насос\n\nОльга, добрый день!\nКП во вложении.\n--\nПетров Сергей, ООО «Вакуум-Завод»\nтел. +7 (495) 000-00-00 доб. 201\n";
    let email = mail("Ольга <olga@zavod-client.ru>", body);
    assert!(
        phones(&email).is_empty(),
        "our manager's phone: {:?}",
        phones(&email)
    );
    assert_eq!(
        email.contact.email.clone().unwrap().as_str(),
        "olga@zavod-client.ru"
    );
}

#[test]
fn other_quote_forms_end_the_authors_part_too() {
    for history in [
        "-----Original Message-----\nFrom: petrov@vacuum-zavod.ru\nтел. +7 495 000-00-00",
        "From: Petrov <petrov@vacuum-zavod.ru>\nSent: Friday, 28 November 2026 15:02\nTo: olga@zavod-client.ru\n\nтел. +7 495 000-00-00",
        "28.11.2026, 15:02, Петров <petrov@vacuum-zavod.ru> пишет:\n> тел. +7 495 000-00-00",
        "On Fri, 28 Nov 2026 at 15:02, Petrov <petrov@vacuum-zavod.ru> wrote:\n> +7 495 000-00-00",
    ] {
        let email = mail(
            "Ольга <olga@zavod-client.ru>",
            &format!("Спасибо!\n\n{history}"),
        );
        assert!(phones(&email).is_empty(), "{history}: {:?}", phones(&email));
    }
}

#[test]
fn a_message_forwarded_by_one_of_ours_is_the_clients() {
    let body = "Коллеги, заведите, пожалуйста.\n\n-------- Пересылаемое сообщение --------\nОт: Андрей Смирнов <smirnov@newclient.ru>\nДата: 28.11.2026 10:15\nКому: petrov@vacuum-zavod.ru\nТема: Запрос камеры\n\nДобрый день! Нужна камера тепла-холода.\nАндрей, тел. 8 912 000-11-22\n";
    let email = mail("Петров Сергей <petrov@vacuum-zavod.ru>", body);
    assert_eq!(
        email.contact.email.clone().unwrap().as_str(),
        "smirnov@newclient.ru"
    );
    assert_eq!(email.contact.name.as_deref(), Some("Андрей Смирнов"));
    assert_eq!(phones(&email), ["+79120001122"]);
    assert_eq!(
        email.forwarded_by.clone().unwrap().as_str(),
        "petrov@vacuum-zavod.ru"
    );
}

#[test]
fn our_own_address_is_never_a_clients() {
    let email = mail(
        "Петров Сергей <petrov@vacuum-zavod.ru>",
        "Напоминаю про совещание.\n--\nтел. +7 495 000-00-00",
    );
    assert!(email.contact.email.is_none());
    assert!(phones(&email).is_empty());
}

#[test]
fn a_shared_mailbox_gets_the_name_from_the_signature() {
    let email = mail(
        "info@zavod-client.ru",
        "Просим КП на насос.\n\nС уважением,\nМарина Котова\nснабжение\n+7 912 333-44-55",
    );
    assert_eq!(email.contact.name.as_deref(), Some("Марина Котова"));
    let named = mail(
        "\"ООО Клиент\" <info@zavod-client.ru>",
        "Просим КП.\n\nС уважением,\nМарина Котова",
    );
    assert_eq!(named.contact.name.as_deref(), Some("Марина Котова"));
}

#[test]
fn a_from_without_a_display_name_takes_the_name_from_the_signature() {
    let email = mail(
        "ivan.petrov@zavod-client.ru",
        "Прошу счёт.\n\nС уважением,\nИван Петров\nинженер",
    );
    assert_eq!(email.contact.name.as_deref(), Some("Иван Петров"));
    let named = mail(
        "Иван <ivan.petrov@zavod-client.ru>",
        "Прошу счёт.\n\nС уважением,\nПётр Сидоров",
    );
    assert_eq!(
        named.contact.name.as_deref(),
        Some("Иван"),
        "a person's own display name wins"
    );
}

#[test]
fn a_delivery_header_the_sender_wrote_lower_down_is_not_the_companys() {
    // The receiving server's Delivered-To is on top; a forged one below names the client's
    // domain as ours, which would drop the client's own address.
    let raw = "Delivered-To: sales@vacuum-zavod.ru\r\nFrom: Ольга <olga@zavod-client.ru>\r\nTo: sales@vacuum-zavod.ru\r\nDelivered-To: x@zavod-client.ru\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nНужен насос";
    let email = parse_email(raw.as_bytes()).unwrap();
    assert_eq!(
        email.contact.email.clone().unwrap().as_str(),
        "olga@zavod-client.ru"
    );
}
