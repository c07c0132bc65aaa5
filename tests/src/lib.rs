//! Test support: every test gets its own stack — its own table, buckets and queues, made
//! from `infra/template.yaml` under a unique stack name — and its own staff, so tests run
//! in parallel against one LocalStack and one DynamoDB Local. The handlers under test use
//! clients that count their AWS round trips; set-up and inspection use separate clients.

use api::Api;
use aws_sdk_s3::primitives::ByteStream;
use crm_domain::party::EmailAddress;
use crm_domain::staff::{Department, Employee, Role};
use crm_local::functions::Functions;
use crm_local::gateway::{Incoming, lambda_request};
use crm_local::poller::{BatchHandler, QueueBinding, poll_once};
use crm_local::{Endpoints, LocalStack};
use crm_shared::adapters::DynamoStore;
use crm_shared::adapters::{AwsClients, RoundTrips};
use futures::FutureExt;
use inbound_email::InboundEmailHandler;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use webhooks::{Secrets, Webhooks};

/// A fresh stack with seeded staff and the functions under test.
pub struct TestStack {
    pub name: String,
    pub stack: LocalStack,
    /// Clients the handlers use; their round trips are counted.
    pub counted: AwsClients,
    /// Clients for set-up and inspection; not counted.
    pub setup: AwsClients,
    pub store: DynamoStore,
    pub inbound: Arc<InboundEmailHandler>,
    pub api: Arc<Api>,
    pub webhooks: Arc<Webhooks>,
    pub secrets: Secrets,
    pub deal_events: Arc<deal_events::DealEventsHandler>,
    pub exports: Arc<exports::ExportsHandler>,
    pub jobs: Arc<jobs::Jobs>,
    pub api_config: api::Config,
    pub heads: Vec<Employee>,
    pub manager: Employee,
    /// The notification sender of this stack (a template parameter), to find its mail.
    pub notify_from: String,
}

fn employee(id: String, role: Role, stack: &str) -> Employee {
    Employee {
        email: EmailAddress::parse(&format!("{id}@{stack}.test"))
            .unwrap_or_else(|| panic!("bad test email {id}")),
        name: id.clone(),
        id,
        role,
        department: Some(Department::High),
        extension: None,
        active: true,
    }
}

/// The fixtures folder `events/`.
pub fn events() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(events().join(path)).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// Logs of the code under test, shown for failing tests (`RUST_LOG` to change the level).
fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn,aws_config=error".into()),
            )
            .with_test_writer()
            .try_init();
    });
}

