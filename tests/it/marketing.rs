//! Marketing against the emulators: contact cards kept by intake, routing and deals;
//! two segments exported into the exports bucket with their manifests; a Mailchimp
//! unsubscribed file put under `imports/mailchimp/` and the segment exported again — those
//! people gone, the rest byte for byte the same; "Call client" tasks for 50 counterparties
//! in one request, once.

use crate::sales::{deal_input, items};
use crm_domain::kernel::sha256_hex;
use crm_domain::staff::Role;
use integration_tests::{TestStack, email_from};
use serde_json::{Value, json};

async fn call(
    t: &TestStack,
    who: (&str, Role),
    method: &str,
    path: &str,
    body: Option<Value>,
    want: u16,
) -> Value {
    let (status, answer) = t.api_call(method, path, body, Some(who)).await;
    assert_eq!(status, want, "{method} {path}: {answer}");
    answer
}

/// Leads from `n` people writing in; returns their inquiry ids, by address.
async fn leads(t: &TestStack, prefix: &str, n: usize) -> Vec<(String, String)> {
    for i in 0..n {
        t.deliver(&email_from(
            &format!("Петров Игорь <{prefix}{i}@client-{i}.ru>"),
            "Запрос",
            &format!(
                "Нужен насос. Тел.: +7 912 555-{:02}-{:02}",
                i / 100,
                i % 100
            ),
        ))
        .await;
    }
    t.process_inbound(n).await;
    let unrouted = t
        .get_as_head("/api/inquiries?status=unrouted&limit=500")
        .await;
    items(&unrouted)
        .iter()
        .filter_map(|i| {
            let email = i["contact"]["email"].as_str()?;
            email
                .starts_with(prefix)
                .then(|| (email.to_owned(), i["id"].as_str().unwrap().to_owned()))
        })
        .collect()
}

async fn route(t: &TestStack, inquiries: &[&str], department: &str, manager: &str) {
    let head = (t.heads[0].id.as_str(), Role::Head);
    call(
        t,
        head,
        "POST",
        "/api/inquiries/route",
        Some(json!({ "inquiry_ids": inquiries, "department": department, "manager_id": manager })),
        200,
    )
    .await;
}

async fn export(t: &TestStack, marketer: (&str, Role), segment: &str) -> Value {
    let queued = call(
        t,
        marketer,
        "POST",
        &format!("/api/segments/{segment}/exports"),
        None,
        202,
    )
    .await;
    assert_eq!(t.process_exports().await, 0);
    let export_id = queued["export_id"].as_str().unwrap();
    let done = call(
        t,
        marketer,
        "GET",
        &format!("/api/exports/{export_id}"),
        None,
        200,
    )
    .await;
    assert_eq!(done["export"]["status"], "done", "{done}");
    done
}

fn exports_bucket(t: &TestStack) -> String {
    t.api_config.exports_bucket.clone()
}

async fn file(t: &TestStack, export: &Value, name: &str) -> Vec<u8> {
    let entry = export["export"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap()
        .clone();
    let bytes = t
        .object(&exports_bucket(t), entry["key"].as_str().unwrap())
        .await
        .expect("the file is in the exports bucket");
    assert_eq!(
        entry["sha256"],
        sha256_hex(&bytes),
        "the manifest's SHA-256"
    );
    bytes
}

fn emails_of(csv: &[u8]) -> Vec<String> {
    let mut reader = csv::Reader::from_reader(csv);
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "Email Address",
            "First Name",
            "Last Name",
            "Phone Number",
            "Company",
            "Tags"
        ]
    );
    reader.records().map(|r| r.unwrap()[0].to_owned()).collect()
}

