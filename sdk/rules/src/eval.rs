//! Expression evaluation shared by the host (constraints on defaults) and the component
//! (rules and constraints at run time), so both read a program identically.

use crate::program::{BinOp, Expr, Func, Side};

/// A runtime value. `None` where a value is used means *undefined*.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Num(f64),
    Bool(bool),
    Text(String),
    Side(Side),
}

/// Where the leaves of an expression come from.
pub trait Leaves {
    /// A parameter's value.
    fn param(&self, name: &str) -> Option<Value>;
    /// Any other leaf (field, indicator, signal, position, cross slot).
    fn leaf(&mut self, expr: &Expr) -> Option<Value>;
}

/// Evaluates `expr`.
pub fn eval(expr: &Expr, leaves: &mut dyn Leaves) -> Option<Value> {
    match expr {
        Expr::Num(x) => Some(Value::Num(*x)),
        Expr::Bool(b) => Some(Value::Bool(*b)),
        Expr::Text(s) => Some(Value::Text(s.clone())),
        Expr::Side(s) => Some(Value::Side(*s)),
        Expr::Param(name) => leaves.param(name),
        Expr::Not(inner) => match eval(inner, leaves)? {
            Value::Bool(b) => Some(Value::Bool(!b)),
            _ => None,
        },
        Expr::Neg(inner) => match eval(inner, leaves)? {
            Value::Num(x) => Some(Value::Num(-x)),
            _ => None,
        },
        Expr::Binary { op, left, right } => match op {
            BinOp::And => {
                let l = truth(eval(left, leaves));
                if l == Some(false) {
                    return Some(Value::Bool(false));
                }
                match (l, truth(eval(right, leaves))) {
                    (_, Some(false)) => Some(Value::Bool(false)),
                    (Some(true), Some(true)) => Some(Value::Bool(true)),
                    _ => None,
                }
            }
            BinOp::Or => {
                let l = truth(eval(left, leaves));
                if l == Some(true) {
                    return Some(Value::Bool(true));
                }
                match (l, truth(eval(right, leaves))) {
                    (_, Some(true)) => Some(Value::Bool(true)),
                    (Some(false), Some(false)) => Some(Value::Bool(false)),
                    _ => None,
                }
            }
            _ => {
                let l = eval(left, leaves)?;
                let r = eval(right, leaves)?;
                binary(*op, &l, &r)
            }
        },
        Expr::Call { func, args } => {
            let mut nums = Vec::with_capacity(args.len());
            for a in args {
                match eval(a, leaves)? {
                    Value::Num(x) => nums.push(x),
                    _ => return None,
                }
            }
            let x = match (func, nums.as_slice()) {
                (Func::Abs, [a]) => a.abs(),
                (Func::Min, [a, b]) => a.min(*b),
                (Func::Max, [a, b]) => a.max(*b),
                _ => return None,
            };
            Some(Value::Num(x))
        }
        Expr::Field { .. }
        | Expr::Indicator { .. }
        | Expr::Signal { .. }
        | Expr::Position
        | Expr::Cross { .. } => leaves.leaf(expr),
    }
}

/// `Some(b)` for a defined boolean.
#[must_use]
pub fn truth(v: Option<Value>) -> Option<bool> {
    match v {
        Some(Value::Bool(b)) => Some(b),
        _ => None,
    }
}

/// A non-logical binary operator on defined operands; `None` when undefined (division by
/// zero, a non-finite result, operands of the wrong type).
#[must_use]
pub fn binary(op: BinOp, l: &Value, r: &Value) -> Option<Value> {
    use std::cmp::Ordering;
    if let (Value::Num(a), Value::Num(b)) = (l, r) {
        let (a, b) = (*a, *b);
        let num = |x: f64| x.is_finite().then_some(Value::Num(x));
        return match op {
            BinOp::Add => num(a + b),
            BinOp::Sub => num(a - b),
            BinOp::Mul => num(a * b),
            BinOp::Div if b == 0.0 => None,
            BinOp::Div => num(a / b),
            BinOp::Lt => Some(Value::Bool(a < b)),
            BinOp::Le => Some(Value::Bool(a <= b)),
            BinOp::Gt => Some(Value::Bool(a > b)),
            BinOp::Ge => Some(Value::Bool(a >= b)),
            BinOp::Eq => Some(Value::Bool(a.partial_cmp(&b) == Some(Ordering::Equal))),
            BinOp::Ne => Some(Value::Bool(a.partial_cmp(&b) != Some(Ordering::Equal))),
            BinOp::And | BinOp::Or => None,
        };
    }
    match op {
        BinOp::Eq => Some(Value::Bool(l == r)),
        BinOp::Ne => Some(Value::Bool(l != r)),
        _ => None,
    }
}

/// Evaluates a parameter-only expression (a constraint) against `params`.
pub fn constant(expr: &Expr, params: &dyn Fn(&str) -> Option<Value>) -> Option<Value> {
    struct P<'a>(&'a dyn Fn(&str) -> Option<Value>);
    impl Leaves for P<'_> {
        fn param(&self, name: &str) -> Option<Value> {
            (self.0)(name)
        }
        fn leaf(&mut self, _: &Expr) -> Option<Value> {
            None
        }
    }
    eval(expr, &mut P(params))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(op: BinOp, l: Expr, r: Expr) -> Expr {
        Expr::Binary {
            op,
            left: Box::new(l),
            right: Box::new(r),
        }
    }

    #[test]
    fn kleene_logic_and_undefined() {
        let undef = Expr::Param("missing".into());
        let none = |_: &str| None;
        let v = |e: &Expr| constant(e, &none);
        assert_eq!(
            v(&b(BinOp::And, Expr::Bool(false), undef.clone())),
            Some(Value::Bool(false))
        );
        assert_eq!(
            v(&b(BinOp::And, undef.clone(), Expr::Bool(false))),
            Some(Value::Bool(false))
        );
        assert_eq!(v(&b(BinOp::And, undef.clone(), Expr::Bool(true))), None);
        assert_eq!(
            v(&b(BinOp::Or, undef.clone(), Expr::Bool(true))),
            Some(Value::Bool(true))
        );
        assert_eq!(v(&b(BinOp::Or, undef.clone(), Expr::Bool(false))), None);
        assert_eq!(v(&b(BinOp::Gt, undef, Expr::Num(1.0))), None);
        assert_eq!(v(&b(BinOp::Div, Expr::Num(1.0), Expr::Num(0.0))), None);
        assert_eq!(
            v(&b(
                BinOp::Eq,
                Expr::Text("bull".into()),
                Expr::Text("bull".into())
            )),
            Some(Value::Bool(true))
        );
    }
}