impl TestStack {
    pub async fn new() -> Self {
        init_logs();
        let name = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let notify_from = format!("crm@{name}.test");
        let mut parameters = crm_local::stack::local_parameters();
        parameters.insert("NotificationSender".into(), notify_from.clone());
        let endpoints = Endpoints::default();
        let stack = LocalStack::create(&name, endpoints.clone(), &parameters)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot create stack {name} (are the emulators running? `make emulators`): {e}"
                )
            });
        let counted = endpoints.clients(RoundTrips::default()).await;
        let setup = endpoints.clients(RoundTrips::default()).await;
        let store = DynamoStore::new(setup.dynamodb.clone(), stack.name("Table").unwrap());
        let heads = vec![
            employee(format!("head-a-{name}"), Role::Head, &name),
            employee(format!("head-b-{name}"), Role::Head, &name),
        ];
        let mut manager = employee(format!("mgr-{name}"), Role::Manager, &name);
        manager.extension = Some("201".into());
        for e in heads.iter().chain([&manager]) {
            store.put_employee(e).await.unwrap();
        }
        let functions = Functions::build(&stack, &endpoints, &counted)
            .await
            .unwrap_or_else(|e| panic!("the functions of stack {name} cannot be built: {e}"));
        Self {
            deal_events: functions.deal_events,
            exports: functions.exports,
            jobs: functions.jobs,
            api_config: functions.api_config,
            webhooks: functions.webhooks,
            secrets: functions.secrets,
            inbound: functions.inbound_email,
            api: functions.api,
            name,
            stack,
            counted,
            setup,
            store,
            heads,
            manager,
            notify_from,
        }
    }

    /// Stores raw MIME in the inbound bucket exactly as the SES receipt rule does.
    pub async fn deliver(&self, raw: &[u8]) -> String {
        let drop = self.stack.mail_drop().unwrap();
        let key = format!("{}{}", drop.prefix, uuid::Uuid::now_v7().simple());
        self.setup
            .s3
            .put_object()
            .bucket(&drop.bucket)
            .key(&key)
            .body(ByteStream::from(raw.to_vec()))
            .send()
            .await
            .unwrap();
        key
    }

    pub fn inbound_bucket(&self) -> String {
        self.stack.mail_drop().unwrap().bucket
    }

    /// The inbound queue wired to the handler under test; `objects` counts the messages
    /// that named an object (S3 also sends an `s3:TestEvent` when a notification is set up).
    pub fn inbound_binding(&self, objects: Arc<AtomicUsize>) -> QueueBinding {
        let inbound = self.inbound.clone();
        let handler: BatchHandler = Arc::new(move |event| {
            let inbound = inbound.clone();
            let named = event
                .records
                .iter()
                .filter(|m| !is_test_event(m.body.as_deref().unwrap_or_default()))
                .count();
            objects.fetch_add(named, Ordering::SeqCst);
            async move { inbound.handle_batch(event).await }.boxed()
        });
        self.stack
            .queue_binding("InboundEmailFunction", handler)
            .unwrap()
    }

    /// Polls the inbound queue as Lambda would until `expected` delivered objects were
    /// handled (the S3 notifications arrive asynchronously). Returns how many failed.
    pub async fn process_inbound(&self, expected: usize) -> usize {
        let objects = Arc::new(AtomicUsize::new(0));
        let binding = self.inbound_binding(objects.clone());
        let within = Duration::from_secs(60);
        self.poll_until(
            &binding,
            &objects,
            expected,
            within,
            30,
            "notifications arrived",
        )
        .await
    }

    /// Polls `binding` until `counter` reaches `expected` (within `within`), a failed
    /// message visible again after `retry_after` seconds. Returns how many failed.
    async fn poll_until(
        &self,
        binding: &QueueBinding,
        counter: &AtomicUsize,
        expected: usize,
        within: Duration,
        retry_after: i32,
        what: &str,
    ) -> usize {
        let mut failed = 0;
        let deadline = tokio::time::Instant::now() + within;
        while counter.load(Ordering::SeqCst) < expected {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {expected} {what} ({failed} failed)",
                counter.load(Ordering::SeqCst)
            );
            failed += poll_once(&self.setup.sqs, binding, 1, retry_after)
                .await
                .unwrap()
                .failed;
        }
        failed
    }

    /// Polls the inbound queue as Lambda would until `expected` delivered objects were
    /// taken in, handing a message the handler gave back for retry to it again after a
    /// second (the cloud waits the queue's visibility timeout; the redrive policy ends the
    /// retries). For tests of work heavy enough that the emulator may drop a connection
    /// halfway, as S3 itself may: what they assert is that nothing is lost. Returns how
    /// many deliveries were given back for retry.
    pub async fn process_inbound_with_retries(&self, expected: usize) -> usize {
        let taken_in = Arc::new(AtomicUsize::new(0));
        let inbound = self.inbound.clone();
        let counter = taken_in.clone();
        let handler: BatchHandler = Arc::new(move |event| {
            let inbound = inbound.clone();
            let counter = counter.clone();
            async move {
                let named: Vec<String> = event
                    .records
                    .iter()
                    .filter(|m| !is_test_event(m.body.as_deref().unwrap_or_default()))
                    .filter_map(|m| m.message_id.clone())
                    .collect();
                let response = inbound.handle_batch(event).await;
                let succeeded = named
                    .iter()
                    .filter(|id| {
                        !response
                            .batch_item_failures
                            .iter()
                            .any(|f| &f.item_identifier == *id)
                    })
                    .count();
                counter.fetch_add(succeeded, Ordering::SeqCst);
                response
            }
            .boxed()
        });
        let binding = self
            .stack
            .queue_binding("InboundEmailFunction", handler)
            .unwrap();
        let within = Duration::from_secs(120);
        self.poll_until(
            &binding,
            &taken_in,
            expected,
            within,
            1,
            "messages were taken in",
        )
        .await
    }

    /// Waits until `count` messages sit in the inbound queue, and returns them without
    /// handling them (for tests that drive the handler themselves).
    pub async fn wait_for_notifications(&self, count: usize) -> Vec<String> {
        self.take_from_queue("InboundEmailQueue", count).await
    }

    /// Takes `count` messages off a queue of the template (S3 test events skipped), in the
    /// order the queue hands them out, within a minute.
    pub async fn take_from_queue(&self, queue: &str, count: usize) -> Vec<String> {
        let url = self.stack.queue_url(queue).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut bodies = Vec::new();
        while bodies.len() < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {count} messages arrived on {queue}: {bodies:?}",
                bodies.len()
            );
            let output = self
                .setup
                .sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            for message in output.messages.unwrap_or_default() {
                let body = message.body.unwrap_or_default();
                if !is_test_event(&body) {
                    bodies.push(body);
                }
                self.setup
                    .sqs
                    .delete_message()
                    .queue_url(&url)
                    .receipt_handle(message.receipt_handle.unwrap_or_default())
                    .send()
                    .await
                    .unwrap();
            }
        }
        bodies
    }

    /// Calls the API function as the HTTP API would after its JWT authorizer.
    pub async fn api_get(
        &self,
        path_and_query: &str,
        caller: Option<(&str, Role)>,
    ) -> (u16, Value) {
        self.api_call("GET", path_and_query, None, caller).await
    }

    /// Calls the API function with a method and an optional JSON body.
    pub async fn api_call(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<Value>,
        caller: Option<(&str, Role)>,
    ) -> (u16, Value) {
        self.api_call_with(&self.api, method, path_and_query, body, caller)
            .await
    }

    /// The same through another instance of the API function (e.g. one whose queue is down).
    pub async fn api_call_with(
        &self,
        api: &Api,
        method: &str,
        path_and_query: &str,
        body: Option<Value>,
        caller: Option<(&str, Role)>,
    ) -> (u16, Value) {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let claims = caller.map(|(id, role)| {
            HashMap::from([
                ("sub".to_owned(), id.to_owned()),
                ("role".to_owned(), role.code().to_owned()),
            ])
        });
        let request = lambda_request(Incoming {
            route_key: format!("{method} {path}"),
            method: method.into(),
            path: path.into(),
            raw_query: query.into(),
            headers: HashMap::from([("content-type".to_owned(), "application/json".to_owned())]),
            body: body.map(|b| b.to_string()),
            claims,
            ..Default::default()
        })
        .unwrap();
        let response = api.handle(request).await;
        let status = response.status().as_u16();
        let body = match response.body() {
            lambda_http::Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        (status, body)
    }

    /// Calls the webhooks function as the HTTP API would (no authorizer on these routes).
    /// `path_and_query` is e.g. `/webhooks/miko/<secret>?event=start&…`.
    pub async fn webhook(
        &self,
        method: &str,
        path_and_query: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, String) {
        self.webhook_with(&self.webhooks, method, path_and_query, content_type, body)
            .await
    }

    /// The same through another instance of the webhooks function (e.g. one whose mail
    /// is down).
    pub async fn webhook_with(
        &self,
        webhooks: &Webhooks,
        method: &str,
        path_and_query: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, String) {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let template = ["miko", "jivo", "forms"]
            .iter()
            .find(|s| path.starts_with(&format!("/webhooks/{s}/")))
            .map(|s| format!("/webhooks/{s}/{{secret}}"))
            .unwrap_or_else(|| path.to_owned());
        let (body_text, is_base64) = match std::str::from_utf8(body) {
            Ok(text) => (text.to_owned(), false),
            Err(_) => {
                use base64::Engine;
                (base64::engine::general_purpose::STANDARD.encode(body), true)
            }
        };
        let request = lambda_request(Incoming {
            route_key: format!("{method} {template}"),
            method: method.into(),
            path: path.into(),
            raw_query: query.into(),
            headers: HashMap::from([("content-type".to_owned(), content_type.to_owned())]),
            body: (!body.is_empty()).then_some(body_text),
            is_base64,
            ..Default::default()
        })
        .unwrap();
        let response = webhooks.handle(request).await;
        let status = response.status().as_u16();
        let text = match response.body() {
            lambda_http::Body::Text(text) => text.clone(),
            lambda_http::Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        };
        (status, text)
    }

    /// A MikoPBX request with this stack's secret.
    pub async fn miko(&self, query: &str) -> (u16, String) {
        self.webhook(
            "GET",
            &format!("/webhooks/miko/{}?{query}", self.secrets.miko),
            "",
            b"",
        )
        .await
    }

    /// Objects under a prefix of the inbound bucket (raw webhook copies).
    pub async fn raw_copies(&self, prefix: &str) -> usize {
        let output = self
            .setup
            .s3
            .list_objects_v2()
            .bucket(self.inbound_bucket())
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        output.contents.unwrap_or_default().len()
    }

    /// As a sales head.
    pub async fn get_as_head(&self, path_and_query: &str) -> Value {
        let (status, body) = self
            .api_get(path_and_query, Some((&self.heads[0].id, Role::Head)))
            .await;
        assert_eq!(status, 200, "{path_and_query}: {body}");
        body
    }

    /// Notifications this stack sent, as LocalStack recorded them.
    pub async fn sent_mail(&self) -> Vec<Value> {
        let body =
            crm_local::emulators::http_get(4566, &format!("/_aws/ses?email={}", self.notify_from))
                .await
                .expect("LocalStack answers");
        let json = body
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        let value: Value = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("LocalStack's sent-mail list is not JSON ({e}): {body}"));
        value["messages"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("LocalStack's sent-mail list has no messages: {value}"))
    }

    /// Consumes the exports queue as Lambda would until it stays empty for a moment;
    /// returns how many messages failed.
    pub async fn process_exports(&self) -> usize {
        let handler = crm_local::functions::batch_handler(self.exports.clone());
        self.drain("ExportsFunction", handler).await
    }

    /// Consumes the deal-events queue as Lambda would until it stays empty for a moment;
    /// returns how many messages failed.
    pub async fn process_deal_events(&self) -> usize {
        let handler = crm_local::functions::batch_handler(self.deal_events.clone());
        self.drain("DealEventsFunction", handler).await
    }

    /// Runs `function`'s queue through `handler` until it is empty. A FIFO group's next
    /// message can take a moment to show after the previous one is deleted: the queue is
    /// empty only when a short wait brings nothing either.
    async fn drain(&self, function: &str, handler: crm_local::poller::BatchHandler) -> usize {
        let binding = self.stack.queue_binding(function, handler).unwrap();
        let mut failed = 0;
        let mut wait = 0;
        loop {
            let outcome = poll_once(&self.setup.sqs, &binding, wait, 0).await.unwrap();
            failed += outcome.failed;
            if outcome.received == 0 {
                if wait > 0 {
                    return failed;
                }
                wait = 1;
            } else {
                wait = 0;
            }
        }
    }

    /// Adds an employee to this stack.
    pub async fn add_employee(
        &self,
        id: &str,
        role: Role,
        department: Option<Department>,
    ) -> Employee {
        let mut e = employee(format!("{id}-{}", self.name), role, &self.name);
        e.department = department;
        self.store.put_employee(&e).await.unwrap();
        e
    }

    /// Makes `manager` responsible for a counterparty (routing arrives with a later issue).
    pub async fn assign_manager(&self, party_id: &str) {
        self.setup
            .dynamodb
            .update_item()
            .table_name(self.stack.name("Table").unwrap())
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("PARTY#{party_id}")),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("PARTY".into()),
            )
            .update_expression("SET responsible_manager_id = :m")
            .expression_attribute_values(
                ":m",
                aws_sdk_dynamodb::types::AttributeValue::S(self.manager.id.clone()),
            )
            .send()
            .await
            .unwrap();
    }

    /// Reads an object of a bucket; `None` when it does not exist.
    pub async fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let output = self
            .setup
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(output.body.collect().await.ok()?.into_bytes().to_vec())
    }
}

