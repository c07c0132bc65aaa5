//! Time per webhook request, in process against the emulators (`make bench` starts them):
//! the handler exactly as the Lambda runs it, with its AWS round trips to LocalStack and
//! DynamoDB Local on loopback. Cloud latencies differ; the round-trip counts do not.

use criterion::{Criterion, criterion_group, criterion_main};
use integration_tests::TestStack;
use std::sync::atomic::{AtomicU64, Ordering};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let t = runtime.block_on(TestStack::new());
    let counter = AtomicU64::new(1_000_000);
    let mut group = c.benchmark_group("webhooks");
    group.sample_size(30);

    group.bench_function("miko_start_new_caller", |b| {
        b.to_async(&runtime).iter(|| async {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let (status, _) = t
                .miko(&format!(
                    "event=start&linkedid=bench-{n}&from=7916{n:07}&did=1"
                ))
                .await;
            assert_eq!(status, 200);
        })
    });

    runtime.block_on(t.miko("event=start&linkedid=bench-known&from=79160000000&did=1"));
    group.bench_function("miko_start_known_caller", |b| {
        b.to_async(&runtime).iter(|| async {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let (status, _) = t
                .miko(&format!(
                    "event=start&linkedid=bench-{n}&from=79160000000&did=1"
                ))
                .await;
            assert_eq!(status, 200);
        })
    });

    group.bench_function("miko_answer", |b| {
        b.to_async(&runtime).iter(|| async {
            let (status, _) = t
                .miko("event=answer&linkedid=bench-known&uid=u1&ext=201&from=79160000000")
                .await;
            assert_eq!(status, 200);
        })
    });

    let jivo = format!("/webhooks/jivo/{}", t.secrets.jivo);
    group.bench_function("jivo_offline_new_visitor", |b| {
        b.to_async(&runtime).iter(|| async {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let body = format!(
                r#"{{"event_name":"offline_message","offline_message_id":"om-{n}","message":"Перезвоните","visitor":{{"phone":"+7 915 {n:07}"}}}}"#
            );
            let (status, _) = t.webhook("POST", &jivo, "application/json", body.as_bytes()).await;
            assert_eq!(status, 200);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
