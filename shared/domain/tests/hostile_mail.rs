//! Hostile mail: every shape of `support/hostile.rs` parses, keeps what a person needs
//! and says what it left in the raw copy. Times are measured by `benches/hostile_mail.rs`
//! (release), never here.

#[path = "support/hostile.rs"]
mod hostile;

use crm_domain::intake::LeftOut;
use crm_domain::intake::email::{InboundEmail, MAX_ATTACHMENTS, MAX_READ_TEXT_BYTES, parse_email};

fn parsed(name: &str) -> InboundEmail {
    let shape = hostile::shapes()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap();
    parse_email(&shape.raw).unwrap()
}

#[test]
fn thousands_of_style_and_script_tags_leave_no_text_and_no_error() {
    for name in [
        "50k_style_tags_770kb",
        "1mb_of_script_tags",
        "100k_unclosed_tags",
    ] {
        let email = parsed(name);
        assert_eq!(email.text, "", "{name}");
        assert_eq!(email.contact.email.unwrap().as_str(), "ivan@client.example");
    }
}

#[test]
fn an_unclosed_comment_keeps_the_text_before_it() {
    assert_eq!(parsed("unclosed_comment_then_100k_tags").text, "Текст");
}

#[test]
fn ten_thousand_parts_take_in_the_first_attachments_and_flag_the_rest() {
    let email = parsed("10k_parts");
    assert_eq!(email.attachments.len(), MAX_ATTACHMENTS);
    assert_eq!(email.attachments[0].filename, "0.txt");
    assert_eq!(email.left_out, vec![LeftOut::Attachments]);
}

#[test]
fn deep_nesting_and_a_huge_header_still_give_the_text() {
    assert_eq!(parsed("2000_nesting_levels").text, "глубоко");
    let email = parsed("2mb_header_line");
    assert_eq!(email.text, "Нужен насос");
    assert!(email.left_out.is_empty());
}

#[test]
fn a_4mb_base64_line_is_one_whole_attachment() {
    let email = parsed("4mb_base64_on_one_line");
    assert_eq!(email.text, "Нужен насос");
    assert_eq!(email.attachments.len(), 1);
    assert_eq!(email.attachments[0].size, 3 * 1024 * 1024);
}

#[test]
fn a_megabyte_of_text_is_read_up_to_its_budget_and_flagged() {
    let email = parsed("1mb_of_label_lines");
    assert!(email.text.len() <= MAX_READ_TEXT_BYTES);
    assert_eq!(email.left_out, vec![LeftOut::Text]);
    assert!(email.contact.phone.is_some());
}
