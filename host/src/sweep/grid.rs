//! The parameter grid of a sweep: `--param name=lo..hi:step` / `name=a,b,c` parsed and
//! checked against the plugin's manifest, and its cartesian product.
//!
//! Every value is checked before any run starts (type, the manifest's `min`/`max` and
//! `choices`), and every problem is reported, not just the first. Ranges of floats and
//! decimals are computed in exact decimal arithmetic, so `0.1..0.3:0.1` is 0.1, 0.2, 0.3
//! and never 0.30000000000000004.

use std::collections::BTreeMap;

use serde::Serialize;
use stratbox_manifest::{
    Decimal, Manifest, ParamSpec, ParamType, ParamValue, Problems, parse_value,
};

/// The largest grid a sweep runs.
pub const MAX_RUNS: usize = 10_000;

/// One swept parameter and its values, in the order given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Axis {
    pub name: String,
    /// The `--param` text after `name=`, as given.
    pub spec: String,
    pub values: Vec<ParamValue>,
}

/// The cartesian product of the axes. Grid index 0 takes every axis's first value; the
/// last axis varies fastest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grid {
    pub axes: Vec<Axis>,
}

impl Grid {
    /// Parses `--param` arguments (`name=lo..hi:step`, `name=a,b,c`) against `manifest`.
    /// Every problem is returned, each at its `--param` argument and saying what to do;
    /// problems of the whole grid have no path.
    pub fn parse(args: &[String], manifest: &Manifest) -> Result<Self, Problems> {
        let mut problems = Problems::new();
        let mut axes: Vec<Axis> = Vec::new();
        if args.is_empty() {
            problems.push(
                "",
                "no --param to sweep: give at least one, e.g. --param fast_period=5..30:5 (for a single run use `stratbox backtest`)",
            );
        }
        for arg in args {
            let at = format!("--param {arg}");
            match parse_axis(arg, manifest) {
                Ok(axis) if axes.iter().any(|a| a.name == axis.name) => problems.push(
                    at,
                    format!(
                        "`{}` is swept twice; give each parameter once (a list a,b,c takes any values)",
                        axis.name
                    ),
                ),
                Ok(axis) => axes.push(axis),
                Err(e) => problems.push(at, e),
            }
        }
        if problems.is_empty() {
            let sizes: Vec<String> = axes.iter().map(|a| a.values.len().to_string()).collect();
            let runs = axes
                .iter()
                .try_fold(1_usize, |n, a| n.checked_mul(a.values.len()))
                .unwrap_or(usize::MAX);
            if runs > MAX_RUNS {
                problems.push(
                    "",
                    format!(
                        "the grid has {} runs ({}); a sweep runs at most {MAX_RUNS}: use larger steps or fewer values",
                        if runs == usize::MAX {
                            "too many".to_string()
                        } else {
                            runs.to_string()
                        },
                        sizes.join(" x ")
                    ),
                );
            }
        }
        problems.into_result().map(|()| Self { axes })
    }

    /// Number of runs.
    #[must_use]
    pub fn len(&self) -> usize {
        self.axes.iter().map(|a| a.values.len()).product()
    }

    /// Whether the grid has no runs (never, once parsed).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The swept values of run `index` (`index < len()`), in axis order.
    #[must_use]
    pub fn point(&self, index: usize) -> Vec<(String, ParamValue)> {
        let mut rest = index;
        let mut out = Vec::with_capacity(self.axes.len());
        for axis in self.axes.iter().rev() {
            let n = axis.values.len().max(1);
            let v = &axis.values[(rest % n).min(axis.values.len().saturating_sub(1))];
            out.push((axis.name.clone(), v.clone()));
            rest /= n;
        }
        out.reverse();
        out
    }