#[tokio::test]
async fn segments_export_to_the_bucket_and_opted_out_people_are_left_out_after() {
    let t = TestStack::new().await;
    let marketer_employee = t.add_employee("mkt", Role::Marketer, None).await;
    let marketer = (marketer_employee.id.as_str(), Role::Marketer);
    let thermal = t
        .add_employee(
            "thermal-mgr",
            Role::Manager,
            Some(crm_domain::kernel::Department::Thermal),
        )
        .await;
    let people = leads(&t, "seg", 6).await;
    let inquiry = |i: usize| {
        people
            .iter()
            .find(|(email, _)| email.starts_with(&format!("seg{i}@")))
            .unwrap()
            .1
            .clone()
    };
    route(&t, &[&inquiry(0), &inquiry(1)], "high", &t.manager.id).await;
    route(&t, &[&inquiry(2)], "thermal", &thermal.id).await;
    // seg0 becomes a client with a deal.
    call(
        &t,
        (t.manager.id.as_str(), Role::Manager),
        "POST",
        &format!("/api/inquiries/{}/qualify", inquiry(0)),
        Some(json!({ "outcome": "deal", "deal": deal_input(json!([{ "product": "Насос НВР-16Д",
            "equipment_type": "vacuum_pump", "quantity": 1, "unit_price_kopecks": 15_000_000 }])) })),
        201,
    )
    .await;
    assert_eq!(t.process_deal_events().await, 0);

    let clients = call(
        &t,
        marketer,
        "POST",
        "/api/segments",
        Some(json!({ "name": "Клиенты с насосами",
                     "definition": { "kinds": ["client"], "equipment_types": ["vacuum_pump"] } })),
        201,
    )
    .await;
    let leads_segment = call(
        &t,
        marketer,
        "POST",
        "/api/segments",
        Some(
            json!({ "name": "Лиды с почтой", "definition": { "kinds": ["lead"], "has_email": true },
                     "schedule": { "frequency": "weekly", "weekday": "Mon", "time": "09:00:00" } }),
        ),
        201,
    )
    .await;
    // A manager may not export the contact base.
    call(
        &t,
        (t.manager.id.as_str(), Role::Manager),
        "POST",
        &format!("/api/segments/{}/exports", clients["id"].as_str().unwrap()),
        None,
        403,
    )
    .await;
    let preview = call(
        &t,
        marketer,
        "GET",
        &format!(
            "/api/segments/{}/preview",
            leads_segment["id"].as_str().unwrap()
        ),
        None,
        200,
    )
    .await;
    assert_eq!(preview["count"], 5, "{preview}");
    assert_eq!(preview["rows"][0]["first_name"], "Игорь");

    let client_export = export(&t, marketer, clients["id"].as_str().unwrap()).await;
    let client_csv = file(&t, &client_export, "mailchimp.csv").await;
    assert_eq!(emails_of(&client_csv), ["seg0@client-0.ru"]);
    let first = export(&t, marketer, leads_segment["id"].as_str().unwrap()).await;
    let first_csv = file(&t, &first, "mailchimp.csv").await;
    let mut listed = emails_of(&first_csv);
    listed.sort();
    assert_eq!(
        listed,
        (1..6)
            .map(|i| format!("seg{i}@client-{i}.ru"))
            .collect::<Vec<_>>()
    );
    // The manifest sits beside the files and says what was used and by whom.
    let folder = first["export"]["files"][0]["key"]
        .as_str()
        .unwrap()
        .rsplit_once('/')
        .unwrap()
        .0
        .to_owned();
    let manifest: Value = serde_json::from_slice(
        &t.object(&exports_bucket(&t), &format!("{folder}/manifest.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["requested_by"], marketer_employee.id);
    assert_eq!(manifest["definition"]["kinds"], json!(["lead"]));
    assert_eq!(manifest["files"][0]["rows"], 5);
    assert!(
        first["links"]["mailchimp.csv"]
            .as_str()
            .unwrap()
            .contains("X-Amz-Expires=900")
    );
    // The call list opens with calamine: Russian headers, phones for dialling.
    let xlsx = file(&t, &first, "telemarketing.xlsx").await;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    use calamine::Reader;
    let sheet = book.worksheet_range("Обзвон").unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[0][2], "Телефон 1");
    assert!(
        rows[1..].iter().all(|r| r[2].starts_with("+7 912 555-")),
        "{rows:?}"
    );

    // Mailchimp's unsubscribed file, dropped into the bucket.
    let unsubscribed = "Email Address,First Name,Last Name,UNSUB_TIME,UNSUB_CAMPAIGN_TITLE,UNSUB_REASON\r\n\
        SEG3@client-3.ru,Игорь,Петров,2026-11-20 10:00:00,Новинки,NORMAL\r\n";
    t.setup
        .s3
        .put_object()
        .bucket(exports_bucket(&t))
        .key("imports/mailchimp/unsubscribed_members_export.csv")
        .body(unsubscribed.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
    assert_eq!(t.process_exports().await, 0);
    // And one address marked by hand.
    call(
        &t,
        marketer,
        "POST",
        "/api/opt-outs",
        Some(json!({ "email": "seg5@client-5.ru", "reason": "просил не писать" })),
        201,
    )
    .await;

    let again = export(&t, marketer, leads_segment["id"].as_str().unwrap()).await;
    let again_csv = file(&t, &again, "mailchimp.csv").await;
    let expected: String = String::from_utf8(first_csv.clone())
        .unwrap()
        .split_inclusive("\r\n")
        .filter(|line| !line.starts_with("seg3@") && !line.starts_with("seg5@"))
        .collect();
    assert_eq!(
        String::from_utf8(again_csv).unwrap(),
        expected,
        "the opted out are gone, the rest byte for byte the same"
    );
}

#[tokio::test]
async fn call_tasks_for_fifty_counterparties_go_to_the_right_people_once() {
    let t = TestStack::new().await;
    let marketer_employee = t.add_employee("mkt", Role::Marketer, None).await;
    let marketer = (marketer_employee.id.as_str(), Role::Marketer);
    let people = leads(&t, "call", 50).await;
    assert_eq!(people.len(), 50);
    let mine: Vec<&str> = people.iter().take(10).map(|(_, id)| id.as_str()).collect();
    route(&t, &mine, "high", &t.manager.id).await;
    let segment = call(
        &t,
        marketer,
        "POST",
        "/api/segments",
        Some(json!({ "name": "Все лиды", "definition": { "kinds": ["lead"] } })),
        201,
    )
    .await;
    let path = format!(
        "/api/segments/{}/call-tasks",
        segment["id"].as_str().unwrap()
    );
    let body = json!({ "request_id": "promo-2026-12", "title": "Позвонить: новая линейка насосов",
                       "due_at": "2026-12-05T09:00:00Z" });
    let given = call(&t, marketer, "POST", &path, Some(body.clone()), 200).await;
    assert_eq!(given["created"], 50, "{given}");
    assert_eq!(given["by_assignee"][&t.manager.id], 10);
    assert_eq!(given["by_assignee"]["heads:all"], 40);
    let again = call(&t, marketer, "POST", &path, Some(body), 200).await;
    assert_eq!(
        (again["created"].as_u64(), again["existing"].as_u64()),
        (Some(0), Some(50))
    );
    let (_, tasks) = t
        .api_get(
            "/api/tasks?scope=mine",
            Some((&t.manager.id, Role::Manager)),
        )
        .await;
    let calls = items(&tasks)
        .iter()
        .filter(|task| task["kind"] == "call_client")
        .count();
    assert_eq!(calls, 10);
}

#[tokio::test]
async fn a_bounce_of_our_mail_opts_the_address_out_of_exports() {
    use crm_shared::marketing::ports::MarketingStore;
    let t = TestStack::new().await;
    t.deliver(&integration_tests::fixture("email/bounce.eml"))
        .await;
    assert_eq!(t.process_inbound(1).await, 0);
    let out = t
        .store
        .opted_out(&[
            "nobody@nonexistent-domain.ru".to_owned(),
            "manager1@vacuum-zavod.ru".to_owned(),
        ])
        .await
        .unwrap();
    assert_eq!(out.len(), 1);
    assert!(out.contains("nobody@nonexistent-domain.ru"));
}

#[tokio::test]
async fn a_segments_schedule_is_an_eventbridge_schedule_and_fires_one_export() {
    let t = TestStack::new().await;
    let marketer_employee = t.add_employee("mkt", Role::Marketer, None).await;
    let marketer = (marketer_employee.id.as_str(), Role::Marketer);
    leads(&t, "sched", 2).await;
    let segment = call(
        &t,
        marketer,
        "POST",
        "/api/segments",
        Some(json!({ "name": "Лиды", "definition": { "kinds": ["lead"] },
                     "schedule": { "frequency": "weekly", "weekday": "Mon", "time": "09:00:00" } })),
        201,
    )
    .await;
    let id = segment["id"].as_str().unwrap();
    let name = format!("{}-segment-{id}", t.api_config.segment_schedule_prefix);
    let schedule = t
        .setup
        .scheduler
        .get_schedule()
        .name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(schedule.schedule_expression(), Some("cron(0 9 ? * MON *)"));
    assert_eq!(
        schedule.schedule_expression_timezone(),
        Some("Europe/Moscow")
    );
    let target = schedule.target().unwrap();
    assert_eq!(target.arn(), t.api_config.exports_queue_arn);
    assert!(target.input().unwrap().contains(id));
    assert!(
        target
            .input()
            .unwrap()
            .contains("<aws.scheduler.scheduled-time>")
    );

    // Daily now: the schedule follows.
    call(
        &t,
        marketer,
        "PUT",
        &format!("/api/segments/{id}"),
        Some(
            json!({ "name": "Лиды", "definition": { "kinds": ["lead"] }, "version": 1,
                     "schedule": { "frequency": "daily", "time": "07:30:00" } }),
        ),
        200,
    )
    .await;
    let schedule = t
        .setup
        .scheduler
        .get_schedule()
        .name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(schedule.schedule_expression(), Some("cron(30 7 * * ? *)"));

    // What it sends when it fires, delivered twice: one export.
    let fired = json!({ "segment_id": id, "scheduled_at": "2026-11-30T04:30:00Z" }).to_string();
    for _ in 0..2 {
        t.setup
            .sqs
            .send_message()
            .queue_url(&t.api_config.exports_queue_url)
            .message_body(&fired)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(t.process_exports().await, 0);
    let shown = call(
        &t,
        marketer,
        "GET",
        &format!("/api/segments/{id}"),
        None,
        200,
    )
    .await;
    let exports = shown["exports"].as_array().unwrap();
    assert_eq!(exports.len(), 1, "{shown}");
    assert_eq!(exports[0]["requested_by"], "schedule");
    assert_eq!(exports[0]["contacts"], 2);

    // Deleted: the schedule goes with it.
    call(
        &t,
        marketer,
        "DELETE",
        &format!("/api/segments/{id}"),
        None,
        200,
    )
    .await;
    assert!(
        t.setup
            .scheduler
            .get_schedule()
            .name(&name)
            .send()
            .await
            .is_err()
    );
}
