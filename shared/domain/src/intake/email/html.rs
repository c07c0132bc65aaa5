//! HTML bodies to text that keeps the layout forms rely on: one table row, paragraph or
//! line break per line, table cells side by side, so `<td>Имя:</td><td>Иван</td>` reads
//! as `Имя: Иван`. Scripts and styles are dropped; entities decoded.

use html5gum::{DefaultEmitter, Token, Tokenizer};
use percent_encoding::percent_decode_str;

/// Block elements that end a line.
const LINE_BREAKING: &[&[u8]] = &[
    b"br",
    b"p",
    b"div",
    b"tr",
    b"li",
    b"h1",
    b"h2",
    b"h3",
    b"h4",
    b"h5",
    b"h6",
    b"table",
    b"ul",
    b"ol",
    b"blockquote",
    b"hr",
];

/// Elements whose content is not text for a person.
const NOT_TEXT: &[&[u8]] = &[b"script", b"style", b"template", b"noscript", b"iframe"];

/// The text of an HTML body, in one pass of a WHATWG tokenizer (linear in the input: no
/// rescanning on hostile shapes such as thousands of `<style>` tags or unclosed comments).
/// Entities are decoded by the tokenizer; a `tel:` link adds its number to the text, so a
/// phone behind "Позвонить" is not lost.
pub fn to_text(html: &str) -> String {
    let mut emitter = DefaultEmitter::default();
    // Script and style bodies are raw text: switch states as a browser would.
    emitter.naively_switch_states(true);
    let mut out = String::with_capacity(html.len() / 2);
    let mut hidden: Option<Vec<u8>> = None;
    for token in Tokenizer::new_with_emitter(html, emitter).flatten() {
        match token {
            Token::StartTag(tag) => {
                let name = tag.name.as_slice();
                if NOT_TEXT.contains(&name) {
                    if !tag.self_closing {
                        hidden = Some(name.to_vec());
                    }
                } else if hidden.is_none() {
                    if LINE_BREAKING.contains(&name) {
                        out.push('\n');
                    }
                    if name == b"a"
                        && let Some(number) = tag
                            .attributes
                            .get(b"href".as_slice())
                            .and_then(|href| tel_number(&href.value))
                    {
                        out.push(' ');
                        out.push_str(&number);
                        out.push(' ');
                    }
                }
            }
            Token::EndTag(tag) => {
                let name = tag.name.as_slice();
                if hidden.as_deref() == Some(name) {
                    hidden = None;
                } else if hidden.is_none() {
                    if LINE_BREAKING.contains(&name) {
                        out.push('\n');
                    } else if name == b"td" || name == b"th" {
                        out.push(' ');
                    }
                }
            }
            Token::String(text) if hidden.is_none() => {
                out.push_str(&String::from_utf8_lossy(&text.value));
            }
            _ => {}
        }
    }
    out.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The number of a `tel:` link, percent-decoded (`tel:+7%20912…`).
fn tel_number(href: &[u8]) -> Option<String> {
    let href = std::str::from_utf8(href).ok()?.trim();
    let scheme = href.get(..4)?;
    if !scheme.eq_ignore_ascii_case("tel:") {
        return None;
    }
    let number = percent_decode_str(&href[4..]).decode_utf8_lossy();
    let number = number.trim();
    (!number.is_empty() && number.len() <= 40).then(|| number.to_owned())
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn table_rows_become_labelled_lines() {
        let html = "<table><tr><td>Имя:</td><td>Иван&nbsp;Петров</td></tr><tr><td>Телефон:</td><td>+7&nbsp;912</td></tr></table>";
        assert_eq!(to_text(html), "Имя: Иван Петров\nТелефон: +7 912");
    }

    #[test]
    fn scripts_styles_and_entities() {
        let html = "<style>p{color:red}</style><p>A &amp; B &#171;C&#187; &unknown; &</p><script>x()</script><br>D";
        assert_eq!(to_text(html), "A & B «C» &unknown; &\nD");
    }

    #[test]
    fn a_tel_link_gives_its_number_and_comments_are_not_text() {
        let html = "<p>Звоните: <a href='tel:+7%20903%20765-43-21'>по телефону</a><!-- <b>x</b> --></p><STYLE>a{}</Style>ok";
        assert_eq!(to_text(html), "Звоните: +7 903 765-43-21 по телефону\nok");
    }

    #[test]
    fn thousands_of_style_tags_and_an_unclosed_comment_are_read_once() {
        let styles = "<style></style>".repeat(50_000) + "Текст";
        assert_eq!(to_text(&styles), "Текст");
        let unclosed = format!("до<!--{}", "<b>".repeat(100_000));
        assert_eq!(to_text(&unclosed), "до");
        let unclosed_script = format!("до<script>{}", "<p>x".repeat(100_000));
        assert_eq!(to_text(&unclosed_script), "до");
    }
}
