//! The sales process over the API: heads route inquiries; the assigned manager qualifies
//! them (a deal, or "not a lead" with a reason); deals are edited and moved through their
//! stages by the stage machine of `crm_domain::sales::deal`; the commercial proposal is
//! generated, stored, linked and handed out by a short-lived link; every change leaves an
//! audit trail and a deal event.

use crate::{Api, ApiError, Caller, Query, json, valid_id};
use chrono::Utc;
use crm_domain::intake::NotALeadReason;
use crm_domain::kernel::Department;
use crm_domain::kernel::audit::diff;
use crm_domain::sales::proposal::{commercial_proposal, proposal_number};
use crm_domain::sales::{
    Deal, DealEdit, DealEventKind, DealItem, DealStage, DealTerms, DocumentRef, EditRefusal,
    NextMove, Refusal, check_transition, next_moves, next_stages,
};
use crm_domain::staff::{Capability, Role};
use crm_shared::adapters::dynamo::DealScope;
use crm_shared::orders::ports::OrderStore;
use crm_shared::sales::deals::DealSaveError;
use crm_shared::sales::ports::DealWrite;
use crm_shared::sales::qualification::{Qualified, Qualifier, QualifyAs, QualifyError};
use crm_shared::sales::routing::{RouteInquiries, Routing, RoutingError};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Deserialize;

/// The longest reason a head gives for routing.
const MAX_REASON_CHARS: usize = 500;

/// Inquiries to route to a department and its manager, with an optional reason.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RouteRequest {
    #[schema(min_items = 1, max_items = 100)]
    inquiry_ids: Vec<String>,
    department: Department,
    manager_id: String,
    #[serde(default)]
    reason: Option<String>,
}

/// The outcome of first processing, and the inquiry's version the caller read (optional:
/// when given and stale, 409).
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct QualifyBody {
    #[serde(flatten)]
    outcome: QualifyRequest,
    #[serde(default)]
    version: Option<u64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(crate) enum QualifyRequest {
    Deal {
        deal: Box<DealTerms>,
    },
    NotALead {
        reason: String,
        #[serde(default)]
        comment: Option<String>,
    },
}

/// Fields a deal edit may set; absent fields stay as they are.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct EditRequest {
    version: u64,
    #[serde(flatten)]
    edit: DealEdit,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct StageRequest {
    version: u64,
    to: String,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct VersionRequest {
    version: u64,
}

fn save_error(error: DealSaveError) -> ApiError {
    match error {
        DealSaveError::Conflict(version) => ApiError::conflict(format!(
            "the deal changed after version {version}; read it again and repeat the change"
        )),
        DealSaveError::Store(e) => e.into(),
    }
}

fn refused(refusal: Refusal) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "transition_refused",
        "the deal cannot move there now",
    )
    .with_details(serde_json::json!({ "refusal": refusal }))
}

/// A deal as its card shows it: the stages it may move to next and, for whoever may read
/// orders, its customer order with production, supply and shipments.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct DealAnswer {
    deal: Deal,
    next_stages: Vec<DealStage>,
    /// The same stages, each with what the deal still lacks for it.
    next: Vec<NextMove>,
    order: Option<crm_domain::orders::OrderBook>,
}

/// The deal with its new proposal, and a 15-minute link to download it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ProposalAnswer {
    deal: Deal,
    document: DocumentRef,
    url: String,
}

/// A deal's document and a link to download it, valid for `expires_in` seconds.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct DocumentLink {
    document: DocumentRef,
    url: String,
    expires_in: u32,
}

impl Api {
    /// Saves `new` as the next version of `old`, with its audit and event.
    pub(crate) async fn commit(
        &self,
        caller: &Caller,
        old: &Deal,
        mut new: Deal,
        kind: DealEventKind,
        source: &str,
    ) -> Result<Deal, ApiError> {
        new.version = old.version + 1;
        new.updated_at = Utc::now();
        self.relay
            .save(
                Some(old),
                &new,
                kind,
                caller.id(),
                source,
                DealWrite::default(),
            )
            .await
            .map_err(save_error)?;
        Ok(new)
    }

