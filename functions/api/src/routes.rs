//! The API's one route table. The router, the 404/405 answers (and next the OpenAPI
//! document) all come from [`ROUTES`]; a test fails when `infra/template.yaml` declares
//! other routes for the function. Each route names the capability its caller's role
//! needs; `SECURITY.md`'s table is checked against it.

use crm_domain::staff::Capability;

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ListInquiries,
    Inquiry,
    RouteInquiries,
    QualifyInquiry,
    ListCounterparties,
    Counterparty,
    Timeline,
    DecideContactPoint,
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
    SearchProducts,
    CreateProduct,
    Product,
    EditProduct,
    ReceiveStock,
    Stock,
    Expiring,
    Order,
    OrdersToShip,
    OpenProduction,
    UpdateProduction,
    EditSupply,
    ReceiveSupply,
    CheckShipment,
    Ship,
    BatchRecipients,
    ListSegments,
    CreateSegment,
    Segment,
    EditSegment,
    DeleteSegment,
    PreviewSegment,
    ExportSegment,
    Export,
    SegmentCallTasks,
    MarkOptOut,
    ImportOptOuts,
    SetTags,
    Me,
    Employees,
    ReassignDeal,
    ReassignCounterparty,
    OpenApi,
    Dashboard,
    EditCounterparty,
    EditContact,
}

/// One route: method, path template (`{name}` is one path segment), endpoint, and the
/// capability a caller's role must have (the access policy, `crm_domain::staff::access`).
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub endpoint: Endpoint,
    pub capability: Capability,
}

const fn route(
    method: &'static str,
    path: &'static str,
    endpoint: Endpoint,
    capability: Capability,
) -> Route {
    Route {
        method,
        path,
        endpoint,
        capability,
    }
}

