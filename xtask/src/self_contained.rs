//! The repository is self-contained: a clone with nothing beside it builds, demos and passes
//! its tests. [`check`] scans every tracked text file for a path that leaves the
//! repository: a relative path whose `..` parts climb above the root (resolved from the
//! file's folder, as `#[path]`, `include_str!`, Markdown links and shell scripts resolve
//! them), or an absolute path into the machine's work folders.

use std::{
    path::{Component, Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

/// Absolute path prefixes of the development machines' work folders (where checkouts and
/// material beside them live), never part of a clone elsewhere.
const FOREIGN_ROOTS: &[&str] = &["/work/"];

/// Files this check does not read: lockfiles and data (no paths of ours in them), and this
/// file (its examples are the paths it looks for).
fn skipped(path: &str) -> bool {
    path == "xtask/src/self_contained.rs"
        || path.ends_with("Cargo.lock")
        || path.ends_with("package-lock.json")
        || path.starts_with("data/")
        || path.starts_with("fuzz/corpus/")
}

/// One path that leaves the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escape {
    pub file: String,
    pub line: usize,
    pub text: String,
}

impl std::fmt::Display for Escape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: `{}` points outside the repository",
            self.file, self.line, self.text
        )
    }
}

/// Every tracked text file's escapes (`git ls-files` in `root`).
///
/// # Errors
/// `git` cannot list the files.
pub fn check(root: &Path) -> Result<Vec<Escape>> {
    let out = Command::new("git")
        .current_dir(root)
        .args(["ls-files", "-z"])
        .output()
        .context("running git ls-files")?;
    if !out.status.success() {
        bail!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut found = Vec::new();
    for file in out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let file = String::from_utf8_lossy(file).into_owned();
        if skipped(&file) {
            continue;
        }
        // Deleted but not yet committed, or binary: nothing to read.
        let Ok(text) = std::fs::read_to_string(root.join(&file)) else {
            continue;
        };
        found.extend(escapes(&file, &text));
    }
    Ok(found)
}

/// The escapes in `text`, the contents of the repository file `file`.
#[must_use]
pub fn escapes(file: &str, text: &str) -> Vec<Escape> {
    let dir = Path::new(file).parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for token in relative_paths(line) {
            if leaves_root(dir, token) {
                out.push(Escape {
                    file: file.to_string(),
                    line: i + 1,
                    text: token.to_string(),
                });
            }
        }
        for root in FOREIGN_ROOTS {
            if let Some(at) = line.find(root)
                && !line[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '.')
            {
                let rest = &line[at..];
                let end = rest
                    .find(|c: char| c.is_whitespace() || "`'\")]>,;".contains(c))
                    .unwrap_or(rest.len());
                out.push(Escape {
                    file: file.to_string(),
                    line: i + 1,
                    text: rest[..end].to_string(),
                });
            }
        }
    }
    out
}

/// The runs of `line` that start with `../` (a relative path climbing out of its folder).
fn relative_paths(line: &str) -> impl Iterator<Item = &str> {
    let mut rest = line;
    std::iter::from_fn(move || {
        loop {
            let at = rest.find("../")?;
            // `.../` or `x../` is not a relative path; a path starting `./../` is.
            let before = rest[..at].chars().next_back();
            let candidate = &rest[at..];
            let end = candidate
                .find(|c: char| c.is_whitespace() || "`'\")]>,;{}".contains(c))
                .unwrap_or(candidate.len());
            let token = &candidate[..end];
            rest = &candidate[end.max(3)..];
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_') {
                continue;
            }
            return Some(token);
        }
    })
}

/// Whether `path`, taken from the repository folder `dir`, climbs above the repository.
fn leaves_root(dir: &Path, path: &str) -> bool {
    let mut at: Vec<Component<'_>> = dir.components().collect();
    for c in Path::new(path).components() {
        match c {
            // The guard pops: a `..` climbs one folder, or out of the repository.
            Component::ParentDir if at.pop().is_none() => return true,
            Component::Normal(_) => at.push(c),
            _ => {}
        }
    }
    false
}

/// Fails with every escape named.
///
/// # Errors
/// A tracked file names a path outside the repository.
pub fn require(root: &Path) -> Result<()> {
    let found = check(root)?;
    if found.is_empty() {
        return Ok(());
    }
    for e in &found {
        eprintln!("error: {e}");
    }
    bail!(
        "{} path(s) outside the repository: a clone with nothing beside it must build and pass \
         its tests; copy what is needed into the repository (data goes to data/ with its \
         provenance and licence)",
        found.len()
    )
}

/// The repository root of this checkout (for tests).
#[must_use]
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(file: &str, text: &str) -> Vec<String> {
        escapes(file, text).into_iter().map(|e| e.text).collect()
    }

    #[test]
    fn paths_that_climb_out_of_the_repository_are_found() {
        assert_eq!(
            texts("host/tests/catalog.rs", "let d = \"../../../shared/data\";"),
            ["../../../shared/data"]
        );
        assert_eq!(
            texts("README.md", "see [style](../shared/STYLE.md)"),
            ["../shared/STYLE.md"]
        );
        assert_eq!(
            texts("docs/x.md", "read /work/shared/ARCHITECTURE.md first"),
            ["/work/shared/ARCHITECTURE.md"]
        );
        assert_eq!(
            texts("a/b/c.sh", "cp ../../x y && cp ../../../z w"),
            ["../../../z"]
        );
    }

    #[test]
    fn paths_inside_the_repository_are_fine() {
        for (file, line) in [
            (
                "host/src/backtest/native.rs",
                "#[path = \"../../../plugins/ema-atr-filter/src/core.rs\"]",
            ),
            (
                "host/src/catalog/instrument_defs.rs",
                "include_str!(\"../../../data/instruments.toml\")",
            ),
            (
                "host/tests/all/fixtures.rs",
                "concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/../data/nautilus-64bit\")",
            ),
            ("docs/a.md", "see [the data](../data/README.md) and ...../x"),
            ("docs/a.md", "a range 1../2 and https://x.invalid/home/y"),
        ] {
            assert!(texts(file, line).is_empty(), "{file}: {line}");
        }
    }

    #[test]
    fn this_repository_is_self_contained() {
        let found = check(&repository_root()).expect("git ls-files");
        assert!(
            found.is_empty(),
            "{}",
            found
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
