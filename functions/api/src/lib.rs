//! The staff API: JSON over the HTTP API, behind its JWT authorizer. The authorizer has
//! already checked the token; this function reads the claims it passes on (no claims →
//! 401), enforces the role's scope (403), validates input (400, or 422 with the
//! machine-readable list of what is missing) and answers.
//!
//! Reads ([`reads`]): inquiries, counterparties, a counterparty and its timeline.
//! The sales process ([`sales`]): routing, qualification, deals and their stages, the
//! commercial proposal, audit trails. Tasks ([`tasks`]). The catalogue ([`catalog`]),
//! stock ([`warehouse`]), customer orders with production, supply and shipping
//! ([`orders`]), and marketing's segments, exports and opt-outs ([`marketing`]).
//!
//! Access (`crm_domain::staff::access`, table in `SECURITY.md`): the caller must be an
//! active employee whose record has the token's role; each route of [`routes::ROUTES`]
//! names the capability the role needs, checked once in the router; handlers check that
//! each record is within the caller's scope ([`Caller::check_sees`]).

mod catalog;
mod marketing;
pub mod openapi;
mod orders;
mod reads;
pub mod routes;
mod sales;
mod staff;
mod tasks;
mod warehouse;

use crm_domain::kernel::{Department, ErrorKind};
use crm_domain::sales::proposal::Seller;
use crm_domain::staff::{Actor, Owner, Role};
use crm_domain::warehouse::product::sku_is_valid;
use crm_shared::adapters::secrets::{SecretError, read_secret};
use crm_shared::adapters::{
    AwsClients, Blobs, Cursor, DynamoStore, ListError, Page, SegmentScheduler, SqsDealEvents,
    SqsExports,
};
use crm_shared::auth::Principal;
use crm_shared::config::{BaseConfig, ConfigError, EnvReader};
use crm_shared::cursor::CursorSeal;
use crm_shared::error::error_chain;
use crm_shared::ports::{Directory, StoreError};
use crm_shared::sales::deals::DealEventRelay;
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use routes::{Endpoint, NoRoute};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// The largest page a client may ask for.
pub const MAX_LIMIT: usize = 500;
const DEFAULT_LIMIT: usize = 50;

/// The function's configuration, from the variables the template sets.
#[derive(Debug, Clone)]
pub struct Config {
    pub base: BaseConfig,
    pub documents_bucket: String,
    pub deal_events_queue_url: String,
    /// Where segment exports are written (and handed out from).
    pub exports_bucket: String,
    /// The queue exports wait in for the exports function.
    pub exports_queue_url: String,
    /// Where segment schedules send, as whom, and how they are named.
    pub exports_queue_arn: String,
    pub segment_schedule_role_arn: String,
    pub segment_schedule_prefix: String,
    /// The Secrets Manager secret that keys list cursors.
    pub cursor_secret_id: String,
    pub seller: Seller,
    /// Working hours a routed inquiry may wait for its manager.
    pub first_response_hours: u32,
}

impl Config {
    pub fn from_env(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(vars);
        let base = BaseConfig::read(&mut env);
        let documents_bucket = env.required("DOCUMENTS_BUCKET");
        let deal_events_queue_url = env.required("DEAL_EVENTS_QUEUE_URL");
        let exports_bucket = env.required("EXPORTS_BUCKET");
        let exports_queue_url = env.required("EXPORTS_QUEUE_URL");
        let exports_queue_arn = env.required("EXPORTS_QUEUE_ARN");
        let segment_schedule_role_arn = env.required("SEGMENT_SCHEDULE_ROLE_ARN");
        let segment_schedule_prefix = env.required("SEGMENT_SCHEDULE_PREFIX");
        let cursor_secret_id = env.required("CURSOR_SECRET_ID");
        let company_name = env.required("COMPANY_NAME");
        let company_details = env.optional("COMPANY_DETAILS").unwrap_or_default();
        let hours = env
            .optional("FIRST_RESPONSE_HOURS")
            .unwrap_or_else(|| "4".into());
        let first_response_hours = hours.parse().unwrap_or(0);
        let mut problems = Vec::new();
        if !(1..=40).contains(&first_response_hours) {
            problems.push(
                "FIRST_RESPONSE_HOURS must be a number of working hours from 1 to 40".to_owned(),
            );
        }
        if let Err(mut error) = env.finish() {
            error.problems.extend(problems);
            return Err(error);
        }
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Self {
            base,
            documents_bucket,
            deal_events_queue_url,
            exports_bucket,
            exports_queue_url,
            exports_queue_arn,
            segment_schedule_role_arn,
            segment_schedule_prefix,
            cursor_secret_id,
            seller: Seller {
                name: company_name,
                details: company_details,
            },
            first_response_hours,
        })
    }
}

