//! The API's contract as an OpenAPI 3.1 document, generated from the route table the
//! router uses ([`crate::routes::ROUTES`]): every path and method, its path parameters,
//! the capability it needs (as its tag), the bearer token, and the one error shape.
//! Served at `GET /api/openapi.json`; a test checks it against the route table (and the
//! route table is checked against the template). Request bodies and answers have schemas
//! derived with `utoipa` from the very Rust types the handlers read and write (an answer
//! that wraps them — a page, an envelope — is written here around those types), so the
//! contract cannot drift from the code. Every route has a typed answer.

use crate::routes::{Endpoint, ROUTES, Route};
use crm_domain::sales::{Deal, Task};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

/// The schemas the document refers to, by name.
type Components = Map<String, Value>;

/// Puts `T`'s schema, and every schema it refers to, among the components; gives the
/// reference to it.
fn schema<T: ToSchema>(components: &mut Components) -> Value {
    let mut referred = Vec::new();
    T::schemas(&mut referred);
    for (name, schema) in referred {
        components.insert(name, serde_json::to_value(schema).unwrap_or_default());
    }
    let name = T::name().into_owned();
    components.insert(
        name.clone(),
        serde_json::to_value(T::schema()).unwrap_or_default(),
    );
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A page of a list: its items and the cursor of the next page.
fn page(items: Value) -> Value {
    json!({
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": { "type": "array", "items": items },
            "next_cursor": { "type": ["string", "null"] },
        },
    })
}

/// An inquiry as the inbox lists it: the inquiry, how long it has waited and a call's call.
fn listed_inquiry(c: &mut Components) -> Value {
    let inquiry = schema::<crm_domain::intake::Inquiry>(c);
    let call = schema::<crate::reads::CallSummary>(c);
    json!({
        "allOf": [inquiry, {
            "type": "object",
            "required": ["age_seconds"],
            "properties": { "age_seconds": { "type": "integer" }, "call": call },
        }],
    })
}

