//! Reads: inquiries (a manager sees their own, a head their department's and the
//! unrouted), counterparties, a counterparty with its contacts (or only its name and owner
//! when it is someone else's), its correspondence timeline.

use crate::{Api, ApiError, Caller, Query, json};
use crm_domain::intake::{Inquiry, InquiryKind, InquiryStatus, Interaction};
use crm_domain::kernel::audit::AuditEntry;
use crm_domain::party::search::read_query;
use crm_domain::party::{Channel, ContactPerson, ContactPoint, Counterparty, CounterpartyKind};
use crm_domain::staff::Role;
use crm_shared::adapters::{ContactEditOutcome, CounterpartyDetail};
use crm_shared::adapters::{InquiryFilter, Page};
use crm_shared::intake::ports::CallRecord;
use crm_shared::ports::Directory;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

/// An inquiry as listed: how long it has waited is what the heads watch; a call's, the
/// call.
#[derive(Serialize)]
struct ListedInquiry<'a> {
    #[serde(flatten)]
    inquiry: &'a Inquiry,
    age_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    call: Option<CallSummary>,
}

/// A counterparty within the caller's scope: its contacts, deals and tags, and which of
/// its addresses and numbers an unauthenticated source proposed and nobody confirmed yet
/// (they tie messages to it, never name it on the PBX, until staff confirm them).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CounterpartyCard {
    #[serde(flatten)]
    detail: CounterpartyDetail,
    unconfirmed: Vec<ContactPoint>,
}

impl<'a> ListedInquiry<'a> {
    fn of(inquiry: &'a Inquiry, calls: &[CallRecord], now: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            inquiry,
            age_seconds: (now - inquiry.received_at).num_seconds().max(0),
            call: CallSummary::for_event(calls, &inquiry.source.event_key),
        }
    }
}

