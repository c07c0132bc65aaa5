//! Issue 8's regressions through the real stack, one test per thing that went wrong.

use crate::sales::{new_deal, pumps};
use crm_domain::staff::Role;
use integration_tests::TestStack;
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
        body["missing"],
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
    assert_eq!(answer["missing"], json!(["needs[0]"]));
}
