//! Properties of the allocator and the scan parser over random input (256 cases each in
//! `make test`, `FUZZ_CASES` for more): the allocator never takes expired stock or more
//! than is free, and always takes the earliest expiry, then the oldest receipt; the
//! parser reads every identifier with and without separators and never panics; shipping
//! by scan never ships more of a batch than the order holds reserved, and ships exactly
//! what the accepted scans say.

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use crm_domain::orders::shipment::{ExpectedPick, ScannedGoods, confirm_scans};
use crm_domain::warehouse::allocation::{Batch, allocate, fefo_order};
use crm_domain::warehouse::barcode::{GS, gtin_check_digit_ok, parse_scan};
use proptest::prelude::*;

#[path = "support/cases.rs"]
mod cases;
use cases::config;
use std::collections::HashMap;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
}

fn batches() -> impl Strategy<Value = Vec<Batch>> {
    prop::collection::vec(
        (0i64..400, prop::option::of(-60i64..400), 0u32..50, 0u32..50),
        0..40,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (received, expiry, on_hand, reserved))| Batch {
                id: format!("b{i:03}"),
                received_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
                    + Duration::days(received),
                expiry: expiry.map(|days| today() + Duration::days(days)),
                on_hand,
                reserved: reserved.min(on_hand),
            })
            .collect()
    })
}

/// A valid GTIN-13 from 12 digits.
fn with_check_digit(body: &str) -> String {
    (0..10)
        .map(|d| format!("{body}{d}"))
        .find(|candidate| gtin_check_digit_ok(candidate))
        .unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_allocator_takes_only_free_unexpired_stock_earliest_expiry_first(
        batches in batches(),
        quantity in 0u32..500,
    ) {
        let allocation = allocate(&batches, quantity, today());
        let by_id: HashMap<&str, &Batch> = batches.iter().map(|b| (b.id.as_str(), b)).collect();
        let taken: u32 = allocation.picks.iter().map(|p| p.quantity).sum();
        prop_assert_eq!(taken + allocation.missing, quantity);
        for pick in &allocation.picks {
            let batch = by_id[pick.batch_id.as_str()];
            prop_assert!(pick.quantity > 0 && pick.quantity <= batch.free());
            prop_assert!(batch.usable_on(today()), "expired {:?}", batch);
        }
        // The picks are the head of the FEFO/FIFO order of usable stock, every one but the
        // last taken whole, and nothing usable is left while something is missing.
        let mut usable: Vec<&Batch> = batches
            .iter()
            .filter(|b| b.free() > 0 && b.usable_on(today()))
            .collect();
        usable.sort_by(|a, b| fefo_order(a, b));
        for (pick, batch) in allocation.picks.iter().zip(&usable) {
            prop_assert_eq!(&pick.batch_id, &batch.id);
        }
        for pick in allocation.picks.iter().rev().skip(1) {
            prop_assert_eq!(pick.quantity, by_id[pick.batch_id.as_str()].free());
        }
        if allocation.missing > 0 {
            prop_assert_eq!(allocation.picks.len(), usable.len());
        }
    }

    #[test]
    fn every_identifier_reads_with_and_without_separators(
        body in "[0-9]{12}",
        batch in "[A-Z0-9]{1,20}",
        serial in "[A-Z0-9]{1,20}",
        expiry in (0u32..30, 1u32..13, 0u32..29),
        produced in (0u32..30, 1u32..13, 1u32..29),
        quantity in 1u32..99_999,
        with_gs in any::<bool>(),
    ) {
        let gtin = with_check_digit(&body);
        let date = |(y, m, d): (u32, u32, u32)| format!("{y:02}{m:02}{d:02}");
        let (y, m, d) = expiry;
        let expected_expiry = if d == 0 {
            let first = NaiveDate::from_ymd_opt(2000 + y as i32, m, 1).unwrap();
            (first + Duration::days(32)).with_day(1).unwrap() - Duration::days(1)
        } else {
            NaiveDate::from_ymd_opt(2000 + y as i32, m, d).unwrap()
        };
        if with_gs {
            // Every identifier, variable-length ones ended by GS.
            let scan = format!(
                "010{gtin}11{}10{batch}{GS}17{}21{serial}{GS}37{quantity}",
                date(produced),
                date(expiry),
            );
            let read = parse_scan(&scan).unwrap();
            prop_assert_eq!(read.gtin, format!("0{gtin}"));
            prop_assert_eq!(read.batch.as_deref(), Some(batch.as_str()));
            prop_assert_eq!(read.serial.as_deref(), Some(serial.as_str()));
            prop_assert_eq!(read.quantity, Some(quantity));
            prop_assert!(read.produced.is_some());
            prop_assert_eq!(read.expiry, Some(expected_expiry));
        } else {
            // No separators at all, as a keyboard-wedge scanner types it: the fixed-length
            // identifiers are cut by the table, the one variable field runs to the end.
            let scan = format!("010{gtin}11{}17{}10{batch}", date(produced), date(expiry));
            let read = parse_scan(&scan).unwrap();
            prop_assert_eq!(read.gtin, format!("0{gtin}"));
            prop_assert_eq!(read.batch.as_deref(), Some(batch.as_str()));
            prop_assert_eq!(read.expiry, Some(expected_expiry));
            let _ = (serial, quantity);
        }
    }

    #[test]
    fn garbage_never_panics(scan in ".{0,120}") {
        let _ = parse_scan(&scan);
    }

    #[test]
    fn a_wrong_check_digit_is_always_caught(body in "[0-9]{12}", wrong in 1u32..10) {
        let gtin = with_check_digit(&body);
        let last = gtin.chars().last().unwrap().to_digit(10).unwrap();
        let broken = format!("{}{}", &gtin[..12], (last + wrong) % 10);
        prop_assert!(parse_scan(&broken).is_err());
    }

    #[test]
    fn a_shipment_never_takes_more_than_is_reserved(
        reserved in proptest::collection::vec((0u32..3, 0u32..4, 1u32..6), 1..8),
        scans in proptest::collection::vec((0u32..3, proptest::option::of(0u32..5), 1u32..8), 1..10),
    ) {
        let list: Vec<ExpectedPick> = reserved
            .iter()
            .enumerate()
            .map(|(line, (article, batch, quantity))| ExpectedPick {
                line: line as u32 + 1,
                article: format!("A{article}"),
                product: String::new(),
                batch_id: format!("B{batch}"),
                quantity: *quantity,
            })
            .collect();
        let scanned: Vec<ScannedGoods> = scans
            .iter()
            .map(|(article, batch, quantity)| ScannedGoods {
                scan: String::new(),
                article: Some(format!("A{article}")),
                batch: batch.map(|b| format!("B{b}")),
                batch_required: false,
                quantity: *quantity,
            })
            .collect();
        if let Ok(shipped) = confirm_scans(&list, &scanned) {
            let total: u32 = shipped.iter().map(|s| s.quantity).sum();
            prop_assert_eq!(total, scanned.iter().map(|s| s.quantity).sum::<u32>());
            for part in &shipped {
                let pick = list
                    .iter()
                    .find(|p| p.line == part.line && p.batch_id == part.batch_id)
                    .expect("shipped from the list");
                prop_assert_eq!(&pick.article, &part.article);
                prop_assert!(part.quantity <= pick.quantity);
            }
        }
    }
}
