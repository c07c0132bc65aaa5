//! The sales process through the API and the deal-events consumer: routing,
//! qualification, every deal stage, tasks, events in order, the outbox after a crash,
//! audit, roles, the commercial proposal, and the scheduled jobs.

use aws_sdk_dynamodb::types::AttributeValue;
use crm_domain::staff::{Department, Role};
use integration_tests::{TestStack, email_from};
use serde_json::{Value, json};
use std::collections::HashMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(crate) fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().expect("a list has items")
}

fn legal_entity() -> Value {
    json!({
        "name": "АО «Радиоприбор»",
        "inn": "7830002293",
        "kpp": "781001001",
        "bank": {
            "bank_name": "ПАО Сбербанк",
            "bik": "044525225",
            "account": "40702810938000012345",
            "correspondent_account": "30101810400000000225"
        },
        "address": "Санкт-Петербург, ул. Обуховской обороны, 120"
    })
}

pub(crate) fn deal_input(items: Value) -> Value {
    json!({
        "needs": ["камера тепла-холода −70…+180 °C", "объём 1 м³"],
        "legal_entity": legal_entity(),
        "contact": { "name": "Ольга Васильева", "phone": "+79215551234" },
        "application_area": "испытания электроники",
        "equipment_type": "climate_chamber",
        "processed_materials": "печатные платы",
        "items": items
    })
}

fn chamber() -> Value {
    json!([{ "product": "Камера КТХ-1000", "equipment_type": "climate_chamber", "quantity": 1, "unit_price_kopecks": 250_000_000, "made_to_order": true }])
}

pub(crate) fn pumps() -> Value {
    json!([{ "product": "Насос НВР-16Д", "equipment_type": "vacuum_pump", "quantity": 2, "unit_price_kopecks": 15_000_000, "made_to_order": false }])
}

/// A lead from an email, routed by a head to the stack's manager; returns the inquiry id.
pub(crate) async fn routed_inquiry(t: &TestStack, from: &str) -> String {
    t.deliver(&email_from(from, "Запрос", "Нужна камера")).await;
    t.process_inbound(1).await;
    let unrouted = t.get_as_head("/api/inquiries?status=unrouted").await;
    let inquiry = items(&unrouted)[0]["id"].as_str().unwrap().to_owned();
    let head = Some((t.heads[0].id.as_str(), Role::Head));
    let (status, body) = t
        .api_call(
            "POST",
            "/api/inquiries/route",
            Some(json!({ "inquiry_ids": [inquiry], "department": "high", "manager_id": t.manager.id, "reason": "вакуумная тематика" })),
            head,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["routed"], json!([inquiry]));
    inquiry
}

/// A deal qualified from a routed inquiry by the stack's manager.
pub(crate) async fn new_deal(t: &TestStack, from: &str, lines: Value) -> Value {
    let inquiry = routed_inquiry(t, from).await;
    let (status, deal) = t
        .api_call(
            "POST",
            &format!("/api/inquiries/{inquiry}/qualify"),
            Some(json!({ "outcome": "deal", "deal": deal_input(lines) })),
            Some((&t.manager.id, Role::Manager)),
        )
        .await;
    assert_eq!(status, 201, "{deal}");
    deal
}

struct DealDriver<'a> {
    t: &'a TestStack,
    id: String,
    version: u64,
}

impl DealDriver<'_> {
    fn manager(&self) -> Option<(&str, Role)> {
        Some((&self.t.manager.id, Role::Manager))
    }

    async fn edit(&mut self, fields: Value) {
        let mut body = fields;
        body["version"] = json!(self.version);
        let (status, deal) = self
            .t
            .api_call(
                "PATCH",
                &format!("/api/deals/{}", self.id),
                Some(body),
                self.manager(),
            )
            .await;
        assert_eq!(status, 200, "{deal}");
        self.version = deal["version"].as_u64().unwrap();
    }

    /// Reads the deal's version again (after changes the order made).
    async fn reload(&mut self) {
        let (status, body) = self
            .t
            .api_get(&format!("/api/deals/{}", self.id), self.manager())
            .await;
        assert_eq!(status, 200, "{body}");
        self.version = body["deal"]["version"].as_u64().unwrap();
    }

    async fn move_to(&mut self, stage: &str) -> (u16, Value) {
        let (status, body) = self
            .t
            .api_call(
                "POST",
                &format!("/api/deals/{}/stage", self.id),
                Some(json!({ "version": self.version, "to": stage, "reason": "клиент выбрал конкурента" })),
                self.manager(),
            )
            .await;
        if status == 200 {
            self.version = body["version"].as_u64().unwrap();
        }
        (status, body)
    }

    async fn must_move(&mut self, stage: &str) {
        let (status, body) = self.move_to(stage).await;
        assert_eq!(status, 200, "to {stage}: {body}");
        assert_eq!(body["stage"], stage);
    }

    async fn refused(&mut self, stage: &str, code: &str, missing: &[&str]) {
        let (status, body) = self.move_to(stage).await;
        assert_eq!(status, 422, "to {stage}: {body}");
        assert_eq!(body["error"]["code"], "transition_refused");
        assert_eq!(body["error"]["refusal"]["code"], code, "to {stage}: {body}");
        assert_eq!(
            body["error"]["refusal"]["missing"],
            json!(missing),
            "to {stage}: {body}"
        );
        // The refusal names the moves that are open, as the deal itself lists them.
        let (_, current) = self
            .t
            .api_get(&format!("/api/deals/{}", self.id), self.manager())
            .await;
        assert_eq!(
            body["error"]["refusal"]["allowed"], current["next_stages"],
            "to {stage}: {body} vs {current}"
        );
        // A move that is not allowed is not offered; one that lacks data is.
        let offered = current["next_stages"]
            .as_array()
            .unwrap()
            .contains(&json!(stage));
        assert_eq!(offered, code == "missing_data", "to {stage}: {current}");
    }
}

