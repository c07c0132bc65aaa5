//! HTML bodies to text that keeps the layout forms rely on: one table row, paragraph or
//! line break per line, table cells side by side, so `<td>Имя:</td><td>Иван</td>` reads
//! as `Имя: Иван`. Scripts and styles are dropped; common entities decoded.

/// Block elements that end a line.
const LINE_BREAKING: &[&str] = &[
    "br",
    "p",
    "div",
    "tr",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "ul",
    "ol",
    "blockquote",
    "hr",
];

pub fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        push_text(&mut out, &rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if (name == "script" || name == "style") && !tag.starts_with('/') {
            let end = format!("</{name}");
            rest = match rest.to_ascii_lowercase().find(&end) {
                Some(at) => &rest[at..],
                None => "",
            };
            continue;
        }
        if LINE_BREAKING.contains(&name.as_str()) {
            out.push('\n');
        } else if (name == "td" || name == "th") && tag.starts_with('/') {
            out.push(' ');
        }
    }
    push_text(&mut out, rest);
    out.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn push_text(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        match after.find(';').filter(|end| *end <= 10) {
            Some(end) => {
                match decode_entity(&after[1..end]) {
                    Some(c) => out.push(c),
                    None => out.push_str(&after[..=end]),
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
}

fn decode_entity(entity: &str) -> Option<char> {
    match entity {
        "nbsp" => Some(' '),
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "laquo" => Some('«'),
        "raquo" => Some('»'),
        "mdash" => Some('—'),
        "ndash" => Some('–'),
        _ => {
            let number = entity.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
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
}