/// An answer other than success: status, machine-readable code, a message for people,
/// and the details: the `fields` to fix, or the `refusal`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    reason: String,
    details: Option<serde_json::Value>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status,
            code,
            reason: reason.into(),
            details: None,
        }
    }

    pub(crate) fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", reason)
    }

    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    pub(crate) fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", reason)
    }

    pub(crate) fn conflict(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", reason)
    }

    /// 422 with the list of fields to fill first.
    pub(crate) fn missing(reason: impl Into<String>, missing: Vec<String>) -> Self {
        let mut error = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "missing_data", reason);
        error.details = Some(serde_json::json!({ "fields": missing }));
        error
    }

    pub(crate) fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(error = error_chain(&error), "store failure");
        match error.kind() {
            ErrorKind::Transient => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "try again shortly",
            ),
            ErrorKind::Permanent => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            ),
        }
    }
}

impl From<ListError> for ApiError {
    fn from(error: ListError) -> Self {
        match error {
            ListError::BadCursor => Self::bad_request("cursor does not belong to this list"),
            ListError::Store(e) => e.into(),
        }
    }
}

pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    let body = serde_json::to_string(value).unwrap_or_else(|_| {
        r#"{"error":{"code":"internal","message":"internal error"}}"#.to_owned()
    });
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body))
        .unwrap_or_default()
}

/// The one error shape of the API: `{"error": {"code", "message", "fields"?,
/// "refusal"?}}` — `fields` names what to fill or fix, `refusal` is a refused stage
/// move (with `allowed` and `missing`) or a refused scan (with what was `expected`).
fn error_response(error: &ApiError) -> Response<Body> {
    let mut inner = serde_json::json!({ "code": error.code, "message": error.reason });
    if let (Some(details), Some(map)) = (&error.details, inner.as_object_mut())
        && let Some(extra) = details.as_object()
    {
        map.extend(extra.clone());
    }
    json(error.status, &serde_json::json!({ "error": inner }))
}

/// The query parameters of a request.
pub(crate) struct Query(HashMap<String, String>);

impl Query {
    fn of(request: &Request) -> Self {
        let map = request.query_string_parameters();
        Self(
            map.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn limit(&self) -> Result<usize, ApiError> {
        match self.get("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| {
                    ApiError::bad_request(format!("limit must be a number from 1 to {MAX_LIMIT}"))
                }),
        }
    }

    /// What a cursor is bound to: the list, its filters as asked (every parameter but
    /// the cursor and the page size, in order) and the caller.
    pub(crate) fn binding(&self, list: &str, caller: &Caller) -> String {
        let mut filters: Vec<_> = self
            .0
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "cursor" | "limit"))
            .collect();
        filters.sort();
        let filters: Vec<String> = filters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{list}?{}#{}", filters.join("&"), caller.id())
    }

    pub(crate) fn code<T>(
        &self,
        name: &str,
        parse: fn(&str) -> Option<T>,
        allowed: &str,
    ) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(|v| {
                parse(v).ok_or_else(|| {
                    ApiError::bad_request(format!("{name} must be one of {allowed}"))
                })
            })
            .transpose()
    }
}

