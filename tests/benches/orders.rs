//! Placing a customer order, in process against DynamoDB Local and LocalStack (`make
//! bench` starts them): a deal of ten catalogued lines, each reserved from stock (two
//! round trips a line: its batches, one conditional transaction), then the order and the
//! deal change in one transaction and its event sent. Loopback latencies; the round-trip
//! counts are asserted in `tests/it/orders.rs`.

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use crm_domain::kernel::Department;
use crm_domain::sales::{
    Deal, DealEventKind, DealItem, DealStage, DealTerms, EquipmentType, NewDeal,
};
use crm_domain::warehouse::receipt::ReceiptLine;
use crm_domain::warehouse::{Product, ProductKind};
use crm_shared::adapters::{DynamoStore, SqsDealEvents};
use crm_shared::orders::fulfilment::Fulfilment;
use crm_shared::sales::deals::DealEventRelay;
use crm_shared::sales::ports::DealWrite;
use integration_tests::TestStack;
use std::sync::atomic::{AtomicU64, Ordering};

const LINES: u32 = 10;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let t = runtime.block_on(TestStack::new());
    let relay = DealEventRelay {
        store: t.store.clone(),
        publisher: SqsDealEvents {
            sqs: t.setup.sqs.clone(),
            queue_url: t.api_config.deal_events_queue_url.clone(),
        },
    };
    runtime.block_on(async {
        for line in 0..LINES {
            let sku = format!("BENCH-{line}");
            let product = Product {
                sku: sku.clone(),
                name: sku.clone(),
                unit: "шт".into(),
                kind: ProductKind::Purchased,
                equipment_type: EquipmentType::Other,
                barcodes: vec![],
                tracks_batches: false,
                tracks_expiry: false,
                default_supplier: None,
                version: 0,
            };
            t.store.save_product(None, &product, &[]).await.unwrap();
            for batch in 0..20 {
                let receipt = ReceiptLine {
                    sku: sku.clone(),
                    batch: None,
                    expiry: None,
                    quantity: 100_000,
                };
                let received = t
                    .store
                    .receive(&receipt, &format!("b{batch}"), Utc::now(), &[])
                    .await
                    .unwrap();
                assert!(received);
            }
        }
    });
    let counter = AtomicU64::new(0);
    let mut group = c.benchmark_group("orders");
    group.sample_size(20);
    // Deals are opened outside the timing; only placing their orders is measured.
    group.bench_function("place_order_of_10_stock_lines", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (relay, counter) = (&relay, &counter);
            async move {
                let mut ids = Vec::new();
                for _ in 0..iters {
                    let id = format!("bench-deal-{}", counter.fetch_add(1, Ordering::Relaxed));
                    let mut deal = Deal::open(
                        NewDeal {
                            id: id.clone(),
                            party_id: "bench-party".into(),
                            inquiry_id: None,
                            department: Department::Industrial,
                            manager_id: "bench-manager".into(),
                            terms: DealTerms {
                                items: (0..LINES)
                                    .map(|line| DealItem {
                                        product: format!("Изделие {line}"),
                                        equipment_type: EquipmentType::Other,
                                        quantity: 3,
                                        unit_price_kopecks: 100_000,
                                        made_to_order: false,
                                        sku: Some(format!("BENCH-{line}")),
                                        purchase: false,
                                    })
                                    .collect(),
                                ..DealTerms::default()
                            },
                        },
                        Utc::now(),
                    );
                    deal.stage = DealStage::Agreed;
                    relay
                        .save(
                            None,
                            &deal,
                            DealEventKind::Created,
                            "bench",
                            "bench",
                            DealWrite::default(),
                        )
                        .await
                        .unwrap();
                    ids.push(id);
                }
                let started = std::time::Instant::now();
                for id in &ids {
                    let placed = Fulfilment::<DynamoStore, _> { relay }
                        .place(id, "system", "bench", Utc::now(), Utc::now().date_naive())
                        .await
                        .unwrap()
                        .expect("placed");
                    assert_eq!(placed.order.lines.len(), LINES as usize);
                }
                started.elapsed()
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