    /// Every run's full parameter list: the manifest's defaults, then `fixed` (`--set`
    /// and the run's instrument), then the run's swept values. Fails with every problem of
    /// the fixed values (or a required parameter nobody gives), before anything runs.
    pub fn resolve(
        &self,
        manifest: &Manifest,
        fixed: &[(String, String)],
    ) -> Result<Vec<Vec<(String, ParamValue)>>, Problems> {
        let mut clashes = Problems::new();
        for (k, _) in fixed {
            if self.axes.iter().any(|a| &a.name == k) {
                clashes.push(
                    format!("--set {k}"),
                    format!("`{k}` is also swept by --param; drop one of them"),
                );
            }
        }
        clashes.into_result()?;
        (0..self.len())
            .map(|index| {
                let mut overrides = fixed.to_vec();
                overrides.extend(
                    self.point(index)
                        .into_iter()
                        .map(|(k, v)| (k, crate::backtest::param_text(&v))),
                );
                manifest.resolve_params(&overrides)
            })
            .collect()
    }
}

/// Parses one `--param` argument.
fn parse_axis(arg: &str, manifest: &Manifest) -> Result<Axis, String> {
    let Some((name, text)) = arg.split_once('=') else {
        return Err(
            "expected name=lo..hi:step or name=a,b,c (e.g. fast_period=5..30:5)".to_string(),
        );
    };
    let name = name.trim();
    let Some(spec) = manifest.params.get(name) else {
        let known: Vec<&str> = manifest.params.keys().map(String::as_str).collect();
        return Err(format!(
            "{} has no parameter `{name}` (it has: {}; see `stratbox inspect`)",
            manifest.name,
            known.join(", ")
        ));
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(format!(
            "no values for `{name}`: write {name}=lo..hi:step or {name}=a,b,c"
        ));
    }
    let ranged = matches!(
        spec.kind,
        ParamType::Int | ParamType::Float | ParamType::Decimal
    ) && text.contains("..");
    let values = if ranged {
        range(name, spec, text)?
    } else {
        list(name, spec, text)?
    };
    let mut checked = Vec::with_capacity(values.len());
    for v in values {
        spec.check(&v).map_err(|e| {
            format!(
                "{e} ({}'s manifest allows {}); narrow the values",
                manifest.name,
                allowed(spec)
            )
        })?;
        if checked.contains(&v) {
            return Err(format!("{v} is listed twice; give each value once"));
        }
        checked.push(v);
    }
    Ok(Axis {
        name: name.to_string(),
        spec: text.to_string(),
        values: checked,
    })
}

fn allowed(spec: &ParamSpec) -> String {
    let bound = |v: &Option<ParamValue>| v.as_ref().map(ToString::to_string);
    match (bound(&spec.min), bound(&spec.max)) {
        (Some(lo), Some(hi)) => format!("{lo} to {hi}"),
        (Some(lo), None) => format!("{lo} or more"),
        (None, Some(hi)) => format!("{hi} or less"),
        (None, None) if !spec.choices.is_empty() => spec.choices.join(", "),
        (None, None) => "any value".to_string(),
    }
}

fn list(name: &str, spec: &ParamSpec, text: &str) -> Result<Vec<ParamValue>, String> {
    text.split(',')
        .map(|item| {
            let item = if spec.kind == ParamType::String {
                item
            } else {
                item.trim()
            };
            if item.is_empty() {
                return Err(format!(
                    "an empty value in the list `{text}`; separate values with single commas"
                ));
            }
            parse_value(spec.kind, item)
                .map_err(|e| format!("{e} ({name} is a {} parameter)", spec.kind))
        })
        .collect()
}

