//! The staff: who the caller is and what they may do (`GET /api/me`: the front end shows
//! only the buttons the API would allow), the staff list for pickers (names, roles,
//! departments; no addresses or extensions), heads handing a deal or a client to
//! another manager (the routing rule decides who may take it), the heads' dashboard
//! as the jobs function last rolled it up, and editing a counterparty and its contacts.

use crate::{Api, ApiError, Caller, Query, json};
use chrono::Utc;
use crm_domain::kernel::Department;
use crm_domain::kernel::audit::AuditEntry;
use crm_domain::party::ContactPerson;
use crm_domain::sales::DealEventKind;
use crm_domain::sales::routing::check_assignee;
use crm_domain::staff::{Capability, Role};
use crm_shared::adapters::ContactEditOutcome;
use crm_shared::marketing::ports::MarketingStore;
use crm_shared::ports::Directory;
use crm_shared::sales::ports::Assignment;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::{Deserialize, Serialize};

impl Api {
    pub(crate) async fn me(&self, caller: &Caller) -> Result<Response<Body>, ApiError> {
        let employee = self
            .store
            .employee(caller.id())
            .await?
            .ok_or_else(|| ApiError::forbidden("not an active employee"))?;
        let may: Vec<&str> = Capability::ALL
            .into_iter()
            .filter(|c| caller.actor.may(*c))
            .map(Capability::code)
            .collect();
        Ok(json(
            StatusCode::OK,
            &Me {
                id: employee.id,
                name: employee.name,
                role: employee.role,
                department: employee.department,
                may,
                first_response_hours: self.config.first_response_hours,
            },
        ))
    }

    /// `role` (optional), `active` (default true): employees by name.
    pub(crate) async fn employees(&self, query: &Query) -> Result<Response<Body>, ApiError> {
        let role = query.code(
            "role",
            Role::from_code,
            "head, manager, marketer, warehouse, production, admin",
        )?;
        let only_active = query.get("active") != Some("false");
        let mut staff = self.store.employees().await?;
        staff.retain(|e| role.is_none_or(|r| e.role == r) && (!only_active || e.active));
        staff.sort_by(|a, b| a.name.cmp(&b.name));
        let items: Vec<StaffMember> = staff
            .into_iter()
            .map(|e| StaffMember {
                id: e.id,
                name: e.name,
                role: e.role,
                department: e.department,
                active: e.active,
            })
            .collect();
        Ok(json(StatusCode::OK, &serde_json::json!({ "items": items })))
    }
}

/// Who the caller is and what they may do (`GET /api/me`).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Me {
    id: String,
    name: String,
    role: Role,
    department: Option<Department>,
    /// The capabilities the caller's role has: each route's `x-capability`.
    may: Vec<&'static str>,
    /// What the screens measure against: an inquiry waiting longer than this for its
    /// first answer is late.
    first_response_hours: u32,
}

/// An employee as the pickers list them: no addresses or extensions.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct StaffMember {
    id: String,
    name: String,
    role: Role,
    department: Option<Department>,
    active: bool,
}

/// The heads' dashboard as last rolled up; `null` before the first roll-up.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct DashboardAnswer {
    dashboard: Option<crm_domain::sales::dashboard::Dashboard>,
}

/// A counterparty's responsible manager and department after a reassignment.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Reassigned {
    id: String,
    responsible_manager_id: String,
    department: Department,
}

/// A new responsible manager (and, for a client, the department, when it changes).
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ReassignRequest {
    manager_id: String,
    #[serde(default)]
    department: Option<Department>,
    /// The deal's version as read (deals only).
    #[serde(default)]
    version: Option<u64>,
    #[serde(default)]
    reason: Option<String>,
}

/// The audit source of a reassignment: the request's, with the head's reason (its first
/// 200 characters) when one is given.
fn with_reason(source: &str, reason: Option<&str>) -> String {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(reason) => format!("{source}: {}", reason.chars().take(200).collect::<String>()),
        None => source.to_owned(),
    }
}

impl Api {
    async fn assignee_for(&self, manager_id: &str, department: Department) -> Result<(), ApiError> {
        // No employee has an id that is not one: nothing to read.
        let employee = match crate::valid_id(manager_id) {
            Ok(id) => self.store.employee(id).await?,
            Err(_) => None,
        };
        check_assignee(employee.as_ref(), department).map_err(|refusal| {
            ApiError::missing(refusal.to_string(), vec![refusal.field().to_owned()])
        })
    }

    /// A head hands a deal to another manager of its department.
    pub(crate) async fn reassign_deal(
        &self,
        caller: &Caller,
        id: &str,
        request: ReassignRequest,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let version = request
            .version
            .ok_or_else(|| ApiError::missing("the deal's version", vec!["version".into()]))?;
        let old = self.deal_for_change(caller, id, version).await?;
        if old.stage.is_final() {
            return Err(ApiError::conflict(format!(
                "the deal is {}",
                old.stage.code()
            )));
        }
        self.assignee_for(&request.manager_id, old.department)
            .await?;
        let mut new = old.clone();
        new.manager_id = request.manager_id;
        let kind = DealEventKind::Edited {
            fields: vec!["manager_id".into()],
        };
        let source = with_reason(source, request.reason.as_deref());
        let new = self.commit(caller, &old, new, kind, &source).await?;
        Ok(json(StatusCode::OK, &new))
    }

