//! Counterparties (leads, clients, partners) and their contact persons.

use super::channel::Channel;
use super::contact_point::{ContactPoint, EmailAddress, PhoneNumber, PhoneParse};
use crate::kernel::{Department, Owner};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a counterparty is to the company. A lead is a potential client
/// (Потенциальный клиент) created by intake; qualification turns it into a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CounterpartyKind {
    Lead,
    Client,
    Partner,
}

impl CounterpartyKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Lead => "lead",
            Self::Client => "client",
            Self::Partner => "partner",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Lead, Self::Client, Self::Partner]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

/// A company or a private person the company deals with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counterparty {
    pub id: String,
    pub kind: CounterpartyKind,
    /// Display name: the company when known, else the person, else the contact point.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible_manager_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Department>,
    /// The channel that first brought this party in.
    pub source_channel: Channel,
    pub created_at: DateTime<Utc>,
}

impl Counterparty {
    /// The name as staff who may not see this party's contacts read it (a list, a
    /// search, a client of someone else): a lead known by nothing but its address or
    /// number is named after it, and that is not shown.
    pub fn name_for_outsiders(&self) -> String {
        let letters = self.name.chars().any(char::is_alphabetic);
        let digits = self.name.chars().filter(char::is_ascii_digit).count();
        if self.name.contains('@') || (!letters && digits >= 5) {
            "Без имени".to_owned()
        } else {
            self.name.clone()
        }
    }

    /// The counterparty with a new name and company (`None` leaves one as it is; an empty
    /// company removes it), or the fields that are wrong.
    pub fn renamed(
        &self,
        name: Option<&str>,
        company: Option<&str>,
    ) -> Result<Counterparty, Vec<String>> {
        let mut new = self.clone();
        let mut problems = Vec::new();
        if let Some(name) = name {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                problems.push("name".to_owned());
            }
            new.name = name.to_owned();
        }
        if let Some(company) = company {
            let company = company.trim();
            if company.chars().count() > 300 {
                problems.push("company".to_owned());
            }
            new.company = (!company.is_empty()).then(|| company.to_owned());
        }
        if problems.is_empty() {
            Ok(new)
        } else {
            Err(problems)
        }
    }

    /// Its responsible manager and department, for access.
    pub fn owner(&self) -> Owner<'_> {
        Owner {
            manager_id: self.responsible_manager_id.as_deref(),
            department: self.department,
        }
    }
}

/// A person at a counterparty, with every way to reach them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactPerson {
    pub id: String,
    pub party_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub emails: Vec<EmailAddress>,
    #[serde(default)]
    pub phones: Vec<PhoneNumber>,
    /// Numbers that did not validate, kept as written so nobody loses them.
    #[serde(default)]
    pub invalid_phones: Vec<String>,
}

/// A contact as staff set it by hand: the contact after the edit, and the contact points
/// it gains and loses.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactEdit {
    pub contact: ContactPerson,
    pub added: Vec<ContactPoint>,
    pub removed: Vec<ContactPoint>,
}

impl ContactPerson {
    /// The most addresses, and the most numbers, one contact keeps.
    pub const MAX_POINTS: usize = 10;
    /// The longest phone staff may write on a contact.
    pub const MAX_WRITTEN_PHONE: usize = 64;

    /// Every contact point of the contact.
    pub fn points(&self) -> Vec<ContactPoint> {
        self.emails
            .iter()
            .map(|e| ContactPoint::Email(e.clone()))
            .chain(self.phones.iter().map(PhoneNumber::contact_point))
            .collect()
    }

    /// The contact without `point` (a rejected one), or `None` when it does not list it.
    pub fn without(&self, point: &ContactPoint) -> Option<ContactEdit> {
        if !self.points().contains(point) {
            return None;
        }
        let mut contact = self.clone();
        contact
            .emails
            .retain(|e| ContactPoint::Email(e.clone()) != *point);
        contact.phones.retain(|p| p.contact_point() != *point);
        Some(ContactEdit {
            contact,
            added: Vec::new(),
            removed: vec![point.clone()],
        })
    }

