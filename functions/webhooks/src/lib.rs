//! The webhooks function: telephony and web intake over the HTTP API, without the JWT
//! authorizer — each source authenticates with its own secret in the URL path.
//!
//! - `GET  /webhooks/miko/{secret}`  MikoPBX ModuleHttpAlert (start, answer, end)
//! - `POST /webhooks/jivo/{secret}`  Jivo (`chat_finished`, `offline_message`; the rest acknowledged)
//! - `POST /webhooks/forms/{secret}` site forms (Tilda urlencoded, or JSON)
//!
//! Every authenticated request's raw form is kept in S3 before it is read. A wrong secret
//! gets the same 404 as an unknown path; an oversized body 413; an unreadable one 400 with
//! the reason. The caller-ID answer to a call start comes back in the same request.

use crm_domain::intake::call::parse_call_notice;
use crm_domain::intake::web::{WebRequest, WebhookError, parse_form, parse_jivo};
use crm_domain::intake::{InboundMessage, InquiryKind};
use crm_domain::kernel::ErrorKind;
use crm_domain::party::PointSource;
use crm_domain::templates::Links;
use crm_shared::adapters::secrets::{SecretError, read_secret};
use crm_shared::adapters::{AwsClients, Blobs, DynamoStore, SesNotifier};
use crm_shared::config::{BaseConfig, ConfigError, EnvReader, StaffMail};
use crm_shared::error::error_chain;
use crm_shared::intake::calls::CallDesk;
use crm_shared::intake::{Intake, IntakeError};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use std::collections::HashMap;
use subtle::ConstantTimeEq;

/// The largest body a webhook may send: forms and chat transcripts are far smaller.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The function's configuration, from the variables the template sets.
#[derive(Debug, Clone)]
pub struct Config {
    pub base: BaseConfig,
    pub mail: StaffMail,
    pub inbound_bucket: String,
    pub miko_secret_id: String,
    pub jivo_secret_id: String,
    pub forms_secret_id: String,
}

impl Config {
    pub fn from_env(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(vars);
        let base = BaseConfig::read(&mut env);
        let mail = StaffMail::read(&mut env);
        let inbound_bucket = env.required("INBOUND_BUCKET");
        let miko_secret_id = env.required("MIKO_SECRET_ID");
        let jivo_secret_id = env.required("JIVO_SECRET_ID");
        let forms_secret_id = env.required("FORMS_SECRET_ID");
        env.finish()?;
        Ok(Self {
            base,
            mail,
            inbound_bucket,
            miko_secret_id,
            jivo_secret_id,
            forms_secret_id,
        })
    }
}

/// A webhook source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Miko,
    Jivo,
    Forms,
}

impl Source {
    fn from_segment(segment: &str) -> Option<Self> {
        match segment {
            "miko" => Some(Self::Miko),
            "jivo" => Some(Self::Jivo),
            "forms" => Some(Self::Forms),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Miko => "miko",
            Self::Jivo => "jivo",
            Self::Forms => "forms",
        }
    }

    fn method(self) -> Method {
        match self {
            Self::Miko => Method::GET,
            Self::Jivo | Self::Forms => Method::POST,
        }
    }
}

/// The per-source secrets, read once at cold start from Secrets Manager.
#[derive(Clone)]
pub struct Secrets {
    pub miko: String,
    pub jivo: String,
    pub forms: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    pub async fn load(
        client: &aws_sdk_secretsmanager::Client,
        config: &Config,
    ) -> Result<Self, SecretError> {
        Ok(Self {
            miko: read_secret(client, &config.miko_secret_id).await?,
            jivo: read_secret(client, &config.jivo_secret_id).await?,
            forms: read_secret(client, &config.forms_secret_id).await?,
        })
    }

    fn of(&self, source: Source) -> &str {
        match source {
            Source::Miko => &self.miko,
            Source::Jivo => &self.jivo,
            Source::Forms => &self.forms,
        }
    }

    /// Compares in constant time, so the secret cannot be guessed from response times.
    fn accepts(&self, source: Source, presented: &str) -> bool {
        let expected = self.of(source).as_bytes();
        let presented = presented.as_bytes();
        expected.len() == presented.len() && bool::from(expected.ct_eq(presented))
    }
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Body::Text(body))
        .unwrap_or_default()
}

fn json_error(status: StatusCode, code: &str, reason: &str) -> Response<Body> {
    respond(
        status,
        "application/json",
        serde_json::json!({ "error": code, "reason": reason }).to_string(),
    )
}

/// The same answer as for a path that does not exist: a wrong secret tells nothing.
fn not_found() -> Response<Body> {
    respond(
        StatusCode::NOT_FOUND,
        "application/json",
        r#"{"message":"Not Found"}"#.into(),
    )
}

fn failure(error: &IntakeError) -> Response<Body> {
    match error.kind() {
        ErrorKind::Transient => {
            tracing::warn!(
                error_type = error.error_type(),
                error = error_chain(error),
                "webhook not taken in; sender may retry"
            );
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "try again shortly",
            )
        }
        ErrorKind::Permanent => {
            tracing::error!(
                error_type = error.error_type(),
                error = error_chain(error),
                "webhook not taken in"
            );
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        }
    }
}

/// The handler with its adapters, built once per cold start.
pub struct Webhooks {
    store: DynamoStore,
    blobs: Blobs,
    notifier: SesNotifier,
    links: Links,
    inbound_bucket: String,
    secrets: Secrets,
}