/// The text of an .xlsx as LibreOffice prints it to PDF (read back with pdftotext).
pub(crate) async fn pdf_text(xlsx: &[u8], dir_name: &str) -> String {
    let dir = std::env::temp_dir().join(dir_name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("document.xlsx");
    std::fs::write(&file, xlsx).unwrap();
    let converted = tokio::process::Command::new("libreoffice")
        .args([
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
        ])
        .arg(&dir)
        .arg(&file)
        .env("HOME", &dir)
        .output()
        .await
        .expect("libreoffice is installed (make install)");
    assert!(
        converted.status.success(),
        "{}",
        String::from_utf8_lossy(&converted.stderr)
    );
    let text = std::process::Command::new("pdftotext")
        .arg(dir.join("document.pdf"))
        .arg("-")
        .output()
        .unwrap();
    String::from_utf8_lossy(&text.stdout).into_owned()
}

pub(crate) async fn http_get_bytes(url: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("a local http URL");
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream
        .write_all(format!("GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response[split + 4..].to_vec())
}

#[tokio::test]
async fn a_climate_chamber_deal_runs_through_every_stage_to_closed() {
    let t = TestStack::new().await;
    let deal = new_deal(&t, "Ольга <olga@radiopribor-test.ru>", chamber()).await;
    assert_eq!(deal["stage"], "equipment_selection");
    let mut d = DealDriver {
        t: &t,
        id: deal["id"].as_str().unwrap().to_owned(),
        version: 1,
    };
    let party = deal["party_id"].as_str().unwrap().to_owned();
    let client = t.get_as_head(&format!("/api/counterparties/{party}")).await;
    assert_eq!(client["kind"], "client", "a lead with a deal is a client");
    assert_eq!(client["responsible_manager_id"], t.manager.id.as_str());
    let (_, party_audit) = t
        .api_get(&format!("/api/audit/counterparty/{party}"), d.manager())
        .await;
    let changes: Vec<(&str, &str)> = items(&party_audit)
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changes[0],
        ("created", "system"),
        "made by intake: {changes:?}"
    );
    assert!(
        changes.contains(&("responsible_manager_id", t.heads[0].id.as_str())),
        "routed by the head: {changes:?}"
    );
    assert!(
        changes.contains(&("kind", t.manager.id.as_str())),
        "made a client by the deal: {changes:?}"
    );

    let (status, proposal) = t
        .api_call(
            "POST",
            &format!("/api/deals/{}/proposal", d.id),
            Some(json!({ "version": d.version })),
            d.manager(),
        )
        .await;
    assert_eq!(status, 200, "{proposal}");
    assert_eq!(proposal["deal"]["stage"], "proposal");
    d.version = proposal["deal"]["version"].as_u64().unwrap();
    let (status, bytes) = http_get_bytes(proposal["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert!(
        bytes.starts_with(b"PK"),
        "the presigned link gives the .xlsx"
    );

    d.must_move("agreed").await;
    // The agreed deal gets its customer order: the chamber is made in-house.
    assert_eq!(t.process_deal_events().await, 0);
    d.reload().await;
    d.refused("warehouse_sale", "not_allowed", &[]).await;
    d.must_move("production").await;
    d.refused("warehouse_sale", "missing_data", &["production_ready"])
        .await;
    // Nobody ticks production or shipping by hand: production and the warehouse do.
    let (status, body) = t
        .api_call(
            "PATCH",
            &format!("/api/deals/{}", d.id),
            Some(json!({ "version": d.version, "production_ready": true })),
            d.manager(),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "set_by_order");
    let shop = t.add_employee("shop", Role::Production, None).await;
    let (status, body) = t
        .api_call(
            "PATCH",
            &format!("/api/orders/{}/production/1", d.id),
            Some(json!({ "status": "done" })),
            Some((&shop.id, Role::Production)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deal"]["production_ready"], true);
    d.reload().await;
    d.must_move("warehouse_sale").await;
    d.refused("installation", "missing_data", &["shipped"])
        .await;
    // The chamber leaves by the label of its production order, which is its batch.
    let warehouse = t.add_employee("store", Role::Warehouse, None).await;
    let (status, body) = t
        .api_call(
            "POST",
            &format!("/api/orders/{}/shipments", d.id),
            Some(json!({ "shipment_id": "chamber-1", "scans": [{ "scan": format!("{}-P1", d.id) }] })),
            Some((&warehouse.id, Role::Warehouse)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["shipped"], true);
    d.reload().await;
    d.must_move("installation").await;
    d.refused("service", "not_allowed", &[]).await;
    d.refused("attestation", "missing_data", &["acceptance_signed"])
        .await;
    d.edit(json!({ "acceptance_signed": true })).await;
    d.must_move("attestation").await;
    d.refused("service", "missing_data", &["attestation_done"])
        .await;
    d.edit(json!({ "attestation_done": true })).await;
    d.must_move("service").await;
    d.edit(json!({ "service_decision": "contract" })).await;
    d.refused(
        "closed",
        "missing_data",
        &["payment_received", "closing_documents"],
    )
    .await;
    d.edit(json!({ "payment_received": true, "closing_documents": true }))
        .await;
    d.must_move("closed").await;
    assert_eq!(t.process_deal_events().await, 0);

    // Every event consumed once, in version order.
    let consumed = t.store.consumed_deal_events(&d.id).await.unwrap();
    let versions: Vec<u64> = consumed.iter().map(|(v, _)| *v).collect();
    assert_eq!(versions, (1..=d.version).collect::<Vec<_>>());
    let times: Vec<&String> = consumed.iter().map(|(_, at)| at).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "consumed in order: {times:?}"
    );

    // The tasks the stages call for.
    let (_, mine) = t
        .api_get(
            "/api/tasks?scope=mine",
            Some((&t.manager.id, Role::Manager)),
        )
        .await;
    let kinds: Vec<&str> = items(&mine)
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"offer_service"), "{kinds:?}");
    assert!(kinds.contains(&"conclude_service_contract"), "{kinds:?}");

    // The audit trail: who moved it where.
    let (_, audit) = t
        .api_get(
            &format!("/api/audit/deal/{}", d.id),
            Some((&t.manager.id, Role::Manager)),
        )
        .await;
    let stages: Vec<(String, String)> = items(&audit)
        .iter()
        .filter(|e| e["field"] == "stage")
        .map(|e| {
            (
                e["old"].as_str().unwrap_or("").to_owned(),
                e["new"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        stages.first(),
        Some(&(String::new(), "equipment_selection".to_owned()))
    );
    assert_eq!(
        stages.last(),
        Some(&("service".to_owned(), "closed".to_owned()))
    );
    assert_eq!(stages.len(), 9, "creation and eight moves: {stages:?}");
    // Stages by the manager; the order's flags turned on by the order's people.
    let actor_of = |field: &str| -> Vec<String> {
        items(&audit)
            .iter()
            .filter(|e| e["field"] == field && (field == "stage" || e["new"] == true))
            .map(|e| e["actor"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        actor_of("stage").iter().all(|a| a == &t.manager.id),
        "{audit}"
    );
    assert_eq!(actor_of("order_placed"), ["system"]);
    assert_eq!(actor_of("production_ready"), [shop.id.as_str()]);
    assert_eq!(actor_of("shipped"), [warehouse.id.as_str()]);
    // Each change names its source: an API request, or the event the order came from.
    assert!(items(&audit).iter().all(|e| {
        let source = e["source"].as_str().unwrap();
        source.starts_with("api:") || (e["actor"] == "system" && source.starts_with("event:"))
    }));
}

#[tokio::test]
async fn a_deal_lost_before_agreement_is_unfit_and_the_head_checks_the_seller() {
    let t = TestStack::new().await;
    let deal = new_deal(&t, "Пётр <petr@lost-deal.ru>", pumps()).await;
    let mut d = DealDriver {
        t: &t,
        id: deal["id"].as_str().unwrap().to_owned(),
        version: 1,
    };
    let (status, body) = t
        .api_call(
            "POST",
            &format!("/api/deals/{}/stage", d.id),
            Some(json!({ "version": 1, "to": "unfit" })),
            d.manager(),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["refusal"]["missing"], json!(["unfit_reason"]));
    d.must_move("unfit").await;
    assert_eq!(t.process_deal_events().await, 0);

    let (status, tasks) = t
        .api_get(
            "/api/tasks?scope=department",
            Some((&t.heads[0].id, Role::Head)),
        )
        .await;
    assert_eq!(status, 200);
    let check = items(&tasks)
        .iter()
        .find(|t| t["kind"] == "check_sellers_work")
        .expect("a task for the head");
    assert_eq!(check["deal_id"], d.id.as_str());
    assert!(
        check["note"]
            .as_str()
            .unwrap()
            .contains("клиент выбрал конкурента")
    );
    let subjects: Vec<String> = t
        .sent_mail()
        .await
        .iter()
        .filter_map(|m| m["Subject"].as_str().map(str::to_owned))
        .collect();
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("Проверить работу продавца")),
        "{subjects:?}"
    );
    // A lost deal stays lost.
    d.refused("agreed", "not_allowed", &[]).await;
}

#[tokio::test]
async fn a_replayed_deal_event_changes_nothing() {
    let t = TestStack::new().await;
    let deal = new_deal(&t, "Анна <anna@replay-deal.ru>", pumps()).await;
    let mut d = DealDriver {
        t: &t,
        id: deal["id"].as_str().unwrap().to_owned(),
        version: 1,
    };
    d.must_move("unfit").await;
    // Take the events off the queue by hand and deliver them twice.
    let bodies = t.take_from_queue("DealEventsQueue", 2).await;
    let event = |bodies: &[String]| {
        serde_json::from_value::<aws_lambda_events::event::sqs::SqsEvent>(json!({
            "Records": bodies.iter().enumerate().map(|(i, b)| json!({ "messageId": format!("m{i}"), "body": b, "attributes": {}, "messageAttributes": {} })).collect::<Vec<_>>()
        }))
        .unwrap()
    };
    assert!(
        t.deal_events
            .handle_batch(event(&bodies))
            .await
            .batch_item_failures
            .is_empty()
    );
    let after_first = (
        t.store.tasks_of("role:head").await.unwrap(),
        t.sent_mail().await.len(),
        t.store.consumed_deal_events(&d.id).await.unwrap(),
    );
    assert!(
        t.deal_events
            .handle_batch(event(&bodies))
            .await
            .batch_item_failures
            .is_empty()
    );
    let after_replay = (
        t.store.tasks_of("role:head").await.unwrap(),
        t.sent_mail().await.len(),
        t.store.consumed_deal_events(&d.id).await.unwrap(),
    );
    assert_eq!(after_first, after_replay);
    assert_eq!(after_first.0.len(), 1);
}

#[tokio::test]
async fn a_crash_between_the_write_and_the_send_still_delivers_every_event_in_order() {
    let t = TestStack::new().await;
    let deal = new_deal(&t, "Иван <ivan@outbox-test.ru>", pumps()).await;
    t.process_deal_events().await;
    let id = deal["id"].as_str().unwrap().to_owned();
    // An API whose queue cannot be reached: the write commits, the send fails.
    let mut broken_config = t.api_config.clone();
    broken_config.deal_events_queue_url =
        format!("{}-gone", t.stack.queue_url("DealEventsQueue").unwrap());
    let broken = api::Api::new(
        &broken_config,
        &t.counted,
        crm_shared::cursor::CursorSeal::new("this test lists nothing"),
    );
    let manager = Some((t.manager.id.as_str(), Role::Manager));
    for (version, need) in [(1, "первое"), (2, "второе")] {
        let (status, body) = t
            .api_call_with(
                &broken,
                "PATCH",
                &format!("/api/deals/{id}"),
                Some(json!({ "version": version, "needs": [need] })),
                manager,
            )
            .await;
        assert_eq!(status, 200, "the change is saved: {body}");
    }
    assert_eq!(
        t.store.pending_deal_events(&id).await.unwrap().len(),
        2,
        "left in the outbox"
    );
    t.process_deal_events().await;
    assert_eq!(
        t.store.consumed_deal_events(&id).await.unwrap().len(),
        1,
        "nothing reached the queue"
    );

    // The sweeper relays them; a later change through a healthy API keeps the order.
    let report = t
        .jobs
        .run(jobs::JobRequest {
            job: "outbox_sweep".into(),
        })
        .await
        .unwrap();
    assert_eq!(report.done, 2);
    let (status, _) = t
        .api_call(
            "PATCH",
            &format!("/api/deals/{id}"),
            Some(json!({ "version": 3, "needs": ["третье"] })),
            manager,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(t.process_deal_events().await, 0);
    let versions: Vec<u64> = t
        .store
        .consumed_deal_events(&id)
        .await
        .unwrap()
        .iter()
        .map(|(v, _)| *v)
        .collect();
    assert_eq!(versions, vec![1, 2, 3, 4]);
    assert!(t.store.pending_deal_events(&id).await.unwrap().is_empty());
}

#[tokio::test]
async fn only_the_deals_manager_and_their_head_change_it() {
    let t = TestStack::new().await;
    let deal = new_deal(&t, "Олег <oleg@roles-test.ru>", pumps()).await;
    let id = deal["id"].as_str().unwrap();
    let other = t
        .add_employee("other-mgr", Role::Manager, Some(Department::High))
        .await;
    let marketer = t.add_employee("mkt", Role::Marketer, None).await;
    let warehouse = t.add_employee("wh", Role::Warehouse, None).await;
    let thermal_head = t
        .add_employee("thermal-head", Role::Head, Some(Department::Thermal))
        .await;
    let path = format!("/api/deals/{id}");
    let edit = json!({ "version": 1, "needs": ["чужое"] });
    assert_eq!(
        t.api_get(&path, Some((&other.id, Role::Manager))).await.0,
        403
    );
    assert_eq!(
        t.api_call(
            "PATCH",
            &path,
            Some(edit.clone()),
            Some((&other.id, Role::Manager))
        )
        .await
        .0,
        403
    );
    assert_eq!(
        t.api_call(
            "POST",
            &format!("{path}/stage"),
            Some(json!({ "version": 1, "to": "unfit", "reason": "x" })),
            Some((&other.id, Role::Manager))
        )
        .await
        .0,
        403
    );
    assert_eq!(
        t.api_call(
            "PATCH",
            &path,
            Some(edit.clone()),
            Some((&marketer.id, Role::Marketer))
        )
        .await
        .0,
        403
    );
    assert_eq!(
        t.api_call(
            "PATCH",
            &path,
            Some(edit.clone()),
            Some((&warehouse.id, Role::Warehouse))
        )
        .await
        .0,
        403
    );
    assert_eq!(
        t.api_get(&path, Some((&marketer.id, Role::Marketer)))
            .await
            .0,
        200,
        "marketing may read"
    );
    assert_eq!(
        t.api_get(&path, Some((&thermal_head.id, Role::Head)))
            .await
            .0,
        403,
        "another department"
    );
    let (_, others) = t
        .api_get("/api/deals", Some((&other.id, Role::Manager)))
        .await;
    assert!(items(&others).is_empty());
    let (_, own) = t
        .api_get("/api/deals", Some((&t.manager.id, Role::Manager)))
        .await;
    assert_eq!(items(&own).len(), 1);
    // A manager routes nothing, and qualifies only what was routed to them.
    let (status, _) = t
        .api_call(
            "POST",
            "/api/inquiries/route",
            Some(json!({ "inquiry_ids": ["x"], "department": "high", "manager_id": other.id })),
            Some((&other.id, Role::Manager)),
        )
        .await;
    assert_eq!(status, 403);
    // The head of the deal's department edits; a stale version is a conflict.
    assert_eq!(
        t.api_call(
            "PATCH",
            &path,
            Some(edit.clone()),
            Some((&t.heads[0].id, Role::Head))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        t.api_call(
            "PATCH",
            &path,
            Some(edit),
            Some((&t.manager.id, Role::Manager))
        )
        .await
        .0,
        409
    );
}

#[tokio::test]
async fn qualification_refuses_missing_data_and_records_not_a_lead() {
    let t = TestStack::new().await;
    let inquiry = routed_inquiry(&t, "Спам <spam@not-a-lead.ru>").await;
    let manager = Some((t.manager.id.as_str(), Role::Manager));
    let mut bad = deal_input(pumps());
    bad["legal_entity"]["inn"] = json!("7830002290");
    bad["contact"] = json!({});
    let (status, body) = t
        .api_call(
            "POST",
            &format!("/api/inquiries/{inquiry}/qualify"),
            Some(json!({ "outcome": "deal", "deal": bad })),
            manager,
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["fields"],
        json!(["legal_entity.inn", "contact.name", "contact.phone_or_email"])
    );

    let other = t
        .add_employee("other", Role::Manager, Some(Department::High))
        .await;
    let (status, _) = t
        .api_call(
            "POST",
            &format!("/api/inquiries/{inquiry}/qualify"),
            Some(json!({ "outcome": "not_a_lead", "reason": "spam" })),
            Some((&other.id, Role::Manager)),
        )
        .await;
    assert_eq!(status, 403, "not their inquiry");
    let (status, body) = t
        .api_call(
            "POST",
            &format!("/api/inquiries/{inquiry}/qualify"),
            Some(json!({ "outcome": "not_a_lead", "reason": "spam", "comment": "рассылка" })),
            manager,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "not_a_lead");
    assert_eq!(body["qualification"]["reason"], "spam");
    let (_, audit) = t
        .api_get(&format!("/api/audit/inquiry/{inquiry}"), manager)
        .await;
    let fields: Vec<&str> = items(&audit)
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"status")
            && fields.contains(&"routing")
            && fields.contains(&"qualification"),
        "{fields:?}"
    );
    // The routing decision says who, when and why.
    let routing = items(&audit)
        .iter()
        .find(|e| e["field"] == "routing")
        .unwrap();
    assert_eq!(routing["new"]["by"], t.heads[0].id.as_str());
    assert_eq!(routing["new"]["reason"], "вакуумная тематика");
    // Qualified once only.
    let (status, _) = t
        .api_call(
            "POST",
            &format!("/api/inquiries/{inquiry}/qualify"),
            Some(json!({ "outcome": "not_a_lead", "reason": "mistake" })),
            manager,
        )
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn the_commercial_proposal_opens_in_libreoffice_with_its_items_and_totals() {
    let t = TestStack::new().await;
    let deal = new_deal(&t, "Мария <maria@proposal-test.ru>", pumps()).await;
    let id = deal["id"].as_str().unwrap();
    let (status, proposal) = t
        .api_call(
            "POST",
            &format!("/api/deals/{id}/proposal"),
            Some(json!({ "version": 1 })),
            Some((&t.manager.id, Role::Manager)),
        )
        .await;
    assert_eq!(status, 200, "{proposal}");
    let document = proposal["document"]["id"].as_str().unwrap();
    let (status, link) = t
        .api_get(
            &format!("/api/deals/{id}/documents/{document}/url"),
            Some((&t.manager.id, Role::Manager)),
        )
        .await;
    assert_eq!(status, 200);
    let (status, xlsx) = http_get_bytes(link["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);

    let text = pdf_text(&xlsx, &format!("proposal-{}", t.name)).await;
    assert!(text.contains("Насос НВР-16Д"), "{text}");
    assert!(text.contains("АО «Радиоприбор»"), "{text}");
    assert!(text.contains("Итого с НДС"), "{text}");
    let digits: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    assert!(
        digits.contains("300000.00") || digits.contains("300000,00"),
        "the total of 2 × 150 000: {text}"
    );
    assert!(
        digits.contains("150000.00") || digits.contains("150000,00"),
        "the unit price: {text}"
    );
    // VAT 20 % included in 300 000,00: 50 000,00 — among the amounts printed after its
    // label (pdftotext prints the labels' column before the amounts').
    let label = "втомчислеНДС20%:";
    let after = &digits[digits.find(label).expect("the VAT line") + label.len()..];
    let mut amounts = Vec::new();
    let mut current = String::new();
    for c in after.chars() {
        if c.is_ascii_digit() || ((c == ',' || c == '.') && !current.is_empty()) {
            current.push(c.to_ascii_lowercase());
            let kopecks = current.rsplit([',', '.']).next().unwrap_or_default();
            if current.contains([',', '.']) && kopecks.len() == 2 {
                amounts.push(current.replace(',', "."));
                current.clear();
            }
        } else {
            current.clear();
        }
    }
    assert!(
        amounts.contains(&"50000.00".to_owned()),
        "the VAT amount among {amounts:?}: {text}"
    );
}

#[tokio::test]
async fn tasks_are_given_listed_by_scope_and_completed_with_an_audit() {
    let t = TestStack::new().await;
    let deal = new_deal(&t, "Семён <semen@tasks-test.ru>", pumps()).await;
    let party = deal["party_id"].as_str().unwrap();
    let marketer = t.add_employee("mkt", Role::Marketer, None).await;
    let (status, body) = t
        .api_call("POST", "/api/tasks", Some(json!({ "kind": "call_client", "due_at": "2020-01-01T10:00:00Z", "assignee_id": t.manager.id, "party_id": party })), Some((&marketer.id, Role::Marketer)))
        .await;
    assert_eq!(status, 201, "{body}");
    let task = body["id"].as_str().unwrap().to_owned();
    let (status, body) = t
        .api_call("POST", "/api/tasks", Some(json!({ "kind": "call_client", "due_at": "2030-01-01T10:00:00Z", "assignee_id": t.manager.id })), Some((&marketer.id, Role::Marketer)))
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["error"]["fields"],
        json!(["deal_id_or_inquiry_id_or_party_id"])
    );

    // A marketer gives only call-client tasks.
    let (status, _) = t
        .api_call("POST", "/api/tasks", Some(json!({ "kind": "offer_service", "due_at": "2030-01-01T10:00:00Z", "assignee_id": t.manager.id, "party_id": party })), Some((&marketer.id, Role::Marketer)))
        .await;
    assert_eq!(status, 403);
    // Nobody hangs a task on a deal or client outside their scope, or on one that does
    // not exist.
    let stranger = t
        .add_employee("stranger", Role::Manager, Some(Department::High))
        .await;
    let deal_id = deal["id"].as_str().unwrap();
    for link in [json!({ "deal_id": deal_id }), json!({ "party_id": party })] {
        let mut request = json!({ "title": "чужое", "due_at": "2030-01-01T10:00:00Z", "assignee_id": stranger.id });
        request
            .as_object_mut()
            .unwrap()
            .extend(link.as_object().unwrap().clone());
        let (status, body) = t
            .api_call(
                "POST",
                "/api/tasks",
                Some(request),
                Some((&stranger.id, Role::Manager)),
            )
            .await;
        assert_eq!(status, 403, "{link}: {body}");
    }
    let (status, _) = t
        .api_call("POST", "/api/tasks", Some(json!({ "title": "нет такой", "due_at": "2030-01-01T10:00:00Z", "assignee_id": t.manager.id, "deal_id": "no-such-deal" })), Some((&t.heads[0].id, Role::Head)))
        .await;
    assert_eq!(status, 404);

    let manager = Some((t.manager.id.as_str(), Role::Manager));
    let (_, mine) = t.api_get("/api/tasks?scope=mine", manager).await;
    assert_eq!(items(&mine).len(), 1);
    assert_eq!(items(&mine)[0]["overdue"], true);
    let (_, overdue) = t
        .api_get(
            "/api/tasks?scope=overdue",
            Some((&t.heads[0].id, Role::Head)),
        )
        .await;
    assert!(
        items(&overdue).iter().any(|x| x["id"] == task.as_str()),
        "the head sees the manager's overdue task"
    );
    let (status, _) = t.api_get("/api/tasks?scope=department", manager).await;
    assert_eq!(status, 403);

    let open = stored_task(&t, &task).await;
    assert_eq!(
        open["gsi1pk"],
        AttributeValue::S(format!("ASSIGNEE#{}", t.manager.id))
    );
    assert_eq!(open["gsi2pk"], AttributeValue::S("TASKDEPT#high".into()));
    let other = t
        .add_employee("other", Role::Manager, Some(Department::High))
        .await;
    assert_eq!(
        t.api_call(
            "POST",
            &format!("/api/tasks/{task}/complete"),
            None,
            Some((&other.id, Role::Manager))
        )
        .await
        .0,
        403
    );
    let (status, done) = t
        .api_call(
            "POST",
            &format!("/api/tasks/{task}/complete"),
            None,
            manager,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(done["status"], "done");
    let (_, audit) = t.api_get(&format!("/api/audit/task/{task}"), manager).await;
    assert!(items(&audit).iter().any(|e| e["field"] == "status"
        && e["new"] == "done"
        && e["actor"] == t.manager.id.as_str()));
    let (_, mine) = t.api_get("/api/tasks?scope=mine", manager).await;
    assert!(items(&mine).is_empty());
    // The done task has left the lists' indexes (the assignee's and the department's), so
    // a list reads only open tasks however many were ever done.
    let stored = stored_task(&t, &task).await;
    for index in ["gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
        assert!(!stored.contains_key(index), "{index} left on a done task");
    }
    assert_eq!(stored["status"], AttributeValue::S("done".into()));
}

/// A task's item as stored, with its index attributes.
async fn stored_task(t: &TestStack, id: &str) -> HashMap<String, AttributeValue> {
    t.setup
        .dynamodb
        .get_item()
        .table_name(t.stack.name("Table").unwrap())
        .key("pk", AttributeValue::S(format!("TASK#{id}")))
        .key("sk", AttributeValue::S("TASK".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap()
}

#[tokio::test]
async fn the_first_response_timer_gives_the_head_a_task_and_the_digest_lists_what_waits() {
    let t = TestStack::new().await;
    let inquiry = routed_inquiry(&t, "Глеб <gleb@sla-test.ru>").await;
    t.deliver(&email_from(
        "Вера <vera@digest-test.ru>",
        "Ещё",
        "Ещё запрос",
    ))
    .await;
    t.process_inbound(1).await;

    let now = chrono::Utc::now();
    assert_eq!(
        t.jobs.first_response_sla(now).await.unwrap(),
        0,
        "not due yet"
    );
    let later = now + chrono::Duration::days(4);
    assert_eq!(t.jobs.first_response_sla(later).await.unwrap(), 1);
    assert_eq!(
        t.jobs.first_response_sla(later).await.unwrap(),
        0,
        "once per inquiry"
    );
    let (_, tasks) = t
        .api_get("/api/tasks?scope=mine", Some((&t.heads[0].id, Role::Head)))
        .await;
    let task = items(&tasks)
        .iter()
        .find(|x| x["kind"] == "first_response_overdue")
        .expect("a task for the heads");
    assert_eq!(task["inquiry_id"], inquiry.as_str());

    let before = t.sent_mail().await.len();
    assert_eq!(
        t.jobs.routing_digest(now).await.unwrap(),
        2,
        "one digest per head"
    );
    let digests: Vec<Value> = t.sent_mail().await.into_iter().skip(before).collect();
    assert_eq!(digests.len(), 2);
    let body = digests[0]["Body"]["text_part"].as_str().unwrap();
    assert!(body.contains("Не распределено: 1"), "{body}");
    assert!(body.contains("без реакции менеджера: 1"), "{body}");
    assert!(body.contains(&inquiry), "{body}");
}

#[tokio::test]
async fn a_fifo_batch_stops_at_the_first_failure_and_retries_the_rest_in_order() {
    let t = TestStack::new().await;
    let deal = new_deal(&t, "Фёдор <fedor@fifo-test.ru>", pumps()).await;
    let id = deal["id"].as_str().unwrap();
    let event = t.store.deal(id).await.unwrap().unwrap();
    let good = serde_json::to_string(&crm_domain::sales::DealEvent::new(
        &event,
        crm_domain::sales::DealEventKind::Created,
        "x",
    ))
    .unwrap();
    let batch: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(json!({
        "Records": [
            { "messageId": "a", "body": good, "attributes": {}, "messageAttributes": {} },
            { "messageId": "b", "body": "{not an event", "attributes": {}, "messageAttributes": {} },
            { "messageId": "c", "body": good, "attributes": {}, "messageAttributes": {} }
        ]
    }))
    .unwrap();
    let response = t.deal_events.handle_batch(batch).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        failed,
        vec!["b", "c"],
        "the failure and everything after it"
    );
}

#[tokio::test]
async fn a_healthy_change_sends_the_older_pending_events_first_in_arrival_order() {
    let t = TestStack::new().await;
    let deal = new_deal(&t, "Иван <ivan@order-test.ru>", pumps()).await;
    t.process_deal_events().await;
    let id = deal["id"].as_str().unwrap().to_owned();
    let mut broken_config = t.api_config.clone();
    broken_config.deal_events_queue_url =
        format!("{}-gone", t.stack.queue_url("DealEventsQueue").unwrap());
    let broken = api::Api::new(
        &broken_config,
        &t.counted,
        crm_shared::cursor::CursorSeal::new("this test lists nothing"),
    );
    let manager = Some((t.manager.id.as_str(), Role::Manager));
    for (version, need) in [(1, "первое"), (2, "второе")] {
        let path = format!("/api/deals/{id}");
        let body = Some(json!({ "version": version, "needs": [need] }));
        let (status, _) = t
            .api_call_with(&broken, "PATCH", &path, body, manager)
            .await;
        assert_eq!(status, 200);
    }
    // No sweeper: the next change, through a healthy API, finds versions 2 and 3 pending.
    let (status, _) = t
        .api_call(
            "PATCH",
            &format!("/api/deals/{id}"),
            Some(json!({ "version": 3, "needs": ["третье"] })),
            manager,
        )
        .await;
    assert_eq!(status, 200);
    // What the queue holds, in the order it hands it out.
    let arrived: Vec<u64> = t
        .take_from_queue("DealEventsQueue", 3)
        .await
        .iter()
        .map(|body| {
            serde_json::from_str::<Value>(body).unwrap()["version"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(arrived, [2, 3, 4], "oldest pending first, then the new one");
    assert!(t.store.pending_deal_events(&id).await.unwrap().is_empty());
}

#[tokio::test]
async fn routing_many_routes_what_it_can_and_names_why_the_rest_failed() {
    let t = TestStack::new().await;
    let qualified = new_deal(&t, "Анна <anna@route-many.ru>", pumps()).await["inquiry_id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.deliver(&email_from(
        "Борис <boris@route-many.ru>",
        "Запрос",
        "Нужна печь",
    ))
    .await;
    t.process_inbound(1).await;
    let fresh = items(&t.get_as_head("/api/inquiries?status=unrouted").await)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let head = Some((t.heads[0].id.as_str(), Role::Head));
    let (status, report) = t
        .api_call(
            "POST",
            "/api/inquiries/route",
            Some(json!({ "inquiry_ids": [fresh, qualified, "no-such-inquiry"], "department": "high", "manager_id": t.manager.id })),
            head,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["routed"], json!([fresh]));
    assert_eq!(
        report["failed"],
        json!([
            { "id": qualified, "reason": "already_qualified" },
            { "id": "no-such-inquiry", "reason": "not_found" }
        ])
    );
    // A manager who cannot take them: nothing is routed, and the field is named.
    let thermal = t
        .add_employee("thermal-mgr", Role::Manager, Some(Department::Thermal))
        .await;
    let mut away = t
        .add_employee("away-mgr", Role::Manager, Some(Department::High))
        .await;
    away.active = false;
    t.store.put_employee(&away).await.unwrap();
    for (manager, field) in [(&thermal.id, "department"), (&away.id, "manager_id")] {
        let (status, body) = t
            .api_call(
                "POST",
                "/api/inquiries/route",
                Some(
                    json!({ "inquiry_ids": [fresh], "department": "high", "manager_id": manager }),
                ),
                head,
            )
            .await;
        assert_eq!(status, 422, "{manager}: {body}");
        assert_eq!(body["error"]["fields"], json!([field]), "{body}");
    }
}

#[tokio::test]
async fn a_head_hands_a_deal_and_a_client_to_another_manager_of_the_department() {
    let t = TestStack::new().await;
    let deal = new_deal(&t, "Оксана <oksana@handover-test.ru>", pumps()).await;
    let id = deal["id"].as_str().unwrap();
    let party = deal["party_id"].as_str().unwrap();
    let colleague = t
        .add_employee(
            "colleague",
            Role::Manager,
            Some(crm_domain::kernel::Department::High),
        )
        .await;
    let thermal = t
        .add_employee(
            "thermal",
            Role::Manager,
            Some(crm_domain::kernel::Department::Thermal),
        )
        .await;
    let head = Some((t.heads[0].id.as_str(), Role::Head));
    let manager = Some((t.manager.id.as_str(), Role::Manager));
    let path = format!("/api/deals/{id}/manager");
    let (status, _) = t
        .api_call(
            "POST",
            &path,
            Some(json!({ "version": 1, "manager_id": colleague.id })),
            manager,
        )
        .await;
    assert_eq!(status, 403, "managers do not hand deals over");
    let (status, body) = t
        .api_call(
            "POST",
            &path,
            Some(json!({ "version": 1, "manager_id": thermal.id })),
            head,
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"], json!(["department"]));
    let (status, body) = t
        .api_call(
            "POST",
            &path,
            Some(json!({ "version": 1, "manager_id": colleague.id, "reason": "болеет" })),
            head,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["manager_id"], json!(colleague.id));
    let trail = t.get_as_head(&format!("/api/audit/deal/{id}")).await;
    assert!(
        trail.to_string().contains("болеет"),
        "the head's reason: {trail}"
    );
    assert_eq!(t.api_get(&format!("/api/deals/{id}"), manager).await.0, 403);
    assert_eq!(
        t.api_get(
            &format!("/api/deals/{id}"),
            Some((&colleague.id, Role::Manager))
        )
        .await
        .0,
        200
    );

    let (status, body) = t
        .api_call(
            "POST",
            &format!("/api/counterparties/{party}/manager"),
            Some(json!({ "manager_id": colleague.id, "reason": "отпуск" })),
            head,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let card = t.store.card(party).await.unwrap().unwrap();
    assert_eq!(card.manager_id.as_deref(), Some(colleague.id.as_str()));
    let trail = t
        .get_as_head(&format!("/api/audit/counterparty/{party}"))
        .await;
    assert!(trail.to_string().contains("отпуск"), "{trail}");
}

#[tokio::test]
async fn a_client_is_handed_on_only_from_the_owner_it_was_read_with() {
    use crm_shared::ports::Directory;
    use crm_shared::sales::ports::{Assignment, InquiryChange, InquiryStore};
    let t = TestStack::new().await;
    t.deliver(&email_from("Вера <vera@owner-race.ru>", "Вопрос", "Цена?"))
        .await;
    t.process_inbound(1).await;
    let listed = t.get_as_head("/api/inquiries?status=unrouted").await;
    let inquiry: crm_domain::intake::Inquiry =
        serde_json::from_value(items(&listed)[0].clone()).unwrap();
    let party = inquiry.counterparty_id.clone();
    let assignment = |was: Option<&str>| Assignment {
        party_id: party.clone(),
        manager_id: t.manager.id.clone(),
        department: Department::High,
        was_manager_id: was.map(str::to_owned),
        was_department: was.map(|_| Department::Thermal),
    };
    // Read while another head gave it to someone else: neither routing nor reassignment
    // writes anything.
    let stale = assignment(Some("thermal-manager"));
    let mut routed = inquiry.clone();
    routed.version += 1;
    let change = InquiryChange {
        expected_version: inquiry.version,
        inquiry: &routed,
        audit: &[],
        assignment: Some(&stale),
    };
    assert!(!t.store.save_inquiry(change).await.unwrap());
    assert!(!t.store.reassign_party(&stale, &[]).await.unwrap());
    let unchanged = t.store.counterparty(&party).await.unwrap().unwrap();
    assert_eq!(unchanged.responsible_manager_id, None);
    assert_eq!(t.store.inquiry(&inquiry.id).await.unwrap(), Some(inquiry));
    // Read as it is (nobody's): handed on.
    assert!(
        t.store
            .reassign_party(&assignment(None), &[])
            .await
            .unwrap()
    );
    let owned = t.store.counterparty(&party).await.unwrap().unwrap();
    assert_eq!(owned.responsible_manager_id, Some(t.manager.id.clone()));
}

/// Takes in an email received at `received_at` from a new address: an unrouted inquiry.
async fn old_unrouted_inquiry(t: &TestStack, received_at: chrono::DateTime<chrono::Utc>) {
    use crm_domain::intake::{InboundMessage, InquiryKind};
    use crm_domain::party::{Channel, EmailAddress, PersonDetails, PointSource};
    let message = InboundMessage {
        event_key: "email#long-waiting@test".into(),
        raw_key: "email/long-waiting".into(),
        channel: Channel::Email,
        kind: InquiryKind::Manual,
        received_at,
        contact: PersonDetails {
            name: Some("Давний".into()),
            email: EmailAddress::parse("long-waiting@dash-test.ru"),
            ..PersonDetails::default()
        },
        subject: None,
        text: "Всё ещё ждём ответа".into(),
        attachments: Vec::new(),
        left_out: Vec::new(),
        source: PointSource::AuthenticatedMail,
        forwarded_by: None,
    };
    crm_shared::intake::Intake {
        store: &t.store,
        notifier: &crm_shared::memory::MemoryNotifier::default(),
        links: &crm_domain::templates::Links {
            app_base_url: "https://crm.example".into(),
        },
    }
    .register(&message)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_dashboard_is_rolled_up_for_heads_from_inquiries_deals_and_tasks() {
    let t = TestStack::new().await;
    let head = Some((t.heads[0].id.as_str(), Role::Head));
    let (status, empty) = t.api_get("/api/dashboard", head).await;
    assert_eq!(status, 200);
    assert!(empty["dashboard"].is_null(), "not rolled up yet: {empty}");
    new_deal(&t, "Лариса <larisa@dash-test.ru>", pumps()).await;
    t.deliver(&email_from(
        "Гость <guest@dash-test.ru>",
        "Вопрос",
        "Сколько стоит?",
    ))
    .await;
    t.process_inbound(1).await;
    // A call-back task in the heads' pool, of no department, overdue.
    let now = chrono::Utc::now();
    let pool = crm_domain::sales::Task::open(
        "pool-callback".into(),
        crm_domain::sales::TaskKind::CallBack,
        "Перезвонить".into(),
        crm_domain::sales::task::Assignee::Heads,
        now - chrono::Duration::hours(1),
        now - chrono::Duration::hours(2),
        "test".into(),
    );
    assert!(t.store.save_task(None, &pool, &[]).await.unwrap());
    // An inquiry that has waited for routing for 40 days: out of the per-day window,
    // still in what waits.
    old_unrouted_inquiry(&t, now - chrono::Duration::days(40)).await;
    assert_eq!(t.jobs.dashboard(chrono::Utc::now()).await.unwrap(), 4);
    let (status, body) = t.api_get("/api/dashboard", head).await;
    assert_eq!(status, 200, "{body}");
    let dashboard = &body["dashboard"];
    let inquiries: u64 = dashboard["inquiries_per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["count"].as_u64().unwrap())
        .sum();
    assert_eq!(inquiries, 2, "the last 30 days: {dashboard}");
    assert_eq!(dashboard["unrouted"]["count"], 2, "{dashboard}");
    assert_eq!(dashboard["unrouted"]["longer"], 1, "{dashboard}");
    assert_eq!(dashboard["deals_per_stage"]["equipment_selection"], 1);
    assert_eq!(dashboard["overdue_tasks"]["heads"], 1, "{dashboard}");
    assert_eq!(
        dashboard["first_response"][0]["manager_id"],
        json!(t.manager.id)
    );
    assert_eq!(
        t.api_get("/api/dashboard", Some((&t.manager.id, Role::Manager)))
            .await
            .0,
        403,
        "heads only"
    );
}
