//! The risk-policy parser (`risk-policy.toml`).
//!
//! Beyond "no panic": parsing is deterministic; the recorded SHA-256 is that of the text;
//! every amount of an accepted policy prints as decimal text that parses back to the same
//! amount (policies are logged and re-read as text); and resolving a plugin's limits
//! (`[defaults]` overridden by `[plugins.<name>]`) never fails.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratbox_core::capabilities::risk_gate::{RiskPolicy, policy::Amount};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = RiskPolicy::from_toml(text);
    assert_eq!(
        first,
        RiskPolicy::from_toml(text),
        "parsing is not deterministic"
    );
    let Ok(policy) = first else { return };

    assert_eq!(policy.sha256.len(), 64);
    for (code, rate) in &policy.fx {
        round_trip(*rate, code);
        assert_eq!(policy.rate(code), Some(*rate));
    }
    // Every amount in the policy, as serialised (amounts serialise as decimal strings).
    let json = serde_json::to_value(&policy).expect("an accepted policy serialises");
    visit_strings(&json, &mut |s| {
        if let Ok(a) = Amount::parse(s) {
            round_trip(a, s);
        }
    });
    for name in policy.plugins.keys() {
        let limits = policy.limits_for(name);
        let _ = policy.uses_money(&limits);
    }
    let _ = policy.limits_for("a-plugin-the-policy-does-not-name");
});

fn round_trip(a: Amount, at: &str) {
    let text = a.to_string();
    assert_eq!(
        Amount::parse(&text),
        Ok(a),
        "{at}: `{text}` does not parse back"
    );
}

fn visit_strings(v: &serde_json::Value, f: &mut dyn FnMut(&str)) {
    match v {
        serde_json::Value::String(s) => f(s),
        serde_json::Value::Array(a) => a.iter().for_each(|x| visit_strings(x, f)),
        serde_json::Value::Object(o) => o.values().for_each(|x| visit_strings(x, f)),
        _ => {}
    }
}
