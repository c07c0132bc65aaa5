//! Telephony and web intake: MikoPBX call events, Jivo and site forms through the
//! webhooks function, against the emulators.

use integration_tests::{TestStack, email_from, fixture};
use serde_json::Value;

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().expect("a page has items")
}

fn text_fixture(path: &str) -> String {
    String::from_utf8(fixture(path)).unwrap().trim().to_owned()
}

async fn counts(t: &TestStack) -> (usize, usize) {
    (
        items(&t.get_as_head("/api/counterparties").await).len(),
        items(&t.get_as_head("/api/inquiries").await).len(),
    )
}

#[tokio::test]
async fn a_whole_call_from_an_unknown_number_is_one_lead_one_inquiry_and_one_complete_call_record()
{
    let t = TestStack::new().await;
    for event in ["call-start", "call-answer", "call-end"] {
        let (status, body) = t.miko(&text_fixture(&format!("miko/{event}.query"))).await;
        assert_eq!(status, 200, "{event}: {body}");
        assert_eq!(body, "", "an unknown caller has no caller-ID name");
    }
    assert_eq!(counts(&t).await, (1, 1));
    let inquiries = t.get_as_head("/api/inquiries?channel=phone").await;
    let inquiry = &items(&inquiries)[0];
    assert_eq!(inquiry["kind"], "call");
    assert_eq!(inquiry["missed"], false);
    assert_eq!(inquiry["contact"]["phone"]["e164"], "+79257181233");

    let call = t
        .store
        .call("mikopbx-1698228609.369")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(call.events, vec!["start", "answer", "end"]);
    assert_eq!(call.caller_e164.as_deref(), Some("+79257181233"));
    assert_eq!(call.answered_by_ext.as_deref(), Some("201"));
    assert_eq!(call.answered_by.as_deref(), Some(t.manager.id.as_str()));
    assert_eq!(call.legs, vec!["mikopbx-1698228610.373_een3wt".to_owned()]);
    assert!(call.started_at.is_some() && call.answered_at.is_some() && call.ended_at.is_some());
    assert!(call.recording.as_deref().unwrap().ends_with(".mp3"));
    assert!(!call.missed());
    assert_eq!(call.inquiry_id.as_deref(), inquiry["id"].as_str());
    assert_eq!(
        t.raw_copies("webhooks/miko/").await,
        3,
        "every request kept raw"
    );
}

#[tokio::test]
async fn a_missed_call_from_an_unknown_number_is_a_missed_lead_with_a_call_back_task() {
    let t = TestStack::new().await;
    assert_eq!(
        t.miko(&text_fixture("miko/missed-start.query")).await.0,
        200
    );
    assert_eq!(t.miko(&text_fixture("miko/missed-end.query")).await.0, 200);
    let inquiries = t.get_as_head("/api/inquiries?status=unrouted").await;
    assert_eq!(items(&inquiries).len(), 1);
    assert_eq!(items(&inquiries)[0]["missed"], true);
    let call = t
        .store
        .call("mikopbx-1698230000.500")
        .await
        .unwrap()
        .unwrap();
    assert!(call.missed());
    assert_eq!(call.did.as_deref(), Some("Основная"));
    let tasks = t.store.tasks_of("role:head").await.unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].kind, crm_domain::sales::TaskKind::CallBack);
    let party = items(&t.get_as_head("/api/counterparties").await)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(tasks[0].party_id.as_deref(), Some(party.as_str()));
    // The heads heard of the lead and of the call back.
    let subjects: Vec<String> = t
        .sent_mail()
        .await
        .iter()
        .map(|m| m["Subject"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects.iter().any(|s| s.starts_with("Пропущенный звонок")));
}