    /// Routes one or many inquiries to a department and a manager (heads only).
    pub(crate) async fn route_inquiries(
        &self,
        caller: &Caller,
        request: RouteRequest,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        if request.inquiry_ids.is_empty() || request.inquiry_ids.len() > 100 {
            return Err(ApiError::bad_request(
                "inquiry_ids must list 1 to 100 inquiries",
            ));
        }
        let mut wrong: Vec<String> = request
            .inquiry_ids
            .iter()
            .enumerate()
            .filter(|(_, id)| valid_id(id).is_err())
            .map(|(index, _)| format!("inquiry_ids[{index}]"))
            .collect();
        if valid_id(&request.manager_id).is_err() {
            wrong.push("manager_id".into());
        }
        if request
            .reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
        {
            wrong.push("reason".into());
        }
        if !wrong.is_empty() {
            return Err(ApiError::missing(
                format!(
                    "ids are letters, digits and dashes; a reason is up to {MAX_REASON_CHARS} characters"
                ),
                wrong,
            ));
        }
        let command = RouteInquiries {
            inquiry_ids: request.inquiry_ids,
            department: request.department,
            manager_id: request.manager_id,
            reason: request.reason,
        };
        let routing = Routing {
            store: &self.store,
            first_response_hours: self.config.first_response_hours,
        };
        let report = routing
            .route(&command, &caller.actor, source, Utc::now())
            .await
            .map_err(|error| match error {
                RoutingError::Assignee(refusal) => {
                    ApiError::missing(refusal.to_string(), vec![refusal.field().to_owned()])
                }
                RoutingError::Store(e) => e.into(),
            })?;
        Ok(json(StatusCode::OK, &report))
    }

    /// Records the outcome of first processing.
    pub(crate) async fn qualify(
        &self,
        caller: &Caller,
        id: &str,
        request: QualifyBody,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let old = self.visible_inquiry(caller, id).await?;
        if let Some(version) = request.version
            && version != old.version
        {
            return Err(ApiError::conflict(format!(
                "the inquiry is at version {}, not {version}; read it again",
                old.version
            )));
        }
        let outcome = match request.outcome {
            QualifyRequest::NotALead { reason, comment } => {
                if let Err(refusal) = old.check_qualifiable() {
                    return Err(ApiError::conflict(refusal.to_string()));
                }
                let reason = NotALeadReason::from_code(&reason).ok_or_else(|| {
                    ApiError::bad_request("reason must be one of spam, mistake, no_interest")
                })?;
                QualifyAs::NotALead { reason, comment }
            }
            QualifyRequest::Deal { deal } => {
                self.check_articles(&deal.items).await?;
                QualifyAs::Deal(deal)
            }
        };
        let qualifier = Qualifier { relay: &self.relay };
        match qualifier
            .qualify(&old, outcome, caller.id(), source, Utc::now())
            .await
        {
            Ok(Qualified::NotALead(inquiry)) => Ok(json(StatusCode::OK, &inquiry)),
            Ok(Qualified::Deal(deal)) => Ok(json(StatusCode::CREATED, &deal)),
            Err(QualifyError::Refused(refusal)) => Err(ApiError::conflict(refusal.to_string())),
            Err(QualifyError::Missing(missing)) => Err(ApiError::missing(
                "a deal needs the client's needs, legal entity and contact",
                missing,
            )),
            Err(QualifyError::NoCounterparty) => Err(ApiError::not_found()),
            Err(QualifyError::Conflict) => Err(ApiError::conflict("the inquiry changed meanwhile")),
            Err(QualifyError::Store(e)) => Err(e.into()),
        }
    }

    pub(crate) async fn list_deals(
        &self,
        caller: &Caller,
        query: &Query,
    ) -> Result<Response<Body>, ApiError> {
        let asked = query.code(
            "department",
            Department::from_code,
            "high, industrial, thermal",
        )?;
        let scope = match caller.role() {
            Role::Manager => DealScope::Manager(caller.id().to_owned()),
            Role::Head => match (caller.department(), asked) {
                (Some(own), Some(other)) if own != other => {
                    return Err(ApiError::forbidden(
                        "a head sees the deals of their own department",
                    ));
                }
                (Some(own), _) => DealScope::Department(own),
                (None, Some(department)) => DealScope::Department(department),
                (None, None) => return Err(ApiError::bad_request("name the department")),
            },
            _ => DealScope::Department(
                asked.ok_or_else(|| ApiError::bad_request("name the department"))?,
            ),
        };
        let binding = query.binding("deals", caller);
        let cursor = self.list_cursor(query, &binding)?;
        let page = self
            .store
            .list_deals(&scope, query.limit()?, cursor.as_ref())
            .await?;
        Ok(json(StatusCode::OK, &self.sealed(page, &binding)))
    }

