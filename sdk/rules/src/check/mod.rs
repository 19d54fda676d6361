//! Type and meaning checks of rule expressions, lowering them to [`Expr`].
//!
//! Besides types, the checks refuse what would trade wrongly without failing: a name that
//! is not a parameter, field or keyword; an indicator period that a parameter's range lets
//! fall below 1; lookahead (a bar field on a quotes strategy, whose bar has not closed; a
//! negative lookback); a condition that can never be true, found by interval analysis over
//! indicator ranges, parameter ranges and literals.

mod calls;
mod interval;

use std::collections::BTreeMap;

pub use interval::Interval;
use interval::{Truth, compare_truth, contradiction};

use crate::{
    expr::{Ast, Op, Spanned},
    program::{BinOp, Expr, Field, Indicator, Input, MAX_LAG, Side, Trigger},
};

/// A checked expression's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Num,
    Bool,
    Text,
    Side,
}

impl Ty {
    const fn name(self) -> &'static str {
        match self {
            Self::Num => "a number",
            Self::Bool => "true/false",
            Self::Text => "text",
            Self::Side => "a position side",
        }
    }
}

/// A checked expression with what the analysis knows of it.
#[derive(Debug, Clone)]
pub struct Checked {
    pub expr: Expr,
    pub ty: Ty,
    range: Interval,
    truth: Truth,
    /// Set for literals and parameter-free arithmetic on them.
    constant: Option<f64>,
    text: String,
}

/// A parameter as the checker sees it.
#[derive(Debug, Clone)]
pub struct ParamInfo {
    pub ty: Ty,
    /// Ints only: the parameter may be used as a period.
    pub int: bool,
    pub range: Interval,
}

/// A check failure: the column (1-based, in characters) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError {
    pub column: usize,
    pub message: String,
}

/// What expressions may refer to, and where lowered state goes.
#[derive(Debug)]
pub struct Env<'a> {
    pub text: &'a str,
    pub params: &'a BTreeMap<String, ParamInfo>,
    pub input: Input,
    /// Subscribed signal types (WIT names).
    pub signals: &'a [String],
    /// `None` for constraints: only parameters and literals.
    pub trigger: Option<Trigger>,
    pub indicators: &'a mut Vec<Indicator>,
    pub crosses: &'a mut usize,
    pub lags: &'a mut BTreeMap<Field, u32>,
    /// Signal types some expression read.
    pub signals_read: &'a mut Vec<String>,
}

const INDICATORS: [&str; 9] = [
    "ema",
    "sma",
    "rsi",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "donchian_upper",
    "donchian_lower",
    "signal",
];

