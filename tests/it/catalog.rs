//! The product catalogue through the API and DynamoDB Local: heads create and change
//! products, barcodes are unique across the catalogue, everyone who works with orders
//! finds a product by SKU, barcode or the start of its name.

use crm_domain::staff::Role;
use integration_tests::TestStack;
use serde_json::{Value, json};

fn pump(sku: &str, barcodes: &[&str]) -> Value {
    json!({
        "sku": sku,
        "name": "Насос вакуумный НВР-16Д",
        "unit": "шт",
        "kind": "own_production",
        "equipment_type": "vacuum_pump",
        "barcodes": barcodes,
        "tracks_batches": true,
        "tracks_expiry": false
    })
}

#[tokio::test]
async fn heads_keep_the_catalogue_and_everyone_finds_a_product() {
    let t = TestStack::new().await;
    let head = Some((t.heads[0].id.as_str(), Role::Head));
    let (status, created) = t
        .api_call(
            "POST",
            "/api/products",
            Some(pump("NVR-16D", &["4006381333931"])),
            head,
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["barcodes"], json!(["04006381333931"]));
    assert_eq!(created["version"], 1);

    // The same SKU, or a barcode another product holds: 409, nothing written.
    let (status, body) = t
        .api_call("POST", "/api/products", Some(pump("NVR-16D", &[])), head)
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = t
        .api_call(
            "POST",
            "/api/products",
            Some(pump("NVR-25", &["4006381333931"])),
            head,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("04006381333931"),
        "{body}"
    );
    assert_eq!(t.api_get("/api/products/NVR-25", head).await.0, 404);
    // A bad check digit is named.
    let (status, body) = t
        .api_call(
            "POST",
            "/api/products",
            Some(pump("NVR-40", &["4006381333932"])),
            head,
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"], json!(["barcodes[0]"]));

    // Found by SKU, by any written form of the barcode, by the start of the name.
    let warehouse = t.add_employee("wh", Role::Warehouse, None).await;
    let wh = Some((warehouse.id.as_str(), Role::Warehouse));
    for q in [
        "NVR-16D",
        "4006381333931",
        "04006381333931",
        "насос вакуум",
        "НАСОС",
    ] {
        let (status, found) = t
            .api_get(&format!("/api/products?q={}", urlencode(q)), wh)
            .await;
        assert_eq!(status, 200, "{q}: {found}");
        assert_eq!(found["items"][0]["sku"], "NVR-16D", "{q}: {found}");
    }

    // A change names the version it read; its barcodes move with it.
    let mut edit = pump("ignored", &["96385074"]);
    edit["version"] = json!(1);
    edit["name"] = json!("Насос НВР-16Д (исп. 2)");
    let (status, changed) = t
        .api_call("PUT", "/api/products/NVR-16D", Some(edit.clone()), head)
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["sku"], "NVR-16D");
    assert_eq!(changed["version"], 2);
    assert_eq!(
        t.api_call("PUT", "/api/products/NVR-16D", Some(edit), head)
            .await
            .0,
        409
    );
    // The dropped barcode is free for another product now; the kept one is not.
    let (status, _) = t
        .api_call(
            "POST",
            "/api/products",
            Some(pump("NVR-25", &["4006381333931"])),
            head,
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = t
        .api_call(
            "POST",
            "/api/products",
            Some(pump("NVR-63", &["96385074"])),
            head,
        )
        .await;
    assert_eq!(status, 409);

    // Managers read the catalogue but do not change it; the trail shows who did.
    let manager = Some((t.manager.id.as_str(), Role::Manager));
    assert_eq!(t.api_get("/api/products/NVR-16D", manager).await.0, 200);
    assert_eq!(
        t.api_call("POST", "/api/products", Some(pump("X-1", &[])), manager)
            .await
            .0,
        403
    );
    let trail = t.get_as_head("/api/audit/product/NVR-16D").await;
    assert!(trail.to_string().contains("исп. 2"), "{trail}");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_warehouse_receives_goods_by_scan_into_batches() {
    let t = TestStack::new().await;
    let head = Some((t.heads[0].id.as_str(), Role::Head));
    let oil = json!({
        "sku": "OIL-5", "name": "Масло вакуумное", "unit": "л", "kind": "purchased",
        "equipment_type": "other", "barcodes": ["4006381333931"],
        "tracks_batches": true, "tracks_expiry": true, "default_supplier": "ООО «Смазки»"
    });
    assert_eq!(
        t.api_call("POST", "/api/products", Some(oil), head).await.0,
        201
    );
    let warehouse = t.add_employee("wh", Role::Warehouse, None).await;
    let wh = Some((warehouse.id.as_str(), Role::Warehouse));
    let receive = |scan: String, quantity: Option<u32>| {
        let t = &t;
        async move {
            let mut body = json!({ "scan": scan });
            if let Some(q) = quantity {
                body["quantity"] = json!(q);
            }
            t.api_call("POST", "/api/warehouse/receipts", Some(body), wh)
                .await
        }
    };
    let gs = '\u{1d}';
    // A keyboard-wedge scanner without separators, then the same batch again with one.
    let (status, body) = receive("0104006381333931173012311077-A".into(), Some(20)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["batch_id"], "77-A");
    let (status, _) = receive(format!("010400638133393117301231{gs}1077-A{gs}375"), None).await;
    assert_eq!(status, 201);
    // The same batch code with another expiry, expired goods, an unknown product, a bad
    // check digit, no batch: refused, nothing written.
    let (status, body) = receive("0104006381333931173101311077-A".into(), Some(1)).await;
    assert_eq!(status, 409, "{body}");
    for scan in [
        "0104006381333931172001011078-B",
        "0196385074000008172612311078-B",
        "0104006381333932172612311078-B",
        "4006381333931",
    ] {
        let (status, body) = receive(scan.into(), Some(1)).await;
        assert_eq!(status, 422, "{scan}: {body}");
        assert_eq!(body["error"]["fields"], json!(["scan"]), "{scan}: {body}");
    }
    // Only the warehouse changes stock.
    let (status, _) = t
        .api_call(
            "POST",
            "/api/warehouse/receipts",
            Some(json!({ "scan": "0104006381333931173012311077-A" })),
            head,
        )
        .await;
    assert_eq!(status, 403);

    let (status, stock) = t.api_get("/api/warehouse/stock?sku=OIL-5", head).await;
    assert_eq!(status, 200, "{stock}");
    let batches = stock["items"].as_array().unwrap();
    assert_eq!(batches.len(), 1, "{stock}");
    assert_eq!(batches[0]["on_hand"], 25);
    assert_eq!(batches[0]["free"], 25);
    assert_eq!(batches[0]["expiry"], "2030-12-31");
    let (_, soon) = t.api_get("/api/warehouse/expiring?days=30", head).await;
    assert!(soon["items"].as_array().unwrap().is_empty(), "{soon}");
    let (_, later) = t.api_get("/api/warehouse/expiring?days=3650", head).await;
    assert_eq!(later["items"][0]["batch_id"], "77-A", "{later}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_orders_racing_for_scarce_stock_never_oversell_and_losers_are_told_what_is_missing()
{
    use crm_shared::warehouse::ports::StockStore;
    use crm_shared::warehouse::reservations::{ReserveLine, Reserving};
    use std::sync::Arc;

    let t = TestStack::new().await;
    let head = Some((t.heads[0].id.as_str(), Role::Head));
    let product = json!({
        "sku": "FLT-1", "name": "Фильтр масляный", "unit": "шт", "kind": "purchased",
        "equipment_type": "other", "barcodes": ["4006381333931"],
        "tracks_batches": true, "tracks_expiry": true
    });
    assert_eq!(
        t.api_call("POST", "/api/products", Some(product), head)
            .await
            .0,
        201
    );
    let warehouse = t.add_employee("wh", Role::Warehouse, None).await;
    let wh = Some((warehouse.id.as_str(), Role::Warehouse));
    for (scan, quantity) in [
        ("0104006381333931172812311001", 7),
        ("0104006381333931172706301002", 5),
    ] {
        let body = json!({ "scan": scan, "quantity": quantity });
        assert_eq!(
            t.api_call("POST", "/api/warehouse/receipts", Some(body), wh)
                .await
                .0,
            201
        );
    }
    let store = Arc::new(crm_shared::adapters::DynamoStore::new(
        t.counted.dynamodb.clone(),
        t.stack.name("Table").unwrap(),
    ));
    let contenders = 20;
    let gate = Arc::new(tokio::sync::Barrier::new(contenders));
    let today = chrono::Utc::now().date_naive();
    let tasks: Vec<_> = (0..contenders)
        .map(|i| {
            let (store, gate) = (store.clone(), gate.clone());
            tokio::spawn(async move {
                gate.wait().await;
                let line = ReserveLine {
                    reservation_id: format!("order-{i}#1"),
                    sku: "FLT-1".into(),
                    quantity: 2,
                };
                Reserving { store: &*store }
                    .reserve(&line, "wh", "test", chrono::Utc::now(), today)
                    .await
            })
        })
        .collect();
    let mut reserved = 0;
    let mut short = 0;
    for task in futures::future::join_all(tasks).await {
        let allocation = task.unwrap().unwrap();
        let taken: u32 = allocation.picks.iter().map(|p| p.quantity).sum();
        assert_eq!(taken + allocation.missing, 2, "{allocation:?}");
        reserved += taken;
        if allocation.missing > 0 {
            short += 1;
        }
    }
    assert_eq!(reserved, 12, "all the stock, and not a unit more");
    assert!(short >= 14, "{short} orders were told what is missing");
    let batches = store.batches("FLT-1").await.unwrap();
    for batch in &batches {
        assert_eq!(batch.reserved, batch.on_hand, "{batch:?}");
    }
    // The earliest expiry went first: the June 2027 batch is in every early order.
    let (_, stock) = t.api_get("/api/warehouse/stock?sku=FLT-1", head).await;
    assert_eq!(stock["items"][0]["batch_id"], "02", "{stock}");
    assert_eq!(stock["items"][0]["free"], 0, "{stock}");
    // Reserving a line again answers what it got and reserves nothing more.
    let line = ReserveLine {
        reservation_id: "order-0#1".into(),
        sku: "FLT-1".into(),
        quantity: 2,
    };
    let again = Reserving { store: &*store }
        .reserve(&line, "wh", "test", chrono::Utc::now(), today)
        .await
        .unwrap();
    let after: u32 = store
        .batches("FLT-1")
        .await
        .unwrap()
        .iter()
        .map(|b| b.reserved)
        .sum();
    assert_eq!(after, 12, "{again:?}");
}
