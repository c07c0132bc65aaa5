//! Marketing: saved segments and their previews, exports (queued for the exports
//! function, answered 202; their files handed out by 15-minute links), "Call client"
//! tasks for a whole segment, tags on counterparties, and addresses opted out of
//! mailing (one by hand, or a Mailchimp file). Only marketers, heads and admins; every
//! export is audited by the exports function.

use crate::{Api, ApiError, Caller, json, valid_id};
use chrono::{DateTime, Utc};
use crm_domain::kernel::audit::{audit_entries, created_entry};
use crm_domain::kernel::new_id;
use crm_domain::marketing::export::ExportStatus;
use crm_domain::marketing::mailchimp::{dial_format, split_name};
use crm_domain::marketing::unsubscribes::{OptOut, OptOutKind, read_mailchimp};
use crm_domain::marketing::{
    ContactCard, ExportRecord, ExportSchedule, Segment, SegmentDefinition,
};
use crm_domain::party::EmailAddress;
use crm_shared::marketing::exports::{
    ExportError, SegmentCalls, SegmentTasksError, give_call_tasks, preview,
};
use crm_shared::marketing::ports::{ExportQueue, MarketingStore, SegmentSchedules};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Rows a preview shows.
const PREVIEW_ROWS: usize = 20;
/// Cards a preview counts at most (beyond, it says "more than").
const PREVIEW_COUNT_CAP: usize = 100_000;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SegmentRequest {
    name: String,
    #[serde(default)]
    definition: SegmentDefinition,
    #[serde(default)]
    schedule: Option<ExportSchedule>,
    /// The version read, to change a segment.
    #[serde(default)]
    version: Option<u64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct CallTasksRequest {
    request_id: String,
    title: String,
    #[serde(default)]
    note: Option<String>,
    due_at: DateTime<Utc>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct OptOutRequest {
    email: String,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct MailchimpImportRequest {
    /// The file's name, for the record.
    filename: String,
    /// The CSV as exported by Mailchimp (larger files: put them under
    /// `imports/mailchimp/` in the exports bucket).
    csv: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct TagsRequest {
    tags: Vec<String>,
}

fn refused(reason: &str, fields: Vec<String>) -> ApiError {
    ApiError::missing(reason.to_owned(), fields)
}

/// The segment deleted.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Deleted {
    deleted: String,
}

/// An export queued (202): poll `GET /api/exports/{export_id}`.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ExportQueued {
    export_id: String,
    status: ExportStatus,
}

/// A Mailchimp file read: addresses recorded as opted out, rows skipped.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct OptOutsImported {
    recorded: usize,
    skipped: usize,
}

/// A counterparty's tags as they are now.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Tagged {
    party_id: String,
    tags: Vec<String>,
}

/// A segment with its recent exports, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SegmentAnswer {
    segment: Segment,
    exports: Vec<ExportRecord>,
}

/// An export and, once it is done, a 15-minute link to each file and to the manifest.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ExportAnswer {
    export: ExportRecord,
    links: BTreeMap<String, String>,
}

/// A card as a preview shows it: the columns of the export.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct PreviewRow {
    party_id: String,
    kind: crm_domain::party::CounterpartyKind,
    department: Option<crm_domain::kernel::Department>,
    name: String,
    first_name: String,
    last_name: String,
    company: Option<String>,
    emails: Vec<String>,
    /// As dialled: `+7 912 345-67-89`.
    phones: Vec<String>,
    open_deal: Option<crm_domain::marketing::segment::OpenDeal>,
    last_activity: Option<crm_domain::marketing::segment::Activity>,
}

impl PreviewRow {
    fn of(card: &ContactCard) -> Self {
        let (first_name, last_name) =
            split_name(card.contact_name.as_deref().unwrap_or(&card.name));
        Self {
            party_id: card.party_id.clone(),
            kind: card.kind,
            department: card.department,
            name: card.name.clone(),
            first_name,
            last_name,
            company: card.company.clone(),
            emails: card.emails.clone(),
            phones: card.phones.iter().map(|p| dial_format(p)).collect(),
            open_deal: card.open_deal(),
            last_activity: card.last_activity.clone(),
        }
    }
}

/// A segment's preview: how many cards it holds (`capped`: at least that many) and the
/// first rows.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct PreviewAnswer {
    count: usize,
    capped: bool,
    rows: Vec<PreviewRow>,
}

impl Api {
    async fn load_segment(&self, id: &str) -> Result<Segment, ApiError> {
        self.store
            .segment(id)
            .await?
            .ok_or_else(ApiError::not_found)
    }

