//! Finding a counterparty from what a person types in the search box: an email address,
//! a phone number in any written form (`8 912 …`, `+7 (912) …`) — each one lookup of its
//! contact point — or the start of words of its name or company (any case, `ё` as `е`).

use super::contact_point::{EmailAddress, PhoneNumber, PhoneParse};
use crate::kernel::search_form;

/// The most words of a name and company that are indexed.
pub const MAX_INDEXED_WORDS: usize = 12;
/// Words shorter than this are not indexed (nor searched by).
pub const MIN_WORD_CHARS: usize = 2;
const MAX_WORD_CHARS: usize = 40;

/// The words a counterparty is found by, in search form, each once.
pub fn search_words(texts: &[&str]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for text in texts {
        for word in search_form(text).split(|c: char| !c.is_alphanumeric()) {
            let word: String = word.chars().take(MAX_WORD_CHARS).collect();
            if word.chars().count() >= MIN_WORD_CHARS
                && !words.contains(&word)
                && words.len() < MAX_INDEXED_WORDS
            {
                words.push(word);
            }
        }
    }
    words
}

/// What a search box text asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CounterpartyQuery {
    Email(EmailAddress),
    /// E.164.
    Phone(String),
    /// Word prefixes, all of which must start words of the name or company.
    Words(Vec<String>),
}

/// Reads a search text; `None` when it asks for nothing usable (a single letter).
pub fn read_query(text: &str) -> Option<CounterpartyQuery> {
    let text = text.trim();
    if text.contains('@') {
        return EmailAddress::parse(text).map(CounterpartyQuery::Email);
    }
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    if digits >= 7 && letters == 0 {
        return match PhoneNumber::parse(text) {
            Some(PhoneParse::Valid(phone)) => Some(CounterpartyQuery::Phone(phone.e164)),
            _ => None,
        };
    }
    let words = search_words(&[text]);
    (!words.is_empty()).then_some(CounterpartyQuery::Words(words))
}

/// Whether every query word starts a word of `indexed`.
pub fn words_match(query: &[String], indexed: &[String]) -> bool {
    query
        .iter()
        .all(|q| indexed.iter().any(|word| word.starts_with(q.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_companies_are_found_by_word_starts_any_case_and_yo() {
        let indexed = search_words(&["Пётр Ёлкин", "ООО «Вакуум-Сервис»"]);
        assert_eq!(indexed, ["петр", "елкин", "ооо", "вакуум", "сервис"]);
        let query = |text: &str| match read_query(text) {
            Some(CounterpartyQuery::Words(words)) => words,
            other => panic!("{other:?}"),
        };
        assert!(words_match(&query("ЕЛК"), &indexed));
        assert!(words_match(&query("пётр ёлкин"), &indexed));
        assert!(words_match(&query("вакуум петр"), &indexed));
        assert!(!words_match(&query("иван"), &indexed));
        assert!(read_query("п").is_none(), "one letter asks for nothing");
    }

    #[test]
    fn an_address_or_any_written_phone_is_one_contact_point() {
        assert_eq!(
            read_query(" Petr@Elkin.RU "),
            Some(CounterpartyQuery::Email(
                EmailAddress::parse("petr@elkin.ru").unwrap()
            ))
        );
        for written in ["8 912 555-00-11", "+7 (912) 555 00 11", "89125550011"] {
            assert_eq!(
                read_query(written),
                Some(CounterpartyQuery::Phone("+79125550011".into())),
                "{written}"
            );
        }
    }
}
