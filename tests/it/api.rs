//! The staff API: authentication, roles, filters, pagination, clear 4xx answers.

use crm_domain::staff::Role;
use integration_tests::{TestStack, email_from, fixture};
use serde_json::Value;
use std::collections::HashSet;

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().expect("a page has items")
}

#[tokio::test]
async fn lists_page_with_an_opaque_cursor_and_filter_by_kind_and_channel() {
    let t = TestStack::new().await;
    t.deliver(&fixture("email/cf7-reply-to.eml")).await;
    t.deliver(&fixture("email/jivo-chat.eml")).await;
    t.deliver(&email_from(
        "Ольга <olga@page-test.ru>",
        "Вопрос",
        "Нужна печь",
    ))
    .await;
    t.process_inbound(3).await;

    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("/api/inquiries?limit=1&cursor={c}"),
            None => "/api/inquiries?limit=1".to_owned(),
        };
        let page = t.get_as_head(&query).await;
        assert!(items(&page).len() <= 1);
        for item in items(&page) {
            assert!(
                seen.insert(item["id"].as_str().unwrap().to_owned()),
                "no repeats across pages"
            );
        }
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(seen.len(), 3);

    let chats = t.get_as_head("/api/inquiries?kind=jivo_chat").await;
    assert_eq!(items(&chats).len(), 1);
    assert_eq!(items(&chats)[0]["contact"]["name"], "Дмитрий");
    let forms = t
        .get_as_head("/api/inquiries?status=unrouted&kind=site_form&channel=email")
        .await;
    assert_eq!(items(&forms).len(), 1);
    assert!(items(&t.get_as_head("/api/inquiries?channel=phone").await).is_empty());
    assert!(items(&t.get_as_head("/api/inquiries?status=routed").await).is_empty());
    assert_eq!(
        items(&t.get_as_head("/api/counterparties?kind=lead&limit=2").await).len(),
        2
    );
    assert!(items(&t.get_as_head("/api/counterparties?kind=client").await).is_empty());
    let all = t.get_as_head("/api/inquiries").await;
    assert!(items(&all)[0]["age_seconds"].as_i64().unwrap() >= 0);
}

#[tokio::test]
async fn bad_requests_get_a_clear_answer() {
    let t = TestStack::new().await;
    let head = Some((t.heads[0].id.as_str(), Role::Head));
    for (query, expected) in [
        ("/api/inquiries?limit=0", 400),
        ("/api/inquiries?limit=501", 400),
        ("/api/inquiries?limit=abc", 400),
        ("/api/inquiries?status=lost", 400),
        ("/api/inquiries?kind=fax", 400),
        ("/api/inquiries?cursor=not-a-cursor", 400),
        ("/api/counterparties?kind=enemy", 400),
        ("/api/counterparties/does-not-exist", 404),
        ("/api/counterparties/..%2F..", 404),
        ("/api/unknown", 404),
    ] {
        let (status, body) = t.api_get(query, head).await;
        assert_eq!(status, expected, "{query}: {body}");
        if status == 400 {
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|r| !r.is_empty()),
                "{query}: {body}"
            );
        }
    }
    // A cursor of another list is refused, not misread.
    t.deliver(&email_from("A <a@cursor-test.ru>", "1", "x"))
        .await;
    t.deliver(&email_from("B <b@cursor-test.ru>", "2", "y"))
        .await;
    t.process_inbound(2).await;
    let page = t.get_as_head("/api/counterparties?limit=1").await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let (status, _) = t
        .api_get(&format!("/api/inquiries?cursor={cursor}"), head)
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn without_valid_claims_the_answer_is_401_and_roles_are_enforced() {
    let t = TestStack::new().await;
    let (status, body) = t.api_get("/api/inquiries", None).await;
    assert_eq!(status, 401, "{body}");
    let warehouse = t.add_employee("wh", Role::Warehouse, None).await;
    let marketer = t.add_employee("mkt", Role::Marketer, None).await;
    for staff in [&warehouse, &marketer] {
        let caller = Some((staff.id.as_str(), staff.role));
        assert_eq!(
            t.api_get("/api/inquiries", caller).await.0,
            403,
            "no correspondence"
        );
        assert_eq!(
            t.api_get("/api/counterparties", caller).await.0,
            200,
            "counterparties' names are for everyone"
        );
    }
    for caller in [(&t.heads[0].id, Role::Head), (&t.manager.id, Role::Manager)] {
        let (status, _) = t
            .api_get("/api/inquiries", Some((caller.0, caller.1)))
            .await;
        assert_eq!(status, 200, "{}", caller.1);
    }
}

