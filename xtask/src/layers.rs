//! The host crate's layering as a check (docs/architecture.md): each top-level module of
//! `host/src` may `use crate::` only the modules of the layers below it. `cargo xtask test`
//! runs [`check`] and names every import that breaks the rule.

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

/// Modules of the sandbox core (`stratbox-core`, re-exported by the host crate) and the
/// host's own bottom layer: every module may use them.
const BOTTOM: &[&str] = &[
    "audit",
    "bindings",
    "capabilities",
    "inspect",
    "notify",
    "sandbox",
    "storage",
    "stubs",
    "time",
    "names",
    "named_enum",
];

/// `(module, what it may use besides the bottom layer)`. A module not listed may use
/// nothing but the bottom layer; `*` means every module but `cli`.
const ALLOWED: &[(&str, &[&str])] = &[
    ("author", &[]),
    ("catalog", &[]),
    ("signals", &[]),
    ("replay", &["catalog", "signals", "nautilus"]),
    ("nautilus", &["catalog", "signals", "backtest"]),
    ("backtest", &["catalog", "signals", "nautilus"]),
    ("sweep", &["catalog", "signals", "backtest", "nautilus"]),
    (
        "translate",
        &[
            "author", "catalog", "signals", "backtest", "nautilus", "replay",
        ],
    ),
    (
        "service",
        &[
            "author",
            "catalog",
            "signals",
            "backtest",
            "nautilus",
            "replay",
            "sweep",
            "translate",
        ],
    ),
    ("bench", &["*"]),
    ("cli", &["*", "cli"]),
    ("main", &["*", "cli"]),
];

/// One import that breaks the layering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub file: String,
    pub line: usize,
    pub module: String,
    pub uses: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: `{}` uses `crate::{}`, a layer above it",
            self.file, self.line, self.module, self.uses
        )
    }
}

fn allowed(module: &str, target: &str) -> bool {
    if module == target || BOTTOM.contains(&target) {
        return true;
    }
    ALLOWED
        .iter()
        .find(|(m, _)| *m == module)
        .is_some_and(|(_, uses)| uses.contains(&target) || (uses.contains(&"*") && target != "cli"))
}

/// The modules a source text names as `crate::x` (also inside `use crate::{x, y::z}`),
/// with their 1-based line numbers. Comments are ignored.
#[must_use]
pub fn crate_uses(text: &str) -> Vec<(usize, String)> {
    // Drop comments (line by line) but keep line structure.
    let code: String = text
        .lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n");
    let bytes = code.as_bytes();
    let line_of = |pos: usize| code[..pos].matches('\n').count() + 1;
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find("crate::") {
        let start = from + i;
        from = start + "crate::".len();
        // `$crate::` and `stratbox_crate::` are not this crate's paths.
        if start > 0 && (bytes[start - 1] == b'$' || is_ident(bytes[start - 1])) {
            continue;
        }
        if bytes.get(from) == Some(&b'{') {
            let mut depth = 0usize;
            let mut item_start = from + 1;
            for (k, &b) in bytes.iter().enumerate().skip(from) {
                match b {
                    b'{' => {
                        depth += 1;
                        if depth == 1 {
                            item_start = k + 1;
                        }
                    }
                    b'}' | b',' if depth == 1 => {
                        push_ident(&code, item_start, &mut out, line_of);
                        if b == b'}' {
                            break;
                        }
                        item_start = k + 1;
                    }
                    b'}' => depth -= 1,
                    _ => {}
                }
            }
        } else {
            push_ident(&code, from, &mut out, line_of);
        }
    }
    out
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn push_ident(
    code: &str,
    at: usize,
    out: &mut Vec<(usize, String)>,
    line_of: impl Fn(usize) -> usize,
) {
    let rest = &code[at..];
    let trimmed = rest.trim_start();
    let offset = at + (rest.len() - trimmed.len());
    let ident: String = trimmed
        .bytes()
        .take_while(|b| is_ident(*b))
        .map(char::from)
        .collect();
    if !ident.is_empty() && ident != "self" {
        out.push((line_of(offset), ident));
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Every import in `src` (the host crate's `src/`) that breaks the layering.
pub fn check(src: &Path) -> Result<Vec<Violation>> {
    let mut files = Vec::new();
    rust_files(src, &mut files)?;
    files.sort();
    let known: BTreeSet<&str> = BOTTOM
        .iter()
        .chain(ALLOWED.iter().map(|(m, _)| m))
        .copied()
        .collect();
    let mut violations = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap_or(&file);
        let first = rel
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        let module = first.strip_suffix(".rs").unwrap_or(&first).to_string();
        if module == "lib" {
            continue;
        }
        let text =
            fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        for (line, target) in crate_uses(&text) {
            if known.contains(target.as_str()) && !allowed(&module, &target) {
                violations.push(Violation {
                    file: format!("host/src/{}", rel.display()),
                    line,
                    module: module.clone(),
                    uses: target,
                });
            }
        }
    }
    Ok(violations)
}

#[cfg(test)]
mod tests {
    use super::{allowed, crate_uses};

    #[test]
    fn finds_plain_and_grouped_crate_paths_but_not_comments_or_macros() {
        let text = "use crate::{\n    audit::AuditLog,\n    backtest::{self, data},\n    catalog,\n};\n\
                    // crate::service in a comment\nlet x = crate::nautilus::paper::start();\n\
                    $crate::names::parse(t);\nuse crate::{self as c, cli::x};\n";
        let uses: Vec<(usize, String)> = crate_uses(text);
        let names: Vec<&str> = uses.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["audit", "backtest", "catalog", "nautilus", "cli"]);
        assert_eq!(uses[3].0, 7, "line of crate::nautilus");
    }

    #[test]
    fn the_table_allows_downward_uses_only() {
        assert!(allowed("backtest", "nautilus"));
        assert!(allowed("nautilus", "backtest"));
        assert!(allowed("catalog", "capabilities"));
        assert!(!allowed("catalog", "backtest"));
        assert!(!allowed("signals", "service"));
        assert!(!allowed("service", "cli"));
        assert!(!allowed("bench", "cli"));
        assert!(allowed("cli", "service"));
        assert!(allowed("translate", "author"));
        assert!(!allowed("author", "translate"));
    }
}
