//! The front end on the local gateway: the static files of `web/` at `/`, the sign-in
//! settings the app reads (`/config.json`), and a development login in place of Cognito's
//! hosted one.
//!
//! The development login speaks the same authorization-code + PKCE protocol as Cognito
//! (`/dev/oauth2/authorize`, `/dev/oauth2/token`, `/dev/logout`), so the front end takes one
//! code path in both places. Its page lists the seed's employees; choosing one mints that
//! employee's development token. It exists only in `crm-local`: the template deploys
//! nothing like it.

use axum::body::Body;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crm_domain::staff::{Employee, Role};
use crm_shared::auth::DevTokens;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an authorization code may wait for its exchange (Cognito: 5 minutes).
const CODE_LIFETIME: Duration = Duration::from_secs(300);
/// How long a development token lives (Cognito's id token here: 60 minutes; locally a
/// working day, so a session of trying things is not cut short).
const TOKEN_TTL_SECONDS: i64 = 12 * 3600;
/// The most codes waiting at once; older ones are dropped first.
const MAX_PENDING_CODES: usize = 256;
/// The largest token request body read.
const MAX_FORM_BYTES: usize = 8 * 1024;

/// One authorization waiting for its code to be exchanged.
struct Grant {
    employee_id: String,
    role: Role,
    challenge: String,
    redirect_uri: String,
    issued: Instant,
}

/// The local web site: static files plus the development login.
pub struct Site {
    root: PathBuf,
    tokens: Arc<DevTokens>,
    employees: Vec<Employee>,
    /// The origins the login may send its codes back to.
    origins: Vec<String>,
    pending: Mutex<HashMap<String, Grant>>,
}

