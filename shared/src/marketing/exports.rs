//! Exporting a segment. The cards are read page by page from the partitions the
//! definition needs (department × kind), each card tested against the definition, the
//! page's addresses checked against the opt-outs in one batch, and every row written at
//! once to the Mailchimp CSV (hashed as it is written), its .xlsx copy and the
//! telemarketing call list — files on local disk, the workbooks in constant-memory mode —
//! so memory does not grow with the segment. The files go to
//! `exports/<segment>/<timestamp>/` with `manifest.json` (the export record: the
//! definition as used, who asked, when, rows and SHA-256 of each file). Rows come in the
//! store's key order, so the same data and definition give a byte-identical CSV.
//!
//! Also here: giving "Call client" tasks to a whole segment, once per request id.

use super::ports::{ExportFiles, MarketingStore};
use crate::ports::{BlobError, StoreError};
use chrono::{DateTime, Utc};
use crm_domain::kernel::Department;
use crm_domain::kernel::audit::AuditEntry;
use crm_domain::marketing::export::{ExportFile, ExportStatus};
use crm_domain::marketing::mailchimp::{MailchimpSheet, MailchimpWriter, rows_of};
use crm_domain::marketing::telemarketing::CallListWriter;
use crm_domain::marketing::{ContactCard, ExportRecord, SegmentDefinition};
use crm_domain::party::CounterpartyKind;
use crm_domain::sales::task::Assignee;
use crm_domain::sales::{Task, TaskKind};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Cards read per page.
const PAGE: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no such export {0}")]
    NoExport(String),
    #[error("the segment {0} is gone")]
    NoSegment(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Files(#[from] BlobError),
    #[error("writing the files failed: {0}")]
    Write(String),
}

impl From<std::io::Error> for ExportError {
    fn from(error: std::io::Error) -> Self {
        Self::Write(error.to_string())
    }
}

impl From<csv::Error> for ExportError {
    fn from(error: csv::Error) -> Self {
        Self::Write(error.to_string())
    }
}

impl From<rust_xlsxwriter::XlsxError> for ExportError {
    fn from(error: rust_xlsxwriter::XlsxError) -> Self {
        Self::Write(error.to_string())
    }
}

/// The partitions a definition reads: its departments (all, and the unrouted, when it
/// names none) × its kinds (all when it names none).
pub fn partitions(definition: &SegmentDefinition) -> Vec<(Option<Department>, CounterpartyKind)> {
    let departments: Vec<Option<Department>> = if definition.departments.is_empty() {
        [None]
            .into_iter()
            .chain(
                [
                    Department::High,
                    Department::Industrial,
                    Department::Thermal,
                ]
                .into_iter()
                .map(Some),
            )
            .collect()
    } else {
        definition.departments.iter().copied().map(Some).collect()
    };
    let kinds: Vec<CounterpartyKind> = if definition.kinds.is_empty() {
        vec![
            CounterpartyKind::Lead,
            CounterpartyKind::Client,
            CounterpartyKind::Partner,
        ]
    } else {
        definition.kinds.clone()
    };
    departments
        .iter()
        .flat_map(|d| kinds.iter().map(move |k| (*d, *k)))
        .collect()
}

/// Calls `visit` with every card of the segment, page by page, until it answers
/// `false`; with the page's opted-out addresses when `opt_outs` (one lookup a page, only
/// what an export needs).
async fn for_each_card<S: MarketingStore>(
    store: &S,
    definition: &SegmentDefinition,
    now: DateTime<Utc>,
    opt_outs: bool,
    mut visit: impl FnMut(&ContactCard, &dyn Fn(&str) -> bool) -> Result<bool, ExportError>,
) -> Result<(), ExportError> {
    for (department, kind) in partitions(definition) {
        let mut after: Option<String> = None;
        loop {
            let page = store
                .cards_page(department, kind, after.as_deref(), PAGE)
                .await?;
            let matched: Vec<&ContactCard> = page
                .cards
                .iter()
                .filter(|card| definition.matches(card, now))
                .collect();
            let emails: Vec<String> = matched
                .iter()
                .flat_map(|card| card.emails.iter().map(|e| e.to_lowercase()))
                .collect();
            let out = if emails.is_empty() || !opt_outs {
                Default::default()
            } else {
                store.opted_out(&emails).await?
            };
            let excluded = |email: &str| out.contains(&email.to_lowercase());
            for card in matched {
                if !visit(card, &excluded)? {
                    return Ok(());
                }
            }
            match page.next_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    Ok(())
}

/// A writer that hashes and counts what goes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 and size of a file, read in chunks.
fn file_digest(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok((hex(&hasher.finalize()), bytes))
}

const CSV: &str = "text/csv; charset=utf-8";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Runs exports over a store and a place for files.
pub struct Exporter<'a, S, F> {
    pub store: &'a S,
    pub files: &'a F,
    /// Where files are written before upload (the Lambda's `/tmp`).
    pub scratch: PathBuf,
}

impl<S: MarketingStore, F: ExportFiles> Exporter<'_, S, F> {
    /// Runs export `id`; an export already done is answered as it is (redelivery).
    pub async fn run(&self, id: &str, now: DateTime<Utc>) -> Result<ExportRecord, ExportError> {
        let record = self
            .store
            .export(id)
            .await?
            .ok_or_else(|| ExportError::NoExport(id.to_owned()))?;
        if record.status == ExportStatus::Done {
            return Ok(record);
        }
        let dir = self.scratch.join(format!("export-{id}"));
        std::fs::create_dir_all(&dir)?;
        let outcome = self.write_and_upload(record.clone(), &dir, now).await;
        let _ = std::fs::remove_dir_all(&dir);
        match outcome {
            Ok(done) => Ok(done),
            Err(error) => {
                let failed = ExportRecord {
                    status: ExportStatus::Failed,
                    error: Some(error.to_string()),
                    ..record
                };
                if let Err(store_error) = self.store.save_export(&failed, false, &[]).await {
                    tracing::warn!(export = id, error = %store_error, "export failure not recorded");
                }
                Err(error)
            }
        }
    }

    async fn write_and_upload(
        &self,
        mut record: ExportRecord,
        dir: &Path,
        now: DateTime<Utc>,
    ) -> Result<ExportRecord, ExportError> {
        let managers: HashMap<String, String> = self
            .store
            .employees()
            .await?
            .into_iter()
            .map(|e| (e.id, e.name))
            .collect();
        let csv_path = dir.join("mailchimp.csv");
        let mut csv = MailchimpWriter::new(Hashing {
            inner: BufWriter::new(std::fs::File::create(&csv_path)?),
            hasher: Sha256::new(),
            bytes: 0,
        })?;
        let mut sheet = MailchimpSheet::new()?;
        let mut calls = CallListWriter::new()?;
        let mut contacts = 0u64;
        for_each_card(
            self.store,
            &record.definition,
            now,
            true,
            |card, excluded| {
                contacts += 1;
                for row in rows_of(card, excluded) {
                    csv.write(&row)?;
                    sheet.write(&row)?;
                }
                let manager = card
                    .manager_id
                    .as_ref()
                    .and_then(|id| managers.get(id))
                    .map(String::as_str);
                calls.write(card, manager)?;
                Ok(true)
            },
        )
        .await?;
        let (mailchimp_rows, mut hashing) = csv.finish()?;
        hashing.flush()?;
        let csv_digest = hex(&hashing.hasher.finalize());
        let csv_bytes = hashing.bytes;
        let call_rows = u64::from(calls.rows());
        let sheet_path = dir.join("mailchimp.xlsx");
        let calls_path = dir.join("telemarketing.xlsx");
        sheet.save(&sheet_path)?;
        calls.save(&calls_path)?;

        let folder = record.folder();
        let mut files = vec![ExportFile {
            name: "mailchimp.csv".into(),
            key: format!("{folder}mailchimp.csv"),
            rows: mailchimp_rows as u64,
            bytes: csv_bytes,
            sha256: csv_digest,
        }];
        for (name, path, rows) in [
            ("mailchimp.xlsx", &sheet_path, mailchimp_rows as u64),
            ("telemarketing.xlsx", &calls_path, call_rows),
        ] {
            let (sha256, bytes) = file_digest(path)?;
            files.push(ExportFile {
                name: name.into(),
                key: format!("{folder}{name}"),
                rows,
                bytes,
                sha256,
            });
        }
        for (file, path) in files.iter().zip([&csv_path, &sheet_path, &calls_path]) {
            let content_type = if file.name.ends_with(".csv") {
                CSV
            } else {
                XLSX
            };
            self.files.put_file(&file.key, path, content_type).await?;
        }
        record.files = files;
        record.contacts = contacts;
        record.status = ExportStatus::Done;
        record.finished_at = Some(Utc::now());
        record.error = None;
        let manifest =
            serde_json::to_vec_pretty(&record).map_err(|e| ExportError::Write(e.to_string()))?;
        self.files
            .put_bytes(
                &format!("{folder}manifest.json"),
                manifest,
                "application/json",
            )
            .await?;
        let audit = [AuditEntry {
            record: "segment".into(),
            record_id: record.segment_id.clone(),
            field: "export".into(),
            old: serde_json::Value::Null,
            new: serde_json::json!({
                "export_id": record.id,
                "contacts": record.contacts,
                "mailchimp_rows": mailchimp_rows,
                "requested_by": record.requested_by,
            }),
            actor: record.requested_by.clone(),
            at: now,
            source: format!("export:{}", record.id),
        }];
        self.store.save_export(&record, false, &audit).await?;
        Ok(record)
    }
}

/// Plays the segment schedules where EventBridge Scheduler does not run them (the local
/// stack): every segment whose schedule is due at `now` sends what its schedule would,
/// once per due time. Returns how many fired.
pub async fn play_segment_schedules<S: MarketingStore, Q: super::ports::ExportQueue>(
    store: &S,
    queue: &Q,
    now: DateTime<Utc>,
) -> Result<usize, ExportError> {
    let mut fired = 0;
    for segment in store.segments().await? {
        let Some(schedule) = &segment.schedule else {
            continue;
        };
        if !schedule.due(segment.last_scheduled_at, now) {
            continue;
        }
        let due = schedule.last_due(now);
        let mut updated = segment.clone();
        updated.last_scheduled_at = Some(due);
        updated.version += 1;
        // The segment remembers it fired first: a second player loses here.
        if store
            .save_segment(&updated, Some(segment.version), &[])
            .await?
        {
            queue.enqueue_scheduled(&segment.id, due).await?;
            fired += 1;
        }
    }
    Ok(fired)
}

/// The export a schedule asked for: one per segment and scheduled time (a repeated
/// delivery finds it), run like any other. `None` when the segment is gone.
pub async fn scheduled_export<S: MarketingStore, F: ExportFiles>(
    exporter: &Exporter<'_, S, F>,
    segment_id: &str,
    scheduled_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<ExportRecord>, ExportError> {
    let Some(segment) = exporter.store.segment(segment_id).await? else {
        return Ok(None);
    };
    let id = format!("{segment_id}-{}", scheduled_at.format("%Y%m%dT%H%MZ"));
    let record = ExportRecord::queued(id.clone(), &segment, "schedule", scheduled_at);
    exporter.store.save_export(&record, true, &[]).await?;
    Ok(Some(exporter.run(&id, now).await?))
}

/// How many counterparties a segment holds (counting stops at `cap`) and the first
/// `rows` of them.
#[derive(Debug, Clone, Default)]
pub struct Preview {
    pub count: usize,
    pub capped: bool,
    pub rows: Vec<ContactCard>,
}

/// Previews a segment: the same reading as an export, without the opt-out lookups.
pub async fn preview<S: MarketingStore>(
    store: &S,
    definition: &SegmentDefinition,
    rows: usize,
    cap: usize,
    now: DateTime<Utc>,
) -> Result<Preview, ExportError> {
    let mut preview = Preview::default();
    for_each_card(store, definition, now, false, |card, _| {
        preview.count += 1;
        if preview.rows.len() < rows {
            preview.rows.push(card.clone());
        }
        preview.capped = preview.count >= cap;
        Ok(!preview.capped)
    })
    .await?;
    Ok(preview)
}

/// The most tasks one segment request gives.
pub const MAX_SEGMENT_TASKS: usize = 5_000;

/// What a segment's call tasks came to.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct GivenTasks {
    pub created: usize,
    /// Given by an earlier request with the same id.
    pub existing: usize,
    /// Tasks per assignee: an employee id, or `heads:<department>`.
    pub by_assignee: BTreeMap<String, usize>,
}

/// A "Call client" task request for a whole segment.
#[derive(Debug, Clone)]
pub struct SegmentCalls {
    /// The client's id for the request: the same id twice gives the tasks once.
    pub request_id: String,
    pub title: String,
    pub note: Option<String>,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum SegmentTasksError {
    #[error("the segment holds more than {MAX_SEGMENT_TASKS} counterparties; narrow it")]
    TooMany,
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Gives every counterparty of the segment a "Call client" task: to its responsible
/// manager, or to the heads of its department when it has none.
pub async fn give_call_tasks<S: MarketingStore>(
    store: &S,
    definition: &SegmentDefinition,
    calls: &SegmentCalls,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<GivenTasks, SegmentTasksError> {
    let mut targets: Vec<(String, Option<String>, Option<Department>)> = Vec::new();
    let mut too_many = false;
    for_each_card(store, definition, now, false, |card, _| {
        if targets.len() == MAX_SEGMENT_TASKS {
            too_many = true;
            return Ok(false);
        }
        targets.push((
            card.party_id.clone(),
            card.manager_id.clone(),
            card.department,
        ));
        Ok(true)
    })
    .await?;
    if too_many {
        return Err(SegmentTasksError::TooMany);
    }
    let mut given = GivenTasks::default();
    for (party_id, manager_id, department) in targets {
        let (assignee, key) = match &manager_id {
            Some(manager) => (Assignee::Employee(manager.clone()), manager.clone()),
            None => (
                Assignee::Heads,
                format!("heads:{}", department.map_or("all", Department::code)),
            ),
        };
        let task = Task {
            party_id: Some(party_id.clone()),
            department,
            note: calls.note.clone(),
            created_by: actor.to_owned(),
            ..Task::open(
                format!("segment-call-{}-{party_id}", calls.request_id),
                TaskKind::CallClient,
                calls.title.clone(),
                assignee,
                calls.due_at,
                now,
                format!("segment-calls:{}", calls.request_id),
            )
        };
        if store.put_task_if_absent(&task).await? {
            given.created += 1;
            *given.by_assignee.entry(key).or_default() += 1;
        } else {
            given.existing += 1;
        }
    }
    Ok(given)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::tests::employee;
    use crate::memory::{MemoryFiles, MemoryStore};
    use chrono::Duration;
    use crm_domain::marketing::Segment;
    use crm_domain::marketing::segment::Activity;
    use crm_domain::marketing::unsubscribes::{OptOut, OptOutKind};
    use crm_domain::party::Channel;
    use crm_domain::staff::Role;

    fn now() -> DateTime<Utc> {
        "2026-11-29T10:00:00Z".parse().unwrap()
    }

    fn card(n: u32, department: Option<Department>, kind: CounterpartyKind) -> ContactCard {
        ContactCard {
            party_id: format!("p{n:03}"),
            kind,
            department,
            manager_id: department.map(|_| "m1".to_owned()),
            name: "Петров Игорь".into(),
            company: Some(format!("ООО «Завод №{n}», цех")),
            contact_name: None,
            emails: vec![format!("igor{n}@zavod.ru")],
            phones: vec![format!("+7912000{n:04}")],
            region: None,
            tags: vec![],
            deals: Default::default(),
            last_activity: Some(Activity {
                at: now() - Duration::days(3),
                channel: Channel::Email,
            }),
            created_at: now() - Duration::days(100),
        }
    }

    fn store() -> MemoryStore {
        let store = MemoryStore::default();
        store.add_employee(employee("m1", Role::Manager, Some(Department::High)));
        for n in 0..30 {
            let (department, kind) = match n % 3 {
                0 => (Some(Department::High), CounterpartyKind::Client),
                1 => (Some(Department::Thermal), CounterpartyKind::Lead),
                _ => (None, CounterpartyKind::Lead),
            };
            store.put_card(card(n, department, kind));
        }
        store
    }

    fn segment(definition: SegmentDefinition) -> Segment {
        Segment {
            id: "s1".into(),
            name: "Клиенты".into(),
            definition,
            schedule: None,
            last_scheduled_at: None,
            created_by: "mkt".into(),
            created_at: now(),
            updated_at: now(),
            version: 1,
        }
    }

    async fn export(
        store: &MemoryStore,
        files: &MemoryFiles,
        id: &str,
        definition: SegmentDefinition,
    ) -> ExportRecord {
        let record = ExportRecord::queued(id.into(), &segment(definition), "mkt", now());
        store.save_export(&record, true, &[]).await.unwrap();
        Exporter {
            store,
            files,
            scratch: std::env::temp_dir(),
        }
        .run(id, now())
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn an_export_writes_the_segment_and_leaves_out_who_opted_out() {
        let store = store();
        let files = MemoryFiles::default();
        let clients = SegmentDefinition {
            kinds: vec![CounterpartyKind::Client],
            ..SegmentDefinition::default()
        };
        let first = export(&store, &files, "e1", clients.clone()).await;
        assert_eq!(first.status, ExportStatus::Done);
        assert_eq!(first.contacts, 10);
        let names: Vec<&str> = first.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["mailchimp.csv", "mailchimp.xlsx", "telemarketing.xlsx"]
        );
        let csv = files.get(&first.files[0].key).unwrap();
        assert_eq!(first.files[0].sha256, crm_domain::kernel::sha256_hex(&csv));
        assert!(
            files
                .get(&format!("{}manifest.json", first.folder()))
                .is_some()
        );
        let text = String::from_utf8(csv.clone()).unwrap();
        assert_eq!(text.lines().count(), 11);
        assert!(
            text.contains("igor0@zavod.ru,Игорь,Петров,+7 912 000-00-00"),
            "{text}"
        );

        store
            .put_opt_outs(&[OptOut {
                email: "igor3@zavod.ru".into(),
                kind: OptOutKind::Unsubscribed,
                at: now(),
                reason: None,
                source: "test".into(),
            }])
            .await
            .unwrap();
        let second = export(&store, &files, "e2", clients).await;
        let again = String::from_utf8(files.get(&second.files[0].key).unwrap()).unwrap();
        assert!(!again.contains("igor3@"), "opted out");
        assert_eq!(
            again,
            text.lines()
                .filter(|l| !l.contains("igor3@"))
                .map(|l| format!("{l}\r\n"))
                .collect::<String>(),
            "the rest is byte for byte the same"
        );
        assert_eq!(second.contacts, 10, "the contact is still in the segment");
        let audit = store.audit_entries_of("segment", "s1");
        assert_eq!(audit.len(), 2);
        assert_eq!(audit[0].actor, "mkt");
    }

    #[tokio::test]
    async fn call_tasks_go_to_the_manager_or_the_heads_once_per_request() {
        let store = store();
        let calls = SegmentCalls {
            request_id: "r1".into(),
            title: "Позвонить: новая линейка".into(),
            note: None,
            due_at: now() + Duration::days(2),
        };
        let everyone = SegmentDefinition::default();
        let given = give_call_tasks(&store, &everyone, &calls, "mkt", now())
            .await
            .unwrap();
        assert_eq!(given.created, 30);
        assert_eq!(given.by_assignee["m1"], 20);
        assert_eq!(given.by_assignee["heads:all"], 10);
        let again = give_call_tasks(&store, &everyone, &calls, "mkt", now())
            .await
            .unwrap();
        assert_eq!((again.created, again.existing), (0, 30));
        assert_eq!(store.tasks().len(), 30);
    }

    #[tokio::test]
    async fn a_due_schedule_fires_once_and_its_export_runs_once() {
        use crate::memory::MemoryExportQueue;
        use chrono::{NaiveTime, Weekday};
        use crm_domain::marketing::export::{ExportSchedule, Frequency};
        let store = store();
        let mut weekly = segment(SegmentDefinition::default());
        weekly.schedule = Some(ExportSchedule {
            frequency: Frequency::Weekly,
            weekday: Some(Weekday::Fri),
            time: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        });
        store.save_segment(&weekly, None, &[]).await.unwrap();
        let queue = MemoryExportQueue::default();
        // Sunday 29 November: Friday the 27th at 09:00 Moscow was due.
        assert_eq!(
            play_segment_schedules(&store, &queue, now()).await.unwrap(),
            1
        );
        assert_eq!(
            play_segment_schedules(&store, &queue, now()).await.unwrap(),
            0,
            "once"
        );
        let sent = queue.sent();
        assert_eq!(sent[0]["scheduled_at"], "2026-11-27T06:00:00Z");

        let files = MemoryFiles::default();
        let exporter = Exporter {
            store: &store,
            files: &files,
            scratch: std::env::temp_dir(),
        };
        let at: DateTime<Utc> = "2026-11-27T06:00:00Z".parse().unwrap();
        let first = scheduled_export(&exporter, "s1", at, now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.id, "s1-20261127T0600Z");
        assert_eq!(first.requested_by, "schedule");
        let keys = files.keys().len();
        let again = scheduled_export(&exporter, "s1", at, now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again, first, "a repeated delivery runs nothing again");
        assert_eq!(files.keys().len(), keys);
        assert!(
            scheduled_export(&exporter, "gone", at, now())
                .await
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_definition_reads_only_the_partitions_it_needs() {
        assert_eq!(partitions(&SegmentDefinition::default()).len(), 12);
        let narrow = SegmentDefinition {
            departments: vec![Department::High],
            kinds: vec![CounterpartyKind::Client],
            ..SegmentDefinition::default()
        };
        assert_eq!(
            partitions(&narrow),
            [(Some(Department::High), CounterpartyKind::Client)]
        );
    }
}
