//! Tasks: list (mine, my department, overdue), create, complete. Every task links to a
//! deal, an inquiry or a counterparty. Heads see their managers' tasks and the heads' pool;
//! marketers give "call client" tasks to anyone; managers give tasks to themselves.

use crate::{Api, ApiError, Caller, Query, json};
use chrono::{DateTime, Utc};
use crm_domain::kernel::audit::audit_entries;
use crm_domain::kernel::{Department, new_id};
use crm_domain::sales::task::Assignee;
use crm_domain::sales::{Task, TaskKind, TaskStatus};
use crm_domain::staff::Role;
use crm_shared::ports::Directory;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewTask {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    title: Option<String>,
    due_at: DateTime<Utc>,
    assignee_id: String,
    #[serde(default)]
    deal_id: Option<String>,
    #[serde(default)]
    inquiry_id: Option<String>,
    #[serde(default)]
    party_id: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// Heads see their department's tasks and the heads' pool; everyone else their own.
pub(crate) fn may_see(caller: &Caller, task: &Task) -> bool {
    match caller.role() {
        Role::Admin => true,
        Role::Head => {
            task.assignee_role == Some(Role::Head)
                || task.assignee_id.as_deref() == Some(caller.id())
                || caller
                    .department()
                    .is_none_or(|d| task.department == Some(d))
        }
        _ => task.assignee_id.as_deref() == Some(caller.id()),
    }
}

impl Api {
    /// `scope=mine` (default), `department` (heads), `overdue` (mine, or a head's department).
    pub(crate) async fn list_tasks(
        &self,
        caller: &Caller,
        query: &Query,
    ) -> Result<Response<Body>, ApiError> {
        let head = matches!(caller.role(), Role::Head | Role::Admin);
        let scope = query.get("scope").unwrap_or("mine");
        let department = match (
            caller.department(),
            query.code(
                "department",
                Department::from_code,
                "high, industrial, thermal",
            )?,
        ) {
            (Some(own), _) => Some(own),
            (None, asked) => asked,
        };
        let mut tasks = match scope {
            "mine" => {
                let mut tasks = self.store.tasks_of(caller.id()).await?;
                if head {
                    tasks.extend(self.store.tasks_of("role:head").await?);
                }
                tasks
            }
            "department" | "overdue" if head => {
                let mut tasks = match department {
                    Some(d) => self.store.tasks_of_department(d).await?,
                    None => {
                        let mut all = Vec::new();
                        for d in Department::ALL {
                            all.extend(self.store.tasks_of_department(d).await?);
                        }
                        all
                    }
                };
                tasks.extend(self.store.tasks_of("role:head").await?);
                tasks.extend(self.store.tasks_of(caller.id()).await?);
                tasks
            }
            "overdue" => self.store.tasks_of(caller.id()).await?,
            "department" => {
                return Err(ApiError::forbidden(
                    "only a head sees the department's tasks",
                ));
            }
            _ => {
                return Err(ApiError::bad_request(
                    "scope must be one of mine, department, overdue",
                ));
            }
        };
        // The indexes hold open tasks only; a task done since the read is dropped too.
        let now = Utc::now();
        if scope == "overdue" {
            tasks.retain(|t| t.is_overdue(now));
        } else {
            tasks.retain(|t| t.status == TaskStatus::Open);
        }
        tasks.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
        tasks.dedup_by(|a, b| a.id == b.id);
        let items: Vec<serde_json::Value> = tasks
            .iter()
            .map(|t| {
                let mut value = serde_json::to_value(t).unwrap_or_default();
                value["overdue"] = serde_json::Value::Bool(t.is_overdue(now));
                value
            })
            .collect();
        Ok(json(StatusCode::OK, &serde_json::json!({ "items": items })))
    }

    pub(crate) async fn create_task(
        &self,
        caller: &Caller,
        request: NewTask,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let kind = match request.kind.as_deref() {
            None => TaskKind::Other,
            Some(code) => TaskKind::from_code(code)
                .ok_or_else(|| ApiError::bad_request("unknown task kind"))?,
        };
        match caller.role() {
            Role::Head | Role::Admin => {}
            Role::Marketer if kind == TaskKind::CallClient => {}
            Role::Marketer => {
                return Err(ApiError::forbidden("marketers give only call_client tasks"));
            }
            Role::Manager if request.assignee_id == caller.id() => {}
            _ => return Err(ApiError::forbidden("you may only give tasks to yourself")),
        }
        let mut missing = Vec::new();
        if request.deal_id.is_none() && request.inquiry_id.is_none() && request.party_id.is_none() {
            missing.push("deal_id_or_inquiry_id_or_party_id".to_owned());
        }
        if kind == TaskKind::Other && request.title.as_deref().is_none_or(|t| t.trim().is_empty()) {
            missing.push("title".to_owned());
        }
        if !missing.is_empty() {
            return Err(ApiError::missing(
                "a task links to what it is about",
                missing,
            ));
        }
        // What the task is about must be within the caller's own scope: nobody hangs a task
        // on a deal, client or inquiry they may not see.
        if let Some(id) = &request.deal_id {
            self.load_deal(caller, crate::valid_id(id)?).await?;
        }
        if let Some(id) = &request.party_id {
            self.visible_counterparty(caller, crate::valid_id(id)?)
                .await?;
        }
        if let Some(id) = &request.inquiry_id {
            self.visible_inquiry(caller, crate::valid_id(id)?).await?;
        }
        let assignee = self
            .store
            .employee(&request.assignee_id)
            .await?
            .ok_or_else(|| ApiError::missing("no such employee", vec!["assignee_id".into()]))?;
        let now = Utc::now();
        let task = Task {
            party_id: request.party_id,
            inquiry_id: request.inquiry_id,
            deal_id: request.deal_id,
            department: assignee.department,
            note: request.note,
            created_by: caller.id().to_owned(),
            ..Task::open(
                new_id(),
                kind,
                request.title.unwrap_or_else(|| kind.title().to_owned()),
                Assignee::Employee(assignee.id.clone()),
                request.due_at,
                now,
                source.to_owned(),
            )
        };
        let audit = audit_entries(
            "task",
            &task.id,
            None::<&Task>,
            &task,
            caller.id(),
            source,
            now,
        );
        self.store.save_task(None, &task, &audit).await?;
        Ok(json(StatusCode::CREATED, &task))
    }

    pub(crate) async fn complete_task(
        &self,
        caller: &Caller,
        id: &str,
        source: &str,
    ) -> Result<Response<Body>, ApiError> {
        let old = self.store.task(id).await?.ok_or_else(ApiError::not_found)?;
        if !may_see(caller, &old) {
            return Err(ApiError::forbidden("this task belongs to someone else"));
        }
        if old.status == TaskStatus::Done {
            return Ok(json(StatusCode::OK, &old));
        }
        let now = Utc::now();
        let mut new = old.clone();
        new.status = TaskStatus::Done;
        new.completed_at = Some(now);
        new.completed_by = Some(caller.id().to_owned());
        let audit = audit_entries("task", &new.id, Some(&old), &new, caller.id(), source, now);
        if !self
            .store
            .save_task(Some(TaskStatus::Open), &new, &audit)
            .await?
        {
            return Err(ApiError::conflict("the task changed meanwhile"));
        }
        Ok(json(StatusCode::OK, &new))
    }
}
