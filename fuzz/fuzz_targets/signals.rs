//! The signal validators: the JSONL and CSV record readers, the strict JSON parser and the
//! schema validator, as `signals ingest` and backtests run them on a signal file.
//!
//! Inputs whose first non-blank byte is `{` are JSONL; anything else is CSV (header first).
//!
//! Beyond "no panic": a refusal always names at least one problem; an accepted signal's
//! canonical JSON (what the store persists and replays) is accepted again as the very same
//! signal, by the backtest validator and by a live one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratbox_core::signal_input::{
    records::{self, Record},
    validate::{SignalLimits, TimeCheck, Validator},
};

const INSTRUMENTS: [&str; 4] = [
    "BTCUSDT-PERP.BINANCE",
    "GBP/USD.SIM",
    "EUR/USD.SIM",
    "ETHUSDT-PERP.BINANCE",
];

fuzz_target!(|data: &[u8]| {
    let backtest = Validator::new(INSTRUMENTS, SignalLimits::default(), TimeCheck::Backtest);
    let live = Validator::new(
        INSTRUMENTS,
        SignalLimits::default(),
        TimeCheck::Live {
            now_ns: 1_641_081_600_000_000_000,
            max_age_ns: 3_600_000_000_000,
            max_ahead_ns: 5_000_000_000,
        },
    );
    let jsonl = data
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    let mut each = |record: Record| {
        for validator in [&backtest, &live] {
            check(&record, validator);
        }
        Ok(())
    };
    let _ = if jsonl {
        records::read_jsonl(data, "fuzz.jsonl", "fuzz.jsonl", &mut each)
    } else {
        records::read_csv(data, "fuzz.csv", "fuzz.csv", &mut each)
    };
});

fn check(record: &Record, validator: &Validator) {
    match record.check(validator) {
        Ok(signal) => {
            let stored = signal.canonical_json();
            // The size limit applies to the input as sent; the canonical form may spell a
            // number longer (`1` → `1.0`), so only inputs whose stored form fits are
            // required to be accepted again.
            if stored.len() > validator.limits().max_signal_bytes {
                return;
            }
            let again = validator.parse_json(&stored).unwrap_or_else(|r| {
                panic!(
                    "{}: the stored form of an accepted signal is refused: {r}\n{stored}",
                    record.source
                )
            });
            assert_eq!(again, signal, "{}: stored form round trip", record.source);
            let _ = signal.to_wit();
        }
        Err((refusal, _)) => {
            assert!(
                !refusal.0.is_empty(),
                "{}: a refusal without a problem",
                record.source
            );
        }
    }
}
