//! Every hostile shape of issue 8 (`tests/support/hostile.rs`) through `parse_email`, in
//! release: each must take well under a second.

#[path = "../tests/support/hostile.rs"]
mod hostile;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crm_domain::intake::email::parse_email;
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("hostile_mail");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(2));
    for shape in hostile::shapes() {
        group.throughput(Throughput::Bytes(shape.raw.len() as u64));
        group.bench_function(shape.name, |b| {
            b.iter(|| black_box(parse_email(black_box(&shape.raw))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