    /// Makes the segment's EventBridge schedule what the segment says. The segment is
    /// saved first: when this fails the answer says so, and saving again sets it.
    async fn sync_schedule(
        &self,
        segment_id: &str,
        schedule: Option<&ExportSchedule>,
    ) -> Result<(), ApiError> {
        let synced = match schedule {
            Some(schedule) => self.schedules.put(segment_id, schedule).await,
            None => self.schedules.remove(segment_id).await,
        };
        synced.map_err(|e| {
            tracing::error!(error = %e, "segment schedule not set");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the segment is saved, its schedule is not; save it again shortly",
            )
        })
    }

    pub(crate) async fn list_segments(&self) -> Result<Response<Body>, ApiError> {
        let segments = self.store.segments().await?;
        Ok(json(
            StatusCode::OK,
            &serde_json::json!({ "items": segments }),
        ))
    }

    pub(crate) async fn get_segment(&self, id: &str) -> Result<Response<Body>, ApiError> {
        let segment = self.load_segment(id).await?;
        let exports = self.store.exports_of(id).await?;
        Ok(json(StatusCode::OK, &SegmentAnswer { segment, exports }))
    }

    /// Creates (`id` None) or replaces a segment.
    pub(crate) async fn save_segment(
        &self,
        caller: &Caller,
        id: Option<&str>,
        request: SegmentRequest,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let now = Utc::now();
        let old = match id {
            Some(id) => Some(self.load_segment(id).await?),
            None => None,
        };
        if let Some(old) = &old
            && request.version != Some(old.version)
        {
            return Err(ApiError::conflict(format!(
                "the segment is at version {}; read it again",
                old.version
            )));
        }
        let segment = Segment {
            id: old.as_ref().map_or_else(new_id, |o| o.id.clone()),
            name: request.name.trim().to_owned(),
            definition: request.definition,
            schedule: request.schedule,
            last_scheduled_at: old.as_ref().and_then(|o| o.last_scheduled_at),
            created_by: old
                .as_ref()
                .map_or_else(|| caller.id().to_owned(), |o| o.created_by.clone()),
            created_at: old.as_ref().map_or(now, |o| o.created_at),
            updated_at: now,
            version: old.as_ref().map_or(1, |o| o.version + 1),
        };
        let problems = segment.problems();
        if !problems.is_empty() {
            return Err(refused("the segment has fields out of range", problems));
        }
        let audit = match &old {
            Some(old) => audit_entries(
                "segment",
                &segment.id,
                Some(old),
                &segment,
                caller.id(),
                source,
                now,
            ),
            None => vec![created_entry(
                "segment",
                &segment.id,
                &segment,
                caller.id(),
                source,
                now,
            )],
        };
        if !self
            .store
            .save_segment(&segment, old.as_ref().map(|o| o.version), &audit)
            .await?
        {
            return Err(ApiError::conflict(
                "the segment changed meanwhile; read it again",
            ));
        }
        self.sync_schedule(&segment.id, segment.schedule.as_ref())
            .await?;
        let status = if old.is_some() {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        Ok(json(status, &segment))
    }

    pub(crate) async fn delete_segment(
        &self,
        caller: &Caller,
        id: &str,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let old = self.load_segment(id).await?;
        let audit = audit_entries::<Segment>(
            "segment",
            id,
            Some(&old),
            &old,
            caller.id(),
            source,
            Utc::now(),
        );
        if !self.store.delete_segment(id, &audit).await? {
            return Err(ApiError::not_found());
        }
        self.sync_schedule(id, None).await?;
        Ok(json(
            StatusCode::OK,
            &Deleted {
                deleted: id.to_owned(),
            },
        ))
    }

    /// How many counterparties the segment holds, and the first of them.
    pub(crate) async fn preview_segment(&self, id: &str) -> Result<Response<Body>, ApiError> {
        let segment = self.load_segment(id).await?;
        let found = preview(
            &self.store,
            &segment.definition,
            PREVIEW_ROWS,
            PREVIEW_COUNT_CAP,
            Utc::now(),
        )
        .await
        .map_err(|error| match error {
            ExportError::Store(error) => ApiError::from(error),
            other => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                other.to_string(),
            ),
        })?;
        Ok(json(
            StatusCode::OK,
            &PreviewAnswer {
                count: found.count,
                capped: found.capped,
                rows: found.rows.iter().map(PreviewRow::of).collect(),
            },
        ))
    }

    /// Queues an export of the segment: 202 with its id.
    pub(crate) async fn export_segment(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Response<Body>, ApiError> {
        let segment = self.load_segment(id).await?;
        let record = ExportRecord::queued(new_id(), &segment, caller.id(), Utc::now());
        self.store.save_export(&record, true, &[]).await?;
        self.exports_queue.enqueue(&record.id).await.map_err(|e| {
            tracing::error!(error = %e, "export not queued");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the export could not be queued; try again shortly",
            )
        })?;
        Ok(json(
            StatusCode::ACCEPTED,
            &ExportQueued {
                export_id: record.id,
                status: record.status,
            },
        ))
    }

    /// An export's state; when done, a 15-minute link to each file and the manifest.
    pub(crate) async fn get_export(&self, id: &str) -> Result<Response<Body>, ApiError> {
        let record = self
            .store
            .export(id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let mut links = BTreeMap::new();
        if record.status == ExportStatus::Done {
            for file in &record.files {
                let url = self
                    .presigned_in(&self.config.exports_bucket, &file.key)
                    .await?;
                links.insert(file.name.clone(), url);
            }
            let manifest = format!("{}manifest.json", record.folder());
            let url = self
                .presigned_in(&self.config.exports_bucket, &manifest)
                .await?;
            links.insert("manifest.json".into(), url);
        }
        Ok(json(
            StatusCode::OK,
            &ExportAnswer {
                export: record,
                links,
            },
        ))
    }

    pub(crate) async fn segment_call_tasks(
        &self,
        caller: &Caller,
        id: &str,
        request: CallTasksRequest,
    ) -> Result<Response<Body>, ApiError> {
        let segment = self.load_segment(id).await?;
        let request_id = valid_id(&request.request_id)
            .map_err(|_| {
                refused(
                    "request_id: letters, digits and '-', up to 80",
                    vec!["request_id".into()],
                )
            })?
            .to_owned();
        let title = request.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(refused(
                "a title of 1 to 200 characters",
                vec!["title".into()],
            ));
        }
        if request
            .note
            .as_deref()
            .is_some_and(|n| n.chars().count() > 1000)
        {
            return Err(refused(
                "the note is over 1000 characters",
                vec!["note".into()],
            ));
        }
        let calls = SegmentCalls {
            request_id,
            title: title.to_owned(),
            note: request.note,
            due_at: request.due_at,
        };
        match give_call_tasks(
            &self.store,
            &segment.definition,
            &calls,
            caller.id(),
            Utc::now(),
        )
        .await
        {
            Ok(given) => Ok(json(StatusCode::OK, &given)),
            Err(SegmentTasksError::TooMany) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "too_many",
                SegmentTasksError::TooMany.to_string(),
            )),
            Err(SegmentTasksError::Store(error)) => Err(error.into()),
            Err(SegmentTasksError::Export(error)) => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                error.to_string(),
            )),
        }
    }

    pub(crate) async fn mark_opt_out(
        &self,
        caller: &Caller,
        request: OptOutRequest,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let email = EmailAddress::parse(&request.email)
            .ok_or_else(|| refused("not an email address", vec!["email".into()]))?;
        let out = OptOut {
            email: email.as_str().to_lowercase(),
            kind: OptOutKind::Marked,
            at: Utc::now(),
            reason: request
                .reason
                .map(|r| r.chars().take(200).collect::<String>()),
            source: format!("{source} by {}", caller.id()),
        };
        self.store.put_opt_outs(std::slice::from_ref(&out)).await?;
        Ok(json(StatusCode::CREATED, &out))
    }

    pub(crate) async fn import_opt_outs(
        &self,
        caller: &Caller,
        request: MailchimpImportRequest,
    ) -> Result<Response<Body>, ApiError> {
        let name: String = request.filename.chars().take(200).collect();
        let imported = read_mailchimp(
            request.csv.as_bytes(),
            &format!("mailchimp:{name} by {}", caller.id()),
            Utc::now(),
        )
        .map_err(|e| refused(&e.to_string(), vec!["csv".into()]))?;
        let recorded = self.store.put_opt_outs(&imported.opt_outs).await?;
        Ok(json(
            StatusCode::OK,
            &OptOutsImported {
                recorded,
                skipped: imported.skipped,
            },
        ))
    }

    pub(crate) async fn set_tags(
        &self,
        party_id: &str,
        request: TagsRequest,
    ) -> Result<Response<Body>, ApiError> {
        // Marketing tags the whole contact base (the route is theirs and the heads').
        let mut tags: Vec<String> = Vec::new();
        for (index, tag) in request.tags.iter().enumerate() {
            let tag = tag.trim();
            if tag.is_empty() || tag.chars().count() > 100 {
                return Err(refused(
                    "a tag is 1 to 100 characters",
                    vec![format!("tags[{index}]")],
                ));
            }
            if !tags.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
                tags.push(tag.to_owned());
            }
        }
        if tags.len() > 50 {
            return Err(refused("at most 50 tags", vec!["tags".into()]));
        }
        if !self.store.set_card_tags(party_id, &tags).await? {
            return Err(ApiError::conflict(
                "this counterparty has no contact card yet",
            ));
        }
        Ok(json(
            StatusCode::OK,
            &Tagged {
                party_id: party_id.to_owned(),
                tags,
            },
        ))
    }
}
