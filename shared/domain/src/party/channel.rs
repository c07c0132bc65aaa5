//! The channels a person reaches the company through.

use serde::{Deserialize, Serialize};

/// How a request reached the company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Phone,
    Chat,
    Form,
}

impl Channel {
    pub fn code(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Chat => "chat",
            Self::Form => "form",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Email, Self::Phone, Self::Chat, Self::Form]
            .into_iter()
            .find(|c| c.code() == code)
    }
}
