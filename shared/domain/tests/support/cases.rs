//! How many cases a property runs and from which seed: `FUZZ_CASES` (256 by default) and
//! `FUZZ_SEED` (a fixed one by default, so `make test` repeats itself; `random` for new
//! ground, as `make fuzz` does). Shared by the property suites.

use proptest::prelude::ProptestConfig;
use proptest::test_runner::RngSeed;

pub fn config() -> ProptestConfig {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256);
    let rng_seed = match std::env::var("FUZZ_SEED").ok().as_deref() {
        Some("random") => RngSeed::Random,
        Some(seed) => RngSeed::Fixed(seed.parse().expect("FUZZ_SEED is a number or random")),
        None => RngSeed::Fixed(20_261_129),
    };
    ProptestConfig {
        cases,
        rng_seed,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
