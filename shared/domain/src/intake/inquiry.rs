//! Inquiries (обращения) and interactions: what a person asked, and the entries of a
//! counterparty's correspondence history.
//!
//! An inquiry moves `unrouted → routed → qualified | not_a_lead`. A routed inquiry may be
//! routed again (to another department or manager) until it is qualified; a qualified or
//! rejected one never moves again. [`Inquiry::route`] and [`Inquiry::qualify`] are the
//! only ways to move it, for the API and the migration alike.

use crate::kernel::{Department, Owner};
use crate::party::{Channel, MatchEvidence, PersonDetails};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The shape of a request, finer than its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InquiryKind {
    /// A JivoSite chat transcript or offline message.
    JivoChat,
    /// A web-site feedback form (Bitrix, Contact Form 7, hand-made PHP, Tilda).
    SiteForm,
    /// A hand-written email.
    Manual,
    /// A phone call.
    Call,
}

impl InquiryKind {
    pub const ALL: [InquiryKind; 4] = [Self::JivoChat, Self::SiteForm, Self::Manual, Self::Call];

    pub fn code(self) -> &'static str {
        match self {
            Self::JivoChat => "jivo_chat",
            Self::SiteForm => "site_form",
            Self::Manual => "manual",
            Self::Call => "call",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// Where an inquiry is in first processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InquiryStatus {
    /// Nobody has routed it to a department and manager yet; it ages visibly.
    Unrouted,
    Routed,
    Qualified,
    NotALead,
}

impl InquiryStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Unrouted => "unrouted",
            Self::Routed => "routed",
            Self::Qualified => "qualified",
            Self::NotALead => "not_a_lead",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::Unrouted,
            Self::Routed,
            Self::Qualified,
            Self::NotALead,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// A file that came with a message, stored in the documents bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttachmentRef {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    /// Object key in the documents bucket.
    pub key: String,
}

/// What a message said, as kept on an inquiry and in the history: the text is cut to
/// [`MAX_TEXT_BYTES`]; the whole message stays in the raw copy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub text: String,
    /// True when `text` was cut to fit.
    #[serde(default)]
    pub text_truncated: bool,
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
    /// What reading the message left in the raw copy only (hostile or huge input).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<LeftOut>,
    /// The employee who forwarded the client's message into the mailbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_by: Option<String>,
}

/// A part of a message that reading left in the raw copy, past a parsing budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeftOut {
    /// The HTML body past its size budget.
    Html,
    /// The body text past what is read for fields and contacts.
    Text,
    /// Attachments past the number taken in.
    Attachments,
}

impl MessageContent {
    /// The content to keep of a message: its text cut to fit an item.
    pub fn kept(
        subject: Option<String>,
        text: &str,
        attachments: Vec<AttachmentRef>,
        left_out: Vec<LeftOut>,
    ) -> Self {
        let (text, text_truncated) = truncate_text(text);
        Self {
            subject,
            text,
            text_truncated,
            attachments,
            left_out,
            forwarded_by: None,
        }
    }
}

/// Where a record came from: the natural key of the inbound event and its raw copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceRef {
    /// e.g. `email#<message-id>`; unique per inbound event.
    pub event_key: String,
    /// Object key of the raw payload in the inbound bucket.
    pub raw_key: String,
}

/// A request from a new person (обращение), waiting to be routed and qualified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Inquiry {
    pub id: String,
    pub channel: Channel,
    pub kind: InquiryKind,
    pub status: InquiryStatus,
    pub received_at: DateTime<Utc>,
    pub counterparty_id: String,
    /// The person as extracted from this inquiry (a snapshot, not the live contact).
    pub contact: PersonDetails,
    #[serde(flatten)]
    pub content: MessageContent,
    pub source: SourceRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Department>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_id: Option<String>,
    /// A missed call: the most valuable kind of lead, to be called back at once.
    #[serde(default)]
    pub missed: bool,
    /// Who routed it where, when and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<RoutingDecision>,
    /// When the manager must have acted (working hours after routing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_due: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualification: Option<Qualification>,
    /// Optimistic-lock version: 1 when created, one more with every change; a write names
    /// the version it read, so two changes at once cannot both win.
    #[serde(default)]
    pub version: u64,
}