    /// 422 naming each line whose article the catalogue does not have.
    async fn check_articles(&self, items: &[DealItem]) -> Result<(), ApiError> {
        let skus: Vec<String> = items.iter().filter_map(|i| i.sku.clone()).collect();
        if skus.is_empty() {
            return Ok(());
        }
        let known = self.store.products(&skus).await?;
        let unknown: Vec<String> = items
            .iter()
            .enumerate()
            .filter(|(_, item)| {
                item.sku
                    .as_ref()
                    .is_some_and(|sku| !known.contains_key(sku))
            })
            .map(|(index, _)| format!("items[{index}].sku"))
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(ApiError::missing(
                "no product of the catalogue has this article",
                unknown,
            ))
        }
    }

    pub(crate) async fn load_deal(&self, caller: &Caller, id: &str) -> Result<Deal, ApiError> {
        let deal = self.store.deal(id).await?.ok_or_else(ApiError::not_found)?;
        caller.check_sees(deal.owner(), "deal")?;
        Ok(deal)
    }

    /// The deal for a change: the caller may edit it and names the version they read.
    pub(crate) async fn deal_for_change(
        &self,
        caller: &Caller,
        id: &str,
        version: u64,
    ) -> Result<Deal, ApiError> {
        let deal = self.load_deal(caller, id).await?;
        if version != deal.version {
            return Err(ApiError::conflict(format!(
                "the deal is at version {}, not {version}",
                deal.version
            )));
        }
        Ok(deal)
    }

    pub(crate) async fn get_deal(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Response<Body>, ApiError> {
        let deal = self.load_deal(caller, id).await?;
        let next_stages = next_stages(&deal);
        let next = next_moves(&deal);
        // The customer order with its parts, for whoever may read orders.
        let order = if deal.order_placed && caller.actor.may(Capability::ReadOrders) {
            self.store.order_book(id).await?
        } else {
            None
        };
        Ok(json(
            StatusCode::OK,
            &DealAnswer {
                deal,
                next_stages,
                next,
                order,
            },
        ))
    }

    pub(crate) async fn edit_deal(
        &self,
        caller: &Caller,
        id: &str,
        edit: EditRequest,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let old = self.deal_for_change(caller, id, edit.version).await?;
        let new = old.edited(edit.edit).map_err(|refusal| match refusal {
            EditRefusal::Final(_) => ApiError::conflict(refusal.to_string()),
            EditRefusal::Missing(missing) => {
                ApiError::missing("the deal would lose required data", missing)
            }
            EditRefusal::SetByOrder(fields) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "set_by_order",
                "the customer order sets these fields: production, shipping and the items agreed",
            )
            .with_details(serde_json::json!({ "fields": fields })),
        })?;
        if new.terms.items != old.terms.items {
            self.check_articles(&new.terms.items).await?;
        }
        let fields: Vec<String> = diff(
            &serde_json::to_value(&old).unwrap_or_default(),
            &serde_json::to_value(&new).unwrap_or_default(),
        )
        .into_iter()
        .map(|(field, _, _)| field)
        .collect();
        if fields.is_empty() {
            return Ok(json(StatusCode::OK, &old));
        }
        let new = self
            .commit(caller, &old, new, DealEventKind::Edited { fields }, source)
            .await?;
        Ok(json(StatusCode::OK, &new))
    }

    pub(crate) async fn move_deal(
        &self,
        caller: &Caller,
        id: &str,
        request: StageRequest,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let old = self.deal_for_change(caller, id, request.version).await?;
        let to = DealStage::from_code(&request.to)
            .ok_or_else(|| ApiError::bad_request("to must be a deal stage"))?;
        let mut candidate = old.clone();
        if to == DealStage::Unfit {
            candidate.unfit_reason = request.reason.clone().filter(|r| !r.trim().is_empty());
        }
        let to = check_transition(&candidate, to).map_err(refused)?;
        let mut new = candidate;
        new.stage = to;
        let kind = DealEventKind::StageChanged {
            from: old.stage,
            to,
        };
        let new = self.commit(caller, &old, new, kind, source).await?;
        Ok(json(StatusCode::OK, &new))
    }

    /// Generates the commercial proposal, stores and links it, marks it sent and moves an
    /// `equipment_selection` deal to `proposal`. Answers with a 15-minute download link.
    pub(crate) async fn proposal(
        &self,
        caller: &Caller,
        id: &str,
        request: VersionRequest,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let old = self.deal_for_change(caller, id, request.version).await?;
        if old.terms.items.is_empty() {
            return Err(ApiError::missing(
                "a proposal needs items",
                vec!["items".into()],
            ));
        }
        let now = Utc::now();
        let bytes =
            commercial_proposal(&old, &self.config.seller, now.date_naive()).map_err(|e| {
                tracing::error!(error = %e, "proposal not generated");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the proposal could not be generated",
                )
            })?;
        let number = proposal_number(&old);
        let document = DocumentRef {
            id: format!("proposal-v{}", old.version),
            kind: "proposal".into(),
            filename: format!("{number}.xlsx"),
            key: format!("deals/{}/proposal-v{}.xlsx", old.id, old.version),
            created_at: now,
            created_by: caller.id().to_owned(),
        };
        self.store_workbook(&document, bytes).await?;
        let mut new = old.clone();
        new.documents.retain(|d| d.id != document.id);
        new.documents.push(document.clone());
        new.proposal_sent_at = Some(now);
        let kind = if old.stage == DealStage::EquipmentSelection {
            new.stage = check_transition(&new, DealStage::Proposal).map_err(refused)?;
            DealEventKind::StageChanged {
                from: old.stage,
                to: DealStage::Proposal,
            }
        } else {
            DealEventKind::Edited {
                fields: vec!["documents".into(), "proposal_sent_at".into()],
            }
        };
        let new = self.commit(caller, &old, new, kind, source).await?;
        let url = self.presigned(&document.key).await?;
        Ok(json(
            StatusCode::OK,
            &ProposalAnswer {
                deal: new,
                document,
                url,
            },
        ))
    }

    /// Puts a deal's workbook (proposal, waybill) into the documents bucket; S3 down is a
    /// 503 the caller may repeat.
    pub(crate) async fn store_workbook(
        &self,
        document: &DocumentRef,
        bytes: Vec<u8>,
    ) -> Result<(), ApiError> {
        self.blobs
            .put(
                &self.config.documents_bucket,
                &document.key,
                bytes,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            .await
            .map_err(|e| {
                tracing::error!(error = %e, kind = %document.kind, "document not stored");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "try again shortly",
                )
            })
    }

    /// A 15-minute download link to an object of the documents bucket.
    pub(crate) async fn presigned(&self, key: &str) -> Result<String, ApiError> {
        let bucket = self.config.documents_bucket.clone();
        self.presigned_in(&bucket, key).await
    }

    /// A 15-minute download link to an object.
    pub(crate) async fn presigned_in(&self, bucket: &str, key: &str) -> Result<String, ApiError> {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(
            std::time::Duration::from_secs(15 * 60),
        )
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
        let request = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| {
                tracing::error!(error = %aws_sdk_s3::error::DisplayErrorContext(&e), "presigning failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "no download link")
            })?;
        Ok(request.uri().to_owned())
    }

    /// A 15-minute download link to one of the deal's documents.
    pub(crate) async fn document_url(
        &self,
        caller: &Caller,
        id: &str,
        document_id: &str,
    ) -> Result<Response<Body>, ApiError> {
        let deal = self.load_deal(caller, id).await?;
        let document = deal
            .documents
            .iter()
            .find(|d| d.id == document_id)
            .ok_or_else(ApiError::not_found)?;
        let url = self.presigned(&document.key).await?;
        Ok(json(
            StatusCode::OK,
            &DocumentLink {
                document: document.clone(),
                url,
                expires_in: 900,
            },
        ))
    }

    /// The audit trail of a record, oldest first.
    pub(crate) async fn audit(
        &self,
        caller: &Caller,
        entity: &str,
        id: &str,
    ) -> Result<Response<Body>, ApiError> {
        // The trail is as private as its record: the record must be in the caller's scope.
        match entity {
            "deal" => {
                self.load_deal(caller, id).await?;
            }
            "inquiry" => {
                self.visible_inquiry(caller, id).await?;
            }
            "counterparty" => {
                self.visible_counterparty(caller, id).await?;
            }
            // The catalogue is not anyone's: its trail is open to whoever reads audits.
            "product" => {}
            "task" => {
                let task = self.store.task(id).await?.ok_or_else(ApiError::not_found)?;
                if !crate::tasks::may_see(caller, &task) {
                    return Err(ApiError::forbidden("this task belongs to someone else"));
                }
            }
            _ => return Err(ApiError::not_found()),
        }
        let entries = self.store.audit_trail(entity, id).await?;
        Ok(json(
            StatusCode::OK,
            &serde_json::json!({ "items": entries }),
        ))
    }
}