/// The message S3 sends once when a bucket notification is configured.
pub fn is_test_event(body: &str) -> bool {
    body.contains("s3:TestEvent")
}

/// A hand-written email from `from` with a fresh Message-ID.
/// A message as SES stores it from a sender whose domain passed DMARC: its verdict and
/// authentication headers on top ([`unauthenticated_email_from`] has none).
pub fn email_from(from: &str, subject: &str, body: &str) -> Vec<u8> {
    let domain = from
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>'))
        .unwrap_or("example.invalid");
    let mut raw = format!(
        "X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\nAuthentication-Results: amazonses.com;\r\n spf=pass (spfCheck: ok) client-ip=192.0.2.1; envelope-from=bounce@{domain}; helo=mx.{domain};\r\n dkim=pass header.i=@{domain};\r\n dmarc=pass header.from={domain};\r\n"
    )
    .into_bytes();
    raw.extend(unauthenticated_email_from(from, subject, body));
    raw
}

/// A message whose sender SES could not authenticate.
pub fn unauthenticated_email_from(from: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: sales@vacuum-zavod.example\r\nSubject: {subject}\r\nMessage-ID: <{}@test>\r\nDate: Sun, 29 Nov 2026 10:00:00 +0300\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        uuid::Uuid::new_v4().simple()
    )
    .into_bytes()
}