/// Reads the caller from the authorizer's claims.
pub fn principal(request: &Request) -> Result<Principal, ApiError> {
    let claims = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| jwt.claims.clone()),
        _ => None,
    };
    let unauthorized =
        |reason: String| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", reason);
    let claims = claims.ok_or_else(|| unauthorized("a valid bearer token is required".into()))?;
    Principal::from_claims(&claims).map_err(|e| unauthorized(e.to_string()))
}

/// A path segment as the client meant it (`%2E` and the like decoded).
fn percent_decoded(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

pub(crate) fn valid_id(id: &str) -> Result<&str, ApiError> {
    let valid = !id.is_empty()
        && id.len() <= 80
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    valid.then_some(id).ok_or_else(ApiError::not_found)
}

/// Parses a JSON request body into `T`, or a 400 that says what is wrong.
/// The largest request body the API reads (a deal at all its caps fits well inside).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub(crate) fn body<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is over {} KiB", MAX_BODY_BYTES / 1024),
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// The employee behind a request: an active employee record whose role matches the
/// token's ([`Api::caller`]); nobody else gets past the router.
pub(crate) struct Caller {
    pub actor: Actor,
}

impl Caller {
    pub fn id(&self) -> &str {
        &self.actor.id
    }

    pub fn role(&self) -> Role {
        self.actor.role
    }

    /// A head's department; `None` for a head of all departments (or an admin).
    pub fn department(&self) -> Option<Department> {
        self.actor.department
    }

    /// 403 unless the record is within the caller's scope.
    pub fn check_sees(&self, owner: Owner<'_>, what: &str) -> Result<(), ApiError> {
        if self.actor.sees(owner) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this {what} belongs to another manager or department"
            )))
        }
    }
}

/// The API with its adapters, built once per cold start.
pub struct Api {
    pub(crate) store: DynamoStore,
    pub(crate) blobs: Blobs,
    pub(crate) s3: aws_sdk_s3::Client,
    pub(crate) relay: DealEventRelay<DynamoStore, SqsDealEvents>,
    pub(crate) exports_queue: SqsExports,
    pub(crate) schedules: SegmentScheduler,
    pub(crate) cursors: CursorSeal,
    pub(crate) config: Config,
}

impl Api {
    /// The cursor seal keyed by the function's secret (read once at cold start).
    pub async fn cursor_seal(
        secrets: &aws_sdk_secretsmanager::Client,
        config: &Config,
    ) -> Result<CursorSeal, SecretError> {
        Ok(CursorSeal::new(
            &read_secret(secrets, &config.cursor_secret_id).await?,
        ))
    }

    pub fn new(config: &Config, clients: &AwsClients, cursors: CursorSeal) -> Self {
        let store = config.base.store(clients);
        Self {
            relay: SqsDealEvents::relay(store.clone(), clients, &config.deal_events_queue_url),
            exports_queue: SqsExports {
                sqs: clients.sqs.clone(),
                queue_url: config.exports_queue_url.clone(),
            },
            schedules: SegmentScheduler {
                client: clients.scheduler.clone(),
                prefix: config.segment_schedule_prefix.clone(),
                exports_queue_arn: config.exports_queue_arn.clone(),
                role_arn: config.segment_schedule_role_arn.clone(),
            },
            store,
            cursors,
            blobs: Blobs::new(clients.s3.clone()),
            s3: clients.s3.clone(),
            config: config.clone(),
        }
    }

    /// Answers one request; never fails (errors are responses).
    pub async fn handle(&self, request: Request) -> Response<Body> {
        match self.route(&request).await {
            Ok(response) => response,
            Err(error) => error_response(&error),
        }
    }