/// `lo..hi:step` (step optional for ints: 1), hi included when a step lands on it.
fn range(name: &str, spec: &ParamSpec, text: &str) -> Result<Vec<ParamValue>, String> {
    let (lo, rest) = text.split_once("..").unwrap_or((text, ""));
    let (hi, step) = match rest.rsplit_once(':') {
        Some((hi, step)) => (hi, Some(step)),
        None => (rest, None),
    };
    let kind = spec.kind;
    let syntax = |what: &str, v: &str, e: String| {
        format!("{what} `{v}`: {e} ({name} is a {kind} parameter; write {name}=lo..hi:step)")
    };
    if kind == ParamType::Int {
        let int = |what: &str, v: &str| match parse_value(kind, v) {
            Ok(ParamValue::Int(i)) => Ok(i),
            Ok(_) => Err(syntax(what, v, "not an int".into())),
            Err(e) => Err(syntax(what, v, e)),
        };
        let (lo, hi) = (int("lo", lo)?, int("hi", hi)?);
        let step = step.map_or(Ok(1), |s| int("step", s))?;
        let raws = steps(i128::from(lo), i128::from(hi), i128::from(step), &lo, &hi)?;
        return Ok(raws
            .into_iter()
            .filter_map(|r| i64::try_from(r).ok())
            .map(ParamValue::Int)
            .collect());
    }
    let Some(step) = step else {
        return Err(format!(
            "a {kind} range needs a step: write {name}={lo}..{hi}:step"
        ));
    };
    let dec = |what: &str, v: &str| {
        v.parse::<Decimal>()
            .map_err(|e| syntax(what, v, format!("{e}; write plain decimals in a range")))
    };
    let (lo, hi, step) = (dec("lo", lo)?, dec("hi", hi)?, dec("step", step)?);
    let precision = lo.precision.max(step.precision);
    let raws = steps(
        i128::from(lo.raw),
        i128::from(hi.raw),
        i128::from(step.raw),
        &lo,
        &hi,
    )?;
    raws.into_iter()
        .map(|raw| {
            let d = i64::try_from(raw)
                .ok()
                .map(|raw| Decimal { raw, precision })
                .ok_or_else(|| format!("{raw} is out of range"))?;
            Ok(if kind == ParamType::Float {
                ParamValue::Float(d.to_string().parse().map_err(|_| d.to_string())?)
            } else {
                ParamValue::Decimal(d)
            })
        })
        .collect()
}

/// `lo, lo+step, ...` up to `hi`, refusing empty ranges, steps ≤ 0 and more values than a
/// grid may hold (before allocating them).
fn steps(
    lo: i128,
    hi: i128,
    step: i128,
    lo_text: &impl std::fmt::Display,
    hi_text: &impl std::fmt::Display,
) -> Result<Vec<i128>, String> {
    if step <= 0 {
        return Err("the step must be positive; write lo..hi:step with step > 0".to_string());
    }
    if lo > hi {
        return Err(format!(
            "empty range: {lo_text} is above {hi_text}; write lo..hi with lo <= hi"
        ));
    }
    let count = (hi - lo) / step + 1;
    if count > MAX_RUNS as i128 {
        return Err(format!(
            "{count} values; a sweep runs at most {MAX_RUNS}: use a larger step"
        ));
    }
    Ok((0..count).map(|i| lo + i * step).collect())
}

