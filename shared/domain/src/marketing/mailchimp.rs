//! The Mailchimp export: a UTF-8 CSV that Mailchimp's audience import takes as it is —
//! `Email Address,First Name,Last Name,Phone Number,Company,Tags` — one row per email
//! address (a contact with two emails is two rows). Russian full names are split into
//! first and last name whichever order they come in ([`split_name`]); every field is cut
//! to 255 bytes without breaking a character ([`cut_to_bytes`]); a tag holding a comma is
//! quoted inside the Tags field. Written row by row ([`MailchimpWriter`]), so an export
//! of any size takes constant memory, and the same rows give the same bytes.

use super::segment::ContactCard;
use std::io::Write;

/// The header Mailchimp's import maps without questions.
pub const HEADER: [&str; 6] = [
    "Email Address",
    "First Name",
    "Last Name",
    "Phone Number",
    "Company",
    "Tags",
];

/// The most bytes Mailchimp keeps of a text field.
pub const MAX_FIELD_BYTES: usize = 255;

/// `text` cut to at most `max` bytes, on a character boundary.
pub fn cut_to_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Endings of Russian patronymics (отчества).
const PATRONYMIC_ENDINGS: [&str; 6] = ["вич", "вна", "чна", "ьич", "кызы", "оглы"];
/// Endings of common Russian surnames, male and female.
const SURNAME_ENDINGS: [&str; 22] = [
    "ов",
    "ев",
    "ёв",
    "ин",
    "ын",
    "ова",
    "ева",
    "ёва",
    "ина",
    "ына",
    "ский",
    "цкий",
    "ская",
    "цкая",
    "ской",
    "ых",
    "их",
    "енко",
    "ук",
    "юк",
    "ян",
    "швили",
];

fn ends_with_any(word: &str, endings: &[&str]) -> bool {
    let word = word.to_lowercase();
    endings.iter().any(|e| word.ends_with(e)) && word.chars().count() > 3
}

/// First and last name from a full name as people write it: «Петров Игорь», «Игорь
/// Петров», «Петров Игорь Сергеевич», «Игорь Сергеевич Петров» all give (Игорь, Петров).
/// One word is a first name; what cannot be told apart is taken as «Имя Фамилия».
pub fn split_name(full: &str) -> (String, String) {
    let words: Vec<&str> = full.split_whitespace().collect();
    let patronymic = |w: &str| ends_with_any(w, &PATRONYMIC_ENDINGS);
    let surname = |w: &str| ends_with_any(w, &SURNAME_ENDINGS);
    let (first, last) = match words.as_slice() {
        [] => ("", String::new()),
        [one] => (*one, String::new()),
        // Фамилия Имя Отчество
        [last, first, third] if patronymic(third) => (*first, (*last).to_owned()),
        // Имя Отчество Фамилия
        [first, second, last] if patronymic(second) => (*first, (*last).to_owned()),
        [a, b] if surname(a) && !surname(b) => (*b, (*a).to_owned()),
        [first, rest @ ..] => (*first, rest.join(" ")),
    };
    (first.to_owned(), last)
}

/// The Tags field: tags separated by commas, a tag that holds a comma in quotes.
pub fn tags_field(tags: &[String]) -> String {
    tags.iter()
        .map(|tag| {
            let tag = tag.trim();
            if tag.contains(',') || tag.contains('"') {
                format!("\"{}\"", tag.replace('"', "\"\""))
            } else {
                tag.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The phone as Mailchimp shows it: `+7 912 345-67-89`.
pub fn dial_format(e164: &str) -> String {
    match e164.strip_prefix("+7") {
        Some(rest) if rest.len() == 10 && rest.bytes().all(|b| b.is_ascii_digit()) => format!(
            "+7 {} {}-{}-{}",
            &rest[..3],
            &rest[3..6],
            &rest[6..8],
            &rest[8..]
        ),
        _ => e164.to_owned(),
    }
}

/// One row of the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailchimpRow {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub company: String,
    pub tags: String,
}

impl MailchimpRow {
    fn fields(&self) -> [&str; 6] {
        [
            &self.email,
            &self.first_name,
            &self.last_name,
            &self.phone,
            &self.company,
            &self.tags,
        ]
        .map(|field| cut_to_bytes(field, MAX_FIELD_BYTES))
    }
}

/// The rows of one contact card: one per email address not in `excluded` (unsubscribed
/// or cleaned), in the card's order.
pub fn rows_of(card: &ContactCard, excluded: impl Fn(&str) -> bool) -> Vec<MailchimpRow> {
    let person = card.contact_name.as_deref().unwrap_or(&card.name);
    let (first_name, last_name) = split_name(person);
    card.emails
        .iter()
        .filter(|email| !excluded(email))
        .map(|email| MailchimpRow {
            email: email.clone(),
            first_name: first_name.clone(),
            last_name: last_name.clone(),
            phone: card
                .phones
                .first()
                .map(|p| dial_format(p))
                .unwrap_or_default(),
            company: card.company.clone().unwrap_or_default(),
            tags: tags_field(&card.tags),
        })
        .collect()
}

/// Writes the CSV row by row.
pub struct MailchimpWriter<W: Write> {
    csv: csv::Writer<W>,
    rows: usize,
}

impl<W: Write> MailchimpWriter<W> {
    /// Starts the file with its header.
    pub fn new(out: W) -> Result<Self, csv::Error> {
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out);
        csv.write_record(HEADER)?;
        Ok(Self { csv, rows: 0 })
    }

    pub fn write(&mut self, row: &MailchimpRow) -> Result<(), csv::Error> {
        self.csv.write_record(row.fields())?;
        self.rows += 1;
        Ok(())
    }

    /// Flushes and answers the rows written and the output.
    pub fn finish(self) -> Result<(usize, W), csv::Error> {
        let rows = self.rows;
        let out = self
            .csv
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))?;
        Ok((rows, out))
    }
}

