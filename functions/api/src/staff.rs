//! The staff: who the caller is and what they may do (`GET /api/me`: the front end shows
//! only the buttons the API would allow), and the staff list for pickers (names, roles,
//! departments; no addresses or extensions).

use crate::{Api, ApiError, Caller, Query, json};
use crm_domain::staff::{Capability, Role};
use crm_shared::marketing::ports::MarketingStore;
use crm_shared::ports::Directory;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};

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
            &serde_json::json!({
                "id": employee.id,
                "name": employee.name,
                "role": employee.role,
                "department": employee.department,
                "may": may,
            }),
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
        let items: Vec<serde_json::Value> = staff
            .iter()
            .map(|e| {
                serde_json::json!({
                    "id": e.id,
                    "name": e.name,
                    "role": e.role,
                    "department": e.department,
                    "active": e.active,
                })
            })
            .collect();
        Ok(json(StatusCode::OK, &serde_json::json!({ "items": items })))
    }
}