    /// The contact with a new name (`None` keeps it; empty removes it) and exactly these
    /// addresses and numbers, as staff write them (`8 (912) …`, `+7 912 …`); or the
    /// fields that are wrong (`emails[1]`, `phones[0]`, `name`). Duplicates collapse; a
    /// number keeps the form it was first written in.
    pub fn edited(
        &self,
        name: Option<&str>,
        emails: &[String],
        phones: &[String],
    ) -> Result<ContactEdit, Vec<String>> {
        let mut problems = Vec::new();
        let mut contact = self.clone();
        if let Some(name) = name {
            let name = name.trim();
            if name.chars().count() > 200 {
                problems.push("name".to_owned());
            }
            contact.name = (!name.is_empty()).then(|| name.to_owned());
        }
        if emails.len() > Self::MAX_POINTS {
            problems.push("emails".to_owned());
        }
        if phones.len() > Self::MAX_POINTS {
            problems.push("phones".to_owned());
        }
        if emails.len() > Self::MAX_POINTS || phones.len() > Self::MAX_POINTS {
            // Refused before any is read: the checks below are quadratic in the list.
            return Err(problems);
        }
        contact.emails = Vec::new();
        for (index, text) in emails.iter().enumerate() {
            match EmailAddress::parse(text) {
                Some(email) if !contact.emails.contains(&email) => contact.emails.push(email),
                Some(_) => {}
                None => problems.push(format!("emails[{index}]")),
            }
        }
        contact.phones = Vec::new();
        for (index, text) in phones.iter().enumerate() {
            if text.chars().count() > Self::MAX_WRITTEN_PHONE {
                // No number is written that long (`+7 (495) 123-45-67 доб. 1234` is 28).
                problems.push(format!("phones[{index}]"));
                continue;
            }
            match PhoneNumber::parse(text) {
                Some(PhoneParse::Valid(number)) => {
                    // The form the contact already had is kept (its `raw` as first written).
                    let kept = self
                        .phones
                        .iter()
                        .find(|p| p.e164 == number.e164)
                        .cloned()
                        .unwrap_or(number);
                    if !contact.phones.iter().any(|p| p.e164 == kept.e164) {
                        contact.phones.push(kept);
                    }
                }
                _ => problems.push(format!("phones[{index}]")),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let before = self.points();
        let after = contact.points();
        Ok(ContactEdit {
            added: after
                .iter()
                .filter(|p| !before.contains(p))
                .cloned()
                .collect(),
            removed: before
                .iter()
                .filter(|p| !after.contains(p))
                .cloned()
                .collect(),
            contact,
        })
    }
}

/// Who wrote or called, as intake extracted it from one message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonDetails {
    pub name: Option<String>,
    pub email: Option<EmailAddress>,
    pub phone: Option<PhoneParse>,
    pub company: Option<String>,
    /// Further valid numbers the person gave (a mobile besides the office line).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_phones: Vec<PhoneNumber>,
}

impl PersonDetails {
    /// The contact points to match on, email first (it identifies a person more reliably
    /// than a shared office phone).
    pub fn contact_points(&self) -> Vec<ContactPoint> {
        let mut points = Vec::with_capacity(2);
        if let Some(email) = &self.email {
            points.push(ContactPoint::Email(email.clone()));
        }
        if let Some(PhoneParse::Valid(phone)) = &self.phone {
            points.push(phone.contact_point());
        }
        for phone in &self.other_phones {
            let point = phone.contact_point();
            if !points.contains(&point) {
                points.push(point);
            }
        }
        points
    }

    /// The person without the given contact points (e.g. the company's own).
    pub fn without(&self, points: &[ContactPoint]) -> PersonDetails {
        let kept = |phone: &PhoneNumber| !points.contains(&phone.contact_point());
        PersonDetails {
            name: self.name.clone(),
            email: self
                .email
                .clone()
                .filter(|e| !points.contains(&ContactPoint::Email(e.clone()))),
            phone: self.phone.clone().filter(|p| match p {
                PhoneParse::Valid(phone) => kept(phone),
                PhoneParse::Invalid { .. } => true,
            }),
            company: self.company.clone(),
            other_phones: self
                .other_phones
                .iter()
                .filter(|p| kept(p))
                .cloned()
                .collect(),
        }
    }

    /// Every valid number: the main one first.
    pub fn valid_phones(&self) -> Vec<PhoneNumber> {
        let mut phones: Vec<PhoneNumber> = self.valid_phone().into_iter().cloned().collect();
        for phone in &self.other_phones {
            if !phones.iter().any(|p| p.e164 == phone.e164) {
                phones.push(phone.clone());
            }
        }
        phones
    }

    pub fn valid_phone(&self) -> Option<&PhoneNumber> {
        match &self.phone {
            Some(PhoneParse::Valid(phone)) => Some(phone),
            _ => None,
        }
    }

