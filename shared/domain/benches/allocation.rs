//! FEFO/FIFO allocation over 10,000 batches of one product (the figure), taking a
//! quantity that needs about a tenth of them.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use crm_domain::warehouse::allocation::{Batch, allocate};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    // Receipts over the years, expiries scattered (some past, some untracked).
    let batches: Vec<Batch> = (0..10_000u32)
        .map(|i| Batch {
            id: format!("b{i:05}"),
            received_at: start + Duration::hours(i64::from(i) * 5),
            expiry: (i % 7 != 0).then(|| today + Duration::days(i64::from((i * 7919) % 900) - 60)),
            on_hand: 1 + i % 40,
            reserved: i % 3,
        })
        .collect();
    c.bench_function("allocate_10000_batches", |b| {
        b.iter(|| black_box(allocate(black_box(&batches), 20_000, today)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
