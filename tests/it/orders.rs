//! Orders end to end against DynamoDB Local and LocalStack: an agreed deal of three lines
//! (one in stock, one made in-house, one bought) becomes one order with one reservation,
//! one production order and one supplier order; production finishes and its goods are
//! stock for the deal; the supplier's goods arrive by scan; the warehouse ships by scan,
//! oldest expiry first, a wrong scan refused with what was expected; the waybill opens in
//! LibreOffice with its lines, batches, requisites and totals; who got a batch is known.

use crate::sales::{deal_input, http_get_bytes, items, pdf_text, routed_inquiry};
use aws_lambda_events::event::sqs::SqsEvent;
use crm_domain::sales::{Deal, DealEvent, DealEventKind, DealStage};
use crm_domain::staff::{Department, Role};
use crm_shared::adapters::DynamoStore;
use crm_shared::orders::fulfilment::Fulfilment;
use crm_shared::sales::deals::DealEventRelay;
use integration_tests::TestStack;
use serde_json::{Value, json};

const GS: char = '\u{1d}';

/// The catalogue of these tests: a pump bought and tracked by batch and expiry, a chamber
/// made in-house, oil bought and tracked by batch.
async fn catalogue(t: &TestStack) {
    let head = Some((t.heads[0].id.as_str(), Role::Head));
    for product in [
        json!({ "sku": "PUMP-16", "name": "Насос НВР-16Д", "unit": "шт", "kind": "purchased",
                "equipment_type": "vacuum_pump", "barcodes": ["4006381333931"],
                "tracks_batches": true, "tracks_expiry": true, "default_supplier": "ООО «Вакуумтех»" }),
        json!({ "sku": "KTX-1000", "name": "Камера КТХ-1000", "unit": "шт", "kind": "own_production",
                "equipment_type": "climate_chamber", "barcodes": [] }),
        json!({ "sku": "OIL-5", "name": "Масло вакуумное, 5 л", "unit": "шт", "kind": "purchased",
                "equipment_type": "other", "barcodes": ["96385074"],
                "tracks_batches": true, "default_supplier": "ООО «Смазки»" }),
    ] {
        let (status, body) = t
            .api_call("POST", "/api/products", Some(product), head)
            .await;
        assert_eq!(status, 201, "{body}");
    }
}

fn lines() -> Value {
    json!([
        { "product": "Насос НВР-16Д", "equipment_type": "vacuum_pump", "quantity": 3,
          "unit_price_kopecks": 15_000_000, "sku": "PUMP-16" },
        { "product": "Камера КТХ-1000", "equipment_type": "climate_chamber", "quantity": 1,
          "unit_price_kopecks": 250_000_000, "sku": "KTX-1000" },
        { "product": "Масло вакуумное, 5 л", "equipment_type": "other", "quantity": 2,
          "unit_price_kopecks": 450_000, "sku": "OIL-5" },
    ])
}

/// Calls the API as `who` and checks the status.
async fn call(
    t: &TestStack,
    who: (&str, Role),
    method: &str,
    path: &str,
    body: Option<Value>,
    want: u16,
) -> Value {
    let (status, answer) = t.api_call(method, path, body, Some(who)).await;
    assert_eq!(status, want, "{method} {path}: {answer}");
    answer
}

/// A deal with `lines`, qualified and moved by its manager to `agreed` (through the
/// invoice); returns the deal as it is then.
async fn agreed_deal(t: &TestStack, from: &str, lines: Value) -> Value {
    let manager = (t.manager.id.as_str(), Role::Manager);
    let inquiry = routed_inquiry(t, from).await;
    let deal = call(
        t,
        manager,
        "POST",
        &format!("/api/inquiries/{inquiry}/qualify"),
        Some(json!({ "outcome": "deal", "deal": deal_input(lines) })),
        201,
    )
    .await;
    let id = deal["id"].as_str().unwrap().to_owned();
    let path = format!("/api/deals/{id}");
    let deal = call(
        t,
        manager,
        "PATCH",
        &path,
        Some(json!({ "version": deal["version"], "invoice_number": "СЧ-77" })),
        200,
    )
    .await;
    let deal = call(
        t,
        manager,
        "POST",
        &format!("{path}/stage"),
        Some(json!({ "version": deal["version"], "to": "invoice" })),
        200,
    )
    .await;
    call(
        t,
        manager,
        "POST",
        &format!("{path}/stage"),
        Some(json!({ "version": deal["version"], "to": "agreed" })),
        200,
    )
    .await
}