/// The grid as a map of axis names to value texts (for reports).
#[must_use]
pub fn texts(point: &[(String, ParamValue)]) -> BTreeMap<String, String> {
    point
        .iter()
        .map(|(k, v)| (k.clone(), crate::backtest::param_text(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn manifest() -> Manifest {
        Manifest::parse(
            r#"
[plugin]
name = "t"
version = "0.1.0"
[params.fast]
type = "int"
default = 10
min = 1
max = 100
[params.slow]
type = "int"
default = 50
[params.ratio]
type = "float"
default = 0.5
[params.size]
type = "decimal"
default = "1"
min = "0.001"
[params.mode]
type = "string"
default = "a"
choices = ["a", "b"]
[params.flag]
type = "bool"
default = false
"#,
        )
        .unwrap()
    }

    fn grid(args: &[&str]) -> Result<Grid, Vec<String>> {
        let args: Vec<String> = args.iter().map(ToString::to_string).collect();
        Grid::parse(&args, &manifest()).map_err(|p| p.lines())
    }

    #[test]
    fn ranges_and_lists_of_every_type() {
        let g = grid(&[
            "fast=5..15:5",
            "ratio=0.1..0.3:0.1",
            "size=0.5..1:0.25",
            "mode=a,b",
            "flag=true,false",
            "slow=20..22",
        ])
        .unwrap();
        let texts: Vec<Vec<String>> = g
            .axes
            .iter()
            .map(|a| a.values.iter().map(ToString::to_string).collect())
            .collect();
        assert_eq!(texts[0], ["5", "10", "15"]);
        assert_eq!(texts[1], ["0.1", "0.2", "0.3"]);
        assert_eq!(texts[2], ["0.50", "0.75", "1.00"]);
        assert_eq!(texts[3], ["\"a\"", "\"b\""]);
        assert_eq!(texts[4], ["true", "false"]);
        assert_eq!(texts[5], ["20", "21", "22"]);
        assert_eq!(g.len(), 3 * 3 * 3 * 2 * 2 * 3);
    }

    #[test]
    fn points_vary_the_last_axis_fastest() {
        let g = grid(&["fast=1,2", "slow=7..9"]).unwrap();
        let p: Vec<String> = (0..g.len())
            .map(|i| {
                g.point(i)
                    .iter()
                    .map(|(_, v)| v.to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect();
        assert_eq!(p, ["1/7", "1/8", "1/9", "2/7", "2/8", "2/9"]);
    }

    #[test]
    fn bad_params_are_all_reported_with_their_argument() {
        let e = grid(&[
            "fsat=1..2",
            "fast=0..10:5",
            "slow=30..20:5",
            "ratio=0.1..0.2:0",
            "size=1..2",
            "mode=a,c",
            "flag",
        ])
        .unwrap_err();
        assert_eq!(e.len(), 7, "{e:#?}");
        assert!(e[0].starts_with("--param fsat=1..2: t has no parameter `fsat`"));
        assert!(e[1].contains("0 is below the minimum 1") && e[1].contains("1 to 100"));
        assert!(e[2].contains("empty range"));
        assert!(e[3].contains("step must be positive"));
        assert!(e[4].contains("needs a step"));
        assert!(e[5].contains("not one of"));
        assert!(e[6].contains("expected name=lo..hi:step"));
        let e = grid(&["fast=1.5..3:1"]).unwrap_err();
        assert!(e[0].contains("`1.5`") && e[0].contains("int"), "{e:?}");
        let e = grid(&["fast=1,2", "fast=3"]).unwrap_err();
        assert!(e[0].contains("swept twice"), "{e:?}");
        let e = grid(&[]).unwrap_err();
        assert!(e[0].contains("no --param"), "{e:?}");
    }

    #[test]
    fn the_grid_size_is_capped_before_allocation() {
        let e = grid(&["slow=1..1000000000000"]).unwrap_err();
        assert!(e[0].contains("at most 10000"), "{e:?}");
        let e = grid(&["fast=1..100", "slow=1..101"]).unwrap_err();
        assert!(e[0].contains("10100 runs (100 x 101)"), "{e:?}");
    }

    #[test]
    fn resolve_adds_defaults_and_fixed_values_and_refuses_clashes() {
        let m = manifest();
        let g = grid(&["fast=5,6"]).unwrap();
        let points = g.resolve(&m, &[("slow".into(), "20".into())]).unwrap();
        assert_eq!(points.len(), 2);
        assert!(points[1].contains(&("fast".into(), ParamValue::Int(6))));
        assert!(points[1].contains(&("slow".into(), ParamValue::Int(20))));
        let e = g
            .resolve(&m, &[("fast".into(), "20".into())])
            .unwrap_err()
            .lines();
        assert!(e[0].contains("also swept"), "{e:?}");
        let e = g
            .resolve(&m, &[("slow".into(), "x".into())])
            .unwrap_err()
            .lines();
        assert!(e[0].contains("param `slow`"), "{e:?}");
    }
}
