//! AWS round trips per handled email, counted by an SDK interceptor (deterministic, not a
//! timing). These are the design's figures: change them only with the design.

use integration_tests::{TestStack, email_from};
use std::collections::BTreeMap;

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test]
async fn round_trips_per_email_are_what_the_design_needs() {
    let t = TestStack::new().await;
    let bucket = t.inbound_bucket();
    let now = chrono::Utc::now();

    // A new person: read the raw object, one batched lookup (intake record + contact
    // points), the active heads, one transaction, the notification, mark it sent.
    let first = t
        .deliver(&email_from(
            "Анна <anna@rt-test.ru>",
            "Запрос",
            "Тел.: +7 912 555-00-11",
        ))
        .await;
    t.counted.round_trips.take();
    t.inbound.take_in(&bucket, &first, now).await.unwrap();
    assert_eq!(
        t.counted.round_trips.take(),
        counts(&[
            ("S3.GetObject", 1),
            ("DynamoDB.BatchGetItem", 1),
            ("DynamoDB.Query", 1),
            ("DynamoDB.TransactWriteItems", 1),
            ("SES.SendEmail", 1),
            ("DynamoDB.UpdateItem", 1),
        ])
    );

    // The same object again: read, look up, stop.
    t.inbound.take_in(&bucket, &first, now).await.unwrap();
    assert_eq!(
        t.counted.round_trips.take(),
        counts(&[("S3.GetObject", 1), ("DynamoDB.BatchGetItem", 1)])
    );

    // A known person with a responsible manager: the party and the manager are read.
    let party = t
        .store
        .intake_record(&format!("email#{}", message_id(&t, &bucket, &first).await))
        .await
        .unwrap()
        .unwrap()
        .party_id
        .unwrap();
    t.assign_manager(&party).await;
    let second = t
        .deliver(&email_from("Анна <anna@rt-test.ru>", "Ещё", "Когда?"))
        .await;
    t.inbound.take_in(&bucket, &second, now).await.unwrap();
    assert_eq!(
        t.counted.round_trips.take(),
        counts(&[
            ("S3.GetObject", 1),
            ("DynamoDB.BatchGetItem", 1),
            ("DynamoDB.GetItem", 2),
            ("DynamoDB.TransactWriteItems", 1),
            ("SES.SendEmail", 1),
            ("DynamoDB.UpdateItem", 1),
        ])
    );

    // Machine mail: read the object, one conditional write.
    let auto = t
        .deliver(&integration_tests::fixture("email/auto-reply.eml"))
        .await;
    t.inbound.take_in(&bucket, &auto, now).await.unwrap();
    assert_eq!(
        t.counted.round_trips.take(),
        counts(&[("S3.GetObject", 1), ("DynamoDB.PutItem", 1)])
    );
}

async fn message_id(t: &TestStack, bucket: &str, key: &str) -> String {
    let raw = t.object(bucket, key).await.unwrap();
    crm_domain::intake::email::parse_email(&raw)
        .unwrap()
        .message_id
        .unwrap()
}

#[tokio::test]
async fn an_email_with_attachments_adds_one_lookup_and_one_put_per_file() {
    let t = TestStack::new().await;
    let bucket = t.inbound_bucket();
    let raw = "From: Анна <anna@rt-files.ru>\r\nTo: sales@vacuum-zavod.example\r\nSubject: ТЗ\r\nMessage-ID: <files@rt-files.ru>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nТЗ во вложении\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n%PDF a\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"b.pdf\"\r\n\r\n%PDF b\r\n--b--\r\n";
    let key = t.deliver(raw.as_bytes()).await;
    t.counted.round_trips.take();
    t.inbound
        .take_in(&bucket, &key, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(
        t.counted.round_trips.take(),
        counts(&[
            ("S3.GetObject", 1),
            ("DynamoDB.GetItem", 1),
            ("S3.PutObject", 2),
            ("DynamoDB.BatchGetItem", 1),
            ("DynamoDB.Query", 1),
            ("DynamoDB.TransactWriteItems", 1),
            ("SES.SendEmail", 1),
            ("DynamoDB.UpdateItem", 1),
        ])
    );
}
