//! Strategy definitions (`stratbox translate`): the JSON loader, the rule language's parser
//! and the checks, as `check_text` runs them (load, then lower = check + translate).
//!
//! Inputs starting with `{` are definitions; anything else is one rule expression.
//!
//! Beyond "no panic": a parsed rule's spans lie inside the text; an accepted definition
//! re-serialises to JSON that loads to the same definition and translates to the same
//! program; the generated manifest text parses to the manifest the translation reports;
//! the embedded program JSON reads back to the program.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratbox_manifest::Manifest;
use stratbox_rules::{definition, expr, lower, program::Program};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if !text.trim_start().starts_with('{') {
        if let Ok(ast) = expr::parse(text) {
            spans_inside(&ast, text.len());
        }
        return;
    }
    let Ok(loaded) = definition::load("fuzz.json", text) else {
        return;
    };
    let printed = serde_json::to_string(&loaded.definition).expect("a definition serialises");
    let reloaded = definition::load("printed.json", &printed)
        .unwrap_or_else(|e| panic!("a loaded definition does not load after printing: {e}"));
    assert_eq!(
        loaded.definition, reloaded.definition,
        "print/load round trip"
    );

    let translated = lower::translate(&loaded);
    let again = lower::translate(&reloaded);
    let (t, t2) = match (translated, again) {
        (Ok(t), Ok(t2)) => (t, t2),
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "the same definition gets different problems");
            return;
        }
        (a, b) => panic!(
            "printing the definition changed its verdict: {:?} vs {:?}",
            a.err(),
            b.err()
        ),
    };
    // The program records the SHA-256 of the text it came from, which printing changes.
    let mut reprinted = t2.program.clone();
    reprinted.source.sha256.clone_from(&t.program.source.sha256);
    assert_eq!(
        t.program, reprinted,
        "printing the definition changed its program"
    );
    let manifest = Manifest::parse(&t.manifest_text)
        .unwrap_or_else(|e| panic!("generated manifest is refused:\n{e}\n{}", t.manifest_text));
    assert_eq!(
        manifest, t.manifest,
        "generated manifest text and manifest differ"
    );
    let program: Program =
        serde_json::from_str(&t.program_json).expect("the embedded program reads back");
    assert_eq!(program, t.program, "program JSON round trip");
});

fn spans_inside(node: &expr::Spanned, len: usize) {
    assert!(
        node.span.start <= node.span.end && node.span.end <= len,
        "span {:?} outside a {len}-byte rule",
        node.span
    );
    use expr::Ast;
    match &node.node {
        Ast::Call { args, .. } => args.iter().for_each(|a| spans_inside(a, len)),
        Ast::Index { target, .. } | Ast::Member { target, .. } => spans_inside(target, len),
        Ast::Not(x) | Ast::Neg(x) => spans_inside(x, len),
        Ast::Binary { left, right, .. } => {
            spans_inside(left, len);
            spans_inside(right, len);
        }
        Ast::Num(_) | Ast::Str(_) | Ast::Bool(_) | Ast::Ident(_) => {}
    }
}