impl Env<'_> {
    fn err<T>(
        &self,
        span: &std::ops::Range<usize>,
        message: impl Into<String>,
    ) -> Result<T, CheckError> {
        let start = span.start.min(self.text.len());
        Err(CheckError {
            column: self.text[..start].chars().count() + 1,
            message: message.into(),
        })
    }

    fn snippet(&self, span: &std::ops::Range<usize>) -> String {
        let end = span.end.min(self.text.len());
        let start = span.start.min(end);
        self.text[start..end].trim().to_string()
    }

    /// Checks a condition: it must be true/false and able to be true.
    pub fn condition(&mut self, ast: &Spanned) -> Result<Expr, CheckError> {
        let c = self.check(ast)?;
        if c.ty != Ty::Bool {
            return self.err(
                &ast.span,
                format!(
                    "a condition must be true/false; `{}` is {}",
                    c.text,
                    c.ty.name()
                ),
            );
        }
        if !c.truth.can_true {
            return self.err(
                &ast.span,
                format!("this condition can never be true: {}", c.truth.why),
            );
        }
        Ok(c.expr)
    }

    fn check(&mut self, ast: &Spanned) -> Result<Checked, CheckError> {
        let text = self.snippet(&ast.span);
        let simple = |expr: Expr, ty: Ty| Checked {
            expr,
            ty,
            range: Interval::ANY,
            truth: Truth::open(),
            constant: None,
            text: text.clone(),
        };
        match &ast.node {
            Ast::Num(x) => Ok(Checked {
                range: Interval::point(*x),
                constant: Some(*x),
                ..simple(Expr::Num(*x), Ty::Num)
            }),
            Ast::Str(s) => Ok(simple(Expr::Text(s.clone()), Ty::Text)),
            Ast::Bool(b) => Ok(Checked {
                truth: Truth {
                    can_true: *b,
                    can_false: !*b,
                    why: "it is the literal `false`".into(),
                },
                ..simple(Expr::Bool(*b), Ty::Bool)
            }),
            Ast::Ident(name) => self.ident(name, ast, text),
            Ast::Index { target, index } => self.index(target, *index, ast, text),
            Ast::Call { name, args } => self.call(name, args, ast, text),
            Ast::Member { target, name } => self.member(target, name, ast, text),
            Ast::Not(inner) => {
                let c = self.check(inner)?;
                if c.ty != Ty::Bool {
                    return self.err(
                        &ast.span,
                        format!("`not` needs true/false; `{}` is {}", c.text, c.ty.name()),
                    );
                }
                Ok(Checked {
                    truth: Truth {
                        can_true: c.truth.can_false,
                        can_false: c.truth.can_true,
                        why: format!("`{}` is always true", c.text),
                    },
                    ..simple(Expr::Not(Box::new(c.expr)), Ty::Bool)
                })
            }
            Ast::Neg(inner) => {
                let c = self.check(inner)?;
                if c.ty != Ty::Num {
                    return self.err(
                        &ast.span,
                        format!("`-` needs a number; `{}` is {}", c.text, c.ty.name()),
                    );
                }
                Ok(Checked {
                    range: Interval {
                        lo: -c.range.hi,
                        hi: -c.range.lo,
                    },
                    constant: c.constant.map(|x| -x),
                    ..simple(Expr::Neg(Box::new(c.expr)), Ty::Num)
                })
            }
            Ast::Binary { op, left, right } => self.binary(*op, left, right, ast, text),
        }
    }

    fn field(&self, name: &str) -> Option<Field> {
        if name == "price" {
            return Some(match self.input {
                Input::Bars => Field::Close,
                Input::Quotes => Field::Mid,
            });
        }
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    fn field_ok(&self, f: Field, ast: &Spanned) -> Result<(), CheckError> {
        if self.trigger.is_none() {
            return self.err(
                &ast.span,
                format!(
                    "a constraint reads parameters only, not the market field `{}`",
                    f.name()
                ),
            );
        }
        if f.input() == self.input {
            return Ok(());
        }
        match self.input {
            Input::Quotes => self.err(
                &ast.span,
                format!(
                    "lookahead: `{}` is a bar's value, known only when the bar closes, and this strategy reads quotes (inside the bar); use bid, ask, mid or price, or read bars",
                    f.name()
                ),
            ),
            Input::Bars => self.err(
                &ast.span,
                format!("bars carry no `{}`; use open, high, low, close, volume or price", f.name()),
            ),
        }
    }

    fn ident(&mut self, name: &str, ast: &Spanned, text: String) -> Result<Checked, CheckError> {
        let make = |expr: Expr, ty: Ty, range: Interval| Checked {
            expr,
            ty,
            range,
            truth: Truth::open(),
            constant: None,
            text: text.clone(),
        };
        if let Some(p) = self.params.get(name) {
            return Ok(make(Expr::Param(name.to_string()), p.ty, p.range));
        }
        if let Some(f) = self.field(name) {
            self.field_ok(f, ast)?;
            let range = match f {
                Field::Volume | Field::BidSize | Field::AskSize => Interval {
                    lo: 0.0,
                    hi: f64::INFINITY,
                },
                _ => Interval::ANY,
            };
            return Ok(make(Expr::Field { field: f, lag: 0 }, Ty::Num, range));
        }
        let side = match name {
            "flat" => Some(Side::Flat),
            "long" => Some(Side::Long),
            "short" => Some(Side::Short),
            _ => None,
        };
        if let Some(s) = side {
            return Ok(make(Expr::Side(s), Ty::Side, Interval::ANY));
        }
        if name == "position" {
            if self.trigger.is_none() {
                return self.err(
                    &ast.span,
                    "a constraint reads parameters only, not the position",
                );
            }
            return Ok(make(Expr::Position, Ty::Side, Interval::ANY));
        }
        if INDICATORS.contains(&name) || ["abs", "min", "max"].contains(&name) {
            return self.err(
                &ast.span,
                format!("`{name}` is a function: call it, e.g. `{name}(...)`"),
            );
        }
        let params: Vec<&str> = self.params.keys().map(String::as_str).collect();
        let fields = match self.input {
            Input::Bars => "open, high, low, close, volume, price",
            Input::Quotes => "bid, ask, mid, bid_size, ask_size, price",
        };
        self.err(
            &ast.span,
            format!(
                "unknown name `{name}` (parameters: {}; fields: {fields}; position, flat, long, short)",
                if params.is_empty() { "none".to_string() } else { params.join(", ") }
            ),
        )
    }

    fn index(
        &mut self,
        target: &Spanned,
        index: i64,
        ast: &Spanned,
        text: String,
    ) -> Result<Checked, CheckError> {
        let Ast::Ident(name) = &target.node else {
            return self.err(
                &ast.span,
                "only a market field can be indexed, e.g. `close[1]` (the previous bar's close)",
            );
        };
        let Some(f) = self.field(name) else {
            return self.err(
                &ast.span,
                format!("`{name}` is not a market field; only fields can be indexed (`close[1]`)"),
            );
        };
        self.field_ok(f, target)?;
        if index < 0 {
            return self.err(
                &ast.span,
                format!("lookahead: `{name}[{index}]` reads {} event(s) into the future; lookbacks are 0 or more", -index),
            );
        }
        let lag = u32::try_from(index).ok().filter(|l| *l <= MAX_LAG);
        let Some(lag) = lag else {
            return self.err(&ast.span, format!("a lookback is at most {MAX_LAG}"));
        };
        if lag > 0 {
            let e = self.lags.entry(f).or_insert(0);
            *e = (*e).max(lag);
        }
        Ok(Checked {
            expr: Expr::Field { field: f, lag },
            ty: Ty::Num,
            range: Interval::ANY,
            truth: Truth::open(),
            constant: None,
            text,
        })
    }

    fn binary(
        &mut self,
        op: Op,
        left: &Spanned,
        right: &Spanned,
        ast: &Spanned,
        text: String,
    ) -> Result<Checked, CheckError> {
        let bin = match op {
            Op::Bin(bin) => bin,
            Op::Cross { above } => return self.cross(above, left, right, ast, text),
        };
        let l = self.check(left)?;
        let r = self.check(right)?;
        let expr = Expr::Binary {
            op: bin,
            left: Box::new(l.expr.clone()),
            right: Box::new(r.expr.clone()),
        };
        let base = Checked {
            expr,
            ty: Ty::Bool,
            range: Interval::ANY,
            truth: Truth::open(),
            constant: None,
            text,
        };
        match bin {
            BinOp::And | BinOp::Or => {
                for side in [&l, &r] {
                    if side.ty != Ty::Bool {
                        return self.err(
                            &ast.span,
                            format!(
                                "`{}` needs true/false on both sides; `{}` is {}",
                                op.text(),
                                side.text,
                                side.ty.name()
                            ),
                        );
                    }
                }
                let truth = if bin == BinOp::And {
                    let mut t = Truth {
                        can_true: l.truth.can_true && r.truth.can_true,
                        can_false: l.truth.can_false || r.truth.can_false,
                        why: if l.truth.can_true {
                            r.truth.why.clone()
                        } else {
                            l.truth.why.clone()
                        },
                    };
                    if t.can_true
                        && let Some(why) = contradiction(&l, &r)
                    {
                        t.can_true = false;
                        t.why = why;
                    }
                    t
                } else {
                    Truth {
                        can_true: l.truth.can_true || r.truth.can_true,
                        can_false: l.truth.can_false && r.truth.can_false,
                        why: format!(
                            "neither side can be true ({}; {})",
                            l.truth.why, r.truth.why
                        ),
                    }
                };
                Ok(Checked { truth, ..base })
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                for side in [&l, &r] {
                    if side.ty != Ty::Num {
                        return self.err(
                            &ast.span,
                            format!(
                                "`{}` compares numbers; `{}` is {}",
                                op.text(),
                                side.text,
                                side.ty.name()
                            ),
                        );
                    }
                }
                Ok(Checked {
                    truth: compare_truth(bin, &l, &r, op.text()),
                    ..base
                })
            }
            BinOp::Eq | BinOp::Ne => {
                if l.ty != r.ty {
                    return self.err(
                        &ast.span,
                        format!(
                            "`{}` compares like with like; `{}` is {} and `{}` is {}",
                            op.text(),
                            l.text,
                            l.ty.name(),
                            r.text,
                            r.ty.name()
                        ),
                    );
                }
                let decided = |same: bool| {
                    let holds = (bin == BinOp::Eq) == same;
                    Truth {
                        can_true: holds,
                        can_false: !holds,
                        why: format!("`{}` compares two constants and is always false", base.text),
                    }
                };
                let truth = match (&l.expr, &r.expr) {
                    (Expr::Text(a), Expr::Text(b)) => decided(a == b),
                    (Expr::Side(a), Expr::Side(b)) => decided(a == b),
                    _ if l.ty == Ty::Num => compare_truth(bin, &l, &r, op.text()),
                    _ => Truth::open(),
                };
                Ok(Checked { truth, ..base })
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => {
                for side in [&l, &r] {
                    if side.ty != Ty::Num {
                        return self.err(
                            &ast.span,
                            format!(
                                "`{}` works on numbers; `{}` is {}",
                                op.text(),
                                side.text,
                                side.ty.name()
                            ),
                        );
                    }
                }
                if bin == BinOp::Div && r.constant == Some(0.0) {
                    return self.err(&right.span, "division by zero");
                }
                let constant = l.constant.zip(r.constant).map(|(a, b)| match bin {
                    BinOp::Add => a + b,
                    BinOp::Sub => a - b,
                    BinOp::Mul => a * b,
                    _ => a / b,
                });
                let range = constant
                    .map_or_else(|| Interval::arith(bin, l.range, r.range), Interval::point);
                Ok(Checked {
                    ty: Ty::Num,
                    range,
                    constant,
                    ..base
                })
            }
        }
    }

    fn cross(
        &mut self,
        above: bool,
        left: &Spanned,
        right: &Spanned,
        ast: &Spanned,
        text: String,
    ) -> Result<Checked, CheckError> {
        if self.trigger.is_none() {
            return self.err(
                &ast.span,
                "a constraint reads parameters only; a cross follows the market",
            );
        }
        let slots_before = *self.crosses;
        let l = self.check(left)?;
        let r = self.check(right)?;
        if *self.crosses != slots_before {
            return self.err(
                &ast.span,
                format!(
                    "`{}` cannot contain another cross",
                    Op::Cross { above }.text()
                ),
            );
        }
        for side in [&l, &r] {
            if side.ty != Ty::Num {
                return self.err(
                    &ast.span,
                    format!(
                        "`{}` compares numbers; `{}` is {}",
                        Op::Cross { above }.text(),
                        side.text,
                        side.ty.name()
                    ),
                );
            }
        }
        if l.constant.is_some() && r.constant.is_some() {
            return self.err(&ast.span, format!("this condition can never be true: `{}` compares two constants, which never cross", text));
        }
        let greater = compare_truth(BinOp::Gt, &l, &r, ">");
        let truth = if greater.can_true && greater.can_false {
            Truth::open()
        } else {
            Truth {
                can_true: false,
                can_false: true,
                why: format!(
                    "`{}` > `{}` is fixed ({} vs {}), so they never cross",
                    l.text,
                    r.text,
                    l.range.show(),
                    r.range.show()
                ),
            }
        };
        let slot = *self.crosses;
        *self.crosses += 1;
        Ok(Checked {
            expr: Expr::Cross {
                slot,
                above,
                left: Box::new(l.expr),
                right: Box::new(r.expr),
            },
            ty: Ty::Bool,
            range: Interval::ANY,
            truth,
            constant: None,
            text,
        })
    }
}