/// The request body and the answer of a route, from the Rust types its handler reads and
/// writes; `None` where it reads no body.
fn bodies(endpoint: Endpoint, c: &mut Components) -> (Option<Value>, Option<Value>) {
    use crate::{catalog, marketing, orders, reads, sales, staff, tasks, warehouse};
    match endpoint {
        Endpoint::ListInquiries => (None, Some(page(listed_inquiry(c)))),
        Endpoint::Inquiry => (None, Some(listed_inquiry(c))),
        Endpoint::Counterparty => {
            // Within the caller's scope the whole counterparty; outside it, the name and
            // the owner only.
            let detail = schema::<reads::CounterpartyCard>(c);
            let hidden = json!({
                "type": "object",
                "required": ["id", "kind", "name", "contacts_hidden"],
                "properties": {
                    "id": { "type": "string" },
                    "name": { "type": "string" },
                    "kind": { "type": "string" },
                    "contacts_hidden": { "const": true },
                },
            });
            (None, Some(json!({ "oneOf": [detail, hidden] })))
        }
        Endpoint::Timeline => {
            let entry = schema::<crm_domain::intake::Interaction>(c);
            let call = schema::<reads::CallSummary>(c);
            let listed = json!({
                "allOf": [entry, {
                    "type": "object",
                    "properties": {
                        "call": call,
                        "attachment_urls": { "type": "array", "items": { "type": "string" } },
                    },
                }],
            });
            (None, Some(page(listed)))
        }
        Endpoint::RouteInquiries => (
            Some(schema::<sales::RouteRequest>(c)),
            Some(schema::<crm_shared::sales::routing::RoutingReport>(c)),
        ),
        Endpoint::QualifyInquiry => {
            // Not a lead: the inquiry as closed (200); a deal: the deal opened (201).
            let inquiry = schema::<crm_domain::intake::Inquiry>(c);
            let deal = schema::<Deal>(c);
            (
                Some(schema::<sales::QualifyBody>(c)),
                Some(json!({ "oneOf": [inquiry, deal] })),
            )
        }
        Endpoint::DecideContactPoint => (
            Some(schema::<reads::PointDecision>(c)),
            Some(schema::<reads::PointDecision>(c)),
        ),
        Endpoint::ListDeals => (None, Some(page(schema::<Deal>(c)))),
        Endpoint::Deal => (None, Some(schema::<sales::DealAnswer>(c))),
        Endpoint::EditDeal => (
            Some(schema::<sales::EditRequest>(c)),
            Some(schema::<Deal>(c)),
        ),
        Endpoint::MoveDeal => (
            Some(schema::<sales::StageRequest>(c)),
            Some(schema::<Deal>(c)),
        ),
        Endpoint::Proposal => (
            Some(schema::<sales::VersionRequest>(c)),
            Some(schema::<sales::ProposalAnswer>(c)),
        ),
        Endpoint::ListTasks => {
            let task = schema::<Task>(c);
            let listed = json!({
                "allOf": [task, {
                    "type": "object",
                    "required": ["overdue"],
                    "properties": { "overdue": { "type": "boolean" } },
                }],
            });
            (None, Some(page(listed)))
        }
        Endpoint::CreateTask => (Some(schema::<tasks::NewTask>(c)), Some(schema::<Task>(c))),
        Endpoint::CompleteTask => (None, Some(schema::<Task>(c))),
        Endpoint::CreateProduct => (
            Some(schema::<crm_domain::warehouse::Product>(c)),
            Some(schema::<crm_domain::warehouse::Product>(c)),
        ),
        Endpoint::EditProduct => (
            Some(schema::<catalog::ProductEdit>(c)),
            Some(schema::<crm_domain::warehouse::Product>(c)),
        ),
        Endpoint::ReceiveStock => (
            Some(schema::<warehouse::ReceiptRequest>(c)),
            Some(schema::<warehouse::Received>(c)),
        ),
        Endpoint::UpdateProduction => (
            Some(schema::<orders::ProductionRequest>(c)),
            Some(schema::<orders::OrderView>(c)),
        ),
        Endpoint::EditSupply => (
            Some(schema::<orders::SupplyRequest>(c)),
            Some(schema::<orders::OrderView>(c)),
        ),
        Endpoint::ReceiveSupply => (
            Some(schema::<orders::SupplyReceiptRequest>(c)),
            Some(schema::<orders::OrderView>(c)),
        ),
        Endpoint::CheckShipment => (
            Some(schema::<orders::ShipmentRequest>(c)),
            Some(schema::<orders::ShipmentCheck>(c)),
        ),
        Endpoint::Ship => (
            Some(schema::<orders::ShipmentRequest>(c)),
            Some(schema::<orders::Shipped>(c)),
        ),
        Endpoint::CreateSegment | Endpoint::EditSegment => (
            Some(schema::<marketing::SegmentRequest>(c)),
            Some(schema::<crm_domain::marketing::Segment>(c)),
        ),
        Endpoint::SegmentCallTasks => (
            Some(schema::<marketing::CallTasksRequest>(c)),
            Some(schema::<crm_shared::marketing::exports::GivenTasks>(c)),
        ),
        Endpoint::MarkOptOut => (
            Some(schema::<marketing::OptOutRequest>(c)),
            Some(schema::<crm_domain::marketing::unsubscribes::OptOut>(c)),
        ),
        Endpoint::ImportOptOuts => (
            Some(schema::<marketing::MailchimpImportRequest>(c)),
            Some(schema::<marketing::OptOutsImported>(c)),
        ),
        Endpoint::SetTags => (
            Some(schema::<marketing::TagsRequest>(c)),
            Some(schema::<marketing::Tagged>(c)),
        ),
        Endpoint::DeleteSegment => (None, Some(schema::<marketing::Deleted>(c))),
        Endpoint::ExportSegment => (None, Some(schema::<marketing::ExportQueued>(c))),
        Endpoint::ReassignDeal => (
            Some(schema::<staff::ReassignRequest>(c)),
            Some(schema::<Deal>(c)),
        ),
        Endpoint::ReassignCounterparty => (
            Some(schema::<staff::ReassignRequest>(c)),
            Some(schema::<staff::Reassigned>(c)),
        ),
        Endpoint::EditCounterparty => (
            Some(schema::<staff::RenameRequest>(c)),
            Some(schema::<crm_domain::party::Counterparty>(c)),
        ),
        Endpoint::EditContact => (
            Some(schema::<staff::ContactRequest>(c)),
            Some(schema::<crm_domain::party::ContactPerson>(c)),
        ),
        Endpoint::ListCounterparties => (
            None,
            Some(page(schema::<crm_domain::party::Counterparty>(c))),
        ),
        Endpoint::Audit => (
            None,
            Some(page(schema::<crm_domain::kernel::audit::AuditEntry>(c))),
        ),
        Endpoint::DocumentUrl => (None, Some(schema::<sales::DocumentLink>(c))),
        Endpoint::SearchProducts => (
            None,
            Some(page(schema::<crm_domain::warehouse::Product>(c))),
        ),
        Endpoint::Product => (None, Some(schema::<crm_domain::warehouse::Product>(c))),
        Endpoint::Stock | Endpoint::Expiring => {
            let batch = schema::<crm_shared::adapters::StockBatch>(c);
            let listed = json!({
                "allOf": [batch, {
                    "type": "object",
                    "required": ["free"],
                    "properties": { "free": { "type": "integer", "minimum": 0 } },
                }],
            });
            (None, Some(page(listed)))
        }
        Endpoint::Order => (None, Some(schema::<orders::OrderView>(c))),
        Endpoint::OrdersToShip => (
            None,
            Some(page(schema::<crm_domain::orders::shipment::OrderToShip>(c))),
        ),
        Endpoint::OpenProduction => (
            None,
            Some(page(schema::<crm_domain::orders::ProductionOrder>(c))),
        ),
        Endpoint::BatchRecipients => (
            None,
            Some(page(schema::<crm_shared::orders::ports::BatchRecipient>(c))),
        ),
        Endpoint::ListSegments => (
            None,
            Some(page(schema::<crm_domain::marketing::Segment>(c))),
        ),
        Endpoint::Segment => (None, Some(schema::<marketing::SegmentAnswer>(c))),
        Endpoint::Export => (None, Some(schema::<marketing::ExportAnswer>(c))),
        Endpoint::PreviewSegment => (None, Some(schema::<marketing::PreviewAnswer>(c))),
        Endpoint::Me => (None, Some(schema::<staff::Me>(c))),
        Endpoint::Employees => (None, Some(page(schema::<staff::StaffMember>(c)))),
        Endpoint::Dashboard => (None, Some(schema::<staff::DashboardAnswer>(c))),
        Endpoint::OpenApi => (
            None,
            Some(json!({ "type": "object", "required": ["openapi", "paths"] })),
        ),
    }
}

