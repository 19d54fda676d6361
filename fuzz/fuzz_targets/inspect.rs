//! Component loading: `stratbox inspect` on arbitrary bytes (static checks, wasmtime
//! compilation, the typed link against the granted capabilities).
//!
//! Beyond "no panic": the verdict is deterministic (the same bytes inspect to the same JSON
//! report), the report names the bytes it was given (size, SHA-256), an accepted
//! component's report is exactly its static report (compiling and linking only add
//! refusals) with a manifest and limits, and a refused one says why.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stratbox_core::{
    inspect::inspect,
    sandbox::{EngineOptions, LoadPolicy, SandboxEngine, inspect_static, sha256_hex},
};

fn engine() -> &'static SandboxEngine {
    static ENGINE: OnceLock<SandboxEngine> = OnceLock::new();
    ENGINE.get_or_init(|| SandboxEngine::new(EngineOptions::default()).expect("engine"))
}

fuzz_target!(|data: &[u8]| {
    let policy = LoadPolicy::default();
    let full = inspect(engine(), data, &policy);
    assert_eq!(full.size, data.len());
    assert_eq!(full.sha256, sha256_hex(data));
    assert_eq!(
        full.accepted,
        full.refusals.is_empty(),
        "accepted iff no refusal: {:?}",
        full.refusals
    );
    let report = serde_json::to_string(&full).expect("a report serialises");
    let stat = serde_json::to_string(&inspect_static(data, &policy)).expect("serialises");
    if full.accepted {
        // Compilation and linking only add refusals: an accepted component's report is its
        // static report, and it has what the host needs to run it.
        assert_eq!(report, stat, "accepted, but the static report differs");
        assert!(full.manifest.is_some() && full.limits.is_some());
    } else {
        // Refused inputs are cheap to inspect again (compiling twice would halve the rate).
        let again = serde_json::to_string(&inspect(engine(), data, &policy)).expect("serialises");
        assert_eq!(report, again, "inspection is not deterministic");
    }
});
