//! Reads: inquiries (a manager sees their own), counterparties, a counterparty with its
//! contacts, its correspondence timeline.

use crate::{Api, ApiError, Query, json, may_read_correspondence};
use crm_domain::intake::{Inquiry, InquiryKind, InquiryStatus};
use crm_domain::party::{Channel, CounterpartyKind};
use crm_domain::staff::Role;
use crm_shared::adapters::{InquiryFilter, Page};
use crm_shared::auth::Principal;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

/// An inquiry as listed: how long it has waited is what the heads watch.
#[derive(Serialize)]
struct ListedInquiry<'a> {
    #[serde(flatten)]
    inquiry: &'a Inquiry,
    age_seconds: i64,
}

impl Api {
    pub(crate) async fn list_inquiries(
        &self,
        principal: &Principal,
        query: &Query,
    ) -> Result<Response<Body>, ApiError> {
        may_read_correspondence(principal)?;
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
            manager_id: (principal.role == Role::Manager).then(|| principal.employee_id.clone()),
        };
        let page = self
            .store
            .list_inquiries(&filter, query.limit()?, query.cursor()?.as_ref())
            .await?;
        let now = chrono::Utc::now();
        let listed = Page {
            items: page
                .items
                .iter()
                .map(|inquiry| ListedInquiry {
                    inquiry,
                    age_seconds: (now - inquiry.received_at).num_seconds().max(0),
                })
                .collect(),
            next_cursor: page.next_cursor.clone(),
        };
        Ok(json(StatusCode::OK, &listed))
    }

    pub(crate) async fn list_counterparties(
        &self,
        query: &Query,
    ) -> Result<Response<Body>, ApiError> {
        let kind = query.code("kind", CounterpartyKind::from_code, "lead, client, partner")?;
        let page = self
            .store
            .list_counterparties(kind, query.limit()?, query.cursor()?.as_ref())
            .await?;
        Ok(json(StatusCode::OK, &page))
    }

    pub(crate) async fn counterparty(&self, id: &str) -> Result<Response<Body>, ApiError> {
        let detail = self
            .store
            .counterparty_detail(id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        Ok(json(StatusCode::OK, &detail))
    }

    pub(crate) async fn timeline(
        &self,
        id: &str,
        query: &Query,
    ) -> Result<Response<Body>, ApiError> {
        let page = self
            .store
            .timeline(id, query.limit()?, query.cursor()?.as_ref())
            .await?;
        Ok(json(StatusCode::OK, &page))
    }
}