    /// How a new lead is called in lists: company, else person, else email, else phone.
    pub fn display_name(&self) -> String {
        self.company
            .clone()
            .or_else(|| self.name.clone())
            .or_else(|| self.email.as_ref().map(ToString::to_string))
            .or_else(|| self.valid_phone().map(|p| p.e164.clone()))
            .or_else(|| match &self.phone {
                Some(PhoneParse::Invalid { raw }) => Some(raw.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "Без имени".to_owned())
    }

    /// The contact person a new lead starts with.
    pub fn to_contact_person(&self, id: String, party_id: String) -> ContactPerson {
        ContactPerson {
            id,
            party_id,
            name: self.name.clone(),
            emails: self.email.iter().cloned().collect(),
            phones: self.valid_phones(),
            invalid_phones: match &self.phone {
                Some(PhoneParse::Invalid { raw }) => vec![raw.clone()],
                _ => Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact() -> ContactPerson {
        let phone = match PhoneNumber::parse("8 (912) 345-67-89") {
            Some(PhoneParse::Valid(p)) => p,
            other => panic!("{other:?}"),
        };
        ContactPerson {
            id: "c1".into(),
            party_id: "p1".into(),
            name: Some("Иван".into()),
            emails: vec![EmailAddress::parse("ivan@zavod.ru").unwrap()],
            phones: vec![phone],
            invalid_phones: vec!["12-34".into()],
        }
    }

    #[test]
    fn a_contact_edit_says_which_points_come_and_go() {
        let edit = contact()
            .edited(
                Some(" Иван Петров "),
                &[
                    "IVAN@zavod.ru".into(),
                    "sales@zavod.ru".into(),
                    "sales@zavod.ru".into(),
                ],
                &["+7 (495) 123-45-67".into(), "+7 912 345 67 89".into()],
            )
            .unwrap();
        assert_eq!(edit.contact.name.as_deref(), Some("Иван Петров"));
        assert_eq!(
            edit.added,
            [
                ContactPoint::Email(EmailAddress::parse("sales@zavod.ru").unwrap()),
                ContactPoint::Phone("+74951234567".into()),
            ]
        );
        assert!(edit.removed.is_empty());
        // The number written before keeps its first form; invalid numbers stay.
        assert_eq!(edit.contact.phones[1].raw, "8 (912) 345-67-89");
        assert_eq!(edit.contact.invalid_phones, ["12-34"]);

        let edit = contact().edited(None, &[], &[]).unwrap();
        assert_eq!(edit.removed.len(), 2);
        assert!(edit.added.is_empty());
        assert_eq!(edit.contact.name.as_deref(), Some("Иван"));
    }

    #[test]
    fn a_contact_edit_names_what_is_wrong() {
        let too_many: Vec<String> = (0..11).map(|n| format!("a{n}@zavod.ru")).collect();
        assert_eq!(
            contact()
                .edited(Some(&"я".repeat(201)), &too_many, &["12".into(), "".into()])
                .unwrap_err(),
            ["name", "emails"],
            "too many: refused before any is read"
        );
        let long = format!("8 10 7 495 123 45 67 {}", "x".repeat(100));
        assert_eq!(
            contact()
                .edited(None, &[], &["12".into(), "".into(), long])
                .unwrap_err(),
            ["phones[0]", "phones[1]", "phones[2]"]
        );
        assert_eq!(
            contact()
                .edited(None, &["не адрес".into()], &[])
                .unwrap_err(),
            ["emails[0]"]
        );
    }

    #[test]
    fn display_name_prefers_company_then_person() {
        let mut person = PersonDetails {
            name: Some("Иван".into()),
            email: EmailAddress::parse("ivan@zavod.ru"),
            phone: PhoneNumber::parse("89123456789"),
            company: Some("ООО «Завод»".into()),
            other_phones: Vec::new(),
        };
        assert_eq!(person.display_name(), "ООО «Завод»");
        person.company = None;
        assert_eq!(person.display_name(), "Иван");
        person.name = None;
        assert_eq!(person.display_name(), "ivan@zavod.ru");
        person.email = None;
        assert_eq!(person.display_name(), "+79123456789");
    }

    #[test]
    fn contact_points_put_email_first_and_skip_invalid_phones() {
        let person = PersonDetails {
            email: EmailAddress::parse("ivan@zavod.ru"),
            phone: PhoneNumber::parse("3456789"),
            ..Default::default()
        };
        assert_eq!(person.contact_points().len(), 1);
        let contact = person.to_contact_person("c".into(), "p".into());
        assert_eq!(contact.invalid_phones, vec!["3456789".to_owned()]);
    }

    #[test]
    fn a_name_that_is_an_address_or_a_number_is_not_shown_to_outsiders() {
        let named = |name: &str| Counterparty {
            id: "p".into(),
            kind: CounterpartyKind::Lead,
            name: name.into(),
            company: None,
            responsible_manager_id: None,
            department: None,
            source_channel: Channel::Phone,
            created_at: chrono::Utc::now(),
        };
        for hidden in [
            "ivan@zavod.ru",
            "+79123456789",
            "3456789",
            "8 (912) 345-67-89",
        ] {
            assert_eq!(named(hidden).name_for_outsiders(), "Без имени", "{hidden}");
        }
        for shown in ["ООО «Завод 2000»", "Иван", "НПП 12345"] {
            assert_eq!(named(shown).name_for_outsiders(), shown);
        }
    }

    #[test]
    fn a_rejected_point_leaves_the_contact_and_only_it() {
        let contact = contact();
        let point = contact.points()[0].clone();
        let edit = contact.without(&point).unwrap();
        assert_eq!(edit.removed, std::slice::from_ref(&point));
        assert!(edit.added.is_empty());
        assert!(!edit.contact.points().contains(&point));
        assert_eq!(edit.contact.points().len(), contact.points().len() - 1);
        assert!(edit.contact.without(&point).is_none(), "no longer listed");
    }
}
