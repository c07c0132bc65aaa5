//! The matching rule: given the contact points a message carries and who owns each of
//! them, decide whether the sender is a new lead or a known counterparty.

use super::contact_point::ContactPoint;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One contact point of the message found on a party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchEvidence {
    pub contact_point: ContactPoint,
    pub party_id: String,
}

/// What intake does with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchDecision {
    /// Nobody owns any of the contact points: create a lead that owns all of them.
    NewLead { contact_points: Vec<ContactPoint> },
    /// The sender is `party_id`. `new_contact_points` are unowned and get added to it;
    /// `evidence` lists every owned contact point, including any owned by another party
    /// (a conflict that the history entry flags for a human).
    Known {
        party_id: String,
        evidence: Vec<MatchEvidence>,
        new_contact_points: Vec<ContactPoint>,
    },
    /// The message carries no usable contact point.
    Unidentifiable,
}

impl MatchDecision {
    /// True when contact points of the message belong to different parties.
    pub fn has_conflict(&self) -> bool {
        match self {
            Self::Known {
                party_id, evidence, ..
            } => evidence.iter().any(|e| &e.party_id != party_id),
            _ => false,
        }
    }
}

/// Decides on the sender. `candidates` come in priority order (email before phone): the
/// owner of the first owned candidate is the sender.
pub fn match_contact_points(
    candidates: &[ContactPoint],
    owners: &HashMap<ContactPoint, String>,
) -> MatchDecision {
    if candidates.is_empty() {
        return MatchDecision::Unidentifiable;
    }
    let evidence: Vec<MatchEvidence> = candidates
        .iter()
        .filter_map(|point| {
            owners.get(point).map(|party_id| MatchEvidence {
                contact_point: point.clone(),
                party_id: party_id.clone(),
            })
        })
        .collect();
    let Some(first) = evidence.first() else {
        return MatchDecision::NewLead {
            contact_points: candidates.to_vec(),
        };
    };
    MatchDecision::Known {
        party_id: first.party_id.clone(),
        new_contact_points: candidates
            .iter()
            .filter(|point| !owners.contains_key(point))
            .cloned()
            .collect(),
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::party::EmailAddress;

    fn email(s: &str) -> ContactPoint {
        ContactPoint::Email(EmailAddress::parse(s).unwrap())
    }
    fn phone(s: &str) -> ContactPoint {
        ContactPoint::Phone(s.into())
    }

    #[test]
    fn nobody_known_makes_a_lead_owning_every_point() {
        let decision =
            match_contact_points(&[email("a@b.ru"), phone("+79123456789")], &HashMap::new());
        assert_eq!(
            decision,
            MatchDecision::NewLead {
                contact_points: vec![email("a@b.ru"), phone("+79123456789")]
            }
        );
    }

    #[test]
    fn a_known_phone_matches_and_the_new_email_is_added() {
        let owners = HashMap::from([(phone("+79123456789"), "P1".to_owned())]);
        let decision = match_contact_points(&[email("a@b.ru"), phone("+79123456789")], &owners);
        let MatchDecision::Known {
            party_id,
            new_contact_points,
            ..
        } = &decision
        else {
            panic!("expected known: {decision:?}");
        };
        assert_eq!(party_id, "P1");
        assert_eq!(new_contact_points, &vec![email("a@b.ru")]);
        assert!(!decision.has_conflict());
    }

    #[test]
    fn email_wins_over_phone_and_the_conflict_is_flagged() {
        let owners = HashMap::from([
            (email("a@b.ru"), "P1".to_owned()),
            (phone("+79123456789"), "P2".to_owned()),
        ]);
        let decision = match_contact_points(&[email("a@b.ru"), phone("+79123456789")], &owners);
        let MatchDecision::Known {
            party_id,
            evidence,
            new_contact_points,
        } = &decision
        else {
            panic!("expected known");
        };
        assert_eq!(party_id, "P1");
        assert_eq!(evidence.len(), 2);
        assert!(new_contact_points.is_empty());
        assert!(decision.has_conflict());
    }

    #[test]
    fn no_contact_points_cannot_be_matched() {
        assert_eq!(
            match_contact_points(&[], &HashMap::new()),
            MatchDecision::Unidentifiable
        );
    }
}
