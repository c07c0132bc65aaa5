//! Emails to staff: what is sent, and to whom. The texts are in [`crate::templates`].

use super::employee::Employee;
use crate::kernel::Department;
use crate::party::EmailAddress;
use serde::{Deserialize, Serialize};

/// An email to staff, stored with the record that caused it until it has been sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub to: Vec<EmailAddress>,
    pub subject: String,
    pub body: String,
}

/// The longest subject line sent, in characters.
const MAX_SUBJECT_CHARS: usize = 200;

impl Notification {
    /// The subject as it may go into a mail header: names from mail, forms and chats end
    /// up in it, so control characters (CR/LF above all) become spaces, runs of spaces
    /// one, and it is cut to a sane length.
    pub fn header_subject(&self) -> String {
        let cleaned: String = self
            .subject
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        cleaned
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(MAX_SUBJECT_CHARS)
            .collect()
    }
}

/// The distinct addresses of `staff`, sorted: one email per person however often listed.
pub fn recipients(staff: &[Employee]) -> Vec<EmailAddress> {
    let mut to: Vec<EmailAddress> = staff.iter().map(|e| e.email.clone()).collect();
    to.sort();
    to.dedup();
    to
}

/// The heads among `heads` who cover `department`: a head of all departments covers
/// everything; a department's head covers only what belongs to it.
pub fn heads_covering(heads: &[Employee], department: Option<Department>) -> Vec<Employee> {
    heads
        .iter()
        .filter(|head| head.department.is_none_or(|d| department == Some(d)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_name_cannot_add_a_header_line() {
        let n = Notification {
            to: Vec::new(),
            subject: "Новый лид: Иван\r\nBcc: all@evil.example\u{0}  (email)".into(),
            body: String::new(),
        };
        assert_eq!(
            n.header_subject(),
            "Новый лид: Иван Bcc: all@evil.example (email)"
        );
        let long = Notification {
            subject: "я".repeat(500),
            ..n
        };
        assert_eq!(long.header_subject().chars().count(), 200);
    }

    use super::*;
    use crate::staff::Role;

    fn head(id: &str, department: Option<Department>) -> Employee {
        Employee {
            id: id.into(),
            name: id.into(),
            email: EmailAddress::parse(&format!("{id}@zavod.example")).unwrap(),
            role: Role::Head,
            department,
            extension: None,
            active: true,
        }
    }

    #[test]
    fn each_person_is_written_to_once() {
        let a = head("a", None);
        let b = head("b", None);
        let to = recipients(&[b.clone(), a.clone(), b]);
        assert_eq!(
            to,
            vec![a.email, EmailAddress::parse("b@zavod.example").unwrap()]
        );
    }

    #[test]
    fn a_department_head_covers_only_their_department() {
        let all = head("all", None);
        let high = head("high", Some(Department::High));
        let heads = [all, high];
        let ids = |d| -> Vec<String> {
            heads_covering(&heads, d)
                .into_iter()
                .map(|h| h.id)
                .collect()
        };
        assert_eq!(ids(Some(Department::High)), ["all", "high"]);
        assert_eq!(ids(Some(Department::Thermal)), ["all"]);
        assert_eq!(ids(None), ["all"]);
    }
}
