//! Segments: saved, named definitions of a part of the contact base, over what marketing
//! knows of each counterparty ([`ContactCard`]): department, lead or client, equipment of
//! interest, how far its deals got (or never qualified), region, tags, recent activity,
//! whether it has an email or a phone, when it was created. [`SegmentDefinition::matches`]
//! is the one rule; the store only narrows by department and kind first.

use crate::kernel::Department;
use crate::party::{Channel, CounterpartyKind};
use crate::sales::{Deal, DealStage, EquipmentType};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What marketing knows of one counterparty — its contact card: who it is, how to reach
/// it, its latest contact and a summary of each of its deals. Kept up to date by intake,
/// routing and the deal-events function; read page by page by segments and exports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCard {
    pub party_id: String,
    pub kind: CounterpartyKind,
    #[serde(default)]
    pub department: Option<Department>,
    #[serde(default)]
    pub manager_id: Option<String>,
    /// The counterparty's name (a person's full name for most leads).
    pub name: String,
    #[serde(default)]
    pub company: Option<String>,
    /// The contact person, when known apart from the name.
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    /// E.164.
    #[serde(default)]
    pub phones: Vec<String>,
    /// City or region, from the address of its legal entity.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Its deals by id.
    #[serde(default)]
    pub deals: BTreeMap<String, DealSummary>,
    #[serde(default)]
    pub last_activity: Option<Activity>,
    pub created_at: DateTime<Utc>,
}

/// A deal as the contact card keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DealSummary {
    pub stage: DealStage,
    #[serde(default)]
    pub equipment_types: Vec<EquipmentType>,
    pub updated_at: DateTime<Utc>,
}

impl DealSummary {
    pub fn of(deal: &Deal) -> Self {
        let mut equipment_types: Vec<EquipmentType> =
            deal.terms.items.iter().map(|i| i.equipment_type).collect();
        equipment_types.extend(deal.terms.equipment_type);
        equipment_types.sort_by_key(|e| format!("{e:?}"));
        equipment_types.dedup();
        Self {
            stage: deal.stage,
            equipment_types,
            updated_at: deal.updated_at,
        }
    }
}

/// Whether a deal now at `current` has been through `stage`. The stages are taken in the
/// order of the process (a deal at `invoice` counts as past `proposal`); an unfit deal
/// reached only `unfit`.
pub fn reached(current: DealStage, stage: DealStage) -> bool {
    match (current, stage) {
        (DealStage::Unfit, wanted) => wanted == DealStage::Unfit,
        (_, DealStage::Unfit) => false,
        (current, wanted) => wanted <= current,
    }
}

impl ContactCard {
    pub fn has_email(&self) -> bool {
        !self.emails.is_empty()
    }

    pub fn has_phone(&self) -> bool {
        !self.phones.is_empty()
    }

