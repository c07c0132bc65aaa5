//! Issue 8's regressions through the real stack, one test per thing that went wrong.

use crate::sales::{new_deal, pumps};
use crm_domain::party::EmailAddress;
use crm_domain::staff::Role;
use integration_tests::{TestStack, email_from};
use serde_json::json;

#[tokio::test]
async fn money_out_of_range_is_refused_with_its_field_and_never_panics() {
    let t = TestStack::new().await;
    let deal = new_deal(&t, "Олег <oleg@money-test.ru>", pumps()).await;
    let path = format!("/api/deals/{}", deal["id"].as_str().unwrap());
    let manager = Some((t.manager.id.as_str(), Role::Manager));
    let huge = json!({ "version": 1, "items": [
        { "product": "Насос", "equipment_type": "vacuum_pump", "quantity": 4_000_000_000u64, "unit_price_kopecks": 9_000_000_000_000_000_000i64 }
    ]});
    let (status, body) = t.api_call("PATCH", &path, Some(huge), manager).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["fields"],
        json!(["items[0].quantity", "items[0].unit_price_kopecks"])
    );
    // The deal is unchanged, and its proposal still adds up.
    let (status, body) = t
        .api_call(
            "POST",
            &format!("{path}/proposal"),
            Some(json!({ "version": 1 })),
            manager,
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_oversized_body_is_413_and_an_oversized_field_422() {
    let t = TestStack::new().await;
    let deal = new_deal(&t, "Олег <oleg@caps-test.ru>", pumps()).await;
    let path = format!("/api/deals/{}", deal["id"].as_str().unwrap());
    let manager = Some((t.manager.id.as_str(), Role::Manager));
    let body = json!({ "version": 1, "needs": ["x".repeat(300 * 1024)] });
    assert_eq!(t.api_call("PATCH", &path, Some(body), manager).await.0, 413);
    let body = json!({ "version": 1, "needs": ["я".repeat(2001)] });
    let (status, answer) = t.api_call("PATCH", &path, Some(body), manager).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["fields"], json!(["needs[0]"]));
}

#[tokio::test]
async fn ids_reasons_and_points_out_of_shape_get_a_4xx_naming_them_not_a_500() {
    let t = TestStack::new().await;
    let deal = new_deal(&t, "Олег <oleg@shape-test.ru>", pumps()).await;
    let (id, party) = (
        deal["id"].as_str().unwrap(),
        deal["party_id"].as_str().unwrap(),
    );
    let head = Some((t.heads[0].id.as_str(), Role::Head));
    let huge = "x".repeat(3000);
    let call = |method: &'static str, path: String, body: serde_json::Value| {
        let t = &t;
        async move { t.api_call(method, &path, Some(body), head).await }
    };
    let (status, answer) = call(
        "POST",
        "/api/inquiries/route".into(),
        json!({ "inquiry_ids": ["ok-id", huge], "department": "high",
                "manager_id": huge, "reason": "я".repeat(501) }),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        answer["error"]["fields"],
        json!(["inquiry_ids[1]", "manager_id", "reason"])
    );
    for path in [
        format!("/api/deals/{id}/manager"),
        format!("/api/counterparties/{party}/manager"),
    ] {
        let (status, answer) = call(
            "POST",
            path,
            json!({ "version": deal["version"], "manager_id": huge, "reason": "r" }),
        )
        .await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["error"]["fields"], json!(["manager_id"]));
    }
    for value in [huge.as_str(), "+7abc", "79120000000"] {
        let (status, answer) = call(
            "POST",
            format!("/api/counterparties/{party}/contact-points"),
            json!({ "point": { "type": "phone", "value": value }, "decision": "confirm" }),
        )
        .await;
        assert_eq!(status, 422, "{value}: {answer}");
        assert_eq!(answer["error"]["fields"], json!(["point.value"]));
    }
}