/// A routing decision, kept on the inquiry: "why this manager".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoutingDecision {
    pub department: Department,
    pub manager_id: String,
    /// The head who decided, or `rule:<name>`.
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Why an inquiry is not a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotALeadReason {
    Spam,
    Mistake,
    NoInterest,
}

impl NotALeadReason {
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "spam" => Some(Self::Spam),
            "mistake" => Some(Self::Mistake),
            "no_interest" => Some(Self::NoInterest),
            _ => None,
        }
    }
}

/// The outcome of first processing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Qualification {
    Deal {
        deal_id: String,
        by: String,
        at: DateTime<Utc>,
    },
    NotALead {
        reason: NotALeadReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
        by: String,
        at: DateTime<Utc>,
    },
}

/// One entry of a counterparty's correspondence history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Interaction {
    pub id: String,
    pub party_id: String,
    pub at: DateTime<Utc>,
    pub channel: Channel,
    pub kind: InquiryKind,
    #[serde(flatten)]
    pub content: MessageContent,
    /// The inquiry this message opened, when it created a lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inquiry_id: Option<String>,
    /// The person as this message gave it.
    pub contact: PersonDetails,
    /// Which contact points matched which party: kept so a wrong match can be explained
    /// and undone. Entries for other parties mean the match needs a human look.
    #[serde(default)]
    pub evidence: Vec<MatchEvidence>,
    pub source: SourceRef,
    /// A missed call.
    #[serde(default)]
    pub missed: bool,
    /// The message claimed the party through a point it could not vouch for (Reply-To,
    /// unauthenticated mail, a form) or one the party has not confirmed: shown as such.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unverified: bool,
}

/// Why an inquiry cannot move as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InquiryRefusal {
    /// Qualified or rejected inquiries are never routed again.
    #[error("the inquiry is {0}; it can no longer be routed")]
    AlreadyQualified(&'static str),
    /// Only a routed inquiry is qualified: somebody must own it first.
    #[error("the inquiry is {0}; only a routed inquiry is qualified")]
    NotRouted(&'static str),
}

impl InquiryRefusal {
    /// The stable code of the refusal, for API answers.
    pub fn code(self) -> &'static str {
        match self {
            Self::AlreadyQualified(_) => "already_qualified",
            Self::NotRouted(_) => "not_routed",
        }
    }
}

impl Inquiry {
    /// The manager and department it was routed to, for access.
    pub fn owner(&self) -> Owner<'_> {
        Owner {
            manager_id: self.manager_id.as_deref(),
            department: self.department,
        }
    }

    /// The inquiry routed by `decision`, its manager owing a first response by
    /// `first_response_due`. Unrouted and routed inquiries may be (re-)routed.
    pub fn route(
        &self,
        decision: RoutingDecision,
        first_response_due: DateTime<Utc>,
    ) -> Result<Inquiry, InquiryRefusal> {
        if !matches!(self.status, InquiryStatus::Unrouted | InquiryStatus::Routed) {
            return Err(InquiryRefusal::AlreadyQualified(self.status.code()));
        }
        let mut routed = self.clone();
        routed.status = InquiryStatus::Routed;
        routed.department = Some(decision.department);
        routed.manager_id = Some(decision.manager_id.clone());
        routed.first_response_due = Some(first_response_due);
        routed.routing = Some(decision);
        routed.version = self.version + 1;
        Ok(routed)
    }

    /// Whether the inquiry may be qualified now (it is routed).
    pub fn check_qualifiable(&self) -> Result<(), InquiryRefusal> {
        if self.status != InquiryStatus::Routed {
            return Err(InquiryRefusal::NotRouted(self.status.code()));
        }
        Ok(())
    }

    /// The inquiry with the outcome of its first processing: `qualified` with a deal, or
    /// `not_a_lead` with a reason. Only a routed inquiry is qualified.
    pub fn qualify(&self, outcome: Qualification) -> Result<Inquiry, InquiryRefusal> {
        self.check_qualifiable()?;
        let mut qualified = self.clone();
        qualified.status = match outcome {
            Qualification::Deal { .. } => InquiryStatus::Qualified,
            Qualification::NotALead { .. } => InquiryStatus::NotALead,
        };
        qualified.qualification = Some(outcome);
        qualified.version = self.version + 1;
        Ok(qualified)
    }
}