#[tokio::test]
async fn a_counterparty_is_found_by_address_any_written_phone_or_word_starts() {
    let t = TestStack::new().await;
    t.deliver(&integration_tests::email_from(
        "Пётр Ёлкин <petr@elkin-search.ru>",
        "Запрос",
        "Нужен насос.\n--\nПётр Ёлкин\nТел.: +7 912 555-00-11",
    ))
    .await;
    t.deliver(&integration_tests::email_from(
        "Иван Петров <ivan@petrov-search.ru>",
        "Запрос",
        "Нужна камера",
    ))
    .await;
    assert_eq!(t.process_inbound(2).await, 0);
    let names = |body: &serde_json::Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for (q, want) in [
        ("PETR@elkin-search.ru", vec!["Пётр Ёлкин"]),
        ("8 (912) 555-00-11", vec!["Пётр Ёлкин"]),
        ("+79125550011", vec!["Пётр Ёлкин"]),
        ("елк", vec!["Пётр Ёлкин"]),
        ("пётр ёлкин", vec!["Пётр Ёлкин"]),
        ("петр", vec!["Иван Петров", "Пётр Ёлкин"]),
        ("петров", vec!["Иван Петров"]),
        ("сидоров", vec![]),
    ] {
        let body = t
            .get_as_head(&format!(
                "/api/counterparties?q={}",
                percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC)
            ))
            .await;
        assert_eq!(names(&body), want, "{q}: {body}");
    }
    // Renamed: found by the new name, no longer by the old one.
    let found = t
        .get_as_head("/api/counterparties?q=petr%40elkin-search.ru")
        .await;
    let party = found["items"][0]["id"].as_str().unwrap().to_owned();
    let head = Some((t.heads[0].id.as_str(), crm_domain::staff::Role::Head));
    let (status, renamed) = t
        .api_call(
            "PATCH",
            &format!("/api/counterparties/{party}"),
            Some(serde_json::json!({ "name": "Пётр Сосновский", "company": "ООО «Лес»" })),
            head,
        )
        .await;
    assert_eq!(status, 200, "{renamed}");
    for (q, want) in [("сосн", 1), ("лес", 1), ("елкин", 0)] {
        let body = t
            .get_as_head(&format!(
                "/api/counterparties?q={}",
                percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC)
            ))
            .await;
        assert_eq!(body["items"].as_array().unwrap().len(), want, "{q}: {body}");
    }
    let card = t.store.card(&party).await.unwrap().unwrap();
    assert_eq!(card.company.as_deref(), Some("ООО «Лес»"));
    let (status, _) = t
        .api_get(
            "/api/counterparties?q=%D0%BF",
            Some((t.heads[0].id.as_str(), crm_domain::staff::Role::Head)),
        )
        .await;
    assert_eq!(status, 400, "one letter asks for nothing");
}

