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
        body["reason"].as_str().unwrap().contains("04006381333931"),
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
    assert_eq!(body["missing"], json!(["barcodes[0]"]));

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
