//! `crm-local` — run the sales backend on one machine.
//!
//! ```text
//! crm-local up                         emulators + resources + seed + SMTP :2525, gateway :3000, queue pollers
//! crm-local parse-email FILE           parse one .eml and print what intake reads from it (no AWS needed)
//! crm-local token --role ROLE --user ID [--ttl SECONDS]
//!                                      print a development bearer token the local gateway accepts
//! crm-local secret miko|jivo|forms     print the local webhook secret of a source
//! crm-local job routing_digest|first_response_sla|dashboard|late_production|outbox_sweep
//!                                      run a scheduled job once against the local stack
//! crm-local emulators start|stop       start (and wait for) or stop the emulators in the background
//! crm-local mail [--last N]            print the staff notifications sent so far, as text
//! ```

use crm_domain::intake::email::parse_email;
use crm_domain::party::PhoneParse;
use crm_domain::staff::Role;
use crm_local::emulators::{self, repo_root};
use crm_local::functions::{Functions, batch_handler, http_handler};
use crm_local::stack::local_parameters;
use crm_local::{Endpoints, LocalStack};
use crm_shared::adapters::RoundTrips;
use crm_shared::adapters::{DynamoStore, SqsExports};
use futures::FutureExt;
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The stack name of the long-running local stack.
const LOCAL_STACK: &str = "crm-local";
const SMTP_ADDRESS: &str = "127.0.0.1:2525";
const GATEWAY_ADDRESS: &str = "127.0.0.1:3000";

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn usage() -> ExitCode {
    eprintln!(
        "usage:\n  crm-local up\n  crm-local parse-email FILE\n  crm-local token --role head|manager|marketer|warehouse|production|admin --user ID [--ttl SECONDS]\n  crm-local secret miko|jivo|forms\n  crm-local job routing_digest|first_response_sla|dashboard|late_production|outbox_sweep\n  crm-local emulators start|stop"
    );
    ExitCode::from(2)
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// Stack of the runtime's threads. The functions run here unoptimised (debug builds),
/// whose futures take several times the stack of a release build; 2 MiB, tokio's default,
/// is not enough for placing an order with its reservations.
const THREAD_STACK_BYTES: usize = 16 * 1024 * 1024;

/// Fires the segments' export schedules that are due, every minute.
async fn play_segment_schedules(store: DynamoStore, queue: SqsExports) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        match crm_shared::marketing::exports::play_segment_schedules(
            &store,
            &queue,
            chrono::Utc::now(),
        )
        .await
        {
            Ok(0) => {}
            Ok(fired) => tracing::info!(fired, "segment schedules fired"),
            Err(error) => tracing::warn!(%error, "segment schedules not played"),
        }
    }
}