async fn move_deal(t: &TestStack, id: &str, to: &str) -> Value {
    let manager = (t.manager.id.as_str(), Role::Manager);
    let current = call(t, manager, "GET", &format!("/api/deals/{id}"), None, 200).await;
    let (status, body) = t
        .api_call(
            "POST",
            &format!("/api/deals/{id}/stage"),
            Some(json!({ "version": current["deal"]["version"], "to": to })),
            Some(manager),
        )
        .await;
    assert_eq!(status, 200, "to {to}: {body}");
    body
}

/// Delivers `event` to the deal-events function again, as SQS would after a timeout.
async fn redeliver(t: &TestStack, event: &DealEvent) {
    let batch: SqsEvent = serde_json::from_value(json!({
        "Records": [{
            "messageId": "replayed",
            "body": serde_json::to_string(event).unwrap(),
            "attributes": {},
            "messageAttributes": {}
        }]
    }))
    .unwrap();
    let response = t.deal_events.handle_batch(batch).await;
    assert!(response.batch_item_failures.is_empty());
}

#[tokio::test]
async fn an_agreed_deal_is_reserved_made_bought_and_shipped_by_scan_oldest_expiry_first() {
    let t = TestStack::new().await;
    catalogue(&t).await;
    let warehouse = t.add_employee("store", Role::Warehouse, None).await;
    let wh = (warehouse.id.as_str(), Role::Warehouse);
    let shop = t.add_employee("shop", Role::Production, None).await;
    let production = (shop.id.as_str(), Role::Production);
    let manager = (t.manager.id.as_str(), Role::Manager);

    // Two batches of pumps: the one received later expires first.
    for (scan, batch) in [
        (format!("010400638133393117270630{GS}10PA{GS}305"), "PA"),
        (format!("010400638133393117270331{GS}10PB{GS}304"), "PB"),
    ] {
        let body = call(
            &t,
            wh,
            "POST",
            "/api/warehouse/receipts",
            Some(json!({ "scan": scan })),
            201,
        )
        .await;
        assert_eq!(body["batch_id"], batch);
    }

    let deal = agreed_deal(&t, "Ольга <olga@orders-test.ru>", lines()).await;
    let id = deal["id"].as_str().unwrap().to_owned();
    assert_eq!(t.process_deal_events().await, 0);

    // One order: the pumps reserved (3 of the batch expiring first), the chamber to
    // production, the oil to its supplier.
    let shown = call(&t, manager, "GET", &format!("/api/deals/{id}"), None, 200).await;
    let order = &shown["order"];
    let splits: Vec<&Value> = order["order"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["split"])
        .collect();
    assert_eq!(
        splits,
        [
            &json!({ "reserve": 3, "produce": 0, "purchase": 0 }),
            &json!({ "reserve": 0, "produce": 1, "purchase": 0 }),
            &json!({ "reserve": 0, "produce": 0, "purchase": 2 }),
        ],
        "{order}"
    );
    assert_eq!(
        order["order"]["lines"][0]["reserved"],
        json!([{ "batch_id": "PB", "quantity": 3 }])
    );
    assert_eq!(order["production"].as_array().unwrap().len(), 1);
    assert_eq!(order["production"][0]["status"], "planned");
    assert_eq!(order["supply"].as_array().unwrap().len(), 1);
    assert_eq!(order["supply"][0]["supplier"], "ООО «Смазки»");
    assert_eq!(shown["deal"]["production_required"], true);
    assert_eq!(shown["next_stages"], json!(["production"]));

    // The order is on the warehouse's work list: 3 pumps on the shelf, the chamber and the
    // oil still to come. Its manager and the heads see it; another manager does not.
    let work = call(&t, wh, "GET", "/api/orders", None, 200).await;
    assert_eq!(
        work["items"],
        json!([{
            "deal_id": id,
            "party_id": deal["party_id"],
            "client": "АО «Радиоприбор»",
            "department": "high",
            "manager_id": t.manager.id,
            "created_at": work["items"][0]["created_at"],
            "ready": 3,
            "awaited": 3,
            "shipped": 0,
            "quantity": 6,
        }])
    );
    let head = (t.heads[0].id.as_str(), Role::Head);
    let seen = call(&t, head, "GET", "/api/orders", None, 200).await;
    assert_eq!(seen["items"].as_array().unwrap().len(), 1);
    let seen = call(&t, manager, "GET", "/api/orders", None, 200).await;
    assert_eq!(seen["items"], work["items"]);
    let high = t
        .add_employee("high-head", Role::Head, Some(Department::High))
        .await;
    let high = (high.id.as_str(), Role::Head);
    let seen = call(&t, high, "GET", "/api/orders", None, 200).await;
    assert_eq!(seen["items"], work["items"]);
    let colleague = t
        .add_employee("colleague", Role::Manager, Some(Department::High))
        .await;
    let colleague = (colleague.id.as_str(), Role::Manager);
    let unseen = call(&t, colleague, "GET", "/api/orders", None, 200).await;
    assert_eq!(unseen["items"], json!([]));
    let thermal = t
        .add_employee("thermal-head", Role::Head, Some(Department::Thermal))
        .await;
    let thermal = (thermal.id.as_str(), Role::Head);
    let unseen = call(&t, thermal, "GET", "/api/orders?limit=1", None, 200).await;
    assert_eq!(unseen["items"], json!([]));

    // The `agreed` event delivered again: no second order, nothing more reserved.
    let mut at_agreement: Deal = serde_json::from_value(deal.clone()).unwrap();
    at_agreement.stage = DealStage::Agreed;
    redeliver(
        &t,
        &DealEvent::new(
            &at_agreement,
            DealEventKind::StageChanged {
                from: DealStage::Invoice,
                to: DealStage::Agreed,
            },
            &t.manager.id,
        ),
    )
    .await;
    let stock = call(&t, wh, "GET", "/api/warehouse/stock?sku=PUMP-16", None, 200).await;
    let reserved: u64 = items(&stock)
        .iter()
        .map(|b| b["reserved"].as_u64().unwrap())
        .sum();
    assert_eq!(reserved, 3, "{stock}");
    let again = call(&t, manager, "GET", &format!("/api/deals/{id}"), None, 200).await;
    assert_eq!(
        again["deal"]["version"], shown["deal"]["version"],
        "no second order"
    );

    // Production: a manager may not touch it; the shop finishes it and the chamber is in
    // stock for this deal.
    let path = format!("/api/orders/{id}/production/2");
    call(
        &t,
        manager,
        "PATCH",
        &path,
        Some(json!({ "status": "done" })),
        403,
    )
    .await;
    call(
        &t,
        production,
        "PATCH",
        &path,
        Some(json!({ "readiness": 150 })),
        422,
    )
    .await;
    let done = call(
        &t,
        production,
        "PATCH",
        &path,
        Some(json!({ "status": "done", "version": 1 })),
        200,
    )
    .await;
    assert_eq!(done["deal"]["production_ready"], true);
    let chamber = call(
        &t,
        wh,
        "GET",
        "/api/warehouse/stock?sku=KTX-1000",
        None,
        200,
    )
    .await;
    assert_eq!(items(&chamber)[0]["batch_id"], format!("{id}-P2"));
    assert_eq!(items(&chamber)[0]["reserved"], 1);
    move_deal(&t, &id, "production").await;
    move_deal(&t, &id, "warehouse_sale").await;

    // The oil is ordered, then arrives by scan; a pump label is not the oil.
    let supply = format!("/api/orders/{id}/supply/3");
    let ordered = call(
        &t,
        wh,
        "PATCH",
        &supply,
        Some(json!({ "status": "ordered", "expected_date": "2026-12-10" })),
        200,
    )
    .await;
    let version = ordered["supply"][0]["version"].clone();
    call(
        &t,
        wh,
        "POST",
        &format!("{supply}/receipts"),
        Some(json!({ "version": version, "scan": format!("010400638133393117270630{GS}10PA") })),
        422,
    )
    .await;
    let received = call(
        &t,
        wh,
        "POST",
        &format!("{supply}/receipts"),
        Some(json!({ "version": version, "scan": format!("010000009638507410OL-9{GS}302") })),
        201,
    )
    .await;
    assert_eq!(received["supply"][0]["status"], "received");
    assert_eq!(
        received["order"]["lines"][2]["reserved"],
        json!([{ "batch_id": "OL-9", "quantity": 2 }])
    );

    // Shipping: the picking list names the batches; a pump of the other batch is refused
    // with what is expected, and nothing moves.
    let picking = call(&t, wh, "GET", &format!("/api/orders/{id}"), None, 200).await;
    assert_eq!(picking["picking"].as_array().unwrap().len(), 3, "{picking}");
    let wrong = call(
        &t,
        wh,
        "POST",
        &format!("/api/orders/{id}/shipments"),
        Some(json!({ "shipment_id": "ship-1", "scans": [{ "scan": format!("010400638133393110PA{GS}303") }] })),
        422,
    )
    .await;
    assert_eq!(wrong["error"]["code"], "wrong_scan");
    let expected = wrong["error"]["refusal"]["expected"].as_array().unwrap();
    assert!(
        expected
            .iter()
            .any(|p| p["batch_id"] == "PB" && p["quantity"] == 3),
        "{wrong}"
    );
    let untouched = call(&t, wh, "GET", "/api/warehouse/stock?sku=PUMP-16", None, 200).await;
    assert_eq!(untouched, stock, "a refused shipment moves nothing");

    let scans = json!([
        { "scan": format!("010400638133393110PB{GS}303") },
        { "scan": format!("{id}-P2") },
        { "scan": format!("010000009638507410OL-9{GS}302") },
    ]);
    let shipped = call(
        &t,
        wh,
        "POST",
        &format!("/api/orders/{id}/shipments"),
        Some(json!({ "shipment_id": "ship-1", "scans": scans })),
        201,
    )
    .await;
    assert_eq!(shipped["shipped"], true, "{shipped}");
    // Shipped in full: off the work list.
    let work = call(&t, wh, "GET", "/api/orders", None, 200).await;
    assert_eq!(work["items"], json!([]));
    // The same shipment again (a double click) ships nothing more.
    let repeated = call(
        &t,
        wh,
        "POST",
        &format!("/api/orders/{id}/shipments"),
        Some(json!({ "shipment_id": "ship-1", "scans": scans })),
        200,
    )
    .await;
    assert_eq!(repeated["repeated"], true);
    let after = call(&t, wh, "GET", "/api/warehouse/stock?sku=PUMP-16", None, 200).await;
    let pb = items(&after)
        .iter()
        .find(|b| b["batch_id"] == "PB")
        .unwrap()
        .clone();
    assert_eq!(
        (pb["on_hand"].as_u64(), pb["reserved"].as_u64()),
        (Some(1), Some(0)),
        "{after}"
    );

    // Who got batch PB: this deal's client.
    let recipients = call(
        &t,
        wh,
        "GET",
        "/api/warehouse/recipients?sku=PUMP-16&batch=PB",
        None,
        200,
    )
    .await;
    assert_eq!(items(&recipients).len(), 1);
    assert_eq!(items(&recipients)[0]["party_id"], deal["party_id"]);
    assert_eq!(items(&recipients)[0]["quantity"], 3);

    // Every stock movement of the batch is audited: who, from where, before → after.
    let movements = t.store.audit_trail("stock", "PUMP-16/PB").await.unwrap();
    let shipped_entry = movements
        .iter()
        .rev()
        .find(|e| e.actor == warehouse.id && e.field == "on_hand")
        .expect("the shipment's movement");
    assert_eq!(shipped_entry.old, json!({ "on_hand": 4, "reserved": 3 }));
    assert_eq!(shipped_entry.new, json!({ "on_hand": 1, "reserved": 0 }));
    assert!(shipped_entry.source.starts_with("api:"));
    assert!(
        movements
            .iter()
            .any(|e| e.actor == "system" && e.field == "reserved"),
        "the reservation at agreement: {movements:?}"
    );

    // The waybill is linked to the deal and prints its lines, batches, both parties and
    // the totals with VAT.
    let link = call(
        &t,
        wh,
        "GET",
        &format!("/api/deals/{id}/documents/shipment-ship-1/url"),
        None,
        200,
    )
    .await;
    let (status, xlsx) = http_get_bytes(link["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    let text = pdf_text(&xlsx, &format!("waybill-{}", t.name)).await;
    for expected in [
        "Универсальный передаточный документ",
        "Насос НВР-16Д",
        "PB",
        "OL-9",
        &format!("{id}-P2"),
        "АО «Радиоприбор»",
        "7830002293",
        t.api_config.seller.name.as_str(),
        "Всего к оплате",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    let digits: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    // 3 × 150 000 + 2 500 000 + 2 × 4 500 = 2 959 000,00 with VAT 493 166,67.
    assert!(
        digits.contains("2959000,00") || digits.contains("2959000.00"),
        "{text}"
    );
    assert!(
        digits.contains("493166,67") || digits.contains("493166.67"),
        "{text}"
    );

    // Shipped: the deal moves on.
    let installed = move_deal(&t, &id, "installation").await;
    assert_eq!(installed["stage"], "installation");
}

#[tokio::test]
async fn deals_agreed_at_once_for_scarce_stock_never_oversell_and_the_rest_is_bought() {
    let t = TestStack::new().await;
    catalogue(&t).await;
    let warehouse = t.add_employee("store", Role::Warehouse, None).await;
    let scan = format!("010400638133393117270630{GS}10PA{GS}305");
    call(
        &t,
        (warehouse.id.as_str(), Role::Warehouse),
        "POST",
        "/api/warehouse/receipts",
        Some(json!({ "scan": scan })),
        201,
    )
    .await;
    // Six deals of two pumps each, for five pumps in stock, placed at the same moment.
    let mut ids = Vec::new();
    for n in 0..6 {
        let deal = agreed_deal(
            &t,
            &format!("Клиент {n} <client{n}@race-test.ru>"),
            json!([{ "product": "Насос НВР-16Д", "equipment_type": "vacuum_pump", "quantity": 2,
                     "unit_price_kopecks": 15_000_000, "sku": "PUMP-16" }]),
        )
        .await;
        ids.push(deal["id"].as_str().unwrap().to_owned());
    }
    let relay = std::sync::Arc::new(DealEventRelay {
        store: t.store.clone(),
        publisher: crm_shared::adapters::SqsDealEvents {
            sqs: t.setup.sqs.clone(),
            queue_url: t.api_config.deal_events_queue_url.clone(),
        },
    });
    let placing = ids.iter().map(|id| {
        let relay = relay.clone();
        let id = id.clone();
        tokio::spawn(async move {
            let today = chrono::Utc::now().date_naive();
            Fulfilment::<DynamoStore, _> { relay: &relay }
                .place(&id, "system", "test", chrono::Utc::now(), today)
                .await
                .unwrap()
                .expect("placed once")
        })
    });
    let books = futures::future::join_all(placing).await;
    let mut reserved = 0;
    let mut bought = 0;
    for book in books {
        let book = book.unwrap();
        let split = book.order.lines[0].split;
        assert_eq!(
            split.reserve + split.purchase,
            2,
            "every unit is reserved or bought"
        );
        if split.purchase > 0 {
            assert_eq!(
                book.supply[0].quantity, split.purchase,
                "the loser is told what is missing"
            );
        }
        reserved += split.reserve;
        bought += split.purchase;
    }
    assert_eq!((reserved, bought), (5, 7), "five in stock, never more");
    let stock = t.get_as_head("/api/warehouse/stock?sku=PUMP-16").await;
    assert_eq!(items(&stock)[0]["reserved"], 5);
    assert_eq!(items(&stock)[0]["free"], 0);

    // The work list, four a page: every order once, oldest first, the cursor the caller's.
    let wh = (warehouse.id.as_str(), Role::Warehouse);
    let mut listed = Vec::new();
    let mut created = Vec::new();
    let mut path = "/api/orders?limit=4".to_owned();
    let mut first_cursor = None;
    // Two pages hold six orders; a cursor that does not move on would go round.
    for _ in 0..4 {
        let page = call(&t, wh, "GET", &path, None, 200).await;
        for order in items(&page) {
            listed.push(order["deal_id"].as_str().unwrap().to_owned());
            created.push(order["created_at"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                first_cursor.get_or_insert_with(|| cursor.to_owned());
                path = format!("/api/orders?limit=4&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(listed.len(), 6, "{listed:?}");
    let mut sorted = listed.clone();
    sorted.sort();
    sorted.dedup();
    ids.sort();
    assert_eq!(sorted, ids, "each order once");
    assert!(created.is_sorted(), "oldest first: {created:?}");
    let manager = (t.manager.id.as_str(), Role::Manager);
    let stolen = format!("/api/orders?limit=4&cursor={}", first_cursor.unwrap());
    call(&t, manager, "GET", &stolen, None, 400).await;
}

#[tokio::test]
async fn placing_an_order_costs_two_round_trips_per_stock_line() {
    let t = TestStack::new().await;
    catalogue(&t).await;
    let warehouse = t.add_employee("store", Role::Warehouse, None).await;
    let wh = (warehouse.id.as_str(), Role::Warehouse);
    for scan in [
        format!("010400638133393117270630{GS}10PA{GS}305"),
        format!("010000009638507410OL-1{GS}3010"),
    ] {
        call(
            &t,
            wh,
            "POST",
            "/api/warehouse/receipts",
            Some(json!({ "scan": scan })),
            201,
        )
        .await;
    }
    let lines = json!([
        { "product": "Насос НВР-16Д", "equipment_type": "vacuum_pump", "quantity": 2,
          "unit_price_kopecks": 15_000_000, "sku": "PUMP-16" },
        { "product": "Масло вакуумное, 5 л", "equipment_type": "other", "quantity": 4,
          "unit_price_kopecks": 450_000, "sku": "OIL-5" },
    ]);
    let deal = agreed_deal(&t, "Ирина <irina@rt-orders.ru>", lines).await;
    let mut at_agreement: Deal = serde_json::from_value(deal.clone()).unwrap();
    at_agreement.stage = DealStage::Agreed;
    let event = DealEvent::new(
        &at_agreement,
        DealEventKind::StageChanged {
            from: DealStage::Invoice,
            to: DealStage::Agreed,
        },
        &t.manager.id,
    );
    t.counted.round_trips.take();
    redeliver(&t, &event).await;
    // The deal; the products in one batch; per stock line its batches and one
    // transaction (batches + reservation + audit); the deal change with the order, its
    // production and supplier orders in one transaction; the event out (its outbox read,
    // sent, removed); the contact card; the consumer's log entry.
    let trips = t.counted.round_trips.take();
    let expected: std::collections::BTreeMap<String, usize> = [
        ("DynamoDB.GetItem", 1),
        ("DynamoDB.BatchGetItem", 1),
        ("DynamoDB.Query", 2 + 1),
        ("DynamoDB.TransactWriteItems", 2 + 1),
        ("SQS.SendMessageBatch", 1),
        ("DynamoDB.DeleteItem", 1),
        ("DynamoDB.UpdateItem", 1),
        ("DynamoDB.PutItem", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(trips, expected);
    let order = t
        .get_as_head(&format!("/api/orders/{}", deal["id"].as_str().unwrap()))
        .await;
    assert_eq!(order["order"]["lines"][1]["split"]["reserve"], 4, "{order}");
}

#[tokio::test]
async fn a_missed_promise_gives_the_manager_and_the_heads_a_task_once() {
    let t = TestStack::new().await;
    catalogue(&t).await;
    let deal = agreed_deal(
        &t,
        "Пётр <petr@late-test.ru>",
        json!([{ "product": "Камера КТХ-1000", "equipment_type": "climate_chamber", "quantity": 1,
                 "unit_price_kopecks": 250_000_000, "sku": "KTX-1000" }]),
    )
    .await;
    let id = deal["id"].as_str().unwrap();
    assert_eq!(t.process_deal_events().await, 0);
    let shop = t.add_employee("shop", Role::Production, None).await;
    let production = (shop.id.as_str(), Role::Production);
    let now = chrono::Utc::now();
    let yesterday = (now - chrono::Duration::days(1)).date_naive();
    let listed = call(&t, production, "GET", "/api/production-orders", None, 200).await;
    assert_eq!(items(&listed).len(), 1, "{listed}");
    call(
        &t,
        production,
        "PATCH",
        &format!("/api/orders/{id}/production/1"),
        Some(json!({ "readiness": 60, "promised_date": yesterday })),
        200,
    )
    .await;
    assert_eq!(t.jobs.late_production(now).await.unwrap(), 2);
    assert_eq!(t.jobs.late_production(now).await.unwrap(), 0, "once");
    let (_, mine) = t
        .api_get(
            "/api/tasks?scope=mine",
            Some((&t.manager.id, Role::Manager)),
        )
        .await;
    let late: Vec<&Value> = items(&mine)
        .iter()
        .filter(|task| task["kind"] == "late_production")
        .collect();
    assert_eq!(late.len(), 1, "{mine}");
    assert_eq!(late[0]["deal_id"], id);
    // Done: no longer open, nothing late.
    call(
        &t,
        production,
        "PATCH",
        &format!("/api/orders/{id}/production/1"),
        Some(json!({ "status": "done" })),
        200,
    )
    .await;
    let listed = call(&t, production, "GET", "/api/production-orders", None, 200).await;
    assert!(items(&listed).is_empty(), "{listed}");
}

/// A deal of two pumps, agreed and reserved from batch PB (4 in stock).
async fn reserved_pumps(t: &TestStack, from: &str) -> String {
    catalogue(t).await;
    let warehouse = t.add_employee("store", Role::Warehouse, None).await;
    call(
        t,
        (warehouse.id.as_str(), Role::Warehouse),
        "POST",
        "/api/warehouse/receipts",
        Some(json!({ "scan": format!("010400638133393117270331{GS}10PB{GS}304") })),
        201,
    )
    .await;
    let deal = agreed_deal(
        t,
        from,
        json!([{ "product": "Насос НВР-16Д", "equipment_type": "vacuum_pump", "quantity": 2,
                 "unit_price_kopecks": 15_000_000, "sku": "PUMP-16" }]),
    )
    .await;
    assert_eq!(t.process_deal_events().await, 0);
    deal["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn two_shipments_of_the_same_goods_at_once_ship_them_once() {
    let t = TestStack::new().await;
    let id = reserved_pumps(&t, "Гоша <gosha@race-ship.ru>").await;
    let warehouse = t.add_employee("store-2", Role::Warehouse, None).await;
    let wh = Some((warehouse.id.as_str(), Role::Warehouse));
    let path = format!("/api/orders/{id}/shipments");
    let body = |shipment: &str| {
        Some(
            json!({ "shipment_id": shipment, "scans": [{ "scan": format!("010400638133393110PB{GS}302") }] }),
        )
    };
    let (first, second) = tokio::join!(
        t.api_call("POST", &path, body("double-a"), wh),
        t.api_call("POST", &path, body("double-b"), wh),
    );
    let mut statuses = [first.0, second.0];
    statuses.sort_unstable();
    assert!(
        statuses == [201, 409] || statuses == [201, 422],
        "one ships, the other is told the goods are gone: {first:?} {second:?}"
    );
    let stock = t.get_as_head("/api/warehouse/stock?sku=PUMP-16").await;
    assert_eq!(items(&stock)[0]["on_hand"], 2, "{stock}");
    assert_eq!(items(&stock)[0]["reserved"], 0, "{stock}");
    let order = t.get_as_head(&format!("/api/orders/{id}")).await;
    assert_eq!(order["shipments"].as_array().unwrap().len(), 1, "{order}");
}

#[tokio::test]
async fn a_shipment_whose_document_cannot_be_stored_ships_nothing() {
    let t = TestStack::new().await;
    let id = reserved_pumps(&t, "Лена <lena@s3-down.ru>").await;
    let warehouse = t.add_employee("store-2", Role::Warehouse, None).await;
    let wh = Some((warehouse.id.as_str(), Role::Warehouse));
    let mut broken_config = t.api_config.clone();
    broken_config.documents_bucket = format!("{}-gone", t.api_config.documents_bucket);
    let broken = api::Api::new(
        &broken_config,
        &t.counted,
        crm_shared::cursor::CursorSeal::new("this test lists nothing"),
    );
    let path = format!("/api/orders/{id}/shipments");
    let body = Some(
        json!({ "shipment_id": "s3-down", "scans": [{ "scan": format!("010400638133393110PB{GS}302") }] }),
    );
    let (status, answer) = t
        .api_call_with(&broken, "POST", &path, body.clone(), wh)
        .await;
    assert_eq!(status, 503, "{answer}");
    let stock = t.get_as_head("/api/warehouse/stock?sku=PUMP-16").await;
    assert_eq!(items(&stock)[0]["reserved"], 2, "nothing moved: {stock}");
    let deal = t.get_as_head(&format!("/api/deals/{id}")).await;
    assert_eq!(deal["deal"]["shipped"], false);
    // Storage back: the same request ships.
    let (status, answer) = t.api_call("POST", &path, body, wh).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["shipped"], true);
}
