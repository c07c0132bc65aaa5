//! The matching rule: given the contact points a message carries and who owns each of
//! them, decide whether the sender is a new lead or a known counterparty.

use super::contact_point::ContactPoint;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One contact point of the message found on a party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MatchEvidence {
    pub contact_point: ContactPoint,
    pub party_id: String,
}

/// Who owns a stored contact point, and whether the point is confirmed there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    pub party_id: String,
    pub confirmed: bool,
}

/// What intake does with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchDecision {
    /// Nobody owns any of the contact points: create a lead that owns all of them.
    NewLead { contact_points: Vec<ContactPoint> },
    /// The sender is `party_id`. `new_contact_points` are unowned and get added to it;
    /// `evidence` lists every owned contact point, including any owned by another party
    /// (a conflict that the history entry flags for a human). `verified`: the match rests
    /// on a point the message vouches for *and* the party has confirmed; otherwise the
    /// message still joins the party's history, marked unverified, and what it adds to
    /// the party is only proposed.
    Known {
        party_id: String,
        evidence: Vec<MatchEvidence>,
        new_contact_points: Vec<ContactPoint>,
        verified: bool,
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

/// Decides on the sender. `candidates` come in priority order (email before phone);
/// `confirmed` says whether the message's source vouches for them. A verified match (a
/// vouched-for candidate on a confirmed point) wins over any other; among equals the first
/// owned candidate decides. So a proposed point never overrides a confirmed match.
pub fn match_contact_points(
    candidates: &[ContactPoint],
    confirmed: bool,
    owners: &HashMap<ContactPoint, Owned>,
) -> MatchDecision {
    if candidates.is_empty() {
        return MatchDecision::Unidentifiable;
    }
    let owned: Vec<(&ContactPoint, &Owned)> = candidates
        .iter()
        .filter_map(|point| owners.get(point).map(|owner| (point, owner)))
        .collect();
    let deciding = owned
        .iter()
        .find(|(_, owner)| confirmed && owner.confirmed)
        .or_else(|| owned.first());
    let Some((_, owner)) = deciding else {
        return MatchDecision::NewLead {
            contact_points: candidates.to_vec(),
        };
    };
    MatchDecision::Known {
        party_id: owner.party_id.clone(),
        verified: confirmed && owner.confirmed,
        new_contact_points: candidates
            .iter()
            .filter(|point| !owners.contains_key(point))
            .cloned()
            .collect(),
        evidence: owned
            .iter()
            .map(|(point, owner)| MatchEvidence {
                contact_point: (*point).clone(),
                party_id: owner.party_id.clone(),
            })
            .collect(),
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
    fn owned(party: &str) -> Owned {
        Owned {
            party_id: party.into(),
            confirmed: true,
        }
    }
    fn proposed(party: &str) -> Owned {
        Owned {
            party_id: party.into(),
            confirmed: false,
        }
    }

    #[test]
    fn nobody_known_makes_a_lead_owning_every_point() {
        let points = [email("a@b.ru"), phone("+79123456789")];
        let decision = match_contact_points(&points, true, &HashMap::new());
        assert_eq!(
            decision,
            MatchDecision::NewLead {
                contact_points: points.to_vec()
            }
        );
    }

    #[test]
    fn a_known_phone_matches_and_the_new_email_is_added() {
        let owners = HashMap::from([(phone("+79123456789"), owned("P1"))]);
        let decision =
            match_contact_points(&[email("a@b.ru"), phone("+79123456789")], true, &owners);
        let MatchDecision::Known {
            party_id,
            new_contact_points,
            verified,
            ..
        } = &decision
        else {
            panic!("expected known: {decision:?}");
        };
        assert_eq!(party_id, "P1");
        assert_eq!(new_contact_points, &vec![email("a@b.ru")]);
        assert!(verified);
        assert!(!decision.has_conflict());
    }

    #[test]
    fn email_wins_over_phone_and_the_conflict_is_flagged() {
        let owners = HashMap::from([
            (email("a@b.ru"), owned("P1")),
            (phone("+79123456789"), owned("P2")),
        ]);
        let decision =
            match_contact_points(&[email("a@b.ru"), phone("+79123456789")], true, &owners);
        let MatchDecision::Known {
            party_id,
            evidence,
            new_contact_points,
            ..
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
    fn an_unvouched_claim_joins_the_history_unverified() {
        // Mail from an outsider with Reply-To: a client's address.
        let owners = HashMap::from([(email("client@zavod.ru"), owned("P1"))]);
        let decision = match_contact_points(
            &[email("client@zavod.ru"), phone("+79990001122")],
            false,
            &owners,
        );
        assert!(matches!(
            decision,
            MatchDecision::Known { ref party_id, verified: false, .. } if party_id == "P1"
        ));
    }

    #[test]
    fn a_proposed_point_never_overrides_a_confirmed_match() {
        let owners = HashMap::from([
            (email("a@b.ru"), proposed("P2")),
            (phone("+79123456789"), owned("P1")),
        ]);
        let decision =
            match_contact_points(&[email("a@b.ru"), phone("+79123456789")], true, &owners);
        assert!(matches!(
            decision,
            MatchDecision::Known { ref party_id, verified: true, .. } if party_id == "P1"
        ));
    }

    #[test]
    fn no_contact_points_cannot_be_matched() {
        assert_eq!(
            match_contact_points(&[], true, &HashMap::new()),
            MatchDecision::Unidentifiable
        );
    }
}