fn main() -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,aws_config=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("up") => up().await,
        Some("parse-email") => match args.get(1) {
            Some(file) => parse_email_command(file),
            None => return usage(),
        },
        Some("token") => token_command(&args).await,
        Some("job") => match args.get(1) {
            Some(job) => job_command(job).await,
            None => return usage(),
        },
        Some("secret") => match args.get(1).and_then(|s| secret_logical_id(s)) {
            Some(logical_id) => secret_command(logical_id).await,
            None => return usage(),
        },
        Some("mail") => mail_command(&args).await,
        Some("emulators") => match args.get(1).map(String::as_str) {
            Some("start") => start_emulators().await,
            Some("stop") => {
                emulators::stop_recorded(&repo_root());
                Ok(())
            }
            _ => return usage(),
        },
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crm-local: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the notifications the local SES recorded, oldest first, readable (LocalStack's
/// own endpoint answers JSON with every Cyrillic letter escaped).
async fn mail_command(args: &[String]) -> Result<(), Failure> {
    let last: usize = flag(args, "--last")
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(20);
    let reply = emulators::http_get(4566, "/_aws/ses")
        .await
        .ok_or("LocalStack does not answer on :4566 (start it with `make run`)")?;
    let body = reply.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let sent: serde_json::Value = serde_json::from_str(body)?;
    let messages = sent["messages"].as_array().cloned().unwrap_or_default();
    for message in messages.iter().skip(messages.len().saturating_sub(last)) {
        let to: Vec<&str> = message["Destination"]["ToAddresses"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        println!("──────────────────────────────────────────────");
        println!("Кому: {}", to.join(", "));
        println!("Тема: {}", message["Subject"].as_str().unwrap_or_default());
        println!();
        println!(
            "{}",
            message["Body"]["text_part"].as_str().unwrap_or_default()
        );
    }
    if messages.is_empty() {
        println!("(no mail sent yet)");
    }
    Ok(())
}

async fn start_emulators() -> Result<(), Failure> {
    let root = repo_root();
    let started = emulators::ensure_running(&root, Duration::from_secs(120)).await?;
    for (emulator, pid) in &started.pids {
        eprintln!("started {} (pid {pid})", emulator.name());
    }
    if started.pids.is_empty() {
        eprintln!("the emulators were already running");
    }
    emulators::record_started(&root, &started)?;
    Ok(())
}

/// Prints what intake reads from one message, as one JSON object.
fn parse_email_command(file: &str) -> Result<(), Failure> {
    let raw = std::fs::read(file)?;
    let email = parse_email(&raw)?;
    let written = |p: &crm_domain::party::PhoneNumber| match &p.extension {
        Some(extension) => format!("{} доб. {extension}", p.e164),
        None => p.e164.clone(),
    };
    let phones: Vec<String> = email.contact.valid_phones().iter().map(written).collect();
    let invalid_phone = match &email.contact.phone {
        Some(PhoneParse::Invalid { raw }) => Some(raw.clone()),
        _ => None,
    };
    let output = serde_json::json!({
        "message_id": email.message_id,
        "kind": email.kind.code(),
        "contact": {
            "name": email.contact.name,
            "email": email.contact.email,
            "phones": phones,
            "invalid_phone": invalid_phone,
            "company": email.contact.company,
            "source": email.contact_source,
            "confirms": email.contact_source.confirms(),
        },
        "forwarded_by": email.forwarded_by,
        "left_out": email.left_out,
        "subject": email.subject,
        "text": email.text,
        "attachments": email.attachments.iter().map(|a| serde_json::json!({
            "filename": a.filename,
            "content_type": a.content_type,
            "size": a.size,
        })).collect::<Vec<_>>(),
    });
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(())
}

fn secret_logical_id(source: &str) -> Option<&'static str> {
    match source {
        "miko" => Some("MikoWebhookSecret"),
        "jivo" => Some("JivoWebhookSecret"),
        "forms" => Some("FormsWebhookSecret"),
        _ => None,
    }
}

async fn secret_command(logical_id: &str) -> Result<(), Failure> {
    let resolved = crm_local::template::load(
        &crm_local::stack::template_path(),
        LOCAL_STACK,
        &local_parameters(),
    )?;
    let stack = LocalStack {
        resolved,
        provisioned: Default::default(),
        endpoints: Endpoints::default(),
    };
    println!("{}", stack.secret(logical_id).await?);
    Ok(())
}

async fn job_command(job: &str) -> Result<(), Failure> {
    let endpoints = Endpoints::default();
    let stack = LocalStack::create(LOCAL_STACK, endpoints.clone(), &local_parameters()).await?;
    let clients = endpoints.clients(RoundTrips::default()).await;
    let jobs = jobs::Jobs::new(
        &jobs::Config::from_env(stack.function_env("JobsFunction")?)?,
        &clients,
    );
    let report = jobs
        .run(jobs::JobRequest {
            job: job.to_owned(),
        })
        .await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

async fn token_command(args: &[String]) -> Result<(), Failure> {
    let role = flag(args, "--role")
        .and_then(|r| Role::from_code(&r))
        .ok_or("--role must be head, manager, marketer, warehouse, production or admin")?;
    let user = flag(args, "--user").ok_or("--user ID is required")?;
    let ttl: i64 = flag(args, "--ttl")
        .map(|t| t.parse())
        .transpose()?
        .unwrap_or(12 * 3600);
    let resolved = crm_local::template::load(
        &crm_local::stack::template_path(),
        LOCAL_STACK,
        &local_parameters(),
    )?;
    let stack = LocalStack {
        resolved,
        provisioned: Default::default(),
        endpoints: Endpoints::default(),
    };
    let tokens = stack.dev_tokens("StaffJwt")?;
    println!(
        "{}",
        tokens.issue(&user, role, chrono::Utc::now().timestamp(), ttl)
    );
    Ok(())
}

async fn up() -> Result<(), Failure> {
    let root = repo_root();
    eprintln!("starting or reusing the emulators (LocalStack :4566, DynamoDB Local :8000)…");
    let started = emulators::ensure_running(&root, Duration::from_secs(120)).await?;
    let endpoints = Endpoints::default();
    let stack = LocalStack::create(LOCAL_STACK, endpoints.clone(), &local_parameters()).await?;
    let clients = endpoints.clients(RoundTrips::default()).await;

    let store = DynamoStore::new(clients.dynamodb.clone(), stack.name("Table")?);
    let seed = crm_local::seed::read(&root.join("localstack/seed.json"))?;
    crm_local::seed::apply(&seed, &store).await?;

    let functions = Functions::build(&stack, &endpoints, &clients).await?;
    let binding = stack.queue_binding(
        "InboundEmailFunction",
        batch_handler(functions.inbound_email.clone()),
    )?;
    let deal_events_binding = stack.queue_binding(
        "DealEventsFunction",
        batch_handler(functions.deal_events.clone()),
    )?;
    let exports_binding =
        stack.queue_binding("ExportsFunction", batch_handler(functions.exports.clone()))?;
    let jobs = functions.jobs.clone();
    let mut schedules = Vec::new();
    for (expression, timezone, input) in stack.schedules("JobsFunction")? {
        let Some(schedule) = crm_local::scheduler::parse(&expression, timezone.as_deref()) else {
            eprintln!("schedule {expression} is not played locally; run it with `crm-local job`");
            continue;
        };
        let jobs = jobs.clone();
        let handler: crm_local::scheduler::JobHandler = Arc::new(move |input: String| {
            let jobs = jobs.clone();
            async move {
                match serde_json::from_str::<jobs::JobRequest>(&input) {
                    Ok(request) => {
                        if let Err(error) = jobs.run(request).await {
                            tracing::warn!(%error, "scheduled job failed");
                        }
                    }
                    Err(error) => tracing::warn!(%error, "schedule input is not a job request"),
                }
            }
            .boxed()
        });
        schedules.push((schedule, input, handler));
    }

    let mut gateway = stack.gateway(&HashMap::from([
        (
            "ApiFunction".to_owned(),
            http_handler(functions.api.clone()),
        ),
        (
            "WebhooksFunction".to_owned(),
            http_handler(functions.webhooks.clone()),
        ),
    ]))?;

    gateway.site = Some(Arc::new(crm_local::web::Site::new(
        root.join("web"),
        Arc::new(stack.dev_tokens("StaffJwt")?),
        seed.employees,
        GATEWAY_ADDRESS,
    )));

    let smtp = tokio::net::TcpListener::bind(SMTP_ADDRESS).await?;
    let http = tokio::net::TcpListener::bind(GATEWAY_ADDRESS).await?;
    let tasks = vec![
        tokio::spawn(crm_local::smtp::serve(
            smtp,
            clients.s3.clone(),
            stack.mail_drop()?,
        )),
        tokio::spawn(crm_local::poller::run(clients.sqs.clone(), binding)),
        tokio::spawn(crm_local::poller::run(
            clients.sqs.clone(),
            deal_events_binding,
        )),
        tokio::spawn(crm_local::poller::run(clients.sqs.clone(), exports_binding)),
        // EventBridge Scheduler keeps the segments' schedules in the cloud; LocalStack
        // stores them without firing, so they are played here, every minute.
        tokio::spawn(play_segment_schedules(
            store.clone(),
            SqsExports {
                sqs: clients.sqs.clone(),
                queue_url: stack.queue_url("ExportsQueue")?,
            },
        )),
        tokio::spawn(crm_local::scheduler::run(schedules)),
        tokio::spawn(async move {
            if let Err(error) = crm_local::gateway::serve(http, gateway).await {
                tracing::error!(%error, "gateway stopped");
            }
        }),
    ];

    let head_token = stack.dev_tokens("StaffJwt")?.issue(
        "head-1",
        Role::Head,
        chrono::Utc::now().timestamp(),
        12 * 3600,
    );
    println!(
        r#"
The sales backend runs locally (stack "{LOCAL_STACK}").

  Front end           http://{GATEWAY_ADDRESS}/   (development login: pick an employee)
  SMTP (SES inbound)  smtp://{SMTP_ADDRESS}
  HTTP API            http://{GATEWAY_ADDRESS}/api/
  LocalStack          {ls}   (sent notifications: {ls}/_aws/ses)
  DynamoDB Local      {ddb}

Try it:
  swaks --server {SMTP_ADDRESS} --from ivan@zavod.ru --to sales@vacuum-zavod.example \
        --header "Subject: Нужен насос" --body "Телефон: 8 912 345-67-89"
  # or: swaks --server {SMTP_ADDRESS} --data events/email/bitrix-feedback-cp1251.eml

  TOKEN={head_token}
  curl -s -H "Authorization: Bearer $TOKEN" 'http://{GATEWAY_ADDRESS}/api/inquiries?status=unrouted'

  MIKO=$(cargo run -q -p crm-local -- secret miko)
  curl -s "http://{GATEWAY_ADDRESS}/webhooks/miko/$MIKO?event=start&linkedid=demo-1&from=79257181233&did=1233"

Other tokens: cargo run -q -p crm-local -- token --role manager --user mgr-high-1
Ctrl-C stops everything this command started."#,
        ls = endpoints.localstack,
        ddb = endpoints.dynamodb,
    );

    tokio::signal::ctrl_c().await?;
    eprintln!("stopping…");
    for task in tasks {
        task.abort();
    }
    for (emulator, pid) in started.pids {
        eprintln!("stopping {}", emulator.name());
        emulators::stop_pid(pid);
    }
    Ok(())
}
