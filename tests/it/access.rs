//! The access policy (`SECURITY.md`, `crm_domain::staff::access`) route by route and role
//! by role, on data that would leak if a check were missing: a client of one manager with
//! a message in its history, their inquiry, deal and audit trails; callers of every role,
//! in the same and in another department; tokens that are not an active employee's.

use crate::sales::{items, new_deal, pumps};
use crm_domain::staff::{Department, Employee, Role};
use integration_tests::TestStack;
use serde_json::{Value, json};

/// Everyone who asks, by name in the table below.
struct Callers {
    owner: (String, Role),
    other_manager: (String, Role),
    head: (String, Role),
    thermal_head: (String, Role),
    marketer: (String, Role),
    warehouse: (String, Role),
    production: (String, Role),
    admin: (String, Role),
}

impl Callers {
    async fn new(t: &TestStack) -> Self {
        let add = |id: &'static str, role, department| async move {
            let e: Employee = t.add_employee(id, role, department).await;
            (e.id, role)
        };
        Self {
            owner: (t.manager.id.clone(), Role::Manager),
            other_manager: add("other-mgr", Role::Manager, Some(Department::High)).await,
            head: (t.heads[0].id.clone(), Role::Head),
            thermal_head: add("thermal-head", Role::Head, Some(Department::Thermal)).await,
            marketer: add("marketer", Role::Marketer, None).await,
            warehouse: add("warehouse", Role::Warehouse, None).await,
            production: add("production", Role::Production, None).await,
            admin: add("admin", Role::Admin, None).await,
        }
    }

    /// In the order of the columns of the expectations.
    fn all(&self) -> [(&'static str, &(String, Role)); 8] {
        [
            ("owner", &self.owner),
            ("other_manager", &self.other_manager),
            ("head", &self.head),
            ("thermal_head", &self.thermal_head),
            ("marketer", &self.marketer),
            ("warehouse", &self.warehouse),
            ("production", &self.production),
            ("admin", &self.admin),
        ]
    }
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_policy_says() {
    let t = TestStack::new().await;
    let deal = new_deal(&t, "Олег <oleg@access-test.ru>", pumps()).await;
    let deal_id = deal["id"].as_str().unwrap();
    let party = deal["party_id"].as_str().unwrap();
    let inquiry = deal["inquiry_id"].as_str().unwrap();
    let callers = Callers::new(&t).await;

    // method, path, body, expected status per caller (owner, other manager, head, head of
    // another department, marketer, warehouse, production, admin). 409/404/400 mean "let in, then
    // refused for another reason" (a stale version, no such document, nothing to route).
    let stale = json!({ "version": 0, "needs": ["чужое"] });
    let (_, detail) = t
        .api_get(
            &format!("/api/counterparties/{party}"),
            Some((&t.heads[0].id, Role::Head)),
        )
        .await;
    let contact = detail["contacts"][0]["id"].as_str().unwrap().to_owned();
    let cases: Vec<(&str, String, Option<Value>, [u16; 8])> = vec![
        (
            "GET",
            "/api/inquiries".into(),
            None,
            [200, 200, 200, 200, 403, 403, 403, 200],
        ),
        (
            "GET",
            "/api/counterparties".into(),
            None,
            [200, 200, 200, 200, 200, 200, 403, 200],
        ),
        (
            "GET",
            format!("/api/counterparties/{party}"),
            None,
            [200, 200, 200, 200, 200, 200, 403, 200],
        ),
        (
            "GET",
            format!("/api/counterparties/{party}/timeline"),
            None,
            [200, 403, 200, 403, 403, 403, 403, 200],
        ),
        (
            "GET",
            format!("/api/deals/{deal_id}"),
            None,
            [200, 403, 200, 403, 200, 200, 403, 200],
        ),
        (
            "PATCH",
            format!("/api/deals/{deal_id}"),
            Some(stale),
            [409, 403, 409, 403, 403, 403, 403, 409],
        ),
        (
            "POST",
            format!("/api/deals/{deal_id}/stage"),
            Some(json!({ "version": 0, "to": "proposal" })),
            [409, 403, 409, 403, 403, 403, 403, 409],
        ),
        (
            "POST",
            format!("/api/deals/{deal_id}/proposal"),
            Some(json!({ "version": 0 })),
            [409, 403, 409, 403, 403, 403, 403, 409],
        ),
        (
            "GET",
            format!("/api/deals/{deal_id}/documents/none/url"),
            None,
            [404, 403, 404, 403, 403, 404, 403, 404],
        ),
        (
            "GET",
            format!("/api/audit/deal/{deal_id}"),
            None,
            [200, 403, 200, 403, 403, 403, 403, 200],
        ),
        (
            "GET",
            format!("/api/audit/inquiry/{inquiry}"),
            None,
            [200, 403, 200, 403, 403, 403, 403, 200],
        ),
        (
            "GET",
            format!("/api/audit/counterparty/{party}"),
            None,
            [200, 403, 200, 403, 403, 403, 403, 200],
        ),
        (
            "GET",
            format!("/api/inquiries/{inquiry}"),
            None,
            [200, 403, 200, 403, 403, 403, 403, 200],
        ),
        (
            "POST",
            "/api/inquiries/route".into(),
            Some(json!({ "inquiry_ids": [], "department": "high", "manager_id": "x" })),
            [403, 403, 400, 400, 403, 403, 403, 400],
        ),
        (
            "POST",
            format!("/api/inquiries/{inquiry}/qualify"),
            Some(json!({ "outcome": "not_a_lead", "reason": "spam" })),
            [409, 403, 409, 403, 403, 403, 403, 409],
        ),
        ("GET", "/api/tasks".into(), None, [200; 8]),
        // Orders: the deal has none yet, so whoever gets past access is told 409.
        (
            "GET",
            format!("/api/orders/{deal_id}"),
            None,
            [409, 403, 409, 403, 403, 409, 409, 409],
        ),
        (
            "GET",
            "/api/orders".into(),
            None,
            [200, 200, 200, 200, 403, 200, 200, 200],
        ),
        (
            "GET",
            "/api/production-orders".into(),
            None,
            [200, 200, 200, 200, 403, 200, 200, 200],
        ),
        (
            "PATCH",
            format!("/api/orders/{deal_id}/production/1"),
            Some(json!({ "status": "done" })),
            [403, 403, 403, 403, 403, 403, 409, 409],
        ),
        (
            "PATCH",
            format!("/api/orders/{deal_id}/supply/1"),
            Some(json!({ "status": "ordered" })),
            [403, 403, 409, 403, 403, 409, 403, 409],
        ),
        (
            "POST",
            format!("/api/orders/{deal_id}/supply/1/receipts"),
            Some(json!({ "version": 1 })),
            [403, 403, 403, 403, 403, 409, 403, 409],
        ),
        (
            "POST",
            format!("/api/orders/{deal_id}/shipments/check"),
            Some(json!({ "shipment_id": "s1", "scans": [{ "scan": "x" }] })),
            [403, 403, 403, 403, 403, 409, 403, 409],
        ),
        (
            "POST",
            format!("/api/orders/{deal_id}/shipments"),
            Some(json!({ "shipment_id": "s1", "scans": [{ "scan": "x" }] })),
            [403, 403, 403, 403, 403, 409, 403, 409],
        ),
        (
            "GET",
            "/api/warehouse/recipients?sku=OIL-5&batch=L1".into(),
            None,
            [200, 200, 200, 200, 403, 200, 200, 200],
        ),
        ("GET", "/api/me".into(), None, [200; 8]),
        ("GET", "/api/employees".into(), None, [200; 8]),
        // Marketing: marketers, heads and admins; the contact base leaves through them only.
        (
            "GET",
            "/api/segments".into(),
            None,
            [403, 403, 200, 200, 200, 403, 403, 200],
        ),
        (
            "POST",
            "/api/segments/none/exports".into(),
            None,
            [403, 403, 404, 404, 404, 403, 403, 404],
        ),
        (
            "GET",
            "/api/exports/none".into(),
            None,
            [403, 403, 404, 404, 404, 403, 403, 404],
        ),
        (
            "POST",
            "/api/opt-outs".into(),
            Some(json!({ "email": "not an address" })),
            [403, 403, 422, 422, 422, 403, 403, 422],
        ),
        (
            "PUT",
            format!("/api/counterparties/{party}/tags"),
            Some(json!({ "tags": ["выставка"] })),
            [403, 403, 200, 200, 200, 403, 403, 200],
        ),
        (
            "PUT",
            format!("/api/counterparties/{party}/contacts/{contact}"),
            Some(json!({ "emails": ["not an address"], "phones": [] })),
            [422, 403, 422, 403, 403, 403, 403, 422],
        ),
        (
            "POST",
            "/api/warehouse/receipts".into(),
            Some(json!({ "scan": "not a barcode" })),
            [403, 403, 403, 403, 403, 422, 403, 422],
        ),
    ];
    let mut wrong = Vec::new();
    for (method, path, body, expected) in &cases {
        for ((name, (id, role)), want) in callers.all().into_iter().zip(expected) {
            let (status, answer) = t
                .api_call(method, path, body.clone(), Some((id, *role)))
                .await;
            if status != *want {
                wrong.push(format!(
                    "{method} {path} as {name}: {status}, want {want}: {answer}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // What a 200 shows depends on scope, too.
    let ask = |who: &(String, Role), path: String| {
        let (id, role) = who.clone();
        let t = &t;
        async move { t.api_get(&path, Some((&id, role))).await.1 }
    };
    let timeline = ask(
        &callers.owner,
        format!("/api/counterparties/{party}/timeline"),
    )
    .await;
    assert!(timeline.to_string().contains("Нужна камера"), "{timeline}");
    for who in [
        &callers.owner,
        &callers.head,
        &callers.marketer,
        &callers.admin,
    ] {
        let detail = ask(who, format!("/api/counterparties/{party}")).await;
        assert!(detail["contacts"].is_array(), "{detail}");
    }
    for who in [
        &callers.other_manager,
        &callers.thermal_head,
        &callers.warehouse,
    ] {
        let detail = ask(who, format!("/api/counterparties/{party}")).await;
        assert_eq!(detail["contacts_hidden"], true, "{detail}");
        assert!(detail.get("contacts").is_none(), "{detail}");
        assert_eq!(
            detail["responsible_manager_id"],
            json!(callers.owner.0),
            "the owner shows"
        );
    }
    let listed = |body: &Value| items(body).iter().any(|i| i["id"] == json!(inquiry));
    assert!(listed(&ask(&callers.owner, "/api/inquiries".into()).await));
    assert!(listed(&ask(&callers.head, "/api/inquiries".into()).await));
    assert!(!listed(
        &ask(&callers.other_manager, "/api/inquiries".into()).await
    ));
    assert!(!listed(
        &ask(&callers.thermal_head, "/api/inquiries".into()).await
    ));
}

#[tokio::test]
async fn a_token_grants_nothing_without_an_active_employee_of_that_role() {
    let t = TestStack::new().await;
    let deal = new_deal(&t, "Олег <oleg@token-test.ru>", pumps()).await;
    let path = format!("/api/deals/{}", deal["id"].as_str().unwrap());
    let (status, body) = t.api_get(&path, Some(("nobody", Role::Head))).await;
    assert_eq!(
        status, 403,
        "a head token of someone who is not an employee: {body}"
    );
    let (status, _) = t
        .api_get("/api/inquiries", Some(("nobody", Role::Admin)))
        .await;
    assert_eq!(status, 403);
    let other = t
        .add_employee("other-mgr", Role::Manager, Some(Department::High))
        .await;
    let (status, body) = t.api_get(&path, Some((&other.id, Role::Head))).await;
    assert_eq!(
        status, 403,
        "a manager's id with a head token gets no head powers: {body}"
    );
    let mut gone = t.add_employee("gone-head", Role::Head, None).await;
    assert_eq!(t.api_get(&path, Some((&gone.id, Role::Head))).await.0, 200);
    gone.active = false;
    t.store.put_employee(&gone).await.unwrap();
    assert_eq!(
        t.api_get(&path, Some((&gone.id, Role::Head))).await.0,
        403,
        "inactive"
    );
}

#[tokio::test]
async fn everyone_learns_what_they_may_do_and_who_is_on_the_staff() {
    let t = TestStack::new().await;
    let warehouse = t.add_employee("store", Role::Warehouse, None).await;
    let (status, me) = t
        .api_get("/api/me", Some((&warehouse.id, Role::Warehouse)))
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["role"], "warehouse");
    let may: Vec<&str> = me["may"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(may.contains(&"ship_orders"), "{may:?}");
    assert!(!may.contains(&"export_segments"), "{may:?}");
    assert!(!may.contains(&"read_correspondence"), "{may:?}");
    let (status, staff) = t
        .api_get(
            "/api/employees?role=manager",
            Some((&warehouse.id, Role::Warehouse)),
        )
        .await;
    assert_eq!(status, 200, "{staff}");
    let managers = items(&staff);
    assert!(managers.iter().any(|e| e["id"] == json!(t.manager.id)));
    assert!(managers.iter().all(|e| e["role"] == "manager"));
    assert!(
        managers.iter().all(|e| e.get("email").is_none()),
        "names for pickers, no addresses: {staff}"
    );
}