impl Webhooks {
    pub fn new(config: &Config, clients: &AwsClients, secrets: Secrets) -> Self {
        Self {
            store: config.base.store(clients),
            blobs: Blobs::new(clients.s3.clone()),
            notifier: config.mail.notifier(clients),
            links: config.mail.links.clone(),
            inbound_bucket: config.inbound_bucket.clone(),
            secrets,
        }
    }

    /// Answers one request; never fails (errors are responses).
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let path = request.raw_http_path().to_owned();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (source, secret) = match segments.as_slice() {
            ["webhooks", source, secret] => match Source::from_segment(source) {
                Some(source) => (source, *secret),
                None => return not_found(),
            },
            _ => return not_found(),
        };
        if !self.secrets.accepts(source, secret) {
            tracing::warn!(source = source.code(), "webhook with a wrong secret");
            return not_found();
        }
        if request.method() != source.method() {
            return json_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                &format!("use {}", source.method()),
            );
        }
        let body: &[u8] = request.body().as_ref();
        if body.len() > MAX_BODY_BYTES {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                &format!(
                    "the body is {} bytes; the limit is {MAX_BODY_BYTES}",
                    body.len()
                ),
            );
        }
        let raw = match source {
            Source::Miko => request
                .uri()
                .query()
                .unwrap_or_default()
                .as_bytes()
                .to_vec(),
            Source::Jivo | Source::Forms => body.to_vec(),
        };
        let content_type = request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let raw_key = format!(
            "webhooks/{}/{}/{}",
            source.code(),
            chrono::Utc::now().format("%Y/%m/%d"),
            uuid::Uuid::now_v7().simple()
        );
        if let Err(error) = self
            .blobs
            .put(&self.inbound_bucket, &raw_key, raw, &content_type)
            .await
        {
            return failure(&error.into());
        }
        match source {
            Source::Miko => self.miko(&request, &raw_key).await,
            Source::Jivo => {
                self.web(parse_jivo(body), &raw_key, Some(r#"{"result":"ok"}"#))
                    .await
            }
            Source::Forms => {
                self.web(parse_form(&content_type, body), &raw_key, None)
                    .await
            }
        }
    }

    async fn miko(&self, request: &Request, raw_key: &str) -> Response<Body> {
        let params: HashMap<String, String> = request
            .query_string_parameters()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let notice = match parse_call_notice(&params) {
            Ok(notice) => notice,
            Err(reason) => {
                return json_error(StatusCode::BAD_REQUEST, "bad_request", &reason.to_string());
            }
        };
        let desk = CallDesk {
            store: &self.store,
            notifier: &self.notifier,
            links: &self.links,
        };
        match desk.take_call(&notice, raw_key).await {
            Ok(answer) => {
                tracing::info!(
                    event = notice.event.code(),
                    missed = answer.missed,
                    key = raw_key,
                    "call event taken in"
                );
                respond(
                    StatusCode::OK,
                    "text/plain; charset=utf-8",
                    answer.caller_id.unwrap_or_default(),
                )
            }
            Err(error) => failure(&error),
        }
    }

    async fn web(
        &self,
        parsed: Result<WebRequest, WebhookError>,
        raw_key: &str,
        ok_json: Option<&str>,
    ) -> Response<Body> {
        let ok = || match ok_json {
            Some(json) => respond(StatusCode::OK, "application/json", json.to_owned()),
            None => respond(StatusCode::OK, "text/plain; charset=utf-8", "ok".to_owned()),
        };
        let inquiry = match parsed {
            Ok(WebRequest::Inquiry(inquiry)) => inquiry,
            Ok(WebRequest::Acknowledge(why)) => {
                tracing::info!(why, key = raw_key, "webhook acknowledged");
                return ok();
            }
            Err(reason) => {
                return json_error(StatusCode::BAD_REQUEST, "bad_request", &reason.to_string());
            }
        };
        let message = InboundMessage {
            event_key: inquiry.event_key,
            raw_key: raw_key.to_owned(),
            channel: inquiry.channel,
            kind: inquiry.kind,
            received_at: chrono::Utc::now(),
            contact: inquiry.contact,
            subject: inquiry.subject,
            text: inquiry.text,
            attachments: Vec::new(),
            left_out: Vec::new(),
            forwarded_by: None,
            // What a visitor types into a chat or a form vouches for nothing.
            source: match inquiry.kind {
                InquiryKind::JivoChat => PointSource::JivoVisitor,
                _ => PointSource::FormField,
            },
        };
        let intake = Intake {
            store: &self.store,
            notifier: &self.notifier,
            links: &self.links,
        };
        match intake.register(&message).await {
            Ok(_) => {
                tracing::info!(
                    channel = message.channel.code(),
                    key = raw_key,
                    "web inquiry taken in"
                );
                ok()
            }
            Err(error) => failure(&error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole_values_only() {
        let secrets = Secrets {
            miko: "m".repeat(32),
            jivo: "j".repeat(32),
            forms: "f".repeat(32),
        };
        assert!(secrets.accepts(Source::Miko, &"m".repeat(32)));
        assert!(!secrets.accepts(Source::Miko, &"m".repeat(31)));
        assert!(!secrets.accepts(Source::Jivo, &"m".repeat(32)));
        assert!(!secrets.accepts(Source::Forms, ""));
        assert_eq!(format!("{secrets:?}"), "Secrets(..)");
    }

    #[test]
    fn configuration_problems_are_reported_together() {
        let error = Config::from_env(&HashMap::new()).unwrap_err();
        assert_eq!(error.problems.len(), 7, "{error}");
    }
}