#[tokio::test]
async fn a_lead_named_by_its_address_shows_no_address_to_who_may_not_see_its_contacts() {
    let t = TestStack::new().await;
    t.deliver(&email_from("nameless@outsider-test.ru", "Вопрос", "Цена?"))
        .await;
    t.process_inbound(1).await;
    let warehouse = t.add_employee("store", Role::Warehouse, None).await;
    let warehouse = Some((warehouse.id.as_str(), Role::Warehouse));
    let head = Some((t.heads[0].id.as_str(), Role::Head));
    let names = |answer: &serde_json::Value| -> Vec<String> {
        answer["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, listed) = t.api_call("GET", "/api/counterparties", None, head).await;
    assert_eq!(names(&listed), ["nameless@outsider-test.ru"]);
    let party = listed["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, listed) = t
        .api_call("GET", "/api/counterparties", None, warehouse)
        .await;
    assert_eq!(names(&listed), ["Без имени"]);
    let (_, found) = t
        .api_call("GET", "/api/counterparties?q=nameless", None, warehouse)
        .await;
    assert_eq!(names(&found), ["Без имени"], "{found}");
    let (_, card) = t
        .api_call(
            "GET",
            &format!("/api/counterparties/{party}"),
            None,
            warehouse,
        )
        .await;
    assert_eq!(card["name"], "Без имени", "{card}");
    assert_eq!(card["contacts_hidden"], true);
}

#[tokio::test]
async fn cursors_are_sealed_and_bound_to_the_list_its_filter_and_the_caller() {
    let t = TestStack::new().await;
    for (from, subject) in [("A <a@seal-test.ru>", "1"), ("B <b@seal-test.ru>", "2")] {
        t.deliver(&email_from(from, subject, "Нужен насос")).await;
    }
    t.process_inbound(2).await;
    let head = Some((t.heads[0].id.as_str(), Role::Head));
    let other_head = t.add_employee("head-2", Role::Head, None).await;
    let page = t
        .get_as_head("/api/inquiries?status=unrouted&limit=1")
        .await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    assert!(!cursor.starts_with("eyJ"), "not readable JSON: {cursor}");
    let (status, next) = t
        .api_get(
            &format!("/api/inquiries?status=unrouted&limit=1&cursor={cursor}"),
            head,
        )
        .await;
    assert_eq!(status, 200, "{next}");
    assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);
    for (path, caller) in [
        // A crafted cursor (base64 of a key), once answered 500.
        (
            "/api/inquiries?cursor=eyJnc2kxcGsiOiJJTlEifQ".to_owned(),
            head,
        ),
        // The same cursor with another filter, by another head, on another list.
        (
            format!("/api/inquiries?status=routed&cursor={cursor}"),
            head,
        ),
        (
            format!("/api/inquiries?status=unrouted&cursor={cursor}"),
            Some((other_head.id.as_str(), Role::Head)),
        ),
        (format!("/api/counterparties?cursor={cursor}"), head),
        (
            format!(
                "/api/inquiries?status=unrouted&cursor={}",
                &cursor[..cursor.len() - 3]
            ),
            head,
        ),
    ] {
        let (status, body) = t.api_get(&path, caller).await;
        assert_eq!(status, 400, "{path}: {body}");
    }
}

#[tokio::test]
async fn mail_down_loses_no_call_and_the_sweeper_sends_what_was_left() {
    let t = TestStack::new().await;
    let mut config =
        webhooks::Config::from_env(t.stack.function_env("WebhooksFunction").unwrap()).unwrap();
    // SES refuses a sender that is not a verified identity: mail is down for this one.
    config.mail.notify_from = EmailAddress::parse("nobody@unverified.invalid").unwrap();
    let mail_down = webhooks::Webhooks::new(&config, &t.counted, t.secrets.clone());
    for query in ["missed-start", "missed-end"] {
        let query = integration_tests::fixture(&format!("miko/{query}.query"));
        let query = String::from_utf8(query).unwrap().trim().to_owned();
        let path = format!("/webhooks/miko/{}?{query}", t.secrets.miko);
        let (status, body) = t.webhook_with(&mail_down, "GET", &path, "", b"").await;
        assert_eq!(status, 200, "{body}");
    }
    let unrouted = t.get_as_head("/api/inquiries?status=unrouted").await;
    assert_eq!(unrouted["items"][0]["missed"], true, "{unrouted}");
    let (_, tasks) = t
        .api_get("/api/tasks?scope=mine", Some((&t.heads[0].id, Role::Head)))
        .await;
    assert_eq!(tasks["items"][0]["kind"], "call_back", "{tasks}");
    assert!(t.sent_mail().await.is_empty(), "nothing went out");

    let report = t
        .jobs
        .sweep(chrono::Utc::now() + chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(report.done, 2, "{report:?}");
    assert_eq!(report.notifications_left, 0);
    let subjects: Vec<String> = t
        .sent_mail()
        .await
        .iter()
        .map(|m| m["Subject"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(
        subjects.iter().any(|s| s.contains("Пропущенный звонок")),
        "{subjects:?}"
    );
}

/// A message with one attachment, under a chosen Message-ID.
fn with_attachment(message_id: &str, from: &str, bytes: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: sales@company.example\r\nSubject: ТЗ\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nТЗ во вложении\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"tz.pdf\"\r\n\r\n{bytes}\r\n--b--\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn a_reused_message_id_cannot_replace_an_attachment() {
    let t = TestStack::new().await;
    let bucket = t.inbound_bucket();
    let now = chrono::Utc::now();
    let original = t
        .deliver(&with_attachment(
            "tz-1@client.example",
            "Иван <ivan@client.example>",
            "%PDF original",
        ))
        .await;
    t.inbound.take_in(&bucket, &original, now).await.unwrap();
    // Anyone who was in CC knows the Message-ID.
    let forged = t
        .deliver(&with_attachment(
            "tz-1@client.example",
            "Злоумышленник <x@evil.example>",
            "%PDF forged",
        ))
        .await;
    t.counted.round_trips.take();
    let outcome = t.inbound.take_in(&bucket, &forged, now).await.unwrap();
    assert_eq!(outcome, crm_shared::intake::IntakeOutcome::Duplicate);
    assert_eq!(
        t.counted.round_trips.take().get("S3.PutObject"),
        None,
        "a duplicate stores no file"
    );
    let inquiries = t.get_as_head("/api/inquiries").await;
    let key = inquiries["items"][0]["attachments"][0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let documents = t.stack.name("DocumentsBucket").unwrap().to_owned();
    assert_eq!(
        t.object(&documents, &key).await.unwrap(),
        b"%PDF original".to_vec()
    );
}

#[tokio::test]
async fn an_outsider_claiming_a_clients_address_cannot_graft_a_phone_onto_the_client() {
    let t = TestStack::new().await;
    // The client writes from an authenticated domain, with their phone in the signature.
    t.deliver(&email_from(
        "Ольга <olga@graft-client.ru>",
        "Запрос",
        "Нужна камера\n--\nООО «Клиент»\nТел.: +7 912 555-01-01",
    ))
    .await;
    t.process_inbound(1).await;
    let party = t.get_as_head("/api/counterparties").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // An outsider: unauthenticated mail, Reply-To the client, a new phone in the signature.
    let mut forged = integration_tests::unauthenticated_email_from(
        "Кто-то <someone@evil.example>",
        "Счёт",
        "Оплатите счёт\n--\nТел.: +7 903 765-43-21",
    );
    forged.splice(0..0, b"Reply-To: olga@graft-client.ru\r\n".iter().copied());
    t.deliver(&forged).await;
    t.process_inbound(1).await;

    let timeline = t
        .get_as_head(&format!("/api/counterparties/{party}/timeline"))
        .await;
    let entries = timeline["items"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        2,
        "the message still joins the client's history"
    );
    assert_eq!(entries[0]["unverified"], true, "{}", entries[0]);
    assert!(entries[1].get("unverified").is_none(), "{}", entries[1]);
    let subjects: Vec<String> = t
        .sent_mail()
        .await
        .iter()
        .map(|m| {
            m["Body"]["text_part"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(
        subjects
            .iter()
            .any(|b| b.contains("Отправитель не подтверждён")),
        "{subjects:?}"
    );

    // The outsider's phone does not name the client on the PBX; the client's own does.
    let (_, caller_id) = t
        .miko("event=start&linkedid=graft-1&from=79037654321&did=1")
        .await;
    assert_eq!(caller_id, "", "an unconfirmed number shows no name");
    let (_, caller_id) = t
        .miko("event=start&linkedid=graft-2&from=79125550101&did=1")
        .await;
    assert_eq!(caller_id, "ООО «Клиент»");

    // The head looks: a marketer may not decide, the head confirms or rejects.
    let path = format!("/api/counterparties/{party}/contact-points");
    let proposed =
        json!({ "point": { "type": "phone", "value": "+79037654321" }, "decision": "reject" });
    let marketer = t.add_employee("mkt", Role::Marketer, None).await;
    assert_eq!(
        t.api_call(
            "POST",
            &path,
            Some(proposed.clone()),
            Some((&marketer.id, Role::Marketer))
        )
        .await
        .0,
        403
    );
    let head = Some((t.heads[0].id.as_str(), Role::Head));
    // The client's card tells the proposed number from the client's own.
    assert_eq!(unconfirmed_phones(&t, &party).await, ["+79037654321"]);
    let card = |t: &TestStack| {
        let party = party.to_owned();
        let store = t.store.clone();
        async move { store.card(&party).await.unwrap().unwrap() }
    };
    assert!(
        card(&t).await.phones.contains(&"+79037654321".to_owned()),
        "proposed: on the card, marked unverified in the history"
    );
    let (status, body) = t
        .api_call("POST", &path, Some(proposed.clone()), head)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !card(&t).await.phones.contains(&"+79037654321".to_owned()),
        "rejected: off the contact card, so no export lists it"
    );
    // Off the contact too: the next edit of the client's contacts does not bring it back.
    let detail = t.get_as_head(&format!("/api/counterparties/{party}")).await;
    assert!(
        !detail["contacts"].to_string().contains("+79037654321"),
        "{detail}"
    );
    let contact = &detail["contacts"][0];
    let phones: Vec<&str> = contact["phones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["e164"].as_str().unwrap())
        .collect();
    let (status, body) = t
        .api_call(
            "PUT",
            &format!(
                "/api/counterparties/{party}/contacts/{}",
                contact["id"].as_str().unwrap()
            ),
            Some(
                json!({ "name": "Ольга Петровна", "emails": contact["emails"], "phones": phones }),
            ),
            head,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(!card(&t).await.phones.contains(&"+79037654321".to_owned()));
    assert_eq!(
        t.api_call("POST", &path, Some(proposed), head).await.0,
        404,
        "gone"
    );
    assert!(unconfirmed_phones(&t, &party).await.is_empty());
    let trail = t
        .get_as_head(&format!("/api/audit/counterparty/{party}"))
        .await;
    assert!(trail.to_string().contains("rejected"), "{trail}");
    // A rejected number is nobody's: its next call is a new lead, not the client.
    let (_, caller_id) = t
        .miko("event=start&linkedid=graft-3&from=79037654321&did=1")
        .await;
    assert_eq!(caller_id, "");

    // A number the client really gave is confirmed by the head and from then on names them.
    let mut second = integration_tests::unauthenticated_email_from(
        "Ольга <olga.home@mail.example>",
        "Мой мобильный",
        "Пишу с личной почты\n--\nТел.: +7 903 000-00-77",
    );
    second.splice(0..0, b"Reply-To: olga@graft-client.ru\r\n".iter().copied());
    t.deliver(&second).await;
    t.process_inbound(1).await;
    assert_eq!(unconfirmed_phones(&t, &party).await, ["+79030000077"]);
    let confirm =
        json!({ "point": { "type": "phone", "value": "+79030000077" }, "decision": "confirm" });
    assert_eq!(t.api_call("POST", &path, Some(confirm), head).await.0, 200);
    assert!(unconfirmed_phones(&t, &party).await.is_empty(), "confirmed");
    let (_, caller_id) = t
        .miko("event=start&linkedid=graft-4&from=79030000077&did=1")
        .await;
    assert_eq!(caller_id, "ООО «Клиент»");
}

/// The numbers the client's card shows as proposed and not yet confirmed.
async fn unconfirmed_phones(t: &TestStack, party: &str) -> Vec<String> {
    let shown = t.get_as_head(&format!("/api/counterparties/{party}")).await;
    assert!(shown["contacts"].is_array(), "{shown}");
    shown["unconfirmed"]
        .as_array()
        .unwrap_or_else(|| panic!("no unconfirmed list: {shown}"))
        .iter()
        .filter(|p| p["type"] == "phone")
        .map(|p| p["value"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn mail_ses_marks_as_spam_or_virus_is_recorded_and_never_a_lead() {
    let t = TestStack::new().await;
    for verdict in ["X-SES-Spam-Verdict: FAIL", "X-SES-Virus-Verdict: FAIL"] {
        let mut raw = format!("{verdict}\r\n").into_bytes();
        raw.extend(email_from(
            "Спамер <spam@spam.example>",
            "Выгодно",
            "Купите",
        ));
        let key = t.deliver(&raw).await;
        let outcome = t
            .inbound
            .take_in(&t.inbound_bucket(), &key, chrono::Utc::now())
            .await
            .unwrap();
        assert_eq!(
            outcome,
            crm_shared::intake::IntakeOutcome::Ignored,
            "{verdict}"
        );
    }
    assert!(
        t.get_as_head("/api/counterparties").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(t.sent_mail().await.is_empty());
}

/// Collects what the code under test logs, for one test.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn info_logs_hold_no_address_phone_or_message_text() {
    let t = TestStack::new().await;
    let buffer = LogBuffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let _logs = tracing::subscriber::set_default(subscriber);

    // Every channel, with personal data in it.
    t.deliver(&email_from(
        "Секретов Пётр <petr.secret@privacy-test.ru>",
        "Конфиденциально",
        "Текст письма не для логов.\n--\nТел.: +7 912 777-88-99",
    ))
    .await;
    t.process_inbound(1).await;
    t.miko("event=start&linkedid=privacy-1&from=79167778899&did=1")
        .await;
    t.webhook(
        "POST",
        &format!("/webhooks/forms/{}", t.secrets.forms),
        "application/x-www-form-urlencoded",
        "Name=%D0%A2%D0%B0%D0%B9%D0%BD%D0%B0&Email=tayna%40privacy-test.ru&Phone=89165554411&Comments=%D1%81%D0%B5%D0%BA%D1%80%D0%B5%D1%82&tranid=privacy-form".as_bytes(),
    )
    .await;
    t.get_as_head("/api/inquiries").await;
    drop(_logs);

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("INFO"), "the test saw the info logs: {logs}");
    for secret in [
        "petr.secret",
        "privacy-test.ru",
        "912",
        "7778899",
        "9167778899",
        "5554411",
        "Текст письма",
        "Конфиденциально",
        "Секретов",
        "Тайна",
    ] {
        assert!(
            !logs.contains(secret),
            "{secret:?} is in the info logs:\n{logs}"
        );
    }
}