/// The same rows as an .xlsx for people (constant memory, header frozen, autofilter).
pub struct MailchimpSheet {
    workbook: rust_xlsxwriter::Workbook,
    row: u32,
}

impl MailchimpSheet {
    pub fn new() -> Result<Self, rust_xlsxwriter::XlsxError> {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let header = rust_xlsxwriter::Format::new().set_bold();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("Mailchimp")?;
        for (column, (title, width)) in HEADER
            .iter()
            .zip([32.0, 16.0, 20.0, 18.0, 36.0, 30.0])
            .enumerate()
        {
            sheet.set_column_width(column as u16, width)?;
            sheet.write_string_with_format(0, column as u16, *title, &header)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofilter(0, 0, 0, HEADER.len() as u16 - 1)?;
        Ok(Self { workbook, row: 0 })
    }

    pub fn write(&mut self, row: &MailchimpRow) -> Result<(), rust_xlsxwriter::XlsxError> {
        self.row += 1;
        let at = self.row;
        let sheet = self.workbook.worksheet_from_index(0)?;
        for (column, field) in row.fields().iter().enumerate() {
            if !field.is_empty() {
                sheet.write_string(at, column as u16, *field)?;
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        self.workbook.save_to_buffer()
    }

    /// Writes the workbook to `path`, never whole in memory.
    pub fn save(mut self, path: &std::path::Path) -> Result<(), rust_xlsxwriter::XlsxError> {
        self.workbook.save(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marketing::segment::tests::card;

    #[test]
    fn russian_names_split_whichever_order_they_come_in() {
        for full in [
            "Петров Игорь",
            "Игорь Петров",
            "Петров Игорь Сергеевич",
            "Игорь Сергеевич Петров",
            "  Игорь   Петров ",
        ] {
            assert_eq!(
                split_name(full),
                ("Игорь".to_owned(), "Петров".to_owned()),
                "{full}"
            );
        }
        assert_eq!(
            split_name("Васильева Ольга"),
            ("Ольга".into(), "Васильева".into())
        );
        assert_eq!(split_name("Игорь"), ("Игорь".into(), String::new()));
        assert_eq!(split_name("Anna Smith"), ("Anna".into(), "Smith".into()));
        assert_eq!(split_name(""), (String::new(), String::new()));
    }

    #[test]
    fn the_csv_reads_back_with_cyrillic_quotes_commas_and_line_breaks() {
        let rows = [
            MailchimpRow {
                email: "igor@zavod.ru".into(),
                first_name: "Игорь".into(),
                last_name: "Петров".into(),
                phone: "+7 912 345-67-89".into(),
                company: "ООО «Завод \"Вакуум\"», цех 2\nул. Ленина".into(),
                tags: tags_field(&["вакуум, насосы".into(), "клиент".into()]),
            },
            MailchimpRow {
                email: "long@zavod.ru".into(),
                first_name: String::new(),
                last_name: String::new(),
                phone: String::new(),
                company: "Ж".repeat(300),
                tags: String::new(),
            },
        ];
        let mut writer = MailchimpWriter::new(Vec::new()).unwrap();
        for row in &rows {
            writer.write(row).unwrap();
        }
        let (_, bytes) = writer.finish().unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        assert_eq!(reader.headers().unwrap(), HEADER.as_slice());
        let read: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(&read[0][4], "ООО «Завод \"Вакуум\"», цех 2\nул. Ленина");
        assert_eq!(&read[0][5], "\"вакуум, насосы\",клиент");
        assert_eq!(read[1][4].len(), 254, "255 bytes at most, whole letters");
        assert!(read[1][4].chars().all(|c| c == 'Ж'));
    }

    #[test]
    fn fields_are_cut_to_255_bytes_on_a_character_boundary() {
        let long = "Ж".repeat(200); // 400 bytes
        let cut = cut_to_bytes(&long, 255);
        assert_eq!(
            cut.len(),
            254,
            "127 two-byte letters, not half of the 128th"
        );
        assert_eq!(cut_to_bytes("abc", 255), "abc");
    }

    #[test]
    fn one_row_per_email_tags_with_commas_quoted_and_phones_for_dialling() {
        let mut card = card("p1");
        card.emails.push("second@zavod.ru".into());
        card.tags = vec!["вакуум, насосы".into(), "клиент".into()];
        card.phones = vec!["+79123456789".into()];
        let rows = rows_of(&card, |email| email == "gone@zavod.ru");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].email, "second@zavod.ru");
        assert_eq!(rows[0].tags, "\"вакуум, насосы\",клиент");
        assert_eq!(rows[0].phone, "+7 912 345-67-89");
        assert_eq!(rows[0].first_name, "Игорь");
        let none = rows_of(&card, |_| true);
        assert!(none.is_empty(), "unsubscribed addresses are never exported");

        let mut writer = MailchimpWriter::new(Vec::new()).unwrap();
        for row in &rows {
            writer.write(row).unwrap();
        }
        let (count, bytes) = writer.finish().unwrap();
        assert_eq!(count, 2);
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with("Email Address,First Name,Last Name,Phone Number,Company,Tags\r\n")
        );
        assert!(text.contains("\"\"\"вакуум, насосы\"\",клиент\""), "{text}");
    }
}
