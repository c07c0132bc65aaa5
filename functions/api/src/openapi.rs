//! The API's contract as an OpenAPI 3.1 document, generated from the route table the
//! router uses ([`crate::routes::ROUTES`]): every path and method, its path parameters,
//! the capability it needs (as its tag), the bearer token, and the one error shape.
//! Served at `GET /api/openapi.json`; a test checks it against the route table (and the
//! route table is checked against the template). Request and answer bodies are described
//! by their routes' documentation for now; their schemas come with the front end.

use crate::routes::{ROUTES, Route};
use serde_json::{Map, Value, json};

/// The parameters a path template names: `{id}` → `id`.
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

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
    let mut parameters = match route.path {
        "/api/inquiries" => vec![
            (
                "status",
                codes(&["unrouted", "routed", "qualified", "not_a_lead"]),
            ),
            ("kind", codes(&["jivo_chat", "site_form", "manual", "call"])),
            ("channel", codes(&["email", "phone", "chat", "form"])),
        ],
        "/api/counterparties" => vec![
            ("kind", codes(&["lead", "client", "partner"])),
            ("q", json!({ "type": "string", "maxLength": 200 })),
        ],
        "/api/deals" => vec![("department", departments())],
        "/api/tasks" => vec![("scope", codes(&["mine", "department", "overdue"]))],
        "/api/products" => vec![("q", json!({ "type": "string", "maxLength": 200 }))],
        "/api/warehouse/stock" => vec![("sku", json!({ "type": "string", "maxLength": 64 }))],
        "/api/warehouse/expiring" => {
            vec![(
                "days",
                json!({ "type": "integer", "minimum": 0, "maximum": 3650 }),
            )]
        }
        "/api/warehouse/recipients" => vec![
            ("sku", json!({ "type": "string", "maxLength": 64 })),
            ("batch", json!({ "type": "string", "maxLength": 64 })),
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
        "/api/inquiries" | "/api/counterparties" | "/api/deals"
    ) {
        parameters.extend(page());
    }
    parameters
}

fn operation(route: &Route) -> Value {
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
        json!({ "name": name, "in": "query", "required": false, "schema": schema })
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
    responses.insert(
        "2XX".into(),
        json!({ "description": success, "content": { "application/json": { "schema": { "type": "object" } } } }),
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
        operation["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": { "type": "object" } } },
        });
    }
    operation
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method.to_lowercase()] = operation(route);
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
            "schemas": {
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
            },
        },
    })
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
        assert_eq!(queried, ["status", "kind", "channel", "limit", "cursor"]);
        let operations: BTreeSet<String> =
            ROUTES.iter().map(|r| format!("{:?}", r.endpoint)).collect();
        assert_eq!(operations.len(), ROUTES.len(), "operation ids are unique");
    }
}
