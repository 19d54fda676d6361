//! The plugin manifest parser (`stratbox.toml`, also the component's custom section).
//!
//! Beyond "no panic": parsing is deterministic, and every declared default passes its own
//! spec and survives a value → text → value round trip through `--param` resolution (what
//! `stratbox run --param name=<default>` does), so a default printed in `inspect` output can
//! be passed back verbatim.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratbox_manifest::{Manifest, ParamValue};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = Manifest::parse(text);
    let again = Manifest::parse(text);
    assert_eq!(first, again, "parsing is not deterministic");
    let Ok(manifest) = first else { return };

    for (name, spec) in &manifest.params {
        let Some(default) = &spec.default else {
            continue;
        };
        assert_eq!(
            spec.check(default),
            Ok(()),
            "param `{name}`: the accepted default fails its own spec"
        );
        let as_text = match default {
            ParamValue::Text(s) => s.clone(),
            other => other.to_string(),
        };
        let resolved = manifest.resolve_params(&[(name.clone(), as_text.clone())]);
        // Required parameters (no default) make resolution fail as a whole: only check the
        // override when every parameter has a default.
        if manifest.params.values().all(|s| s.default.is_some()) {
            let values = resolved.unwrap_or_else(|e| {
                panic!("param `{name}`: its default `{as_text}` is refused when passed back: {e}")
            });
            let got = values.iter().find(|(n, _)| n == name).map(|(_, v)| v);
            assert_eq!(got, Some(default), "param `{name}`: `{as_text}` round trip");
        }
    }
    // The serialised form (what `inspect --json` prints) never fails.
    serde_json::to_string(&manifest).expect("an accepted manifest serialises");
});
