//! Labelled fields in message bodies (`Имя: Иван`, `E-mail автора: …`, `Телефон:`): the
//! way web-site forms and Jivo transcripts carry the person. A label→field dictionary,
//! not one fixed template, so Bitrix, Contact Form 7 and hand-made PHP forms all read.

/// The person-related fields found in a body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelledFields {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub subject: Option<String>,
    /// How many distinct labels were recognised (site-form evidence).
    pub labels_found: usize,
}

impl LabelledFields {
    pub fn has_contact(&self) -> bool {
        self.email.is_some() || self.phone.is_some()
    }
}

/// What a label stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Email,
    Phone,
    Company,
    Subject,
    Message,
    /// Contact Form 7's `From: Name <email>` line.
    NameAndEmail,
}

/// Labels as they appear before the colon, lower-cased.
const LABELS: &[(&str, Field)] = &[
    ("имя", Field::Name),
    ("ваше имя", Field::Name),
    ("фио", Field::Name),
    ("ф.и.о.", Field::Name),
    ("автор", Field::Name),
    ("контактное лицо", Field::Name),
    ("имя посетителя", Field::Name),
    ("посетитель", Field::Name),
    ("name", Field::Name),
    ("your name", Field::Name),
    ("visitor", Field::Name),
    ("email", Field::Email),
    ("e-mail", Field::Email),
    ("e-mail автора", Field::Email),
    ("email автора", Field::Email),
    ("эл. почта", Field::Email),
    ("электронная почта", Field::Email),
    ("почта", Field::Email),
    ("ваш e-mail", Field::Email),
    ("ваш email", Field::Email),
    ("your email", Field::Email),
    ("your e-mail", Field::Email),
    ("телефон", Field::Phone),
    ("тел", Field::Phone),
    ("тел.", Field::Phone),
    ("телефон автора", Field::Phone),
    ("контактный телефон", Field::Phone),
    ("ваш телефон", Field::Phone),
    ("мобильный", Field::Phone),
    ("моб.", Field::Phone),
    ("моб", Field::Phone),
    ("phone", Field::Phone),
    ("phone number", Field::Phone),
    ("tel", Field::Phone),
    ("компания", Field::Company),
    ("организация", Field::Company),
    ("название компании", Field::Company),
    ("предприятие", Field::Company),
    ("company", Field::Company),
    ("тема", Field::Subject),
    ("subject", Field::Subject),
    ("сообщение", Field::Message),
    ("текст сообщения", Field::Message),
    ("комментарий", Field::Message),
    ("вопрос", Field::Message),
    ("message", Field::Message),
    ("message body", Field::Message),
    ("from", Field::NameAndEmail),
];

/// Longest label we look for, in characters; longer "labels" are sentences with a colon.
const MAX_LABEL_CHARS: usize = 24;

/// The field a label (`Имя`, `E-mail автора`, `Phone`, …) stands for, in any case.
pub fn field_for_label(label: &str) -> Option<Field> {
    let label = label
        .trim()
        .trim_start_matches(['*', '-', '•'])
        .trim()
        .to_lowercase();
    LABELS.iter().find(|(l, _)| *l == label).map(|(_, f)| *f)
}

