//! The staff API: JSON over the HTTP API, behind its JWT authorizer. The authorizer has
//! already checked the token; this function reads the claims it passes on (no claims →
//! 401), checks the role, validates the query and answers with a page and a cursor.
//!
//! Routes: `GET /api/inquiries` (`status`, `kind`, `channel`), `GET /api/counterparties`
//! (`kind`), `GET /api/counterparties/{id}`, `GET /api/counterparties/{id}/timeline`;
//! every list takes `limit` (1–500, default 50) and `cursor`.

use crm_shared::ErrorKind;
use crm_shared::auth::Principal;
use crm_shared::aws::AwsClients;
use crm_shared::config::{ConfigError, EnvReader};
use crm_shared::domain::{Channel, CounterpartyKind, Inquiry, InquiryKind, InquiryStatus, Role};
use crm_shared::error::error_chain;
use crm_shared::store::{Cursor, DynamoStore, InquiryFilter, ListError, Page, StoreError};
use lambda_http::http::{Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use std::collections::HashMap;

/// The largest page a client may ask for.
pub const MAX_LIMIT: usize = 500;
const DEFAULT_LIMIT: usize = 50;

/// The function's configuration, from the variables the template sets.
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
}

impl Config {
    pub fn from_env(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(vars);
        let table_name = env.required("TABLE_NAME");
        env.finish()?;
        Ok(Self { table_name })
    }
}

/// An answer other than success: status, machine-readable code and a reason for people.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    reason: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status,
            code,
            reason: reason.into(),
        }
    }

    fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", reason)
    }

    fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
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

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    let body =
        serde_json::to_string(value).unwrap_or_else(|_| r#"{"error":"internal"}"#.to_owned());
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body))
        .unwrap_or_default()
}

fn error_response(error: &ApiError) -> Response<Body> {
    json(
        error.status,
        &serde_json::json!({ "error": error.code, "reason": error.reason }),
    )
}

/// An inquiry as listed: how long it has waited is what the heads watch.
#[derive(Serialize)]
struct ListedInquiry<'a> {
    #[serde(flatten)]
    inquiry: &'a Inquiry,
    age_seconds: i64,
}

/// The API with its store, built once per cold start.
pub struct Api {
    store: DynamoStore,
}

/// The query parameters of a request.
struct Query(HashMap<String, String>);

impl Query {
    fn of(request: &Request) -> Self {
        let map = request.query_string_parameters();
        Self(
            map.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn limit(&self) -> Result<usize, ApiError> {
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

    fn cursor(&self) -> Result<Option<Cursor>, ApiError> {
        self.get("cursor")
            .map(|c| Cursor::decode(c).ok_or_else(|| ApiError::bad_request("cursor is not valid")))
            .transpose()
    }

    fn code<T>(
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
    let claims = claims.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required",
        )
    })?;
    Principal::from_claims(&claims)
        .map_err(|e| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()))
}

/// Correspondence and inquiries are for sales and marketing staff, not the warehouse.
fn may_read_correspondence(principal: &Principal) -> Result<(), ApiError> {
    if principal.role == Role::Warehouse {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the warehouse role cannot read inquiries or correspondence",
        ));
    }
    Ok(())
}

fn valid_id(id: &str) -> Result<&str, ApiError> {
    let valid = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    valid.then_some(id).ok_or_else(ApiError::not_found)
}

impl Api {
    pub fn new(config: &Config, clients: &AwsClients) -> Self {
        Self {
            store: DynamoStore::new(clients.dynamodb.clone(), &config.table_name),
        }
    }

    /// Answers one request; never fails (errors are responses).
    pub async fn handle(&self, request: Request) -> Response<Body> {
        match self.route(&request).await {
            Ok(response) => response,
            Err(error) => error_response(&error),
        }
    }

    async fn route(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let path = request.raw_http_path().trim_end_matches('/').to_owned();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let known = matches!(
            segments.as_slice(),
            ["api", "inquiries"]
                | ["api", "counterparties"]
                | ["api", "counterparties", _]
                | ["api", "counterparties", _, "timeline"]
        );
        if !known {
            return Err(ApiError::not_found());
        }
        let principal = principal(request)?;
        if request.method() != Method::GET {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "only GET is served here",
            ));
        }
        let query = Query::of(request);
        match segments.as_slice() {
            ["api", "inquiries"] => {
                may_read_correspondence(&principal)?;
                self.list_inquiries(&query).await
            }
            ["api", "counterparties"] => {
                let kind =
                    query.code("kind", CounterpartyKind::from_code, "lead, client, partner")?;
                let page = self
                    .store
                    .list_counterparties(kind, query.limit()?, query.cursor()?.as_ref())
                    .await?;
                Ok(json(StatusCode::OK, &page))
            }
            ["api", "counterparties", id] => {
                let detail = self
                    .store
                    .counterparty_detail(valid_id(id)?)
                    .await?
                    .ok_or_else(ApiError::not_found)?;
                Ok(json(StatusCode::OK, &detail))
            }
            ["api", "counterparties", id, "timeline"] => {
                may_read_correspondence(&principal)?;
                let page = self
                    .store
                    .timeline(valid_id(id)?, query.limit()?, query.cursor()?.as_ref())
                    .await?;
                Ok(json(StatusCode::OK, &page))
            }
            _ => Err(ApiError::not_found()),
        }
    }

    async fn list_inquiries(&self, query: &Query) -> Result<Response<Body>, ApiError> {
        let filter = InquiryFilter {
            status: query.code(
                "status",
                InquiryStatus::from_code,
                "unrouted, routed, qualified, not_a_lead",
            )?,
            kind: query.code(
                "kind",
                InquiryKind::from_code,
                "jivo_chat, site_form, manual, call",
            )?,
            channel: query.code("channel", Channel::from_code, "email, phone, chat, form")?,
        };
        let page = self
            .store
            .list_inquiries(&filter, query.limit()?, query.cursor()?.as_ref())
            .await?;
        let now = chrono::Utc::now();
        let listed = Page {
            items: page
                .items
                .iter()
                .map(|inquiry| ListedInquiry {
                    inquiry,
                    age_seconds: (now - inquiry.received_at).num_seconds().max(0),
                })
                .collect(),
            next_cursor: page.next_cursor.clone(),
        };
        Ok(json(StatusCode::OK, &listed))
    }
}
