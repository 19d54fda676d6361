//! Interval analysis: the range a number can take and whether a condition can be true or
//! false, from indicator ranges, parameter ranges and literals.

use super::Checked;
use crate::program::{BinOp, Expr};

/// Inclusive bounds of a number (infinite when unknown).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    pub const ANY: Self = Self {
        lo: f64::NEG_INFINITY,
        hi: f64::INFINITY,
    };

    #[must_use]
    pub const fn point(x: f64) -> Self {
        Self { lo: x, hi: x }
    }

    pub(super) fn show(self) -> String {
        match (self.lo.is_finite(), self.hi.is_finite()) {
            (true, true) if self.lo == self.hi => format!("always {}", self.lo),
            (true, true) => format!("between {} and {}", self.lo, self.hi),
            (true, false) => format!("at least {}", self.lo),
            (false, true) => format!("at most {}", self.hi),
            (false, false) => "unbounded".to_string(),
        }
    }

    pub(super) fn arith(op: BinOp, a: Self, b: Self) -> Self {
        let corners = |f: fn(f64, f64) -> f64| {
            let v = [f(a.lo, b.lo), f(a.lo, b.hi), f(a.hi, b.lo), f(a.hi, b.hi)];
            if v.iter().any(|x| x.is_nan()) {
                return Self::ANY;
            }
            Self {
                lo: v.iter().copied().fold(f64::INFINITY, f64::min),
                hi: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            }
        };
        match op {
            BinOp::Add => Self {
                lo: a.lo + b.lo,
                hi: a.hi + b.hi,
            },
            BinOp::Sub => Self {
                lo: a.lo - b.hi,
                hi: a.hi - b.lo,
            },
            BinOp::Mul => corners(|x, y| x * y),
            BinOp::Div if b.lo > 0.0 || b.hi < 0.0 => corners(|x, y| x / y),
            _ => Self::ANY,
        }
    }
}

/// Whether a condition can be true and can be false, and why not when it cannot.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Truth {
    pub(super) can_true: bool,
    pub(super) can_false: bool,
    pub(super) why: String,
}

impl Truth {
    pub(super) fn open() -> Self {
        Self {
            can_true: true,
            can_false: true,
            why: String::new(),
        }
    }
}

/// Can `l op r` be true / false, given the operands' ranges?
pub(super) fn compare_truth(op: BinOp, l: &Checked, r: &Checked, text: &str) -> Truth {
    let (a, b) = (l.range, r.range);
    let (can_true, can_false) = match op {
        BinOp::Gt => (a.hi > b.lo, a.lo <= b.hi),
        BinOp::Ge => (a.hi >= b.lo, a.lo < b.hi),
        BinOp::Lt => (a.lo < b.hi, a.hi >= b.lo),
        BinOp::Le => (a.lo <= b.hi, a.hi > b.lo),
        BinOp::Eq => (
            a.lo <= b.hi && b.lo <= a.hi,
            !(a.lo == a.hi && b.lo == b.hi && a.lo == b.lo),
        ),
        BinOp::Ne => (
            !(a.lo == a.hi && b.lo == b.hi && a.lo == b.lo),
            a.lo <= b.hi && b.lo <= a.hi,
        ),
        _ => (true, true),
    };
    Truth {
        can_true,
        can_false,
        why: format!(
            "`{}` is {} and `{}` is {}, so `{text}` never holds",
            l.text,
            a.show(),
            r.text,
            b.show()
        ),
    }
}

/// `x > c1 and x < c2` with an empty intersection, for one expression `x` compared with
/// constants on both sides of an `and`.
pub(super) fn contradiction(l: &Checked, r: &Checked) -> Option<String> {
    let bound = |c: &Checked| -> Option<(String, Interval)> {
        let Expr::Binary { op, left, right } = &c.expr else {
            return None;
        };
        let (subject, k, op) = match (left.as_ref(), right.as_ref()) {
            (s, Expr::Num(k)) => (s, *k, *op),
            (Expr::Num(k), s) => (
                s,
                *k,
                match op {
                    BinOp::Gt => BinOp::Lt,
                    BinOp::Ge => BinOp::Le,
                    BinOp::Lt => BinOp::Gt,
                    BinOp::Le => BinOp::Ge,
                    other => *other,
                },
            ),
            _ => return None,
        };
        let key = serde_json::to_string(subject).ok()?;
        let iv = match op {
            BinOp::Gt | BinOp::Ge => Interval {
                lo: k,
                hi: f64::INFINITY,
            },
            BinOp::Lt | BinOp::Le => Interval {
                lo: f64::NEG_INFINITY,
                hi: k,
            },
            BinOp::Eq => Interval::point(k),
            _ => return None,
        };
        Some((key, iv))
    };
    let (kl, il) = bound(l)?;
    let (kr, ir) = bound(r)?;
    if kl != kr {
        return None;
    }
    let lo = il.lo.max(ir.lo);
    let hi = il.hi.min(ir.hi);
    let strict_touch = lo == hi && (is_strict(&l.expr) || is_strict(&r.expr));
    (lo > hi || strict_touch).then(|| format!("`{}` and `{}` cannot both hold", l.text, r.text))
}

fn is_strict(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Binary {
            op: BinOp::Gt | BinOp::Lt,
            ..
        }
    )
}