impl Site {
    /// `root` is the `web/` folder; `gateway` the address the gateway listens on.
    pub fn new(
        root: PathBuf,
        tokens: Arc<DevTokens>,
        employees: Vec<Employee>,
        gateway: &str,
    ) -> Self {
        let port = gateway.rsplit(':').next().unwrap_or("3000");
        Self {
            root,
            tokens,
            employees,
            origins: vec![
                format!("http://{gateway}"),
                format!("http://localhost:{port}"),
            ],
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Answers a request the API's routes did not take, or `None` to let it be a 404.
    pub fn answer(&self, method: &str, path: &str, query: &str, body: &[u8]) -> Option<Response> {
        match (method, path) {
            ("GET", "/config.json") => Some(self.config()),
            ("GET", "/dev/oauth2/authorize") => Some(self.authorize(&query_parameters(query))),
            ("POST", "/dev/oauth2/token") => Some(self.token(body)),
            ("GET", "/dev/logout") => Some(self.logout(&query_parameters(query))),
            ("GET" | "HEAD", _)
                if !path.starts_with("/api/") && !path.starts_with("/webhooks/") =>
            {
                self.file(path)
            }
            _ => None,
        }
    }

    /// What the app needs to sign in: the same keys the deployed `config.json` carries,
    /// pointing at the development login.
    fn config(&self) -> Response {
        let config = serde_json::json!({
            "environment": "local",
            "auth": {
                "authorize_url": "/dev/oauth2/authorize",
                "token_url": "/dev/oauth2/token",
                "logout_url": "/dev/logout",
                "client_id": self.tokens.audience,
            },
            "api_base": "",
        });
        respond(200, "application/json", config.to_string().into_bytes())
    }

    fn redirect_allowed(&self, uri: &str) -> bool {
        self.origins
            .iter()
            .any(|origin| uri == origin || uri.starts_with(&format!("{origin}/")))
    }

    fn authorize(&self, query: &HashMap<String, String>) -> Response {
        let get = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
        let redirect_uri = get("redirect_uri");
        if get("response_type") != "code"
            || get("client_id") != self.tokens.audience
            || get("code_challenge_method") != "S256"
            || get("code_challenge").is_empty()
            || !self.redirect_allowed(redirect_uri)
        {
            return respond(
                400,
                "text/plain; charset=utf-8",
                "invalid_request: response_type=code, this client_id, an S256 code_challenge and a local redirect_uri are required\n"
                    .into(),
            );
        }
        let Some(chosen) = query.get("login_as") else {
            return respond(
                200,
                "text/html; charset=utf-8",
                self.login_page(query).into(),
            );
        };
        let Some(employee) = self.employees.iter().find(|e| &e.id == chosen && e.active) else {
            return respond(
                400,
                "text/plain; charset=utf-8",
                "unknown employee\n".into(),
            );
        };
        let code = uuid::Uuid::new_v4().simple().to_string();
        if let Ok(mut pending) = self.pending.lock() {
            pending.retain(|_, g| g.issued.elapsed() < CODE_LIFETIME);
            if pending.len() >= MAX_PENDING_CODES {
                pending.clear();
            }
            pending.insert(
                code.clone(),
                Grant {
                    employee_id: employee.id.clone(),
                    role: employee.role,
                    challenge: get("code_challenge").to_owned(),
                    redirect_uri: redirect_uri.to_owned(),
                    issued: Instant::now(),
                },
            );
        }
        let separator = if redirect_uri.contains('?') { '&' } else { '?' };
        let location = format!(
            "{redirect_uri}{separator}code={code}&state={}",
            encode(get("state"))
        );
        Response::builder()
            .status(302)
            .header("location", location)
            .header("cache-control", "no-store")
            .body(Body::empty())
            .unwrap_or_default()
    }

    /// The page that stands in for Cognito's hosted login: one button per employee.
    fn login_page(&self, query: &HashMap<String, String>) -> String {
        let mut keep = String::new();
        for key in [
            "response_type",
            "client_id",
            "redirect_uri",
            "state",
            "code_challenge",
            "code_challenge_method",
            "scope",
        ] {
            if let Some(value) = query.get(key) {
                keep.push_str(&format!(
                    r#"<input type="hidden" name="{key}" value="{}">"#,
                    html_escape(value)
                ));
            }
        }
        let mut buttons = String::new();
        for employee in self.employees.iter().filter(|e| e.active) {
            let department = employee
                .department
                .map(|d| format!(" · {}", d.display_name()))
                .unwrap_or_default();
            buttons.push_str(&format!(
                r#"<button name="login_as" value="{id}" data-employee="{id}"><b>{name}</b><span>{role}{department}</span></button>"#,
                id = html_escape(&employee.id),
                name = html_escape(&employee.name),
                role = role_name(employee.role),
            ));
        }
        format!(
            r#"<!doctype html><html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Вход (локальный стенд)</title><style>
body{{font:15px system-ui,sans-serif;background:#f3f4f6;margin:0;display:flex;justify-content:center}}
main{{background:#fff;margin:40px 12px;padding:24px;border-radius:8px;max-width:420px;width:100%;box-shadow:0 1px 4px #0002}}
h1{{font-size:20px;margin:0 0 4px}}p{{color:#555;margin:0 0 16px}}
button{{display:flex;flex-direction:column;align-items:flex-start;width:100%;padding:10px 12px;margin:6px 0;border:1px solid #d1d5db;border-radius:6px;background:#fff;cursor:pointer;font:inherit}}
button:hover{{border-color:#2563eb}}button span{{color:#666;font-size:13px}}
</style></head><body><main><h1>Вход в CRM</h1><p>Локальный стенд: выберите сотрудника. В облаке здесь вход Cognito.</p>
<form method="get" action="/dev/oauth2/authorize">{keep}{buttons}</form></main></body></html>"#
        )
    }

    fn token(&self, body: &[u8]) -> Response {
        if body.len() > MAX_FORM_BYTES {
            return oauth_error(413, "invalid_request");
        }
        let form = query_parameters(&String::from_utf8_lossy(body));
        let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
        if get("grant_type") != "authorization_code" || get("client_id") != self.tokens.audience {
            return oauth_error(400, "unsupported_grant_type");
        }
        let grant = self
            .pending
            .lock()
            .ok()
            .and_then(|mut pending| pending.remove(get("code")));
        let Some(grant) = grant.filter(|g| g.issued.elapsed() < CODE_LIFETIME) else {
            return oauth_error(400, "invalid_grant");
        };
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
        if challenge != grant.challenge || get("redirect_uri") != grant.redirect_uri {
            return oauth_error(400, "invalid_grant");
        }
        let token = self.tokens.issue(
            &grant.employee_id,
            grant.role,
            chrono::Utc::now().timestamp(),
            TOKEN_TTL_SECONDS,
        );
        let answer = serde_json::json!({
            "id_token": token,
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL_SECONDS,
        });
        respond(200, "application/json", answer.to_string().into_bytes())
    }

    fn logout(&self, query: &HashMap<String, String>) -> Response {
        let target = query
            .get("logout_uri")
            .filter(|uri| self.redirect_allowed(uri))
            .cloned()
            .unwrap_or_else(|| "/".to_owned());
        Response::builder()
            .status(302)
            .header("location", target)
            .body(Body::empty())
            .unwrap_or_default()
    }

    /// A file under `web/`; `/` is `index.html`. Paths leaving the folder are not served.
    fn file(&self, path: &str) -> Option<Response> {
        let relative = path.trim_start_matches('/');
        let relative = if relative.is_empty() || relative.ends_with('/') {
            format!("{relative}index.html")
        } else {
            relative.to_owned()
        };
        let relative = Path::new(&relative);
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return None;
        }
        let full = self.root.join(relative);
        let bytes = std::fs::read(&full).ok()?;
        Some(respond(200, content_type(&full), bytes))
    }
}

/// The role as staff call it.
fn role_name(role: Role) -> &'static str {
    match role {
        Role::Head => "Руководитель продаж",
        Role::Manager => "Менеджер",
        Role::Marketer => "Маркетолог",
        Role::Warehouse => "Склад",
        Role::Production => "Производство",
        Role::Admin => "Администратор",
    }
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// The Content-Security-Policy the template's CloudFront sends (less the Cognito domain),
/// so a script or style the cloud would block fails here first.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn respond(status: u16, content_type: &str, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("content-security-policy", CONTENT_SECURITY_POLICY)
        .header("cache-control", "no-cache")
        .header("x-content-type-options", "nosniff")
        .body(Body::from(body))
        .unwrap_or_default()
}

fn oauth_error(status: u16, error: &str) -> Response {
    respond(
        status,
        "application/json",
        serde_json::json!({ "error": error })
            .to_string()
            .into_bytes(),
    )
}

/// Reads `a=1&b=2` (a query string, or a form body): `+` is a space, `%xx` decoded.
pub(crate) fn query_parameters(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn site() -> Site {
        let employees: Vec<Employee> = serde_json::from_value(serde_json::json!([
            {"id": "head-1", "name": "Ирина", "email": "h@x.example", "role": "head"}
        ]))
        .unwrap();
        Site::new(
            std::env::temp_dir(),
            Arc::new(DevTokens::new(*b"k", "iss", "client")),
            employees,
            "127.0.0.1:3000",
        )
    }

    async fn text(response: Response) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    const VERIFIER: &str = "a-verifier-of-enough-length-0123456789abcdef";

    fn authorize_query(redirect: &str, login_as: Option<&str>) -> String {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
        let mut q = format!(
            "response_type=code&client_id=client&redirect_uri={}&state=s1&code_challenge={challenge}&code_challenge_method=S256",
            encode(redirect)
        );
        if let Some(id) = login_as {
            q.push_str(&format!("&login_as={id}"));
        }
        q
    }

    /// Chooses `head-1` on the login page; the code it is sent back with.
    fn code_for(site: &Site) -> String {
        let redirect = site
            .answer(
                "GET",
                "/dev/oauth2/authorize",
                &authorize_query("http://127.0.0.1:3000/", Some("head-1")),
                b"",
            )
            .unwrap();
        assert_eq!(redirect.status(), 302);
        let location = redirect.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            location.starts_with("http://127.0.0.1:3000/?code="),
            "{location}"
        );
        assert!(location.ends_with("&state=s1"));
        let code = location.split("code=").nth(1).unwrap();
        code.split('&').next().unwrap().to_owned()
    }

    /// The token request that exchanges `code` with `verifier`.
    fn exchange(code: &str, verifier: &str) -> String {
        format!(
            "grant_type=authorization_code&client_id=client&code={code}&code_verifier={verifier}&redirect_uri={}",
            encode("http://127.0.0.1:3000/")
        )
    }

    #[tokio::test]
    async fn code_with_pkce_gives_a_token_once() {
        let site = site();
        let page = site
            .answer(
                "GET",
                "/dev/oauth2/authorize",
                &authorize_query("http://127.0.0.1:3000/", None),
                b"",
            )
            .unwrap();
        assert!(text(page).await.contains(r#"value="head-1""#));
        let code = code_for(&site);
        let token = |verifier: &str| {
            site.answer(
                "POST",
                "/dev/oauth2/token",
                "",
                exchange(&code, verifier).as_bytes(),
            )
            .unwrap()
            .status()
        };
        assert_eq!(token("wrong"), 400);
        // A failed exchange spends the code, as Cognito does.
        assert_eq!(token(VERIFIER), 400);
    }

    #[tokio::test]
    async fn the_right_verifier_gets_a_token_the_authorizer_accepts() {
        let site = site();
        let body = exchange(&code_for(&site), VERIFIER);
        let answer = site
            .answer("POST", "/dev/oauth2/token", "", body.as_bytes())
            .unwrap();
        assert_eq!(answer.status(), 200);
        let json: serde_json::Value = serde_json::from_str(&text(answer).await).unwrap();
        let claims = site
            .tokens
            .verify(
                json["id_token"].as_str().unwrap(),
                chrono::Utc::now().timestamp(),
            )
            .unwrap();
        assert_eq!(claims["sub"], "head-1");
        assert_eq!(claims["role"], "head");
    }

    #[test]
    fn codes_go_only_to_the_local_origin() {
        let site = site();
        let answer = site
            .answer(
                "GET",
                "/dev/oauth2/authorize",
                &authorize_query("https://evil.example/", Some("head-1")),
                b"",
            )
            .unwrap();
        assert_eq!(answer.status(), 400);
        let answer = site
            .answer(
                "GET",
                "/dev/oauth2/authorize",
                &authorize_query("http://127.0.0.1:3000.evil.example/", Some("head-1")),
                b"",
            )
            .unwrap();
        assert_eq!(answer.status(), 400);
    }

    #[test]
    fn files_outside_the_folder_are_not_served() {
        let site = site();
        assert!(site.answer("GET", "/../etc/passwd", "", b"").is_none());
        assert!(site.answer("GET", "/a/../../etc/passwd", "", b"").is_none());
        assert!(site.answer("GET", "/api/nothing", "", b"").is_none());
    }
}