#[tokio::test]
async fn replayed_call_events_change_nothing() {
    let t = TestStack::new().await;
    let events: Vec<String> = ["missed-start", "missed-end"]
        .iter()
        .map(|e| text_fixture(&format!("miko/{e}.query")))
        .collect();
    for query in &events {
        t.miko(query).await;
    }
    let before = (
        counts(&t).await,
        t.store.call("mikopbx-1698230000.500").await.unwrap(),
        t.sent_mail().await.len(),
    );
    for query in events.iter().chain(events.iter()) {
        assert_eq!(t.miko(query).await.0, 200);
    }
    let after = (
        counts(&t).await,
        t.store.call("mikopbx-1698230000.500").await.unwrap(),
        t.sent_mail().await.len(),
    );
    assert_eq!(before, after);
    assert_eq!(t.store.tasks_of("role:head").await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_end_before_the_answer_still_gives_one_correct_record() {
    let t = TestStack::new().await;
    let start = text_fixture("miko/call-start.query");
    let answer = text_fixture("miko/call-answer.query");
    let end = text_fixture("miko/call-end.query");
    for query in [&end, &start, &answer] {
        assert_eq!(t.miko(query).await.0, 200);
    }
    let call = t
        .store
        .call("mikopbx-1698228609.369")
        .await
        .unwrap()
        .unwrap();
    assert!(call.answered_at.is_some() && call.ended_at.is_some() && call.started_at.is_some());
    assert!(!call.missed());
    assert_eq!(call.answered_by.as_deref(), Some(t.manager.id.as_str()));
    assert_eq!(counts(&t).await, (1, 1));
    assert!(
        t.store.tasks_of("role:head").await.unwrap().is_empty(),
        "an answered call needs no call back"
    );
}

#[tokio::test]
async fn a_known_caller_gets_the_name_as_caller_id_and_a_missed_call_a_task_for_the_manager() {
    let t = TestStack::new().await;
    t.deliver(&email_from(
        "Пётр <petr@known-caller.ru>",
        "Запрос",
        "Добрый день\n--\nООО «Известный Клиент»\nТел.: 8 (916) 111-22-33",
    ))
    .await;
    t.process_inbound(1).await;
    let party = items(&t.get_as_head("/api/counterparties").await)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.assign_manager(&party).await;

    let (status, caller_id) = t
        .miko("event=start&linkedid=known-1&from=79161112233&did=1233")
        .await;
    assert_eq!(
        (status, caller_id.as_str()),
        (200, "ООО «Известный Клиент»")
    );
    // A repeated start answers the same.
    assert_eq!(
        t.miko("event=start&linkedid=known-1&from=79161112233&did=1233")
            .await
            .1,
        "ООО «Известный Клиент»"
    );
    t.miko("event=end&linkedid=known-1&uid=u1&from=79161112233&missed=1")
        .await;

    assert_eq!(counts(&t).await, (1, 1), "no new lead, no new inquiry");
    let timeline = t
        .get_as_head(&format!("/api/counterparties/{party}/timeline"))
        .await;
    assert_eq!(items(&timeline).len(), 2);
    assert_eq!(items(&timeline)[0]["channel"], "phone");
    assert_eq!(items(&timeline)[0]["missed"], true);
    let tasks = t.store.tasks_of(&t.manager.id).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert!(t.store.tasks_of("role:head").await.unwrap().is_empty());
}

#[tokio::test]
async fn jivo_chats_and_offline_messages_become_chat_inquiries_once() {
    let t = TestStack::new().await;
    let path = format!("/webhooks/jivo/{}", t.secrets.jivo);
    for name in [
        "chat-finished",
        "offline-message",
        "chat-accepted",
        "chat-finished",
    ] {
        let (status, body) = t
            .webhook(
                "POST",
                &path,
                "application/json",
                &fixture(&format!("jivo/{name}.json")),
            )
            .await;
        assert_eq!(
            (status, body.as_str()),
            (200, r#"{"result":"ok"}"#),
            "{name}"
        );
    }
    let chats = t.get_as_head("/api/inquiries?channel=chat").await;
    assert_eq!(items(&chats).len(), 2, "the replayed chat changed nothing");
    let finished = items(&chats)
        .iter()
        .find(|i| i["contact"]["name"] == "Дмитрий")
        .unwrap();
    assert_eq!(finished["kind"], "jivo_chat");
    assert!(
        finished["text"]
            .as_str()
            .unwrap()
            .contains("Посетитель: 40 м3/ч, нужно 3 штуки.")
    );
    assert_eq!(t.raw_copies("webhooks/jivo/").await, 4);
}

#[tokio::test]
async fn site_forms_tilda_and_json_become_form_inquiries_and_the_ping_is_acknowledged() {
    let t = TestStack::new().await;
    let path = format!("/webhooks/forms/{}", t.secrets.forms);
    let urlencoded = "application/x-www-form-urlencoded";
    assert_eq!(
        t.webhook("POST", &path, urlencoded, &fixture("forms/tilda-test.form"))
            .await,
        (200, "ok".into())
    );
    assert_eq!(
        t.webhook("POST", &path, urlencoded, &fixture("forms/tilda.form"))
            .await
            .0,
        200
    );
    assert_eq!(
        t.webhook("POST", &path, urlencoded, &fixture("forms/tilda.form"))
            .await
            .0,
        200
    );
    assert_eq!(
        t.webhook(
            "POST",
            &path,
            "application/json",
            &fixture("forms/site-form.json")
        )
        .await
        .0,
        200
    );
    let forms = t.get_as_head("/api/inquiries?channel=form").await;
    assert_eq!(items(&forms).len(), 2);
    let tilda = items(&forms)
        .iter()
        .find(|i| i["source"]["event_key"] == "form#tilda#7777111:2468")
        .unwrap();
    assert_eq!(tilda["contact"]["name"], "Ольга Крылова");
    assert_eq!(tilda["contact"]["company"], "ООО «Стальмаш»");
    assert_eq!(tilda["contact"]["phone"]["e164"], "+79121112233");
}

#[tokio::test]
async fn bad_requests_get_their_status_and_write_nothing_but_the_raw_copy() {
    let t = TestStack::new().await;
    // Wrong secret: the same 404 as an unknown path, nothing written.
    let (status, body) = t.miko("event=start&linkedid=x").await;
    assert_eq!(status, 200, "{body}");
    let wrong = t
        .webhook(
            "GET",
            "/webhooks/miko/not-the-secret?event=start&linkedid=y&from=79000000000",
            "",
            b"",
        )
        .await;
    assert_eq!(wrong, (404, r#"{"message":"Not Found"}"#.to_owned()));
    assert_eq!(
        t.webhook("POST", "/webhooks/jivo/nope", "application/json", b"{}")
            .await
            .0,
        404
    );
    assert_eq!(
        t.webhook("POST", "/webhooks/fax/anything", "text/plain", b"x")
            .await
            .0,
        404
    );
    assert_eq!(
        t.raw_copies("webhooks/").await,
        1,
        "only the one authenticated request was kept"
    );

    // A 10 MB body: 413 before anything is stored.
    let jivo = format!("/webhooks/jivo/{}", t.secrets.jivo);
    let huge = vec![b'a'; 10 * 1024 * 1024];
    assert_eq!(
        t.webhook("POST", &jivo, "application/json", &huge).await.0,
        413
    );
    assert_eq!(t.raw_copies("webhooks/jivo/").await, 0);

    // Unreadable bodies: 400 with a reason, the raw copy kept, nothing else written.
    let forms = format!("/webhooks/forms/{}", t.secrets.forms);
    let (status, body) = t
        .webhook(
            "POST",
            &forms,
            "application/x-www-form-urlencoded",
            b"Name=%ZZ&Phone=1",
        )
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("percent-escape"), "{body}");
    let (status, body) = t
        .webhook("POST", &jivo, "application/json", b"{\"event_name\": chat")
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("not valid JSON"), "{body}");
    let (status, _) = t.miko("event=hangup&linkedid=z").await;
    assert_eq!(status, 400);
    assert_eq!(t.raw_copies("webhooks/forms/").await, 1);
    assert_eq!(t.raw_copies("webhooks/jivo/").await, 1);
    // The first, valid start without a caller is recorded as unidentified; nothing else exists.
    assert_eq!(counts(&t).await, (0, 0));
    assert!(t.sent_mail().await.is_empty());
}

#[tokio::test]
async fn one_new_person_calling_emailing_and_chatting_at_once_is_one_lead_with_three_entries() {
    let t = TestStack::new().await;
    let key = t
        .deliver(&email_from(
            "Ирина <irina@cross-channel.ru>",
            "Запрос",
            "Нужна печь.\n--\nТел.: +7 916 777-88-99",
        ))
        .await;
    let bucket = t.inbound_bucket();
    let jivo_body = serde_json::json!({
        "event_name": "chat_finished",
        "chat_id": "cross-1",
        "visitor": { "name": "Ирина", "email": "irina@cross-channel.ru", "phone": "89167778899" },
        "chat": { "messages": [{ "message": "Нужна печь", "timestamp": 1764401462, "type": "visitor" }] }
    })
    .to_string();
    let jivo_path = format!("/webhooks/jivo/{}", t.secrets.jivo);
    let (call, email, chat) = tokio::join!(
        t.miko("event=start&linkedid=cross-call-1&from=79167778899&did=1233"),
        t.inbound.take_in(&bucket, &key, chrono::Utc::now()),
        t.webhook("POST", &jivo_path, "application/json", jivo_body.as_bytes()),
    );
    assert_eq!(call.0, 200);
    assert!(email.is_ok(), "{email:?}");
    assert_eq!(chat.0, 200);

    assert_eq!(counts(&t).await, (1, 1));
    let party = items(&t.get_as_head("/api/counterparties").await)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let timeline = t
        .get_as_head(&format!("/api/counterparties/{party}/timeline"))
        .await;
    let mut channels: Vec<&str> = items(&timeline)
        .iter()
        .map(|e| e["channel"].as_str().unwrap())
        .collect();
    channels.sort();
    assert_eq!(channels, vec!["chat", "email", "phone"]);
}

#[tokio::test]
async fn round_trips_per_webhook_event_are_what_the_design_needs() {
    let t = TestStack::new().await;
    let take = |t: &TestStack| t.counted.round_trips.take();
    take(&t);
    // Call start from an unknown number: raw copy, intake of a new lead (5), the call record.
    t.miko("event=start&linkedid=rt-1&from=79160000001&did=1")
        .await;
    let per_op = |pairs: &[(&str, usize)]| -> std::collections::BTreeMap<String, usize> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    };
    assert_eq!(
        take(&t),
        per_op(&[
            ("S3.PutObject", 1),
            ("DynamoDB.BatchGetItem", 1),
            ("DynamoDB.Query", 1),
            ("DynamoDB.TransactWriteItems", 1),
            ("SES.SendEmail", 1),
            // Mark the notification sent; merge the event into the call record.
            ("DynamoDB.UpdateItem", 2),
        ])
    );
    // The answer: raw copy, duplicate lookup, who has the extension, the call record.
    t.miko("event=answer&linkedid=rt-1&uid=u&ext=201&from=79160000001")
        .await;
    assert_eq!(
        take(&t),
        per_op(&[
            ("S3.PutObject", 1),
            ("DynamoDB.BatchGetItem", 1),
            ("DynamoDB.Query", 1),
            ("DynamoDB.UpdateItem", 1),
        ])
    );
    // A Jivo chat from a new person: raw copy plus the new-lead intake.
    let jivo = format!("/webhooks/jivo/{}", t.secrets.jivo);
    t.webhook(
        "POST",
        &jivo,
        "application/json",
        &fixture("jivo/chat-finished.json"),
    )
    .await;
    assert_eq!(
        take(&t),
        per_op(&[
            ("S3.PutObject", 1),
            ("DynamoDB.BatchGetItem", 1),
            ("DynamoDB.Query", 1),
            ("DynamoDB.TransactWriteItems", 1),
            ("SES.SendEmail", 1),
            ("DynamoDB.UpdateItem", 1),
        ])
    );
}

#[tokio::test]
async fn a_time_offset_whose_plus_became_a_space_is_still_read_as_moscow_time() {
    let t = TestStack::new().await;
    let answer = text_fixture("miko/plus-as-space-answer.query");
    assert!(
        answer.contains("T15:00:00 03:00"),
        "the fixture keeps the field's shape"
    );
    // On the wire the PBX sent an unencoded `+`, which query decoding turned into a space.
    let wire = answer
        .replace(' ', "+")
        .replace('(', "%28")
        .replace(')', "%29");
    assert_eq!(t.miko(&wire).await.0, 200);
    let call = t
        .store
        .call("mikopbx-1698231111.600")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        call.answered_at.unwrap().to_rfc3339(),
        "2023-10-25T12:00:00+00:00"
    );
}

#[tokio::test]
async fn the_timeline_shows_who_answered_a_call_for_how_long_and_its_recording() {
    let t = TestStack::new().await;
    for event in ["call-start", "call-answer", "call-end"] {
        assert_eq!(
            t.miko(&text_fixture(&format!("miko/{event}.query")))
                .await
                .0,
            200
        );
    }
    let party = items(&t.get_as_head("/api/counterparties").await)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let timeline = t
        .get_as_head(&format!("/api/counterparties/{party}/timeline"))
        .await;
    let call = &items(&timeline)[0]["call"];
    assert_eq!(call["answered_by"], t.manager.id.as_str(), "{timeline}");
    assert_eq!(call["answered_by_extension"], "201", "{call}");
    assert_eq!(call["missed"], false);
    assert!(call["talk_seconds"].as_i64().unwrap() >= 0, "{call}");
    assert!(
        call["recording"].as_str().is_some_and(|r| !r.is_empty()),
        "{call}"
    );
    // The inquiry the call opened shows it too.
    let inquiries = t.get_as_head("/api/inquiries?channel=phone").await;
    assert_eq!(
        items(&inquiries)[0]["call"]["answered_by"],
        t.manager.id.as_str(),
        "{inquiries}"
    );
}