    /// The cursor a client handed back, opened for `binding`; 400 for anything that is
    /// not a cursor this API gave for this list, filter and caller.
    pub(crate) fn list_cursor(
        &self,
        query: &Query,
        binding: &str,
    ) -> Result<Option<Cursor>, ApiError> {
        query
            .get("cursor")
            .map(|sealed| {
                self.cursors
                    .open(sealed, binding)
                    .and_then(|inner| Cursor::decode(&inner))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "cursor is not one this list gave you; start from the first page",
                        )
                    })
            })
            .transpose()
    }

    /// `page` with its next cursor sealed for `binding`.
    pub(crate) fn sealed<T>(&self, mut page: Page<T>, binding: &str) -> Page<T> {
        page.next_cursor = page
            .next_cursor
            .map(|cursor| self.cursors.seal(&cursor, binding));
        page
    }

    /// The caller of a request: the token's subject must be an active employee whose
    /// record carries the token's role. A token alone grants nothing.
    pub(crate) async fn caller(&self, principal: Principal) -> Result<Caller, ApiError> {
        match self.store.employee(&principal.employee_id).await? {
            Some(employee) if employee.active && employee.role == principal.role => Ok(Caller {
                actor: Actor::of(&employee),
            }),
            Some(employee) if employee.active => Err(ApiError::forbidden(
                "the token's role is not this employee's role",
            )),
            _ => Err(ApiError::forbidden("not an active employee")),
        }
    }

    async fn route(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let path = request.raw_http_path().trim_end_matches('/').to_owned();
        let method = request.method().as_str().to_owned();
        let (route, params) = match routes::find(&method, &path) {
            Ok(found) => found,
            Err(NoRoute::MethodNotAllowed) => {
                principal(request)?;
                return Err(ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "method not allowed here",
                ));
            }
            Err(NoRoute::NotFound) => return Err(ApiError::not_found()),
        };
        let endpoint = route.endpoint;
        // Every `{…}` of the table is an id, except the audit trail's entity name and SKUs.
        let ids = match endpoint {
            Endpoint::Audit => vec![params[0].to_owned(), valid_id(params[1])?.to_owned()],
            Endpoint::Product | Endpoint::EditProduct => {
                let sku = percent_decoded(params[0]);
                if !sku_is_valid(&sku) {
                    return Err(ApiError::not_found());
                }
                vec![sku]
            }
            _ => params
                .iter()
                .map(|p| valid_id(p).map(str::to_owned))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let id = || ids.first().cloned().unwrap_or_default();
        // The one place access is decided for a route: who the caller is, and whether
        // their role has the route's capability. Handlers then check record scope.
        let caller = &self.caller(principal(request)?).await?;
        if !caller.actor.may(route.capability) {
            return Err(ApiError::forbidden(format!(
                "the {} role may not {}",
                caller.role(),
                route.capability.code().replace('_', " ")
            )));
        }
        let query = Query::of(request);
        let source = format!(
            "api:{}",
            match request.request_context_ref() {
                Some(RequestContext::ApiGatewayV2(c)) => c.request_id.clone().unwrap_or_default(),
                _ => String::new(),
            }
        );
        match endpoint {
            Endpoint::ListInquiries => self.list_inquiries(caller, &query).await,
            Endpoint::Inquiry => self.get_inquiry(caller, &id()).await,
            Endpoint::ListCounterparties => self.list_counterparties(caller, &query).await,
            Endpoint::Counterparty => self.counterparty(caller, &id()).await,
            Endpoint::Timeline => self.timeline(caller, &id(), &query).await,
            Endpoint::DecideContactPoint => {
                self.decide_contact_point(caller, &id(), body(request)?, &source)
                    .await
            }
            Endpoint::RouteInquiries => self.route_inquiries(caller, body(request)?, &source).await,
            Endpoint::QualifyInquiry => self.qualify(caller, &id(), body(request)?, &source).await,
            Endpoint::ListDeals => self.list_deals(caller, &query).await,
            Endpoint::Deal => self.get_deal(caller, &id()).await,
            Endpoint::EditDeal => self.edit_deal(caller, &id(), body(request)?, &source).await,
            Endpoint::MoveDeal => self.move_deal(caller, &id(), body(request)?, &source).await,
            Endpoint::Proposal => self.proposal(caller, &id(), body(request)?, &source).await,
            Endpoint::DocumentUrl => self.document_url(caller, &ids[0], &ids[1]).await,
            Endpoint::Audit => self.audit(caller, &ids[0], &ids[1]).await,
            Endpoint::ListTasks => self.list_tasks(caller, &query).await,
            Endpoint::CreateTask => self.create_task(caller, body(request)?, &source).await,
            Endpoint::CompleteTask => self.complete_task(caller, &id(), &source).await,
            Endpoint::SearchProducts => self.search_products(&query).await,
            Endpoint::CreateProduct => self.create_product(caller, body(request)?, &source).await,
            Endpoint::Product => self.get_product(&id()).await,
            Endpoint::ReceiveStock => self.receive(caller, body(request)?, &source).await,
            Endpoint::Stock => self.stock(&query).await,
            Endpoint::Expiring => self.expiring(&query).await,
            Endpoint::EditProduct => {
                self.edit_product(caller, &id(), body(request)?, &source)
                    .await
            }
            // The order endpoints' futures are boxed: their state machines are large, and
            // a debug build would otherwise carry them on the stack of every request.
            Endpoint::Order => Box::pin(self.get_order(caller, &id())).await,
            Endpoint::OrdersToShip => Box::pin(self.orders_to_ship(caller, &query)).await,
            Endpoint::OpenProduction => Box::pin(self.open_production(caller)).await,
            Endpoint::UpdateProduction => {
                let request = body(request)?;
                Box::pin(self.update_production(caller, &ids[0], &ids[1], request, &source)).await
            }
            Endpoint::EditSupply => {
                let request = body(request)?;
                Box::pin(self.edit_supply(caller, &ids[0], &ids[1], request, &source)).await
            }
            Endpoint::ReceiveSupply => {
                let request = body(request)?;
                Box::pin(self.receive_supply(caller, &ids[0], &ids[1], request, &source)).await
            }
            Endpoint::CheckShipment => {
                Box::pin(self.check_shipment(caller, &id(), body(request)?)).await
            }
            Endpoint::Ship => Box::pin(self.ship(caller, &id(), body(request)?, &source)).await,
            Endpoint::BatchRecipients => self.batch_recipients(caller, &query).await,
            Endpoint::ListSegments => self.list_segments().await,
            Endpoint::CreateSegment => {
                Box::pin(self.save_segment(caller, None, body(request)?, &source)).await
            }
            Endpoint::Segment => self.get_segment(&id()).await,
            Endpoint::EditSegment => {
                let request = body(request)?;
                Box::pin(self.save_segment(caller, Some(&id()), request, &source)).await
            }
            Endpoint::DeleteSegment => self.delete_segment(caller, &id(), &source).await,
            Endpoint::PreviewSegment => Box::pin(self.preview_segment(&id())).await,
            Endpoint::ExportSegment => self.export_segment(caller, &id()).await,
            Endpoint::Export => self.get_export(&id()).await,
            Endpoint::SegmentCallTasks => {
                let request = body(request)?;
                Box::pin(self.segment_call_tasks(caller, &id(), request)).await
            }
            Endpoint::MarkOptOut => self.mark_opt_out(caller, body(request)?, &source).await,
            Endpoint::ImportOptOuts => self.import_opt_outs(caller, body(request)?).await,
            Endpoint::SetTags => self.set_tags(&id(), body(request)?).await,
            Endpoint::Me => self.me(caller).await,
            Endpoint::OpenApi => Ok(json(StatusCode::OK, &openapi::document())),
            Endpoint::Dashboard => self.dashboard(caller).await,
            Endpoint::EditCounterparty => {
                let request = body(request)?;
                Box::pin(self.edit_counterparty(caller, &id(), request, &source)).await
            }
            Endpoint::Employees => self.employees(&query).await,
            Endpoint::EditContact => {
                let request = body(request)?;
                let contact = ids.get(1).cloned().unwrap_or_default();
                Box::pin(self.edit_contact(caller, &id(), &contact, request, &source)).await
            }
            Endpoint::ReassignDeal => {
                let request = body(request)?;
                Box::pin(self.reassign_deal(caller, &id(), request, &source)).await
            }
            Endpoint::ReassignCounterparty => {
                let request = body(request)?;
                Box::pin(self.reassign_counterparty(caller, &id(), request, &source)).await
            }
        }
    }
}