    /// The equipment its deals are about.
    pub fn equipment_types(&self) -> impl Iterator<Item = EquipmentType> + '_ {
        self.deals
            .values()
            .flat_map(|d| d.equipment_types.iter().copied())
    }

    /// The deal still running that changed last.
    pub fn open_deal(&self) -> Option<OpenDeal> {
        self.deals
            .iter()
            .filter(|(_, d)| !d.stage.is_final())
            .max_by_key(|(_, d)| d.updated_at)
            .map(|(id, d)| OpenDeal {
                deal_id: id.clone(),
                stage: d.stage,
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OpenDeal {
    pub deal_id: String,
    pub stage: DealStage,
}

/// The latest contact with the counterparty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Activity {
    pub at: DateTime<Utc>,
    pub channel: Channel,
}

/// Which counterparties a segment holds. Every filter given must hold; lists hold when
/// any of their values does (tags: all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SegmentDefinition {
    pub departments: Vec<Department>,
    pub kinds: Vec<CounterpartyKind>,
    pub equipment_types: Vec<EquipmentType>,
    /// Some deal of theirs reached this stage (`closed`: clients with a closed deal).
    pub stage_reached: Option<DealStage>,
    /// Leads that never became a deal.
    pub never_qualified: bool,
    /// City or region names (part of the address, any case) or phone area codes (`343`).
    pub regions: Vec<String>,
    pub tags: Vec<String>,
    /// In contact within the last N days.
    pub active_within_days: Option<u32>,
    /// Not in contact for N days or more (or never).
    pub inactive_for_days: Option<u32>,
    pub has_email: Option<bool>,
    pub has_phone: Option<bool>,
    pub created_from: Option<NaiveDate>,
    pub created_to: Option<NaiveDate>,
}

/// The most values one list filter takes, and the longest value.
pub const MAX_FILTER_VALUES: usize = 50;
pub const MAX_FILTER_CHARS: usize = 100;

impl SegmentDefinition {
    /// Whether `card` belongs to the segment on `now`.
    pub fn matches(&self, card: &ContactCard, now: DateTime<Utc>) -> bool {
        let in_list = |list_empty: bool, hit: bool| list_empty || hit;
        let days_ago = |days: u32| now - Duration::days(i64::from(days));
        let created = card.created_at.date_naive();
        in_list(
            self.departments.is_empty(),
            card.department
                .is_some_and(|d| self.departments.contains(&d)),
        ) && in_list(self.kinds.is_empty(), self.kinds.contains(&card.kind))
            && in_list(
                self.equipment_types.is_empty(),
                card.equipment_types()
                    .any(|e| self.equipment_types.contains(&e)),
            )
            && self
                .stage_reached
                .is_none_or(|stage| card.deals.values().any(|d| reached(d.stage, stage)))
            && (!self.never_qualified
                || (card.kind == CounterpartyKind::Lead && card.deals.is_empty()))
            && in_list(
                self.regions.is_empty(),
                self.regions.iter().any(|r| in_region(card, r)),
            )
            && self.tags.iter().all(|tag| {
                card.tags
                    .iter()
                    .any(|t| t.to_lowercase() == tag.trim().to_lowercase())
            })
            && self.active_within_days.is_none_or(|days| {
                card.last_activity
                    .as_ref()
                    .is_some_and(|a| a.at >= days_ago(days))
            })
            && self.inactive_for_days.is_none_or(|days| {
                card.last_activity
                    .as_ref()
                    .is_none_or(|a| a.at < days_ago(days))
            })
            && self
                .has_email
                .is_none_or(|wanted| wanted == card.has_email())
            && self
                .has_phone
                .is_none_or(|wanted| wanted == card.has_phone())
            && self.created_from.is_none_or(|from| created >= from)
            && self.created_to.is_none_or(|to| created <= to)
    }

    /// Fields out of range, as paths (`regions[3]`).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        // Enumerations list each value once at most (a list of a thousand `high`s would
        // otherwise read the same partition a thousand times).
        let repeated = |mut values: Vec<String>| {
            let n = values.len();
            values.sort();
            values.dedup();
            values.len() < n
        };
        if repeated(
            self.departments
                .iter()
                .map(|d| d.code().to_owned())
                .collect(),
        ) {
            problems.push("departments".to_owned());
        }
        if repeated(self.kinds.iter().map(|k| k.code().to_owned()).collect()) {
            problems.push("kinds".to_owned());
        }
        if repeated(
            self.equipment_types
                .iter()
                .map(|e| format!("{e:?}"))
                .collect(),
        ) {
            problems.push("equipment_types".to_owned());
        }
        for (name, values) in [("regions", &self.regions), ("tags", &self.tags)] {
            if values.len() > MAX_FILTER_VALUES {
                problems.push(name.to_owned());
            }
            for (index, value) in values.iter().enumerate() {
                if value.trim().is_empty() || value.chars().count() > MAX_FILTER_CHARS {
                    problems.push(format!("{name}[{index}]"));
                }
            }
        }
        for (name, days) in [
            ("active_within_days", self.active_within_days),
            ("inactive_for_days", self.inactive_for_days),
        ] {
            if days.is_some_and(|d| !(1..=3650).contains(&d)) {
                problems.push(name.to_owned());
            }
        }
        if let (Some(from), Some(to)) = (self.created_from, self.created_to)
            && from > to
        {
            problems.push("created_to".to_owned());
        }
        if self.never_qualified
            && (self.stage_reached.is_some()
                || self.kinds.iter().any(|k| *k != CounterpartyKind::Lead))
        {
            problems.push("never_qualified".to_owned());
        }
        problems
    }
}

