//! The one collector of problems for every file and request stratbox validates: the
//! manifest, parameters, the risk policy, the service configuration, instrument
//! definitions, sweep grids and input signals.
//!
//! A validator keeps going after the first problem and records each one with its path
//! (`defaults.price_collar_bps`, `instrument[2].price_precision`, `--param fast=0..5`), so
//! the user sees everything that is wrong in one go. `Display` prints one problem per line
//! as `path: message`.

use std::fmt;

use serde::Serialize;

/// One problem: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The path of the value (`plugin.name`, `fx.EUR`, `line 4, column 1`), or a file-level
    /// label (`manifest`, `signal`).
    pub at: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.at, self.message)
        }
    }
}

/// Every problem found; empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct Problems(pub Vec<Problem>);

/// `prefix` and `at` joined as a path: `a` + `b` is `a.b`, `a` + `[2]` is `a[2]`.
#[must_use]
pub fn join_path(prefix: &str, at: &str) -> String {
    match (prefix.is_empty(), at.is_empty()) {
        (true, _) => at.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) if at.starts_with('[') => format!("{prefix}{at}"),
        (false, false) => format!("{prefix}.{at}"),
    }
}

impl Problems {
    #[must_use]
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// Records that the value at `at` is wrong, and why.
    pub fn push(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            at: at.into(),
            message: message.into(),
        });
    }

    /// Records every problem of `other`, its paths under `prefix` (see [`join_path`]).
    pub fn push_all(&mut self, prefix: &str, other: Self) {
        self.0.extend(other.0.into_iter().map(|p| Problem {
            at: join_path(prefix, &p.at),
            message: p.message,
        }));
    }

    /// Records a TOML syntax or schema error (unknown key, wrong type) found in `source`,
    /// located as `line L, column C` (or `file` when the parser gives no position).
    pub fn push_toml_error(&mut self, e: &toml::de::Error, source: &str) {
        let at = e.span().map_or_else(
            || "file".to_string(),
            |span| {
                let (line, column) = line_column(source, span.start);
                format!("line {line}, column {column}")
            },
        );
        self.push(at, e.message().trim_end());
    }

    /// Every path prefixed with the file it is in: `file: path: message`.
    #[must_use]
    pub fn in_file(self, file: &str) -> Self {
        Self(
            self.0
                .into_iter()
                .map(|p| Problem {
                    at: if p.at.is_empty() {
                        file.to_string()
                    } else {
                        format!("{file}: {}", p.at)
                    },
                    message: p.message,
                })
                .collect(),
        )
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Problem> {
        self.0.iter()
    }

    /// Each problem as one `path: message` line.
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    /// `Ok` when there is no problem.
    pub fn into_result(self) -> Result<(), Self> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl<'a> IntoIterator for &'a Problems {
    type Item = &'a Problem;
    type IntoIter = std::slice::Iter<'a, Problem>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Problems {
    /// One `path: message` per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_and_every_problem_is_listed() {
        let mut inner = Problems::new();
        inner.push("price_precision", "must be at most 9");
        inner.push("", "is defined twice");
        let mut all = Problems::new();
        all.push("currency", "`dollars` is not a currency code");
        all.push_all("instrument[2]", inner);
        let mut nested = Problems::new();
        nested.push("[0]", "empty");
        all.push_all("allowed", nested);
        assert_eq!(
            all.to_string(),
            "currency: `dollars` is not a currency code\n\
             instrument[2].price_precision: must be at most 9\n\
             instrument[2]: is defined twice\n\
             allowed[0]: empty"
        );
        assert_eq!(all.len(), 4);
        let in_file = all.in_file("x.toml");
        assert!(in_file.lines().iter().all(|l| l.starts_with("x.toml: ")));
        assert!(in_file.into_result().is_err());
        assert_eq!(Problems::new().into_result(), Ok(()));
    }

    #[test]
    fn toml_errors_have_a_line_and_column() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            a: u8,
        }
        let text = "a = 1\n  b = 2\n";
        let Err(e) = toml::from_str::<T>(text) else {
            panic!("b is unknown")
        };
        let mut p = Problems::new();
        p.push_toml_error(&e, text);
        assert_eq!(p.0[0].at, "line 2, column 3");
        assert!(p.0[0].message.contains("unknown field `b`"), "{p}");
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("é = x", 3), (1, 3));
        assert_eq!(line_column("a\nb", 2), (2, 1));
        assert_eq!(line_column("a", 99), (1, 2));
    }
}
