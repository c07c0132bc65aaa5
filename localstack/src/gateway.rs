//! Plays the HTTP API: routes requests by the template's `HttpApi` events, checks bearer
//! tokens where the route has the JWT authorizer (as API Gateway does: 401 with
//! `{"message":"Unauthorized"}`), builds the same payload-2.0 event the cloud sends, and
//! hands it to the function's handler.

use crate::web::query_parameters;
use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use axum::body::Body as AxumBody;
use axum::extract::{Request, State};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crm_shared::auth::DevTokens;
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use lambda_http::request::LambdaRequest;
use std::collections::HashMap;
use std::sync::Arc;

/// An HTTP function's handler.
pub type HttpHandler = Arc<
    dyn Fn(lambda_http::Request) -> BoxFuture<'static, lambda_http::Response<lambda_http::Body>>
        + Send
        + Sync,
>;

/// One route of the HTTP API.
#[derive(Clone)]
pub struct Route {
    pub method: String,
    /// The template path, e.g. `/api/counterparties/{id}`.
    pub path: String,
    /// The JWT authorizer's tokens, when the route is authorized.
    pub authorizer: Option<Arc<DevTokens>>,
    pub handler: HttpHandler,
}

/// The gateway's routes.
#[derive(Clone, Default)]
pub struct Gateway {
    pub routes: Vec<Route>,
    /// The front end and the development login, on `crm-local up`'s gateway.
    pub site: Option<Arc<crate::web::Site>>,
}

/// The largest request body API Gateway accepts (10 MB).
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Matches a request path against a template path; returns the path parameters.
pub fn match_path(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let template_parts: Vec<&str> = template.trim_matches('/').split('/').collect();
    let path_parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    if template_parts.len() != path_parts.len() {
        return None;
    }
    let mut parameters = HashMap::new();
    for (t, p) in template_parts.iter().zip(&path_parts) {
        match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            Some(name) if !p.is_empty() => {
                parameters.insert(name.to_owned(), percent_decode(p));
            }
            Some(_) => return None,
            None if t == p => {}
            None => return None,
        }
    }
    Some(parameters)
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

fn plain(status: u16, body: &str) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(AxumBody::from(body.to_owned()))
        .unwrap_or_default()
}

/// Serves one request.
pub async fn handle(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let raw_query = request.uri().query().unwrap_or_default().to_owned();
    let matched = gateway.routes.iter().find_map(|route| {
        (route.method == method || route.method == "ANY")
            .then(|| match_path(&route.path, &path).map(|p| (route, p)))
            .flatten()
    });
    let Some((route, path_parameters)) = matched else {
        if let Some(site) = &gateway.site {
            let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
                .await
                .unwrap_or_default();
            if let Some(answer) = site.answer(&method, &path, &raw_query, &body) {
                return answer;
            }
        }
        return plain(404, r#"{"message":"Not Found"}"#);
    };
    let headers: HashMap<String, String> = request
        .headers()
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_ascii_lowercase(), v.to_owned()))
        })
        .collect();
    let claims = match &route.authorizer {
        Some(tokens) => {
            let token = headers.get("authorization").map(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
                    .unwrap_or(h)
                    .trim()
                    .to_owned()
            });
            match token.map(|t| tokens.verify(&t, chrono::Utc::now().timestamp())) {
                Some(Ok(claims)) => Some(claims),
                _ => return plain(401, r#"{"message":"Unauthorized"}"#),
            }
        }
        None => None,
    };
    let body = match axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return plain(413, r#"{"message":"Request Entity Too Large"}"#),
    };
    let (body_text, is_base64) = match std::str::from_utf8(&body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (STANDARD.encode(&body), true),
    };
    let incoming = Incoming {
        route_key: format!("{} {}", route.method, route.path),
        method,
        path,
        raw_query,
        headers,
        path_parameters,
        claims,
        body: (!body.is_empty()).then_some(body_text),
        is_base64,
    };
    let lambda_request = match lambda_request(incoming) {
        Ok(request) => request,
        Err(error) => {
            tracing::error!(%error, "cannot build the API Gateway event");
            return plain(500, r#"{"message":"Internal Server Error"}"#);
        }
    };
    let response = (route.handler)(lambda_request).await;
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Response::from_parts(parts, AxumBody::from(bytes))
}

/// A request as the HTTP API hands it to a function.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    /// `GET /api/counterparties/{id}`.
    pub route_key: String,
    pub method: String,
    pub path: String,
    pub raw_query: String,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub path_parameters: HashMap<String, String>,
    /// The JWT authorizer's claims, when the route is authorized and the token valid.
    pub claims: Option<HashMap<String, String>>,
    pub body: Option<String>,
    pub is_base64: bool,
}

/// Builds the payload-2.0 event API Gateway sends, and the request `lambda_http` makes of it.
pub fn lambda_request(incoming: Incoming) -> Result<lambda_http::Request, serde_json::Error> {
    let now = chrono::Utc::now();
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": incoming.route_key,
        "rawPath": incoming.path,
        "rawQueryString": incoming.raw_query,
        "headers": incoming.headers,
        "queryStringParameters": query_parameters(&incoming.raw_query),
        "pathParameters": incoming.path_parameters,
        "requestContext": {
            "accountId": crate::template::LOCAL_ACCOUNT,
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": incoming.method,
                "path": incoming.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": incoming.headers.get("user-agent").cloned().unwrap_or_default(),
            },
            "requestId": uuid::Uuid::now_v7().to_string(),
            "routeKey": incoming.route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
            "authorizer": incoming.claims.map(|c| serde_json::json!({ "jwt": { "claims": c, "scopes": null } })),
        },
        "body": incoming.body,
        "isBase64Encoded": incoming.is_base64,
    });
    let event: ApiGatewayV2httpRequest = serde_json::from_value(event)?;
    Ok(LambdaRequest::ApiGatewayV2(event).into())
}

/// Serves until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, gateway: Gateway) -> std::io::Result<()> {
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(Arc::new(gateway));
    axum::serve(listener, app).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_paths_match_with_parameters() {
        let p = match_path(
            "/api/counterparties/{id}/timeline",
            "/api/counterparties/abc-1/timeline",
        )
        .unwrap();
        assert_eq!(p["id"], "abc-1");
        assert!(match_path("/api/counterparties/{id}", "/api/counterparties").is_none());
        assert!(match_path("/api/inquiries", "/api/inquiries/").is_some());
        assert!(match_path("/api/inquiries", "/api/leads").is_none());
        assert_eq!(
            query_parameters("status=unrouted&kind=site_form&x=a%20b+c")["x"],
            "a b c"
        );
    }
}