/// The longest text kept on an inquiry or interaction item (DynamoDB items are at most
/// 400 KB; the whole message stays in S3).
pub const MAX_TEXT_BYTES: usize = 32 * 1024;

/// Cuts `text` to at most [`MAX_TEXT_BYTES`] on a character boundary.
/// Returns the kept text and whether anything was cut.
pub fn truncate_text(text: &str) -> (String, bool) {
    if text.len() <= MAX_TEXT_BYTES {
        return (text.to_owned(), false);
    }
    let mut end = MAX_TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_owned(), true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::party::PersonDetails;

    fn inquiry(status: InquiryStatus) -> Inquiry {
        Inquiry {
            id: "i".into(),
            channel: Channel::Email,
            kind: InquiryKind::Manual,
            status,
            received_at: Utc::now(),
            counterparty_id: "p".into(),
            contact: PersonDetails::default(),
            content: MessageContent::default(),
            source: SourceRef {
                event_key: "e".into(),
                raw_key: "r".into(),
            },
            department: None,
            manager_id: None,
            missed: false,
            routing: None,
            first_response_due: None,
            qualification: None,
            version: 1,
        }
    }

    fn decision(manager: &str) -> RoutingDecision {
        RoutingDecision {
            department: Department::High,
            manager_id: manager.into(),
            by: "head".into(),
            at: Utc::now(),
            reason: None,
        }
    }

    fn not_a_lead() -> Qualification {
        Qualification::NotALead {
            reason: NotALeadReason::Spam,
            comment: None,
            by: "m".into(),
            at: Utc::now(),
        }
    }

    #[test]
    fn the_inquiry_transitions() {
        use InquiryStatus::*;
        let due = Utc::now();
        let routed = inquiry(Unrouted).route(decision("m1"), due).unwrap();
        assert_eq!(routed.status, Routed);
        assert_eq!(routed.manager_id.as_deref(), Some("m1"));
        assert_eq!(routed.department, Some(Department::High));
        assert_eq!(routed.first_response_due, Some(due));
        let rerouted = routed.route(decision("m2"), due).unwrap();
        assert_eq!(rerouted.manager_id.as_deref(), Some("m2"));
        assert_eq!(rerouted.routing.unwrap().manager_id, "m2");

        assert_eq!(
            inquiry(Unrouted).qualify(not_a_lead()),
            Err(InquiryRefusal::NotRouted("unrouted"))
        );
        let rejected = routed.qualify(not_a_lead()).unwrap();
        assert_eq!(rejected.status, NotALead);
        let deal = Qualification::Deal {
            deal_id: "d".into(),
            by: "m".into(),
            at: Utc::now(),
        };
        let qualified = routed.qualify(deal.clone()).unwrap();
        assert_eq!(qualified.status, Qualified);
        for done in [qualified, rejected] {
            assert_eq!(
                done.route(decision("m3"), due).unwrap_err().code(),
                "already_qualified"
            );
            assert_eq!(done.qualify(deal.clone()).unwrap_err().code(), "not_routed");
        }
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        let long = "я".repeat(MAX_TEXT_BYTES);
        let (kept, cut) = truncate_text(&long);
        assert!(cut);
        assert!(kept.len() <= MAX_TEXT_BYTES);
        assert!(kept.chars().all(|c| c == 'я'));
        assert_eq!(truncate_text("short"), ("short".to_owned(), false));
    }

    #[test]
    fn codes_round_trip() {
        for kind in InquiryKind::ALL {
            assert_eq!(InquiryKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(Channel::from_code("email"), Some(Channel::Email));
        assert_eq!(
            InquiryStatus::from_code("unrouted"),
            Some(InquiryStatus::Unrouted)
        );
    }
}
