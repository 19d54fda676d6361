//! Checks of function calls (indicators, signals, `abs`/`min`/`max`) and member access
//! (`signal(T).label`): arity, argument kinds, periods and widths.

use super::{CheckError, Checked, Env, Interval, Truth, Ty};
use crate::{
    expr::{Ast, Spanned},
    program::{Expr, Func, Indicator, IndicatorKind, Input, IntArg, NumArg, Output, SignalField},
};

impl Env<'_> {
    pub(super) fn period(&self, arg: &Spanned, what: &str) -> Result<IntArg, CheckError> {
        match &arg.node {
            Ast::Num(x) if x.fract() == 0.0 && *x >= 1.0 && *x <= 100_000.0 => {
                #[allow(clippy::cast_possible_truncation)]
                Ok(IntArg::Literal(*x as i64))
            }
            Ast::Num(x) => self.err(&arg.span, format!("{what}: a period is a whole number from 1 to 100000, not {x}")),
            Ast::Ident(p) => match self.params.get(p) {
                Some(info) if info.int => {
                    if info.range.lo < 1.0 {
                        return self.err(
                            &arg.span,
                            format!(
                                "{what}: period `{p}` may be below 1 (its range is {}); give it a range with min of 1 or more",
                                info.range.show()
                            ),
                        );
                    }
                    Ok(IntArg::Param(p.clone()))
                }
                Some(_) => self.err(&arg.span, format!("{what}: period `{p}` must be an int parameter")),
                None => self.err(&arg.span, format!("{what}: the period must be a whole number or an int parameter; `{p}` is neither")),
            },
            _ => self.err(&arg.span, format!("{what}: the period must be a whole number or an int parameter")),
        }
    }

    pub(super) fn width(&self, arg: &Spanned, what: &str) -> Result<NumArg, CheckError> {
        match &arg.node {
            Ast::Num(x) if *x > 0.0 => Ok(NumArg::Literal(*x)),
            Ast::Ident(p) => match self.params.get(p) {
                Some(info) if info.ty == Ty::Num && info.range.lo > 0.0 => Ok(NumArg::Param(p.clone())),
                Some(info) if info.ty == Ty::Num => self.err(
                    &arg.span,
                    format!("{what}: width `{p}` may be 0 or less (its range is {}); give it a range with a positive min", info.range.show()),
                ),
                _ => self.err(&arg.span, format!("{what}: the width must be a positive number or a numeric parameter")),
            },
            _ => self.err(&arg.span, format!("{what}: the width must be a positive number or a numeric parameter")),
        }
    }

    pub(super) fn indicator(&mut self, spec: Indicator) -> usize {
        if let Some(i) = self.indicators.iter().position(|x| *x == spec) {
            return i;
        }
        self.indicators.push(spec);
        self.indicators.len() - 1
    }

    pub(super) fn arity(
        &self,
        name: &str,
        args: &[Spanned],
        n: usize,
        usage: &str,
        ast: &Spanned,
    ) -> Result<(), CheckError> {
        if args.len() == n {
            Ok(())
        } else {
            self.err(
                &ast.span,
                format!(
                    "`{name}` takes {n} argument(s): {usage}; got {}",
                    args.len()
                ),
            )
        }
    }

    pub(super) fn call(
        &mut self,
        name: &str,
        args: &[Spanned],
        ast: &Spanned,
        text: String,
    ) -> Result<Checked, CheckError> {
        if self.trigger.is_none() && name != "abs" && name != "min" && name != "max" {
            return self.err(
                &ast.span,
                format!("a constraint reads parameters only; `{name}(...)` reads the market"),
            );
        }
        let make = |expr: Expr, range: Interval| Checked {
            expr,
            ty: Ty::Num,
            range,
            truth: Truth::open(),
            constant: None,
            text: text.clone(),
        };
        match name {
            "ema" | "sma" | "rsi" => {
                self.arity(name, args, 2, &format!("{name}(field, period)"), ast)?;
                let source = match &args[0].node {
                    Ast::Ident(f) => self.field(f),
                    _ => None,
                };
                let Some(source) = source else {
                    return self.err(&args[0].span, format!("`{name}` is fed a market field (close, mid, price...), not `{}`", self.snippet(&args[0].span)));
                };
                self.field_ok(source, &args[0])?;
                let period = self.period(&args[1], name)?;
                let kind = match name {
                    "ema" => IndicatorKind::Ema,
                    "sma" => IndicatorKind::Sma,
                    _ => IndicatorKind::Rsi,
                };
                let index = self.indicator(Indicator { kind, source: Some(source), period, k: None });
                let range = if kind == IndicatorKind::Rsi {
                    Interval { lo: 0.0, hi: 100.0 }
                } else {
                    Interval::ANY
                };
                Ok(make(Expr::Indicator { index, output: Output::Value }, range))
            }
            "bb_upper" | "bb_middle" | "bb_lower" => {
                self.arity(name, args, 2, &format!("{name}(period, k)"), ast)?;
                if self.input != Input::Bars {
                    return self.err(
                        &ast.span,
                        format!("`{name}`: Bollinger bands are fed bars (Nautilus feeds quotes to them unscaled); read bars to use them"),
                    );
                }
                let period = self.period(&args[0], name)?;
                let k = self.width(&args[1], name)?;
                let index = self.indicator(Indicator { kind: IndicatorKind::Bollinger, source: None, period, k: Some(k) });
                let output = match name {
                    "bb_upper" => Output::Upper,
                    "bb_middle" => Output::Middle,
                    _ => Output::Lower,
                };
                Ok(make(Expr::Indicator { index, output }, Interval::ANY))
            }
            "donchian_upper" | "donchian_lower" => {
                self.arity(name, args, 1, &format!("{name}(period)"), ast)?;
                if self.input != Input::Bars {
                    return self.err(&ast.span, format!("`{name}`: the Donchian channel is made of bars; read bars to use it"));
                }
                let period = self.period(&args[0], name)?;
                let index = self.indicator(Indicator { kind: IndicatorKind::Donchian, source: None, period, k: None });
                let output = if name == "donchian_upper" { Output::Upper } else { Output::Lower };
                Ok(make(Expr::Indicator { index, output }, Interval::ANY))
            }
            "abs" | "min" | "max" => {
                let n = if name == "abs" { 1 } else { 2 };
                let usage = if n == 1 { "abs(x)".to_string() } else { format!("{name}(a, b)") };
                self.arity(name, args, n, &usage, ast)?;
                let mut checked = Vec::new();
                for a in args {
                    let c = self.check(a)?;
                    if c.ty != Ty::Num {
                        return self.err(&a.span, format!("`{name}` takes numbers; `{}` is {}", c.text, c.ty.name()));
                    }
                    checked.push(c);
                }
                let (func, range, constant) = match name {
                    "abs" => {
                        let r = checked[0].range;
                        let lo = if r.lo <= 0.0 && r.hi >= 0.0 { 0.0 } else { r.lo.abs().min(r.hi.abs()) };
                        (Func::Abs, Interval { lo, hi: r.lo.abs().max(r.hi.abs()) }, checked[0].constant.map(f64::abs))
                    }
                    "min" => (
                        Func::Min,
                        Interval { lo: checked[0].range.lo.min(checked[1].range.lo), hi: checked[0].range.hi.min(checked[1].range.hi) },
                        checked[0].constant.zip(checked[1].constant).map(|(a, b)| a.min(b)),
                    ),
                    _ => (
                        Func::Max,
                        Interval { lo: checked[0].range.lo.max(checked[1].range.lo), hi: checked[0].range.hi.max(checked[1].range.hi) },
                        checked[0].constant.zip(checked[1].constant).map(|(a, b)| a.max(b)),
                    ),
                };
                Ok(Checked {
                    constant,
                    ..make(Expr::Call { func, args: checked.into_iter().map(|c| c.expr).collect() }, range)
                })
            }
            "signal" => self.err(&ast.span, "`signal(TYPE)` needs a field: `.label`, `.value` or `.confidence`"),
            other => self.err(
                &ast.span,
                format!("unknown function `{other}` (known: ema, sma, rsi, bb_upper, bb_middle, bb_lower, donchian_upper, donchian_lower, signal, abs, min, max)"),
            ),
        }
    }

    pub(super) fn member(
        &mut self,
        target: &Spanned,
        name: &str,
        ast: &Spanned,
        text: String,
    ) -> Result<Checked, CheckError> {
        let Ast::Call { name: call, args } = &target.node else {
            return self.err(
                &ast.span,
                format!("`.{name}` applies to `signal(TYPE)` only"),
            );
        };
        if call != "signal" {
            return self.err(
                &ast.span,
                format!("`.{name}` applies to `signal(TYPE)` only, not `{call}(...)`"),
            );
        }
        if self.trigger.is_none() {
            return self.err(&ast.span, "a constraint reads parameters only, not signals");
        }
        let [arg] = args.as_slice() else {
            return self.err(
                &target.span,
                "`signal` takes one signal type, e.g. `signal(REGIME_PREDICTION)`",
            );
        };
        let raw = match &arg.node {
            Ast::Ident(t) | Ast::Str(t) => t.clone(),
            _ => {
                return self.err(
                    &arg.span,
                    "a signal type is a name, e.g. `REGIME_PREDICTION`",
                );
            }
        };
        let signal_type = raw.to_ascii_lowercase().replace('_', "-");
        if !stratbox_manifest::SIGNAL_TYPES.contains(&signal_type.as_str()) {
            return self.err(
                &arg.span,
                format!("unknown signal type `{raw}` (known: REGIME_PREDICTION, CORRELATION_SHIFT, SENTIMENT, VOLATILITY_FORECAST)"),
            );
        }
        if !self.signals.contains(&signal_type) {
            return self.err(
                &arg.span,
                format!(
                    "signal type `{signal_type}` is read but not subscribed; add it under `signals`"
                ),
            );
        }
        let (field, ty, range) = match name {
            "label" => (SignalField::Label, Ty::Text, Interval::ANY),
            "value" => (SignalField::Value, Ty::Num, Interval::ANY),
            "confidence" => (
                SignalField::Confidence,
                Ty::Num,
                Interval { lo: 0.0, hi: 1.0 },
            ),
            other => {
                return self.err(
                    &ast.span,
                    format!("a signal has no `.{other}` (it has .label, .value, .confidence)"),
                );
            }
        };
        if !self.signals_read.contains(&signal_type) {
            self.signals_read.push(signal_type.clone());
        }
        Ok(Checked {
            expr: Expr::Signal { signal_type, field },
            ty,
            range,
            truth: Truth::open(),
            constant: None,
            text,
        })
    }
}