/// Every route of the API.
pub const ROUTES: &[Route] = &[
    route(
        "GET",
        "/api/inquiries",
        Endpoint::ListInquiries,
        Capability::ReadInquiries,
    ),
    route(
        "POST",
        "/api/inquiries/route",
        Endpoint::RouteInquiries,
        Capability::RouteInquiries,
    ),
    route(
        "GET",
        "/api/inquiries/{id}",
        Endpoint::Inquiry,
        Capability::ReadInquiries,
    ),
    route(
        "POST",
        "/api/inquiries/{id}/qualify",
        Endpoint::QualifyInquiry,
        Capability::QualifyInquiries,
    ),
    route(
        "GET",
        "/api/counterparties",
        Endpoint::ListCounterparties,
        Capability::ListCounterparties,
    ),
    route(
        "GET",
        "/api/counterparties/{id}",
        Endpoint::Counterparty,
        Capability::ReadCounterparty,
    ),
    route(
        "GET",
        "/api/counterparties/{id}/timeline",
        Endpoint::Timeline,
        Capability::ReadCorrespondence,
    ),
    route(
        "POST",
        "/api/counterparties/{id}/contact-points",
        Endpoint::DecideContactPoint,
        Capability::DecideContactPoints,
    ),
    route(
        "GET",
        "/api/deals",
        Endpoint::ListDeals,
        Capability::ReadDeals,
    ),
    route(
        "GET",
        "/api/deals/{id}",
        Endpoint::Deal,
        Capability::ReadDeals,
    ),
    route(
        "PATCH",
        "/api/deals/{id}",
        Endpoint::EditDeal,
        Capability::ChangeDeals,
    ),
    route(
        "POST",
        "/api/deals/{id}/stage",
        Endpoint::MoveDeal,
        Capability::ChangeDeals,
    ),
    route(
        "POST",
        "/api/deals/{id}/proposal",
        Endpoint::Proposal,
        Capability::ChangeDeals,
    ),
    route(
        "GET",
        "/api/deals/{id}/documents/{document}/url",
        Endpoint::DocumentUrl,
        Capability::ReadDocuments,
    ),
    route(
        "GET",
        "/api/audit/{entity}/{id}",
        Endpoint::Audit,
        Capability::ReadAudit,
    ),
    route(
        "GET",
        "/api/tasks",
        Endpoint::ListTasks,
        Capability::ReadTasks,
    ),
    route(
        "POST",
        "/api/tasks",
        Endpoint::CreateTask,
        Capability::CreateTasks,
    ),
    route(
        "POST",
        "/api/tasks/{id}/complete",
        Endpoint::CompleteTask,
        Capability::CompleteTasks,
    ),
    route(
        "GET",
        "/api/products",
        Endpoint::SearchProducts,
        Capability::ReadProducts,
    ),
    route(
        "POST",
        "/api/products",
        Endpoint::CreateProduct,
        Capability::ManageProducts,
    ),
    route(
        "GET",
        "/api/products/{sku}",
        Endpoint::Product,
        Capability::ReadProducts,
    ),
    route(
        "PUT",
        "/api/products/{sku}",
        Endpoint::EditProduct,
        Capability::ManageProducts,
    ),
    route(
        "POST",
        "/api/warehouse/receipts",
        Endpoint::ReceiveStock,
        Capability::ReceiveStock,
    ),
    route(
        "GET",
        "/api/warehouse/stock",
        Endpoint::Stock,
        Capability::ReadStock,
    ),
    route(
        "GET",
        "/api/warehouse/expiring",
        Endpoint::Expiring,
        Capability::ReadStock,
    ),
    route(
        "GET",
        "/api/warehouse/recipients",
        Endpoint::BatchRecipients,
        Capability::ReadOrders,
    ),
    route(
        "GET",
        "/api/orders/{id}",
        Endpoint::Order,
        Capability::ReadOrders,
    ),
    route(
        "GET",
        "/api/orders",
        Endpoint::OrdersToShip,
        Capability::ReadOrders,
    ),
    route(
        "GET",
        "/api/production-orders",
        Endpoint::OpenProduction,
        Capability::ReadOrders,
    ),
    route(
        "PATCH",
        "/api/orders/{id}/production/{line}",
        Endpoint::UpdateProduction,
        Capability::UpdateProduction,
    ),
    route(
        "PATCH",
        "/api/orders/{id}/supply/{line}",
        Endpoint::EditSupply,
        Capability::ManageSupply,
    ),
    route(
        "POST",
        "/api/orders/{id}/supply/{line}/receipts",
        Endpoint::ReceiveSupply,
        Capability::ReceiveStock,
    ),
    route(
        "POST",
        "/api/orders/{id}/shipments/check",
        Endpoint::CheckShipment,
        Capability::ShipOrders,
    ),
    route(
        "POST",
        "/api/orders/{id}/shipments",
        Endpoint::Ship,
        Capability::ShipOrders,
    ),
    route(
        "GET",
        "/api/segments",
        Endpoint::ListSegments,
        Capability::ManageSegments,
    ),
    route(
        "POST",
        "/api/segments",
        Endpoint::CreateSegment,
        Capability::ManageSegments,
    ),
    route(
        "GET",
        "/api/segments/{id}",
        Endpoint::Segment,
        Capability::ManageSegments,
    ),
    route(
        "PUT",
        "/api/segments/{id}",
        Endpoint::EditSegment,
        Capability::ManageSegments,
    ),
    route(
        "DELETE",
        "/api/segments/{id}",
        Endpoint::DeleteSegment,
        Capability::ManageSegments,
    ),
    route(
        "GET",
        "/api/segments/{id}/preview",
        Endpoint::PreviewSegment,
        Capability::ManageSegments,
    ),
    route(
        "POST",
        "/api/segments/{id}/exports",
        Endpoint::ExportSegment,
        Capability::ExportSegments,
    ),
    route(
        "GET",
        "/api/exports/{id}",
        Endpoint::Export,
        Capability::ExportSegments,
    ),
    route(
        "POST",
        "/api/segments/{id}/call-tasks",
        Endpoint::SegmentCallTasks,
        Capability::ManageSegments,
    ),
    route(
        "POST",
        "/api/opt-outs",
        Endpoint::MarkOptOut,
        Capability::ManageSegments,
    ),
    route(
        "POST",
        "/api/opt-outs/mailchimp",
        Endpoint::ImportOptOuts,
        Capability::ManageSegments,
    ),
    route(
        "PUT",
        "/api/counterparties/{id}/tags",
        Endpoint::SetTags,
        Capability::ManageSegments,
    ),
    route("GET", "/api/me", Endpoint::Me, Capability::ReadStaff),
    route(
        "GET",
        "/api/openapi.json",
        Endpoint::OpenApi,
        Capability::ReadStaff,
    ),
    route(
        "GET",
        "/api/dashboard",
        Endpoint::Dashboard,
        Capability::RouteInquiries,
    ),
    route(
        "PATCH",
        "/api/counterparties/{id}",
        Endpoint::EditCounterparty,
        Capability::EditCounterparties,
    ),
    route(
        "POST",
        "/api/deals/{id}/manager",
        Endpoint::ReassignDeal,
        Capability::RouteInquiries,
    ),
    route(
        "POST",
        "/api/counterparties/{id}/manager",
        Endpoint::ReassignCounterparty,
        Capability::RouteInquiries,
    ),
    route(
        "GET",
        "/api/employees",
        Endpoint::Employees,
        Capability::ReadStaff,
    ),
    route(
        "PUT",
        "/api/counterparties/{id}/contacts/{contact}",
        Endpoint::EditContact,
        Capability::EditCounterparties,
    ),
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

/// The route for `method` and `path`, with the captured path parameters.
pub fn find<'p>(method: &str, path: &'p str) -> Result<(&'static Route, Vec<&'p str>), NoRoute> {
    let mut path_exists = false;
    for route in ROUTES {
        if let Some(params) = captures(route.path, path) {
            if route.method == method {
                return Ok((route, params));
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
    use crm_domain::staff::Role;
    use std::collections::BTreeSet;

    fn found<'p>(method: &str, path: &'p str) -> Result<(Endpoint, Vec<&'p str>), NoRoute> {
        find(method, path).map(|(route, params)| (route.endpoint, params))
    }

    #[test]
    fn requests_find_their_endpoint_or_a_reason() {
        assert_eq!(
            found("GET", "/api/deals/d1/documents/proposal-v1/url"),
            Ok((Endpoint::DocumentUrl, vec!["d1", "proposal-v1"]))
        );
        assert_eq!(
            found("PATCH", "/api/deals/d1/"),
            Ok((Endpoint::EditDeal, vec!["d1"]))
        );
        assert_eq!(
            found("DELETE", "/api/deals/d1"),
            Err(NoRoute::MethodNotAllowed)
        );
        assert_eq!(
            found("GET", "/api/audit/deal/d1"),
            Ok((Endpoint::Audit, vec!["deal", "d1"]))
        );
        assert_eq!(
            found("PUT", "/api/audit/deal/d1"),
            Err(NoRoute::MethodNotAllowed)
        );
        assert_eq!(found("GET", "/api/deals//stage"), Err(NoRoute::NotFound));
        assert_eq!(found("GET", "/api/nothing"), Err(NoRoute::NotFound));
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

    /// What a role sees through a route, read off the policy itself: `—` (403), `own`,
    /// `department` (and what is not routed yet), `all`, or `names` (a counterparty's name
    /// and owner, no contacts).
    fn scope(role: Role, route: &Route) -> &'static str {
        use crm_domain::kernel::{Department, Owner};
        use crm_domain::staff::{Actor, permits};
        if !permits(role, route.capability) {
            return "—";
        }
        match route.capability {
            // Not anyone's records: the catalogue, counterparties' names, and marketing's
            // segments over the whole contact base.
            Capability::ListCounterparties
            | Capability::ReadProducts
            | Capability::ManageProducts
            | Capability::ReadStock
            | Capability::ReceiveStock
            | Capability::ManageSegments
            | Capability::ExportSegments
            | Capability::ReadStaff => return "all",
            Capability::ReadTasks | Capability::CreateTasks | Capability::CompleteTasks => {
                return "task rule";
            }
            _ => {}
        }
        let actor = Actor {
            id: "me".into(),
            role,
            department: Some(Department::High),
        };
        let colleague = Owner {
            manager_id: Some("colleague"),
            department: Some(Department::High),
        };
        let elsewhere = Owner {
            manager_id: Some("other"),
            department: Some(Department::Thermal),
        };
        let sees = |owner| {
            if route.capability == Capability::ReadCounterparty {
                actor.sees_contacts(owner)
            } else {
                actor.sees(owner)
            }
        };
        if sees(elsewhere) {
            "all"
        } else if sees(colleague) {
            "department"
        } else if route.capability == Capability::ReadCounterparty {
            if role == Role::Manager {
                "own; names of others"
            } else {
                "names"
            }
        } else {
            "own"
        }
    }

    /// The access table of `SECURITY.md`, generated from the route table and the policy.
    fn access_table() -> String {
        let mut table = String::from("| route |");
        for role in Role::ALL {
            table.push_str(&format!(" {role} |"));
        }
        table.push_str("\n|---|");
        table.push_str(&"---|".repeat(Role::ALL.len()));
        for route in ROUTES {
            table.push_str(&format!("\n| `{} {}` |", route.method, route.path));
            for role in Role::ALL {
                table.push_str(&format!(" {} |", scope(role, route)));
            }
        }
        table
    }

    #[test]
    fn security_md_shows_the_access_policy_the_code_enforces() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../SECURITY.md");
        let text = std::fs::read_to_string(path).unwrap();
        let start = "<!-- access-table: generated by functions/api/src/routes.rs -->\n";
        let block = text
            .split_once(start)
            .and_then(|(_, rest)| rest.split_once("\n<!-- /access-table -->"))
            .map(|(block, _)| block)
            .expect("SECURITY.md has the access-table markers");
        assert_eq!(
            block,
            access_table(),
            "SECURITY.md's table differs from the code; the table the code enforces is:\n{}",
            access_table()
        );
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
