//! Malformed components never take the host down: random mutations of a real component
//! are refused with an error or, when still valid, run (and at worst fault) in the sandbox.

use std::sync::{Arc, OnceLock};

use crate::fixtures::*;
use proptest::prelude::*;
use stratbox::{
    audit::AuditLog,
    capabilities,
    inspect::inspect,
    replay::ReplayPlugin,
    sandbox::{LoadPolicy, SandboxEngine},
};

fn original() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| bytes(stratbox_artifacts::EMA_CROSS))
}

fn shared_engine() -> &'static SandboxEngine {
    static ENGINE: OnceLock<SandboxEngine> = OnceLock::new();
    ENGINE.get_or_init(engine)
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Overwrite bytes at (fraction of length, value).
    Flip(Vec<(f64, u8)>),
    /// Keep only this fraction of the file.
    Truncate(f64),
    /// Insert bytes at a position.
    Insert(f64, Vec<u8>),
    /// Remove a range.
    Remove(f64, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => prop::collection::vec((0.0..1.0f64, any::<u8>()), 1..8).prop_map(Mutation::Flip),
        1 => (0.0..1.0f64).prop_map(Mutation::Truncate),
        1 => (0.0..1.0f64, prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(at, b)| Mutation::Insert(at, b)),
        1 => (0.0..1.0f64, 1..64usize).prop_map(|(at, n)| Mutation::Remove(at, n)),
    ]
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
fn apply(m: &Mutation, bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let at = |f: f64, len: usize| ((f * len as f64) as usize).min(len.saturating_sub(1));
    match m {
        Mutation::Flip(flips) => {
            for (f, v) in flips {
                let i = at(*f, out.len());
                out[i] = *v;
            }
        }
        Mutation::Truncate(f) => out.truncate(at(*f, bytes.len())),
        Mutation::Insert(f, b) => {
            let i = at(*f, out.len());
            out.splice(i..i, b.iter().copied());
        }
        Mutation::Remove(f, n) => {
            let i = at(*f, out.len());
            let end = (i + n).min(out.len());
            out.drain(i..end);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_components_are_refused_or_contained(m in mutation()) {
        let engine = shared_engine();
        let bytes = apply(&m, original());
        let verdict = inspect(engine, &bytes, &LoadPolicy::default());
        // A refusal always says why.
        prop_assert!(verdict.accepted || !verdict.refusals.is_empty());
        if !verdict.accepted {
            return Ok(());
        }
        // Still a valid plugin: it must run, or fault, inside the sandbox.
        let audit = AuditLog::memory();
        let component = capabilities::load(engine, &bytes, &LoadPolicy::default(), &audit).unwrap();
        let market = market();
        let overrides = vec![("instrument_id".to_string(), GBPUSD.to_string())];
        let Ok(params) = component.manifest().resolve_params(&overrides) else { return Ok(()) };
        let Ok(plugin) = ReplayPlugin::new(engine, &component, Arc::clone(&market), &params, &audit) else { return Ok(()) };
        let mut plugins = vec![plugin];
        run(&mut plugins, &market, events(400));
    }
}
