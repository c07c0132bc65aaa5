//! Property (fuzz) suite over every parser of untrusted input: `parse_email`, the Jivo
//! and form webhook parsers and the MikoPBX query. Each property runs `FUZZ_CASES` cases
//! (`support/cases.rs`: 256 with a fixed seed in `make test`, many more from a random one
//! in `make fuzz`): arbitrary bytes, and real messages from `events/` with random bytes
//! changed, inserted and removed. A parser may refuse input, never panic, and what it
//! keeps stays inside its budgets.

use crm_domain::intake::call::parse_call_notice;
use crm_domain::intake::email::{MAX_ATTACHMENTS, MAX_READ_TEXT_BYTES, parse_email};
use crm_domain::intake::web::{parse_form, parse_jivo};
use proptest::prelude::*;

#[path = "support/cases.rs"]
mod cases;
use cases::config;
use std::collections::HashMap;
use std::path::Path;

/// Every file of a fixture folder (and its sub-folders).
fn fixtures(folder: &str) -> Vec<Vec<u8>> {
    fn walk(dir: &Path, out: &mut Vec<Vec<u8>>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../events")
            .join(folder),
        &mut out,
    );
    assert!(!out.is_empty(), "no fixtures in events/{folder}");
    out
}

/// One edit of a byte string: change, insert or remove a byte, or repeat a slice.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Repeat(usize, usize, usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Set(at, b)),
            (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Insert(at, b)),
            any::<usize>().prop_map(Edit::Remove),
            (any::<usize>(), 1usize..64, 1usize..200).prop_map(|(at, l, n)| Edit::Repeat(at, l, n)),
        ],
        1..16,
    )
}

fn mutate(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let len = bytes.len().max(1);
        match *edit {
            Edit::Set(at, b) if !bytes.is_empty() => bytes[at % len] = b,
            Edit::Insert(at, b) => bytes.insert(at % (bytes.len() + 1), b),
            Edit::Remove(at) if !bytes.is_empty() => {
                bytes.remove(at % len);
            }
            Edit::Repeat(at, length, times) if !bytes.is_empty() => {
                let start = at % len;
                let end = (start + length).min(bytes.len());
                let slice = bytes[start..end].repeat(times);
                bytes.splice(end..end, slice);
            }
            _ => {}
        }
    }
    bytes
}

fn check_email(raw: &[u8]) {
    if let Ok(email) = parse_email(raw) {
        assert!(email.text.len() <= MAX_READ_TEXT_BYTES);
        assert!(email.attachments.len() <= MAX_ATTACHMENTS);
        assert!(email.natural_key.len() <= 420);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_as_email(raw in prop::collection::vec(any::<u8>(), 0..4096)) {
        check_email(&raw);
    }

    #[test]
    fn real_mail_with_random_edits(index in any::<prop::sample::Index>(), edits in edits()) {
        static MAIL: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        let corpus = MAIL.get_or_init(|| fixtures("email"));
        check_email(&mutate(index.get(corpus).clone(), &edits));
    }

    #[test]
    fn jivo_and_forms_with_random_edits(
        index in any::<prop::sample::Index>(),
        edits in edits(),
        urlencoded in any::<bool>(),
    ) {
        static WEB: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        let corpus = WEB.get_or_init(|| {
            let mut corpus = fixtures("jivo");
            corpus.extend(fixtures("forms"));
            corpus
        });
        let body = mutate(index.get(corpus).clone(), &edits);
        let _ = parse_jivo(&body);
        let content_type = if urlencoded { "application/x-www-form-urlencoded" } else { "application/json" };
        let _ = parse_form(content_type, &body);
    }

    #[test]
    fn any_bytes_as_jivo_or_form(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_jivo(&body);
        let _ = parse_form("application/x-www-form-urlencoded", &body);
        let _ = parse_form("application/json", &body);
    }

    #[test]
    fn any_mikopbx_query(
        params in prop::collection::hash_map(
            prop_oneof![
                Just("event".to_owned()), Just("linkedid".to_owned()), Just("from".to_owned()),
                Just("to".to_owned()), Just("did".to_owned()), Just("ext".to_owned()),
                Just("ts".to_owned()), Just("missed".to_owned()), Just("rec".to_owned()),
                ".{0,8}",
            ],
            ".{0,64}",
            0..12,
        )
    ) {
        let params: HashMap<String, String> = params;
        if let Ok(notice) = parse_call_notice(&params) {
            prop_assert!(notice.linkedid.len() <= 200);
        }
    }
}
