//! Tasks staff must do: call a client back, check a seller's work, offer service. Every
//! task links to what it is about; a task for "the heads" has no single assignee.

use crate::kernel::{Department, SYSTEM};
use crate::staff::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a task asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A missed call: call the person back.
    CallBack,
    /// A marketer's or head's "call this client".
    CallClient,
    /// A deal was lost: the head reviews the seller's work.
    CheckSellersWork,
    /// The deal reached `service`: offer a service contract.
    OfferService,
    /// The client agreed to service: conclude the contract.
    ConcludeServiceContract,
    /// A routed inquiry waited too long for its manager.
    FirstResponseOverdue,
    /// A production order missed the date promised to the client.
    LateProduction,
    /// An invoice went out: see that it is paid.
    CheckPayment,
    /// Anything else, titled by hand.
    Other,
}

impl TaskKind {
    pub const ALL: [TaskKind; 9] = [
        Self::CallBack,
        Self::CallClient,
        Self::CheckSellersWork,
        Self::OfferService,
        Self::ConcludeServiceContract,
        Self::FirstResponseOverdue,
        Self::LateProduction,
        Self::CheckPayment,
        Self::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::CallBack => "call_back",
            Self::CallClient => "call_client",
            Self::CheckSellersWork => "check_sellers_work",
            Self::OfferService => "offer_service",
            Self::ConcludeServiceContract => "conclude_service_contract",
            Self::FirstResponseOverdue => "first_response_overdue",
            Self::LateProduction => "late_production",
            Self::CheckPayment => "check_payment",
            Self::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The title staff see.
    pub fn title(self) -> &'static str {
        match self {
            Self::CallBack => "Перезвонить",
            Self::CallClient => "Позвонить клиенту",
            Self::CheckSellersWork => "Проверить работу продавца",
            Self::OfferService => "Предложить сервис",
            Self::ConcludeServiceContract => "Заключить договор на сервис",
            Self::FirstResponseOverdue => "Нет первой реакции на обращение",
            Self::LateProduction => "Производство опаздывает",
            Self::CheckPayment => "Проверить оплату счёта",
            Self::Other => "Задача",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Done,
}

/// A task. `assignee_id` is an employee; without one, `assignee_role` (the heads) owns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Task {
    pub id: String,
    pub kind: TaskKind,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inquiry_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deal_id: Option<String>,
    /// The department whose head sees it among "my department".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Department>,
    pub status: TaskStatus,
    pub due_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// The event that created it, e.g. `call#<linkedid>`.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_by: Option<String>,
    /// Who created it (an employee id, or `system`).
    #[serde(default = "system")]
    pub created_by: String,
}

fn system() -> String {
    SYSTEM.to_owned()
}

/// Who must do a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    Employee(String),
    /// The pool every (department) head sees.
    Heads,
}

impl Task {
    /// A new open task, created by the system from `source`; links, department and note
    /// are set by the caller (`Task { deal_id: …, ..Task::open(…) }`).
    pub fn open(
        id: String,
        kind: TaskKind,
        title: String,
        assignee: Assignee,
        due_at: DateTime<Utc>,
        created_at: DateTime<Utc>,
        source: String,
    ) -> Task {
        let (assignee_id, assignee_role) = match assignee {
            Assignee::Employee(id) => (Some(id), None),
            Assignee::Heads => (None, Some(Role::Head)),
        };
        Task {
            id,
            kind,
            title,
            assignee_id,
            assignee_role,
            party_id: None,
            inquiry_id: None,
            deal_id: None,
            department: None,
            status: TaskStatus::Open,
            due_at,
            created_at,
            source,
            note: None,
            completed_at: None,
            completed_by: None,
            created_by: system(),
        }
    }

    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == TaskStatus::Open && self.due_at < now
    }
}
