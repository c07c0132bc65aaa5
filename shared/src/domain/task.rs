//! Tasks staff must do: call a client back, check a seller's work, offer service. Every
//! task links to what it is about; a task for "the heads" has no single assignee.

use super::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a task asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A missed call: call the person back.
    CallBack,
}

impl TaskKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::CallBack => "call_back",
        }
    }

    /// The title staff see.
    pub fn title(self) -> &'static str {
        match self {
            Self::CallBack => "Перезвонить",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Done,
}

/// A task. `assignee_id` is an employee; without one, `assignee_role` (the heads) owns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    pub status: TaskStatus,
    pub due_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// The event that created it, e.g. `call#<linkedid>`.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