#[tokio::test]
async fn the_inbox_can_list_the_longest_waiting_first() {
    let t = TestStack::new().await;
    for from in [
        "Первый <first@sort-inbox.ru>",
        "Второй <second@sort-inbox.ru>",
    ] {
        t.deliver(&integration_tests::email_from(
            from,
            "Запрос",
            "Нужен насос",
        ))
        .await;
        assert_eq!(t.process_inbound(1).await, 0);
    }
    let senders = |body: &serde_json::Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["contact"]["email"].as_str().unwrap().to_owned())
            .collect()
    };
    let newest = t.get_as_head("/api/inquiries?status=unrouted").await;
    assert_eq!(
        senders(&newest),
        ["second@sort-inbox.ru", "first@sort-inbox.ru"]
    );
    let oldest = t
        .get_as_head("/api/inquiries?status=unrouted&sort=received")
        .await;
    assert_eq!(
        senders(&oldest),
        ["first@sort-inbox.ru", "second@sort-inbox.ru"]
    );
    let (status, _) = t
        .api_get(
            "/api/inquiries?sort=name",
            Some((t.heads[0].id.as_str(), crm_domain::staff::Role::Head)),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn staff_edit_a_contact_and_its_points_follow_everywhere() {
    let t = TestStack::new().await;
    t.deliver(&integration_tests::email_from(
        "Анна Сомова <anna@somova-edit.ru>",
        "Запрос",
        "Нужен насос.\n--\nАнна\nТел.: +7 912 555-10-20",
    ))
    .await;
    t.deliver(&integration_tests::email_from(
        "Борис Другой <boris@other-edit.ru>",
        "Запрос",
        "Нужна камера",
    ))
    .await;
    assert_eq!(t.process_inbound(2).await, 0);
    let head = Some((t.heads[0].id.as_str(), crm_domain::staff::Role::Head));
    let found = t
        .get_as_head("/api/counterparties?q=anna%40somova-edit.ru")
        .await;
    let party = found["items"][0]["id"].as_str().unwrap().to_owned();
    let detail = t.get_as_head(&format!("/api/counterparties/{party}")).await;
    let contact = detail["contacts"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/counterparties/{party}/contacts/{contact}");

    // A new office number and address added, the mobile dropped.
    let (status, edited) = t
        .api_call(
            "PUT",
            &path,
            Some(serde_json::json!({
                "name": "Анна Сомова",
                "emails": ["anna@somova-edit.ru", "office@somova-edit.ru"],
                "phones": ["8 (343) 222-33-44"],
            })),
            head,
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["phones"][0]["e164"], "+73432223344");
    let by = |q: &str| {
        let q = percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
        let t = &t;
        async move {
            t.get_as_head(&format!("/api/counterparties?q={q}")).await["items"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(by("+7 343 222-33-44").await, 1, "the new number finds her");
    assert_eq!(by("office@somova-edit.ru").await, 1, "the new address too");
    assert_eq!(
        by("+7 912 555-10-20").await,
        0,
        "the dropped number no longer"
    );
    let card = t.store.card(&party).await.unwrap().unwrap();
    assert_eq!(card.phones, ["+73432223344"]);
    assert_eq!(card.emails.len(), 2);

    // Another client's address is refused, naming it; nothing changes.
    let (status, body) = t
        .api_call(
            "PUT",
            &path,
            Some(serde_json::json!({ "emails": ["boris@other-edit.ru"], "phones": [] })),
            head,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["error"]["fields"],
        serde_json::json!(["email#boris@other-edit.ru"])
    );
    assert_eq!(by("office@somova-edit.ru").await, 1);

    // Two people editing the contact at once: the one who read it before the other's
    // change is refused, and the change stands.
    let stale = t.store.counterparty_detail(&party).await.unwrap().unwrap();
    let stale_contact = stale.contacts[0].clone();
    let (status, _) = t
        .api_call(
            "PUT",
            &path,
            Some(serde_json::json!({ "emails": ["anna@somova-edit.ru"], "phones": ["+7 343 222-33-44"] })),
            head,
        )
        .await;
    assert_eq!(status, 200);
    let late = stale_contact
        .edited(None, &["late@somova-edit.ru".into()], &[])
        .unwrap();
    assert_eq!(
        t.store
            .edit_contact(&stale_contact, &late, &[], &[])
            .await
            .unwrap(),
        crm_shared::adapters::ContactEditOutcome::Changed
    );
    assert_eq!(
        by("late@somova-edit.ru").await,
        0,
        "the late edit claimed nothing"
    );
    assert_eq!(
        by("office@somova-edit.ru").await,
        0,
        "the first edit stands"
    );

    // What cannot be read is named.
    let (status, body) = t
        .api_call(
            "PUT",
            &path,
            Some(serde_json::json!({ "emails": ["anna@somova-edit.ru"], "phones": ["12"] })),
            head,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"], serde_json::json!(["phones[0]"]));
    let audit = t
        .get_as_head(&format!("/api/audit/counterparty/{party}"))
        .await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "phones" && e["actor"] == t.heads[0].id.as_str()),
        "{audit}"
    );
}

#[tokio::test]
async fn the_openapi_document_is_served_and_valid() {
    let t = TestStack::new().await;
    let document = t.get_as_head("/api/openapi.json").await;
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/api/deals/{id}/stage"]["post"].is_object());
    let dir = std::env::temp_dir().join(format!("openapi-{}", t.name));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&document).unwrap()).unwrap();
    // The validator comes with the pinned Python packages (localstack/requirements.lock).
    let python = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../localstack/.venv/bin/python"
    );
    let checked = std::process::Command::new(python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("the venv's Python (make install)");
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}