    /// A head makes another manager responsible for a counterparty (its department with
    /// it, when given).
    pub(crate) async fn reassign_counterparty(
        &self,
        caller: &Caller,
        id: &str,
        request: ReassignRequest,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let detail = self.visible_detail(caller, id).await?;
        let party = &detail.counterparty;
        let department = request
            .department
            .or(party.department)
            .ok_or_else(|| ApiError::missing("the department", vec!["department".into()]))?;
        if caller.department().is_some_and(|mine| mine != department) {
            return Err(ApiError::forbidden(
                "a head hands clients within their department",
            ));
        }
        self.assignee_for(&request.manager_id, department).await?;
        let now = Utc::now();
        let entry = |field: &str, old: serde_json::Value, new: serde_json::Value| AuditEntry {
            record: "counterparty".into(),
            record_id: id.to_owned(),
            field: field.into(),
            old,
            new,
            actor: caller.id().to_owned(),
            at: now,
            source: with_reason(source, request.reason.as_deref()),
        };
        let audit = [
            entry(
                "responsible_manager_id",
                serde_json::json!(party.responsible_manager_id),
                serde_json::json!(request.manager_id),
            ),
            entry(
                "department",
                serde_json::json!(party.department),
                serde_json::json!(department),
            ),
        ];
        let assignment = Assignment {
            party_id: id.to_owned(),
            manager_id: request.manager_id.clone(),
            department,
            was_manager_id: party.responsible_manager_id.clone(),
            was_department: party.department,
        };
        if !self.store.reassign_party(&assignment, &audit).await? {
            return Err(ApiError::conflict(
                "the client's manager changed meanwhile; read it again",
            ));
        }
        Ok(json(
            StatusCode::OK,
            &Reassigned {
                id: id.to_owned(),
                responsible_manager_id: request.manager_id,
                department,
            },
        ))
    }
}

impl Api {
    /// The heads' dashboard as last rolled up (every 15 minutes): a head's department,
    /// or all for a head of all departments and admins.
    pub(crate) async fn dashboard(&self, caller: &Caller) -> Result<Response<Body>, ApiError> {
        let figures = self.store.dashboard(caller.department()).await?;
        Ok(json(
            StatusCode::OK,
            &DashboardAnswer { dashboard: figures },
        ))
    }
}

/// A counterparty's new name and company (an empty company removes it).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RenameRequest {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    company: Option<String>,
}

impl Api {
    /// Renames a counterparty: its card and search words follow; audited.
    pub(crate) async fn edit_counterparty(
        &self,
        caller: &Caller,
        id: &str,
        request: RenameRequest,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let old = self.visible_detail(caller, id).await?.counterparty;
        let new = old
            .renamed(request.name.as_deref(), request.company.as_deref())
            .map_err(|fields| ApiError::missing("the name or company is out of range", fields))?;
        if new == old {
            return Ok(json(StatusCode::OK, &new));
        }
        let audit = crm_domain::kernel::audit::audit_entries(
            "counterparty",
            id,
            Some(&old),
            &new,
            caller.id(),
            source,
            Utc::now(),
        );
        if !self.store.rename_party(&old, &new, &audit).await? {
            return Err(ApiError::conflict(
                "the counterparty changed meanwhile; read it again",
            ));
        }
        Ok(json(StatusCode::OK, &new))
    }
}

/// A contact as it should be: `{"name", "emails": [...], "phones": [...]}` (phones in any
/// written form); the lists replace the contact's.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ContactRequest {
    #[serde(default)]
    name: Option<String>,
    emails: Vec<String>,
    phones: Vec<String>,
}

impl Api {
    /// Heads and the responsible manager edit a contact's name, addresses and numbers.
    /// What staff write is confirmed: a new point names the client from then on (on the
    /// PBX too); a point another client holds is refused (`409` naming it).
    pub(crate) async fn edit_contact(
        &self,
        caller: &Caller,
        id: &str,
        contact_id: &str,
        request: ContactRequest,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let detail = self.visible_detail(caller, id).await?;
        let (mine, others): (Vec<ContactPerson>, Vec<ContactPerson>) = detail
            .contacts
            .into_iter()
            .partition(|c| c.id == contact_id);
        let old = mine.into_iter().next().ok_or_else(ApiError::not_found)?;
        let edit = old
            .edited(request.name.as_deref(), &request.emails, &request.phones)
            .map_err(|fields| {
                ApiError::missing("these addresses or numbers cannot be read", fields)
            })?;
        if edit.contact == old {
            return Ok(json(StatusCode::OK, &old));
        }
        let audit = crm_domain::kernel::audit::audit_entries(
            "counterparty",
            id,
            Some(&old),
            &edit.contact,
            caller.id(),
            source,
            Utc::now(),
        );
        match self
            .store
            .edit_contact(&old, &edit, &others, &audit)
            .await?
        {
            ContactEditOutcome::Written => Ok(json(StatusCode::OK, &edit.contact)),
            ContactEditOutcome::Changed => Err(ApiError::conflict(
                "the contact changed meanwhile; read it again",
            )),
            ContactEditOutcome::PointTaken(point) => Err(ApiError::conflict(format!(
                "{} belongs to another counterparty",
                point.key()
            ))
            .with_details(serde_json::json!({ "fields": [point.key()] }))),
        }
    }
}