impl Api {
    pub(crate) async fn list_inquiries(
        &self,
        caller: &Caller,
        query: &Query,
    ) -> Result<Response<Body>, ApiError> {
        let filter = InquiryFilter {
            status: query.code(
                "status",
                InquiryStatus::from_code,
                "unrouted, routed, qualified, not_a_lead",
            )?,
            kind: query.code(
                "kind",
                InquiryKind::from_code,
                "jivo_chat, site_form, manual, call",
            )?,
            channel: query.code("channel", Channel::from_code, "email, phone, chat, form")?,
            manager_id: (caller.role() == Role::Manager).then(|| caller.id().to_owned()),
            department: (caller.role() == Role::Head)
                .then(|| caller.department())
                .flatten(),
            oldest_first: match query.get("sort") {
                None | Some("-received") => false,
                Some("received") => true,
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "sort must be received (the longest waiting first) or -received",
                    ));
                }
            },
        };
        let binding = query.binding("inquiries", caller);
        let cursor = self.list_cursor(query, &binding)?;
        let page = self
            .store
            .list_inquiries(&filter, query.limit()?, cursor.as_ref())
            .await?;
        let page = self.sealed(page, &binding);
        let calls = self
            .calls_of(page.items.iter().map(|i| i.source.event_key.as_str()))
            .await?;
        let now = chrono::Utc::now();
        let listed = Page {
            items: page
                .items
                .iter()
                .map(|inquiry| ListedInquiry::of(inquiry, &calls, now))
                .collect(),
            next_cursor: page.next_cursor.clone(),
        };
        Ok(json(StatusCode::OK, &listed))
    }

    /// One inquiry within the caller's scope, as the list shows it (the qualification
    /// form opens it by id, however long the list).
    pub(crate) async fn get_inquiry(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Response<Body>, ApiError> {
        let inquiry = self.visible_inquiry(caller, id).await?;
        let calls = self
            .calls_of(std::iter::once(inquiry.source.event_key.as_str()))
            .await?;
        let listed = ListedInquiry::of(&inquiry, &calls, chrono::Utc::now());
        Ok(json(StatusCode::OK, &listed))
    }

    pub(crate) async fn list_counterparties(
        &self,
        caller: &Caller,
        query: &Query,
    ) -> Result<Response<Body>, ApiError> {
        let kind = query.code("kind", CounterpartyKind::from_code, "lead, client, partner")?;
        if let Some(text) = query.get("q") {
            // A search: an address, a phone in any written form, or word starts of the
            // name or company; one page, names and owners only (as the list shows them).
            if text.chars().count() > 200 {
                return Err(ApiError::bad_request("q is at most 200 characters"));
            }
            let wanted = read_query(text).ok_or_else(|| {
                ApiError::bad_request("q needs an address, a phone or at least two letters")
            })?;
            let mut found = self
                .store
                .search_counterparties(&wanted, query.limit()?)
                .await?;
            found.retain(|party| kind.is_none_or(|k| party.kind == k));
            let found = outsiders_see_names(caller, found);
            return Ok(json(
                StatusCode::OK,
                &serde_json::json!({ "items": found, "next_cursor": null }),
            ));
        }
        let binding = query.binding("counterparties", caller);
        let cursor = self.list_cursor(query, &binding)?;
        let mut page = self
            .store
            .list_counterparties(kind, query.limit()?, cursor.as_ref())
            .await?;
        page.items = outsiders_see_names(caller, page.items);
        Ok(json(StatusCode::OK, &self.sealed(page, &binding)))
    }

    /// A counterparty with its contacts; when it is outside the caller's scope, its name
    /// and owner only (so a manager sees the client is taken).
    pub(crate) async fn counterparty(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Response<Body>, ApiError> {
        let detail = self
            .store
            .counterparty_detail(id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let party = &detail.counterparty;
        if caller.actor.sees_contacts(party.owner()) {
            let points: Vec<ContactPoint> = detail
                .contacts
                .iter()
                .flat_map(ContactPerson::points)
                .collect();
            let unconfirmed = self.store.unconfirmed_points(id, &points).await?;
            return Ok(json(
                StatusCode::OK,
                &CounterpartyCard {
                    detail,
                    unconfirmed,
                },
            ));
        }
        Ok(json(
            StatusCode::OK,
            &serde_json::json!({
                "id": party.id,
                "kind": party.kind,
                "name": party.name_for_outsiders(),
                "company": party.company,
                "responsible_manager_id": party.responsible_manager_id,
                "department": party.department,
                "contacts_hidden": true,
            }),
        ))
    }

    /// The call records behind these events (`call#<linkedid>`), in one round trip; none
    /// asked for when no event is a call.
    async fn calls_of<'e>(
        &self,
        event_keys: impl Iterator<Item = &'e str>,
    ) -> Result<Vec<CallRecord>, ApiError> {
        let linkedids: Vec<String> = event_keys
            .filter_map(|key| key.strip_prefix("call#"))
            .map(str::to_owned)
            .collect();
        if linkedids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.store.calls(&linkedids).await?)
    }

    /// A counterparty within the caller's scope: 404 when there is none, 403 when it is
    /// someone else's.
    pub(crate) async fn visible_counterparty(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Counterparty, ApiError> {
        let party = self
            .store
            .counterparty(id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        caller.check_sees(party.owner(), "counterparty")?;
        Ok(party)
    }

    /// A counterparty with its contacts (one Query), within the caller's scope.
    pub(crate) async fn visible_detail(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<CounterpartyDetail, ApiError> {
        let detail = self
            .store
            .counterparty_detail(id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        caller.check_sees(detail.counterparty.owner(), "counterparty")?;
        Ok(detail)
    }

    /// An inquiry within the caller's scope (managers: routed to them; heads: their
    /// department's and the unrouted).
    pub(crate) async fn visible_inquiry(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Inquiry, ApiError> {
        let inquiry = self
            .store
            .inquiry(id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        caller.check_sees(inquiry.owner(), "inquiry")?;
        Ok(inquiry)
    }

    /// The correspondence of a counterparty within the caller's scope.
    pub(crate) async fn timeline(
        &self,
        caller: &Caller,
        id: &str,
        query: &Query,
    ) -> Result<Response<Body>, ApiError> {
        self.visible_counterparty(caller, id).await?;
        let binding = query.binding(&format!("timeline/{id}"), caller);
        let cursor = self.list_cursor(query, &binding)?;
        let page = self
            .store
            .timeline(id, query.limit()?, cursor.as_ref())
            .await?;
        // A call's entry shows the call: who answered, for how long, the recording.
        let calls = self
            .calls_of(page.items.iter().map(|e| e.source.event_key.as_str()))
            .await?;
        let page = self.sealed(page, &binding);
        let mut items: Vec<TimelineEntry<'_>> = Vec::with_capacity(page.items.len());
        for entry in &page.items {
            // A 15-minute link to each attachment (signed here: no round trip), in the
            // order of `attachments`; the caller may see the counterparty, so its mail.
            let mut attachment_urls = Vec::with_capacity(entry.content.attachments.len());
            for attachment in &entry.content.attachments {
                attachment_urls.push(self.presigned(&attachment.key).await?);
            }
            items.push(TimelineEntry {
                entry,
                call: CallSummary::for_event(&calls, &entry.source.event_key),
                attachment_urls,
            });
        }
        Ok(json(
            StatusCode::OK,
            &serde_json::json!({ "items": items, "next_cursor": page.next_cursor }),
        ))
    }

    /// A head or the responsible manager confirms a contact point an unauthenticated
    /// source proposed (it then names the client on the PBX and decides matches), or
    /// rejects it (it is removed from the client).
    pub(crate) async fn decide_contact_point(
        &self,
        caller: &Caller,
        id: &str,
        request: PointDecision,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let confirm = match request.decision.as_str() {
            "confirm" => true,
            "reject" => false,
            _ => return Err(ApiError::bad_request("decision must be confirm or reject")),
        };
        if let ContactPoint::Phone(e164) = &request.point
            && !is_e164(e164)
        {
            return Err(ApiError::missing(
                "a phone point is written in E.164: + and 8 to 15 digits",
                vec!["point.value".into()],
            ));
        }
        let detail = self.visible_detail(caller, id).await?;
        let party = &detail.counterparty;
        let audit = vec![AuditEntry {
            record: "counterparty".to_owned(),
            record_id: party.id.clone(),
            field: "contact_points".to_owned(),
            old: serde_json::json!(request.point.key()),
            new: serde_json::json!(if confirm { "confirmed" } else { "rejected" }),
            actor: caller.id().to_owned(),
            at: chrono::Utc::now(),
            source: source.to_owned(),
        }];
        // A rejected point leaves the contact that lists it too, in the same transaction:
        // else the next edit of the client's contacts would put it back on its card.
        let listing = detail
            .contacts
            .iter()
            .find_map(|contact| Some((contact, contact.without(&request.point)?)));
        if let (false, Some((contact, without))) = (confirm, listing) {
            let others: Vec<ContactPerson> = detail
                .contacts
                .iter()
                .filter(|c| c.id != contact.id)
                .cloned()
                .collect();
            return match self
                .store
                .edit_contact(contact, &without, &others, &audit)
                .await?
            {
                ContactEditOutcome::Written => Ok(json(StatusCode::OK, &request)),
                _ => Err(ApiError::conflict(
                    "the client's contacts changed meanwhile; read them again",
                )),
            };
        }
        if !self
            .store
            .decide_contact_point(&party.id, &request.point, confirm, &audit)
            .await?
        {
            return Err(ApiError::not_found());
        }
        Ok(json(StatusCode::OK, &request))
    }
}

/// The parties as `caller` may see them: the name of one whose contacts are not theirs
/// to see is never its address or number.
fn outsiders_see_names(caller: &Caller, parties: Vec<Counterparty>) -> Vec<Counterparty> {
    parties
        .into_iter()
        .map(|mut party| {
            if !caller.actor.sees_contacts(party.owner()) {
                party.name = party.name_for_outsiders();
            }
            party
        })
        .collect()
}

/// `+` and 8 to 15 digits, as contact points keep phones.
fn is_e164(text: &str) -> bool {
    text.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// A decision on a contact point: `{"point": {"type": "phone", "value": "+7…"},
/// "decision": "confirm" | "reject"}`.
#[derive(serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct PointDecision {
    point: ContactPoint,
    decision: String,
}

/// A history entry as the timeline shows it: a call's entry with its call.
#[derive(Serialize)]
struct TimelineEntry<'a> {
    #[serde(flatten)]
    entry: &'a Interaction,
    #[serde(skip_serializing_if = "Option::is_none")]
    call: Option<CallSummary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachment_urls: Vec<String>,
}

/// What a manager wants to know of a call.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CallSummary {
    answered_by: Option<String>,
    answered_by_extension: Option<String>,
    started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Seconds from the answer to the end (talk time); absent when not answered.
    talk_seconds: Option<i64>,
    missed: bool,
    /// The recording's path on the PBX.
    recording: Option<String>,
}

impl CallSummary {
    /// The summary of the call behind an event, when it is a call's.
    fn for_event(calls: &[CallRecord], event_key: &str) -> Option<Self> {
        let linkedid = event_key.strip_prefix("call#")?;
        calls.iter().find(|c| c.linkedid == linkedid).map(Self::of)
    }

    fn of(call: &CallRecord) -> Self {
        Self {
            answered_by: call.answered_by.clone(),
            answered_by_extension: call.answered_by_ext.clone(),
            started_at: call.started_at,
            talk_seconds: call
                .answered_at
                .zip(call.ended_at)
                .map(|(answered, ended)| (ended - answered).num_seconds().max(0)),
            missed: call.missed(),
            recording: call.recording.clone(),
        }
    }
}
