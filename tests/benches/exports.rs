//! Exporting a segment of 100,000 contacts against DynamoDB Local and LocalStack (`make
//! bench` starts them): the cards are written first, then one export runs as the exports
//! function runs it — cards read page by page, the Mailchimp CSV, its .xlsx copy and the
//! call list written to disk, uploaded, the manifest last. Prints the wall time and the
//! peak resident memory of the export alone (the process's high-water mark is reset after
//! seeding, through `/proc/self/clear_refs`).

use chrono::{Duration, Utc};
use crm_domain::kernel::Department;
use crm_domain::marketing::segment::Activity;
use crm_domain::marketing::{ContactCard, ExportRecord, Segment, SegmentDefinition};
use crm_domain::party::{Channel, CounterpartyKind};
use crm_shared::adapters::{Blobs, ExportBucket};
use crm_shared::marketing::exports::Exporter;
use crm_shared::marketing::ports::MarketingStore;
use integration_tests::TestStack;

const CONTACTS: u32 = 100_000;

fn card(n: u32) -> ContactCard {
    let department = [
        None,
        Some(Department::High),
        Some(Department::Industrial),
        Some(Department::Thermal),
    ][(n % 4) as usize];
    ContactCard {
        party_id: format!("01900000-0000-7000-8000-{n:012}"),
        kind: if n.is_multiple_of(3) {
            CounterpartyKind::Client
        } else {
            CounterpartyKind::Lead
        },
        department,
        manager_id: None,
        name: if n.is_multiple_of(2) {
            "Петров Игорь".into()
        } else {
            "Анна Смирнова".into()
        },
        company: Some(format!("ООО «Предприятие №{n}», Екатеринбург")),
        contact_name: None,
        emails: vec![format!("contact{n}@company{n}.ru")],
        phones: vec![format!("+7912{n:07}")],
        region: Some("Екатеринбург".into()),
        tags: vec!["выставка".into()],
        deals: Default::default(),
        last_activity: Some(Activity {
            at: Utc::now() - Duration::days(i64::from(n % 90)),
            channel: Channel::Email,
        }),
        created_at: Utc::now() - Duration::days(200),
    }
}

fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let t = TestStack::new().await;
        let seeding = std::time::Instant::now();
        let mut batch = Vec::with_capacity(1000);
        for n in 0..CONTACTS {
            batch.push(card(n));
            if batch.len() == 1000 {
                t.store.put_cards(&batch).await.unwrap();
                batch.clear();
            }
        }
        t.store.put_cards(&batch).await.unwrap();
        drop(batch);
        println!("seeded {CONTACTS} contact cards in {:.1} s", seeding.elapsed().as_secs_f64());

        let segment = Segment {
            id: "bench-all".into(),
            name: "Все".into(),
            definition: SegmentDefinition::default(),
            schedule: None,
            last_scheduled_at: None,
            created_by: "bench".into(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
        };
        let record = ExportRecord::queued("bench-export".into(), &segment, "bench", Utc::now());
        t.store.save_export(&record, true, &[]).await.unwrap();
        let files = ExportBucket {
            blobs: Blobs::new(t.setup.s3.clone()),
            bucket: t.api_config.exports_bucket.clone(),
        };
        // Forget the seeding's peak: what follows is the export alone.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = peak_kib();
        let started = std::time::Instant::now();
        let done = Exporter {
            store: &t.store,
            files: &files,
            scratch: std::env::temp_dir(),
        }
        .run("bench-export", Utc::now())
        .await
        .unwrap();
        let wall = started.elapsed();
        println!(
            "exported {} contacts ({} Mailchimp rows, CSV {} bytes) in {:.1} s; peak RSS during the export {} MiB (at its start {} MiB)",
            done.contacts,
            done.files[0].rows,
            done.files[0].bytes,
            wall.as_secs_f64(),
            peak_kib() / 1024,
            before / 1024
        );
        assert_eq!(done.contacts, u64::from(CONTACTS));
    });
}
