//! The API's one route table. The router, the 404/405 answers (and next the OpenAPI
//! document) all come from [`ROUTES`]; a test fails when `infra/template.yaml` declares
//! other routes for the function.

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ListInquiries,
    RouteInquiries,
    QualifyInquiry,
    ListCounterparties,
    Counterparty,
    Timeline,
    ListDeals,
    Deal,
    EditDeal,
    MoveDeal,
    Proposal,
    DocumentUrl,
    Audit,
    ListTasks,
    CreateTask,
    CompleteTask,
}

/// One route: method, path template (`{name}` is one path segment), endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub endpoint: Endpoint,
}

const fn route(method: &'static str, path: &'static str, endpoint: Endpoint) -> Route {
    Route {
        method,
        path,
        endpoint,
    }
}

/// Every route of the API.
pub const ROUTES: &[Route] = &[
    route("GET", "/api/inquiries", Endpoint::ListInquiries),
    route("POST", "/api/inquiries/route", Endpoint::RouteInquiries),
    route(
        "POST",
        "/api/inquiries/{id}/qualify",
        Endpoint::QualifyInquiry,
    ),
    route("GET", "/api/counterparties", Endpoint::ListCounterparties),
    route("GET", "/api/counterparties/{id}", Endpoint::Counterparty),
    route(
        "GET",
        "/api/counterparties/{id}/timeline",
        Endpoint::Timeline,
    ),
    route("GET", "/api/deals", Endpoint::ListDeals),
    route("GET", "/api/deals/{id}", Endpoint::Deal),
    route("PATCH", "/api/deals/{id}", Endpoint::EditDeal),
    route("POST", "/api/deals/{id}/stage", Endpoint::MoveDeal),
    route("POST", "/api/deals/{id}/proposal", Endpoint::Proposal),
    route(
        "GET",
        "/api/deals/{id}/documents/{document}/url",
        Endpoint::DocumentUrl,
    ),
    route("GET", "/api/audit/{entity}/{id}", Endpoint::Audit),
    route("GET", "/api/tasks", Endpoint::ListTasks),
    route("POST", "/api/tasks", Endpoint::CreateTask),
    route("POST", "/api/tasks/{id}/complete", Endpoint::CompleteTask),
];

/// Why no route answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRoute {
    NotFound,
    /// The path exists with other methods.
    MethodNotAllowed,
}

/// The path's segments captured by a template's `{…}` parts, in order.
fn captures<'p>(template: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut wanted = template.trim_matches('/').split('/');
    let mut given = path.trim_matches('/').split('/');
    let mut captured = Vec::new();
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Some(captured),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {
                captured.push(g)
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

/// The endpoint for `method` and `path`, with the captured path parameters.
pub fn find<'p>(method: &str, path: &'p str) -> Result<(Endpoint, Vec<&'p str>), NoRoute> {
    let mut path_exists = false;
    for route in ROUTES {
        if let Some(params) = captures(route.path, path) {
            if route.method == method {
                return Ok((route.endpoint, params));
            }
            path_exists = true;
        }
    }
    Err(if path_exists {
        NoRoute::MethodNotAllowed
    } else {
        NoRoute::NotFound
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn requests_find_their_endpoint_or_a_reason() {
        assert_eq!(
            find("GET", "/api/deals/d1/documents/proposal-v1/url"),
            Ok((Endpoint::DocumentUrl, vec!["d1", "proposal-v1"]))
        );
        assert_eq!(
            find("PATCH", "/api/deals/d1/"),
            Ok((Endpoint::EditDeal, vec!["d1"]))
        );
        assert_eq!(
            find("DELETE", "/api/deals/d1"),
            Err(NoRoute::MethodNotAllowed)
        );
        assert_eq!(
            find("GET", "/api/audit/deal/d1"),
            Ok((Endpoint::Audit, vec!["deal", "d1"]))
        );
        assert_eq!(
            find("PUT", "/api/audit/deal/d1"),
            Err(NoRoute::MethodNotAllowed)
        );
        assert_eq!(find("GET", "/api/deals//stage"), Err(NoRoute::NotFound));
        assert_eq!(find("GET", "/api/nothing"), Err(NoRoute::NotFound));
    }

    /// The routes `infra/template.yaml` gives the API function: `METHOD /path`.
    fn template_routes() -> BTreeSet<String> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
        let text = std::fs::read_to_string(path).unwrap();
        let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let events = &template["Resources"]["ApiFunction"]["Properties"]["Events"];
        events
            .as_mapping()
            .expect("ApiFunction has events")
            .values()
            .filter(|event| event["Type"].as_str() == Some("HttpApi"))
            .map(|event| {
                let properties = &event["Properties"];
                format!(
                    "{} {}",
                    properties["Method"].as_str().unwrap().to_uppercase(),
                    properties["Path"].as_str().unwrap()
                )
            })
            .collect()
    }

    #[test]
    fn the_template_declares_exactly_the_route_table() {
        let table: BTreeSet<String> = ROUTES
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(table.len(), ROUTES.len(), "a route is listed twice");
        assert_eq!(template_routes(), table);
    }
}