/// The parameters a path template names: `{id}` → `id`.
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

/// The query parameters a route cannot do without: (path, name).
const REQUIRED_QUERY: [(&str, &str); 4] = [
    ("/api/products", "q"),
    ("/api/warehouse/stock", "sku"),
    ("/api/warehouse/recipients", "sku"),
    ("/api/warehouse/recipients", "batch"),
];

/// The query parameters of the list and search routes: name and schema.
fn query_parameters(route: &Route) -> Vec<(&'static str, Value)> {
    let codes = |codes: &[&str]| json!({ "type": "string", "enum": codes });
    let page = || {
        vec![
            (
                "limit",
                json!({ "type": "integer", "minimum": 1, "maximum": 500 }),
            ),
            ("cursor", json!({ "type": "string", "maxLength": 2048 })),
        ]
    };
    if route.method != "GET" {
        return Vec::new();
    }
    let departments = || codes(&["high", "industrial", "thermal"]);
    // As `crm_domain::kernel::sku_is_valid` reads an article.
    let sku = || json!({ "type": "string", "pattern": "^[A-Za-z0-9._-]{1,40}$" });
    let mut parameters = match route.path {
        "/api/inquiries" => vec![
            (
                "status",
                codes(&["unrouted", "routed", "qualified", "not_a_lead"]),
            ),
            ("kind", codes(&["jivo_chat", "site_form", "manual", "call"])),
            ("channel", codes(&["email", "phone", "chat", "form"])),
            ("sort", codes(&["received", "-received"])),
        ],
        "/api/counterparties" => vec![
            ("kind", codes(&["lead", "client", "partner"])),
            ("q", json!({ "type": "string", "maxLength": 200 })),
        ],
        "/api/deals" => vec![("department", departments())],
        "/api/tasks" => vec![
            ("scope", codes(&["mine", "department", "overdue"])),
            // A head of all departments narrows the department's tasks to one.
            ("department", departments()),
        ],
        // Paged, no filters.
        "/api/orders" | "/api/counterparties/{id}/timeline" => Vec::new(),
        "/api/products" => vec![
            (
                "q",
                json!({ "type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S" }),
            ),
            (
                "limit",
                json!({ "type": "integer", "minimum": 1, "maximum": 500 }),
            ),
        ],
        "/api/warehouse/stock" => vec![("sku", sku())],
        "/api/warehouse/expiring" => {
            vec![(
                "days",
                json!({ "type": "integer", "minimum": 0, "maximum": 3650 }),
            )]
        }
        "/api/warehouse/recipients" => vec![
            (
                "sku",
                json!({ "type": "string", "minLength": 1, "maxLength": 80 }),
            ),
            (
                "batch",
                json!({ "type": "string", "minLength": 1, "maxLength": 80 }),
            ),
        ],
        "/api/employees" => vec![
            (
                "role",
                codes(&[
                    "head",
                    "manager",
                    "marketer",
                    "warehouse",
                    "production",
                    "admin",
                ]),
            ),
            ("active", json!({ "type": "boolean" })),
        ],
        _ => return Vec::new(),
    };
    if matches!(
        route.path,
        "/api/inquiries"
            | "/api/counterparties"
            | "/api/deals"
            | "/api/orders"
            | "/api/counterparties/{id}/timeline"
    ) {
        parameters.extend(page());
    }
    parameters
}