/// Whether the card is in `region`: a phone area code (digits), or part of its address.
fn in_region(card: &ContactCard, region: &str) -> bool {
    let region = region.trim();
    if !region.is_empty() && region.chars().all(|c| c.is_ascii_digit()) {
        return card.phones.iter().any(|p| {
            p.strip_prefix("+7")
                .is_some_and(|rest| rest.starts_with(region))
        });
    }
    let wanted = region.to_lowercase().replace('ё', "е");
    card.region
        .as_deref()
        .is_some_and(|r| r.to_lowercase().replace('ё', "е").contains(&wanted))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn card(id: &str) -> ContactCard {
        ContactCard {
            party_id: id.into(),
            kind: CounterpartyKind::Lead,
            department: Some(Department::High),
            name: "Петров Игорь".into(),
            company: Some("ООО «Завод»".into()),
            contact_name: None,
            emails: vec!["igor@zavod.ru".into()],
            phones: vec!["+73432100000".into()],
            region: Some("г. Екатеринбург, ул. Ленина, 1".into()),
            tags: vec!["выставка".into()],
            deals: BTreeMap::new(),
            manager_id: None,
            last_activity: Some(Activity {
                at: now() - Duration::days(10),
                channel: Channel::Email,
            }),
            created_at: "2026-03-01T10:00:00Z".parse().unwrap(),
        }
    }

    pub(crate) fn now() -> DateTime<Utc> {
        "2026-11-29T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn every_filter_narrows_and_an_empty_definition_takes_everyone() {
        let mut card = card("p1");
        card.kind = CounterpartyKind::Client;
        card.deals.insert(
            "d1".into(),
            DealSummary {
                stage: DealStage::Proposal,
                equipment_types: vec![EquipmentType::VacuumPump],
                updated_at: now(),
            },
        );
        let all = SegmentDefinition::default();
        assert!(all.matches(&card, now()));
        let hit = |definition: SegmentDefinition| definition.matches(&card, now());
        assert!(hit(SegmentDefinition {
            departments: vec![Department::High],
            kinds: vec![CounterpartyKind::Client],
            equipment_types: vec![EquipmentType::VacuumPump, EquipmentType::Pump],
            stage_reached: Some(DealStage::EquipmentSelection),
            regions: vec!["екатеринбург".into()],
            tags: vec!["Выставка".into()],
            active_within_days: Some(30),
            has_email: Some(true),
            has_phone: Some(true),
            created_from: NaiveDate::from_ymd_opt(2026, 1, 1),
            created_to: NaiveDate::from_ymd_opt(2026, 12, 31),
            ..all.clone()
        }));
        assert!(hit(SegmentDefinition {
            regions: vec!["343".into()],
            ..all.clone()
        }));
        for miss in [
            SegmentDefinition {
                departments: vec![Department::Thermal],
                ..all.clone()
            },
            SegmentDefinition {
                kinds: vec![CounterpartyKind::Lead],
                ..all.clone()
            },
            SegmentDefinition {
                never_qualified: true,
                ..all.clone()
            },
            SegmentDefinition {
                equipment_types: vec![EquipmentType::Simulator],
                ..all.clone()
            },
            SegmentDefinition {
                stage_reached: Some(DealStage::Closed),
                ..all.clone()
            },
            SegmentDefinition {
                regions: vec!["Москва".into(), "495".into()],
                ..all.clone()
            },
            SegmentDefinition {
                tags: vec!["выставка".into(), "дилер".into()],
                ..all.clone()
            },
            SegmentDefinition {
                active_within_days: Some(7),
                ..all.clone()
            },
            SegmentDefinition {
                inactive_for_days: Some(30),
                ..all.clone()
            },
            SegmentDefinition {
                has_email: Some(false),
                ..all.clone()
            },
            SegmentDefinition {
                created_from: NaiveDate::from_ymd_opt(2026, 6, 1),
                ..all.clone()
            },
        ] {
            assert!(!hit(miss.clone()), "{miss:?}");
        }
    }

    #[test]
    fn clients_with_a_closed_deal_and_leads_never_qualified() {
        let mut client = card("c1");
        client.kind = CounterpartyKind::Client;
        client.deals.insert(
            "d1".into(),
            DealSummary {
                stage: DealStage::Closed,
                equipment_types: vec![],
                updated_at: now(),
            },
        );
        let closed = SegmentDefinition {
            stage_reached: Some(DealStage::Closed),
            ..SegmentDefinition::default()
        };
        let never = SegmentDefinition {
            never_qualified: true,
            ..SegmentDefinition::default()
        };
        assert!(closed.matches(&client, now()));
        assert!(!never.matches(&client, now()));
        assert!(never.matches(&card("l1"), now()));
        assert!(!closed.matches(&card("l1"), now()));
    }

    #[test]
    fn a_stage_is_reached_by_the_deals_that_went_through_it() {
        assert!(reached(DealStage::Invoice, DealStage::Proposal));
        assert!(reached(DealStage::Closed, DealStage::Agreed));
        assert!(!reached(DealStage::Proposal, DealStage::Agreed));
        assert!(!reached(DealStage::Unfit, DealStage::Proposal));
        assert!(reached(DealStage::Unfit, DealStage::Unfit));
        assert!(!reached(DealStage::Closed, DealStage::Unfit));
    }

    #[test]
    fn out_of_range_filters_are_named() {
        let definition = SegmentDefinition {
            tags: vec![" ".into()],
            active_within_days: Some(0),
            created_from: NaiveDate::from_ymd_opt(2026, 2, 1),
            created_to: NaiveDate::from_ymd_opt(2026, 1, 1),
            never_qualified: true,
            stage_reached: Some(DealStage::Closed),
            ..SegmentDefinition::default()
        };
        assert_eq!(
            definition.problems(),
            [
                "tags[0]",
                "active_within_days",
                "created_to",
                "never_qualified"
            ]
        );
    }
}