/// Reads labelled fields from `body`. A label's value is the rest of its line, or the next
/// non-empty line when the label stands alone (HTML tables rendered to text do that).
/// The first occurrence of each field wins: later ones are usually quoted history.
pub fn labelled_fields(body: &str) -> LabelledFields {
    let mut fields = LabelledFields::default();
    let mut seen = Vec::new();
    let lines: Vec<&str> = body.lines().map(str::trim).collect();
    for (index, line) in lines.iter().enumerate() {
        let Some((label, value)) = line.split_once(':') else {
            continue;
        };
        if label.chars().count() > MAX_LABEL_CHARS {
            continue;
        }
        let Some(field) = field_for_label(label) else {
            continue;
        };
        let mut value = value.trim().to_owned();
        if value.is_empty()
            && let Some(next) = lines[index + 1..].iter().take(2).find(|l| !l.is_empty())
            && next
                .split_once(':')
                .and_then(|(l, _)| field_for_label(l))
                .is_none()
        {
            value = (*next).to_owned();
        }
        if !seen.contains(&field) {
            seen.push(field);
        }
        if value.is_empty() {
            continue;
        }
        let slot = match field {
            Field::Name => &mut fields.name,
            Field::Email => &mut fields.email,
            Field::Phone => &mut fields.phone,
            Field::Company => &mut fields.company,
            Field::Subject => &mut fields.subject,
            Field::Message => continue,
            Field::NameAndEmail => {
                let (name, email) = split_name_and_email(&value);
                if fields.name.is_none() {
                    fields.name = name;
                }
                if fields.email.is_none() {
                    fields.email = email;
                }
                continue;
            }
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }
    fields.labels_found = seen.len();
    fields
}

/// `Иван Петров <ivan@zavod.ru>` → (`Иван Петров`, `ivan@zavod.ru`).
fn split_name_and_email(value: &str) -> (Option<String>, Option<String>) {
    match (value.find('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => {
            let name = value[..open].trim().trim_matches('"').trim();
            (
                (!name.is_empty()).then(|| name.to_owned()),
                Some(value[open + 1..close].trim().to_owned()),
            )
        }
        _ if value.contains('@') => (None, Some(value.to_owned())),
        _ => (Some(value.to_owned()), None),
    }
}

/// Legal-form prefixes that start a company name in a Russian signature.
const LEGAL_FORMS: &[&str] = &[
    "ООО",
    "АО",
    "ЗАО",
    "ОАО",
    "ПАО",
    "НПО",
    "НПП",
    "ФГУП",
    "ИП",
    "ООО\u{a0}",
];

/// A company name from a signature line such as `ООО «Завод Прогресс»`.
pub fn company_from_signature(body: &str) -> Option<String> {
    body.lines().map(str::trim).find_map(|line| {
        let first_word = line.split_whitespace().next()?;
        let is_legal_form = LEGAL_FORMS.contains(&first_word);
        let quoted = line.contains(['«', '"']);
        (is_legal_form && quoted && line.chars().count() <= 120).then(|| line.to_owned())
    })
}

/// Lines that open a quoted or forwarded message wherever they stand.
const HISTORY_MARKERS: &[&str] = &[
    "-----original message-----",
    "-----исходное сообщение-----",
    "пересылаемое сообщение",
    "forwarded message",
    "begin forwarded message:",
    "начало переадресованного сообщения:",
];

/// Header lines of a quoted message in Outlook's and other clients' plain form.
const FROM_LABELS: &[&str] = &["от:", "from:"];
const OTHER_HEADER_LABELS: &[&str] = &[
    "отправлено:",
    "sent:",
    "дата:",
    "date:",
    "кому:",
    "to:",
    "тема:",
    "subject:",
    "копия:",
    "cc:",
];

fn starts_with_any(line: &str, prefixes: &[&str]) -> bool {
    let lower = line.trim_start().to_lowercase();
    prefixes.iter().any(|p| lower.starts_with(p))
}

/// Where the quoted history of a message starts, in its common forms: `>` lines,
/// "… пишет:" / "… wrote:", "-----Original Message-----" and forwarding markers, and
/// header blocks without `>` (Outlook's Russian `От: … Отправлено: … Кому: … Тема:`,
/// `From:/Sent:`), with a `____` rule above one counted in. One pass over the lines.
pub fn quoted_history_start(body: &str) -> Option<usize> {
    let lines: Vec<(usize, &str)> = body
        .split_inclusive('\n')
        .scan(0, |offset, line| {
            let start = *offset;
            *offset += line.len();
            Some((start, line.trim_end_matches(['\r', '\n'])))
        })
        .collect();
    for (index, &(offset, line)) in lines.iter().enumerate() {
        let trimmed = line.trim();
        let lower = trimmed.to_lowercase();
        let quote_intro =
            (lower.ends_with("пишет:") || lower.ends_with("wrote:")) && trimmed.len() < 300;
        let marker = HISTORY_MARKERS.iter().any(|m| lower.contains(m)) && trimmed.len() < 120;
        let header_block = starts_with_any(trimmed, FROM_LABELS)
            && lines[index + 1..]
                .iter()
                .take(5)
                .any(|(_, next)| starts_with_any(next, OTHER_HEADER_LABELS));
        if trimmed.starts_with('>') || quote_intro || marker || header_block {
            // A rule line (`_____`) just above belongs to the history.
            let above = lines[..index]
                .iter()
                .rev()
                .find(|(_, l)| !l.trim().is_empty());
            return Some(match above {
                Some(&(rule, l)) if l.trim().len() >= 5 && l.trim().chars().all(|c| c == '_') => {
                    rule
                }
                _ => offset,
            });
        }
    }
    None
}

/// The part of a hand-written message above the quoted history, where the signature is.
pub fn strip_quoted_history(body: &str) -> &str {
    &body[..quoted_history_start(body).unwrap_or(body.len())]
}

/// The sender a forwarded or quoted block names in its `От:` / `From:` line (with the
/// display name), and that block's own text (below its header lines, above any older
/// history).
pub fn quoted_sender(history: &str) -> Option<(String, Option<String>, &str)> {
    let mut offset = 0;
    let mut sender = None;
    let mut body_start = None;
    for line in history.split_inclusive('\n') {
        let trimmed = line.trim();
        if sender.is_none() && starts_with_any(trimmed, FROM_LABELS) {
            let value = trimmed.split_once(':').map_or("", |(_, v)| v.trim());
            sender = address_in(value);
        } else if sender.is_some()
            && body_start.is_none()
            && !trimmed.is_empty()
            && !starts_with_any(trimmed, OTHER_HEADER_LABELS)
        {
            body_start = Some(offset);
        }
        offset += line.len();
        if body_start.is_some() {
            break;
        }
    }
    let (address, name) = sender?;
    let body = &history[body_start.unwrap_or(history.len())..];
    Some((address, name, strip_quoted_history(body)))
}

/// `Name <addr>`, `"Name" [mailto:addr]`, `addr`: the address and the name.
fn address_in(value: &str) -> Option<(String, Option<String>)> {
    let address = if let Some((_, rest)) = value.split_once('<') {
        rest.split_once('>').map(|(a, _)| a)?
    } else if let Some((_, rest)) = value.split_once("mailto:") {
        rest.split_once(']').map_or(rest, |(a, _)| a)
    } else {
        value.split_whitespace().find(|w| w.contains('@'))?
    };
    let name = value
        .split(['<', '['])
        .next()
        .map(|n| n.trim().trim_matches('"').trim().to_owned())
        .filter(|n| !n.is_empty() && !n.contains('@'));
    Some((address.trim().to_owned(), name))
}

/// Local parts of shared mailboxes, whose display name is rarely a person's.
const GENERIC_MAILBOXES: &[&str] = &[
    "info",
    "office",
    "sales",
    "mail",
    "post",
    "zakaz",
    "order",
    "orders",
    "admin",
    "secretary",
    "priemnaya",
    "reception",
    "contact",
    "hello",
    "snab",
    "supply",
    "buh",
    "zakupki",
];

/// Whether an address is a shared mailbox (`info@`, `office@`, `zakaz@` …).
pub fn is_generic_mailbox(local_part: &str) -> bool {
    let local = local_part.to_ascii_lowercase();
    GENERIC_MAILBOXES.contains(&local.as_str())
}

/// The person's name from a signature: the line after "С уважением," (or "Best regards,")
/// when it reads as a name — two or three capitalised words of letters.
pub fn name_from_signature(own_text: &str) -> Option<String> {
    const CLOSINGS: &[&str] = &[
        "с уважением",
        "с наилучшими пожеланиями",
        "всего доброго",
        "best regards",
        "kind regards",
        "regards",
    ];
    let mut lines = own_text.lines().map(str::trim).filter(|l| !l.is_empty());
    while let Some(line) = lines.next() {
        let lower = line.to_lowercase();
        let closing = lower.trim_end_matches([',', '.', '!']);
        if CLOSINGS.contains(&closing) || closing == "--" {
            let candidate = lines.next()?;
            let words: Vec<&str> = candidate.split_whitespace().collect();
            let looks_like_name = (2..=3).contains(&words.len())
                && candidate.chars().count() <= 60
                && words.iter().all(|w| {
                    w.chars().next().is_some_and(char::is_uppercase)
                        && w.chars().all(|c| c.is_alphabetic() || c == '-' || c == '.')
                });
            if looks_like_name {
                return Some(candidate.to_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitrix_feedback_form_fields() {
        let body = "Информационное сообщение сайта zavod.ru\n------\n\nВам было отправлено сообщение через форму обратной связи\n\nАвтор: Иван Петров\nE-mail автора: ivan@zavod.ru\nТелефон автора: 8 (912) 345-67-89\n\nТекст сообщения:\nНужен насос\n";
        let fields = labelled_fields(body);
        assert_eq!(fields.name.as_deref(), Some("Иван Петров"));
        assert_eq!(fields.email.as_deref(), Some("ivan@zavod.ru"));
        assert_eq!(fields.phone.as_deref(), Some("8 (912) 345-67-89"));
        assert_eq!(fields.labels_found, 4);
    }

    #[test]
    fn contact_form_7_from_line_gives_name_and_email() {
        let fields = labelled_fields(
            "From: Анна Смирнова <anna@firma.ru>\nSubject: Вакуумная печь\n\nMessage Body:\nЦена?\n",
        );
        assert_eq!(fields.name.as_deref(), Some("Анна Смирнова"));
        assert_eq!(fields.email.as_deref(), Some("anna@firma.ru"));
        assert_eq!(fields.subject.as_deref(), Some("Вакуумная печь"));
    }

    #[test]
    fn a_label_alone_takes_the_next_line() {
        let fields = labelled_fields("Имя:\nОльга\nТелефон:\n+7 912 000-00-00\n");
        assert_eq!(fields.name.as_deref(), Some("Ольга"));
        assert_eq!(fields.phone.as_deref(), Some("+7 912 000-00-00"));
    }

    #[test]
    fn sentences_with_colons_are_not_labels() {
        let fields = labelled_fields("Добрый день, прошу прислать следующее: прайс\n");
        assert_eq!(fields, LabelledFields::default());
    }

    #[test]
    fn signature_company_and_quote_stripping() {
        let body = "Добрый день!\nНужен компрессор.\n--\nПетров И.\nООО «Завод Прогресс»\nТел.: 8 (495) 123-45-67\n\n> old text\nООО «Другая»";
        let own = strip_quoted_history(body);
        assert!(!own.contains("Другая"));
        assert_eq!(
            company_from_signature(own).as_deref(),
            Some("ООО «Завод Прогресс»")
        );
        assert_eq!(
            labelled_fields(own).phone.as_deref(),
            Some("8 (495) 123-45-67")
        );
    }
}