fn operation(route: &Route, components: &mut Components) -> Value {
    let (request, answer) = bodies(route.endpoint, components);
    let mut parameters: Vec<Value> = path_parameters(route.path)
        .into_iter()
        .map(|name| {
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "schema": { "type": "string", "maxLength": 80 },
            })
        })
        .collect();
    parameters.extend(query_parameters(route).into_iter().map(|(name, schema)| {
        let required = REQUIRED_QUERY.contains(&(route.path, name));
        json!({ "name": name, "in": "query", "required": required, "schema": schema })
    }));
    let error = |description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
        })
    };
    let mut responses = Map::new();
    let success = match route.method {
        "POST" => "200 or 201 (created), 202 (queued)",
        _ => "200",
    };
    let answer = answer.unwrap_or_else(|| json!({ "type": "object" }));
    responses.insert(
        "2XX".into(),
        json!({ "description": success, "content": { "application/json": { "schema": answer } } }),
    );
    // The JWT authorizer answers 401 before the function runs, in API Gateway's shape.
    responses.insert(
        "401".into(),
        json!({
            "description": "no valid bearer token (API Gateway's authorizer)",
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/GatewayError" } } },
        }),
    );
    for (status, description) in [
        ("400", "bad parameters"),
        (
            "403",
            "not an active employee of this role, or outside the caller's scope",
        ),
        ("404", "no such resource"),
        (
            "409",
            "changed meanwhile (a stale version) or refused in this state",
        ),
        ("413", "a body over 256 KiB"),
        ("422", "fields to fill or fix, or a refused move or scan"),
        ("503", "a dependency is unavailable: try again shortly"),
    ] {
        responses.insert(status.into(), error(description));
    }
    let mut operation = json!({
        "operationId": format!("{:?}", route.endpoint),
        "tags": [route.capability.code()],
        "x-capability": route.capability.code(),
        "parameters": parameters,
        "responses": responses,
    });
    if matches!(route.method, "POST" | "PUT" | "PATCH") {
        let request = request.unwrap_or_else(|| json!({ "type": "object" }));
        operation["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": request } },
        });
    }
    operation
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    let mut components = Components::new();
    for route in ROUTES {
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method.to_lowercase()] = operation(route, &mut components);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Sales backend API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The staff API of the sales backend. Every route needs a bearer token of an active employee whose role has the route's capability (its tag).",
        },
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
            },
            "schemas": components_with_errors(components),
        },
    })
}

