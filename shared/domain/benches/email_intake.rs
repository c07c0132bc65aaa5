//! Parse + classify + extract over the fixture corpus (`events/email/`, including the
//! malformed MIME corpus): messages per second and bytes per second of the pure intake
//! step that every inbound email goes through before any AWS call.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crm_domain::intake::email::parse_email;
use std::hint::black_box;
use std::path::{Path, PathBuf};

fn corpus() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/email");
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [
        root.clone(),
        root.join("mime-torture/malformed"),
        root.join("mime-torture/thirdparty"),
    ] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.path().extension().is_some_and(|e| e == "eml") {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files.iter().filter_map(|f| std::fs::read(f).ok()).collect()
}

fn bench(c: &mut Criterion) {
    let messages = corpus();
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("email_intake");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function(format!("corpus_{}_messages", messages.len()), |b| {
        b.iter(|| {
            for raw in &messages {
                let _ = black_box(parse_email(black_box(raw)));
            }
        })
    });
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function(format!("corpus_{bytes}_bytes"), |b| {
        b.iter(|| {
            for raw in &messages {
                let _ = black_box(parse_email(black_box(raw)));
            }
        })
    });
    // One realistic large message: a 5 MB scan attached to a short letter.
    let mut large = b"From: Big <big@sender.ru>\r\nSubject: scan\r\nMessage-ID: <big@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"scan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    while large.len() < 5 * 1024 * 1024 {
        large.extend_from_slice(
            b"JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIvRmlsdGVyIC9GbGF0ZURl\r\n",
        );
    }
    large.extend_from_slice(b"--XX--\r\n");
    group.throughput(Throughput::Bytes(large.len() as u64));
    group.bench_function("attachment_5mb", |b| {
        b.iter(|| black_box(parse_email(black_box(&large))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
