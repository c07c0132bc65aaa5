//! Hostile message shapes anyone can mail to the sales address: each must parse in well
//! under a second (release) and lose nothing (the raw copy stays in S3). Shared by the
//! `hostile_mail` tests and benchmark.

/// A named raw message.
pub struct Shape {
    pub name: &'static str,
    pub raw: Vec<u8>,
}

fn message(headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Иван <ivan@client.example>\r\nTo: sales@company.example\r\nSubject: Заявка\r\nMessage-ID: <hostile@client.example>\r\nMIME-Version: 1.0\r\n{headers}\r\n{body}"
    )
    .into_bytes()
}

fn html_only(html: &str) -> Vec<u8> {
    message("Content-Type: text/html; charset=utf-8\r\n", html)
}

fn multipart(parts: usize) -> Vec<u8> {
    let mut body = String::with_capacity(parts * 80);
    for index in 0..parts {
        body.push_str(&format!(
            "--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"{index}.txt\"\r\n\r\nчасть {index}\r\n"
        ));
    }
    body.push_str("--b--\r\n");
    message("Content-Type: multipart/mixed; boundary=\"b\"\r\n", &body)
}

fn nested(levels: usize) -> Vec<u8> {
    let mut body = String::new();
    for level in 0..levels {
        body.push_str(&format!(
            "--b{level}\r\nContent-Type: multipart/mixed; boundary=\"b{}\"\r\n\r\n",
            level + 1
        ));
    }
    body.push_str(&format!(
        "--b{levels}\r\nContent-Type: text/plain\r\n\r\nглубоко\r\n"
    ));
    for level in (0..=levels).rev() {
        body.push_str(&format!("--b{level}--\r\n"));
    }
    message("Content-Type: multipart/mixed; boundary=\"b0\"\r\n", &body)
}

/// Every hostile shape of issue 8, at the sizes it names.
pub fn shapes() -> Vec<Shape> {
    let base64_line = "QUJD".repeat(1024 * 1024);
    vec![
        Shape {
            name: "50k_style_tags_770kb",
            raw: html_only(&"<style></style>".repeat(51_000)),
        },
        Shape {
            name: "1mb_of_script_tags",
            raw: html_only(&"<script>".repeat(131_072)),
        },
        Shape {
            name: "unclosed_comment_then_100k_tags",
            raw: html_only(&format!("Текст<!--{}", "<p>".repeat(100_000))),
        },
        Shape {
            name: "100k_unclosed_tags",
            raw: html_only(&"<a href='".repeat(100_000)),
        },
        Shape {
            name: "10k_parts",
            raw: multipart(10_000),
        },
        Shape {
            name: "2000_nesting_levels",
            raw: nested(2000),
        },
        Shape {
            name: "2mb_header_line",
            raw: message(
                &format!(
                    "X-Long: {}\r\nContent-Type: text/plain\r\n",
                    "a".repeat(2 * 1024 * 1024)
                ),
                "Нужен насос",
            ),
        },
        Shape {
            name: "4mb_base64_on_one_line",
            raw: message(
                "Content-Type: multipart/mixed; boundary=\"b\"\r\n",
                &format!(
                    "--b\r\nContent-Type: text/plain\r\n\r\nНужен насос\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n{base64_line}\r\n--b--\r\n"
                ),
            ),
        },
        Shape {
            name: "1mb_of_label_lines",
            raw: message(
                "Content-Type: text/plain; charset=utf-8\r\n",
                &"Телефон: 8 912 345-67-89\r\nИмя: Иван\r\n".repeat(20_000),
            ),
        },
    ]
}