/// The types' schemas and the two error shapes.
fn components_with_errors(mut components: Components) -> Value {
    components.extend(
        json!({
                "GatewayError": {
                    "type": "object",
                    "required": ["message"],
                    "properties": { "message": { "type": "string" } },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": { "type": "string" },
                                "message": { "type": "string" },
                                "fields": { "type": "array", "items": { "type": "string" } },
                                "refusal": { "type": "object" },
                            },
                        },
                    },
                },
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    );
    Value::Object(components)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_document_lists_exactly_the_routes_the_router_serves() {
        let document = document();
        assert_eq!(document["openapi"], "3.1.0");
        let mut listed = BTreeSet::new();
        for (path, methods) in document["paths"].as_object().unwrap() {
            for (method, operation) in methods.as_object().unwrap() {
                listed.insert(format!("{} {path}", method.to_uppercase()));
                let declared: Vec<&str> = operation["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap())
                    .collect();
                assert_eq!(declared, path_parameters(path), "{method} {path}");
            }
        }
        let routes: BTreeSet<String> = ROUTES
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(listed, routes);
        let inquiries = &document["paths"]["/api/inquiries"]["get"]["parameters"];
        let queried: Vec<&str> = inquiries
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            queried,
            ["status", "kind", "channel", "sort", "limit", "cursor"]
        );
    }

    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    /// A parameter the handler refuses to go without is marked required; the rest are not.
    #[test]
    fn required_query_parameters_are_marked() {
        let document = document();
        for (path, name) in REQUIRED_QUERY {
            let parameters = document["paths"][path]["get"]["parameters"]
                .as_array()
                .unwrap();
            let parameter = parameters.iter().find(|p| p["name"] == name).unwrap();
            assert_eq!(parameter["required"], true, "{path} {name}");
        }
        let inquiries = document["paths"]["/api/inquiries"]["get"]["parameters"]
            .as_array()
            .unwrap();
        assert!(inquiries.iter().all(|p| p["required"] == false));
    }

    /// Every route names its answer's schema: a derived type, or a page or envelope of
    /// them — never a bare object. (`bodies` has no catch-all arm either: a new endpoint
    /// does not compile until its body and answer are named.)
    #[test]
    fn answers_are_typed() {
        let document = document();
        for route in ROUTES {
            let operation = &document["paths"][route.path][route.method.to_lowercase()];
            let answer = &operation["responses"]["2XX"]["content"]["application/json"]["schema"];
            assert_ne!(
                answer,
                &json!({ "type": "object" }),
                "{} {} ({:?}) has no typed answer",
                route.method,
                route.path,
                route.endpoint
            );
        }
    }

    #[test]
    fn bodies_come_from_the_rust_types_and_every_reference_resolves() {
        let document = document();
        let schemas = document["components"]["schemas"].as_object().unwrap();
        let mut found = Vec::new();
        refs(&document, &mut found);
        for target in &found {
            let name = target.strip_prefix("#/components/schemas/").unwrap();
            assert!(
                schemas.contains_key(name),
                "{target} is not among the components"
            );
        }
        // Every route that reads a body names its type, except those whose body is empty.
        let bodiless = ["CompleteTask", "ExportSegment"];
        for (path, methods) in document["paths"].as_object().unwrap() {
            for (method, operation) in methods.as_object().unwrap() {
                if let Some(body) = operation.get("requestBody") {
                    let schema = &body["content"]["application/json"]["schema"];
                    let id = operation["operationId"].as_str().unwrap();
                    assert!(
                        schema.get("$ref").is_some() || bodiless.contains(&id),
                        "{method} {path} ({id}) has no typed body"
                    );
                }
            }
        }
        // The deal as the handlers write it: its stage is one of the stages, its terms
        // flattened into it.
        let deal = serde_json::to_string(&schemas["Deal"]).unwrap();
        assert!(
            deal.contains("DealStage") && deal.contains("DealTerms"),
            "{deal}"
        );
        let stages = &schemas["DealStage"]["enum"];
        assert!(
            stages
                .as_array()
                .unwrap()
                .contains(&json!("warehouse_sale"))
        );
        let operations: BTreeSet<String> =
            ROUTES.iter().map(|r| format!("{:?}", r.endpoint)).collect();
        assert_eq!(operations.len(), ROUTES.len(), "operation ids are unique");
    }
}
