//! The rule language: syntax tree and parser (winnow).
//!
//! ```text
//! expr    := or
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | compare
//! compare := sum (("crosses_above" | "crosses_below" | ">=" | "<=" | "==" | "!=" | ">" | "<") sum)?
//! sum     := product (("+" | "-") product)*
//! product := unary (("*" | "/") unary)*
//! unary   := "-" unary | postfix
//! postfix := primary ("[" integer "]" | "." name)*
//! primary := number | string | "true" | "false" | name "(" args? ")" | name | "(" expr ")"
//! ```
//!
//! Every node keeps its byte span so that checks can point at the column of a mistake.

use std::ops::Range;

use crate::program::BinOp;
use winnow::{
    LocatingSlice,
    combinator::{alt, cut_err, delimited, eof, opt, preceded, repeat, separated, terminated},
    error::{ContextError, ErrMode, ModalResult, StrContext, StrContextValue},
    prelude::*,
    token::{one_of, take_till, take_while},
};

/// A node and where it is in the text (byte offsets).
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    pub node: Ast,
    pub span: Range<usize>,
}

/// Unchecked syntax.
#[derive(Debug, Clone, PartialEq)]
pub enum Ast {
    Num(f64),
    Str(String),
    Bool(bool),
    Ident(String),
    Call {
        name: String,
        args: Vec<Spanned>,
    },
    Index {
        target: Box<Spanned>,
        index: i64,
    },
    Member {
        target: Box<Spanned>,
        name: String,
    },
    Not(Box<Spanned>),
    Neg(Box<Spanned>),
    Binary {
        op: Op,
        left: Box<Spanned>,
        right: Box<Spanned>,
    },
}

/// Binary operators as written: the program's operators, and the crosses (which the
/// checks lower to cross nodes with memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Bin(BinOp),
    /// `crosses_above` (`above`) or `crosses_below`.
    Cross {
        above: bool,
    },
}

impl Op {
    /// As written.
    #[must_use]
    pub const fn text(self) -> &'static str {
        match self {
            Self::Bin(b) => b.text(),
            Self::Cross { above: true } => "crosses_above",
            Self::Cross { above: false } => "crosses_below",
        }
    }
}

/// A syntax error: where (1-based column, in characters) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub column: usize,
    pub message: String,
}

const KEYWORDS: [&str; 7] = [
    "and",
    "or",
    "not",
    "true",
    "false",
    "crosses_above",
    "crosses_below",
];

/// Longest rule text accepted.
pub const MAX_RULE_CHARS: usize = 4096;
/// Deepest bracket nesting accepted (and a quarter of the prefix operators).
pub const MAX_DEPTH: usize = 64;

type In<'a> = LocatingSlice<&'a str>;

/// Parses one expression.
pub fn parse(text: &str) -> Result<Spanned, SyntaxError> {
    if text.chars().count() > MAX_RULE_CHARS {
        return Err(SyntaxError {
            column: MAX_RULE_CHARS + 1,
            message: format!("a rule is at most {MAX_RULE_CHARS} characters"),
        });
    }
    if nesting(text) > MAX_DEPTH {
        return Err(SyntaxError {
            column: 1,
            message: format!("nested more than {MAX_DEPTH} levels deep"),
        });
    }
    let mut parser = delimited(
        ws,
        expr.context(expected("a condition")),
        eof.context(expected("the end of the rule (an operator is missing)")),
    );
    parser.parse(LocatingSlice::new(text)).map_err(|e| {
        let offset = e.offset().min(text.len());
        let column = text[..offset].chars().count() + 1;
        let found = text[offset..]
            .chars()
            .next()
            .map_or_else(|| "the end".to_string(), |c| format!("`{c}`"));
        let ctx = e.inner();
        // The innermost expectation is the precise one.
        let wanted = ctx.context().find_map(|c| match c {
            StrContext::Expected(v) => Some(v.to_string()),
            _ => None,
        });
        let message = match wanted {
            Some(w) => format!("expected {w}, found {found}"),
            None => format!("unexpected {found}"),
        };
        SyntaxError { column, message }
    })
}

/// Bounds what makes the parser recurse (bracket depth; prefix `-` and `not`, counted
/// generously), so that a hostile rule cannot overflow its stack.
fn nesting(text: &str) -> usize {
    let (mut depth, mut max) = (0_usize, 0_usize);
    for c in text.chars() {
        match c {
            '(' | '[' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let prefix = text.matches('-').count() + text.matches("not").count();
    max.max(prefix / 4)
}

fn expected(what: &'static str) -> StrContext {
    StrContext::Expected(StrContextValue::Description(what))
}

fn ws(i: &mut In<'_>) -> ModalResult<()> {
    take_while(0.., char::is_whitespace).void().parse_next(i)
}

fn sym<'a>(s: &'static str) -> impl Parser<In<'a>, &'a str, ErrMode<ContextError>> {
    terminated(s, ws)
}

fn word(i: &mut In<'_>) -> ModalResult<String> {
    (
        one_of(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(0.., |c: char| c.is_ascii_alphanumeric() || c == '_'),
    )
        .take()
        .map(str::to_string)
        .parse_next(i)
}

fn keyword<'a>(kw: &'static str) -> impl Parser<In<'a>, (), ErrMode<ContextError>> {
    move |i: &mut In<'a>| {
        let start = i.checkpoint();
        let w = word.parse_next(i)?;
        if w == kw {
            ws.parse_next(i)
        } else {
            use winnow::stream::Stream;
            i.reset(&start);
            Err(ErrMode::Backtrack(ContextError::new()))
        }
    }
}

fn binary(op: Op, left: Spanned, right: Spanned) -> Spanned {
    let span = left.span.start..right.span.end;
    Spanned {
        node: Ast::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
        },
        span,
    }
}

fn fold(first: Spanned, rest: Vec<(Op, Spanned)>) -> Spanned {
    rest.into_iter()
        .fold(first, |acc, (op, r)| binary(op, acc, r))
}

fn operand<'a>(
    i: &mut In<'a>,
    next: fn(&mut In<'a>) -> ModalResult<Spanned>,
) -> ModalResult<Spanned> {
    cut_err(next)
        .context(expected("an operand (a number, a name, a call or `(`)"))
        .parse_next(i)
}

fn expr(i: &mut In<'_>) -> ModalResult<Spanned> {
    or_expr(i)
}

fn or_expr(i: &mut In<'_>) -> ModalResult<Spanned> {
    let first = and_expr(i)?;
    let rest: Vec<(Op, Spanned)> = repeat(
        0..,
        (keyword("or").value(Op::Bin(BinOp::Or)), |i: &mut In<'_>| {
            operand(i, and_expr)
        }),
    )
    .parse_next(i)?;
    Ok(fold(first, rest))
}

fn and_expr(i: &mut In<'_>) -> ModalResult<Spanned> {
    let first = not_expr(i)?;
    let rest: Vec<(Op, Spanned)> = repeat(
        0..,
        (
            keyword("and").value(Op::Bin(BinOp::And)),
            |i: &mut In<'_>| operand(i, not_expr),
        ),
    )
    .parse_next(i)?;
    Ok(fold(first, rest))
}

fn not_expr(i: &mut In<'_>) -> ModalResult<Spanned> {
    alt((
        (keyword("not"), |i: &mut In<'_>| operand(i, not_expr))
            .with_span()
            .map(|(((), inner), span)| Spanned {
                node: Ast::Not(Box::new(inner)),
                span,
            }),
        compare,
    ))
    .parse_next(i)
}

fn compare_op(i: &mut In<'_>) -> ModalResult<Op> {
    alt((
        keyword("crosses_above").value(Op::Cross { above: true }),
        keyword("crosses_below").value(Op::Cross { above: false }),
        sym(">=").value(Op::Bin(BinOp::Ge)),
        sym("<=").value(Op::Bin(BinOp::Le)),
        sym("==").value(Op::Bin(BinOp::Eq)),
        sym("!=").value(Op::Bin(BinOp::Ne)),
        sym(">").value(Op::Bin(BinOp::Gt)),
        sym("<").value(Op::Bin(BinOp::Lt)),
    ))
    .parse_next(i)
}

fn compare(i: &mut In<'_>) -> ModalResult<Spanned> {
    let left = sum(i)?;
    match opt(compare_op).parse_next(i)? {
        Some(op) => {
            let right = operand(i, sum)?;
            Ok(binary(op, left, right))
        }
        None => Ok(left),
    }
}

fn sum(i: &mut In<'_>) -> ModalResult<Spanned> {
    let first = product(i)?;
    let rest: Vec<(Op, Spanned)> = repeat(
        0..,
        (
            alt((
                sym("+").value(Op::Bin(BinOp::Add)),
                sym("-").value(Op::Bin(BinOp::Sub)),
            )),
            |i: &mut In<'_>| operand(i, product),
        ),
    )
    .parse_next(i)?;
    Ok(fold(first, rest))
}

fn product(i: &mut In<'_>) -> ModalResult<Spanned> {
    let first = unary(i)?;
    let rest: Vec<(Op, Spanned)> = repeat(
        0..,
        (
            alt((
                sym("*").value(Op::Bin(BinOp::Mul)),
                sym("/").value(Op::Bin(BinOp::Div)),
            )),
            |i: &mut In<'_>| operand(i, unary),
        ),
    )
    .parse_next(i)?;
    Ok(fold(first, rest))
}

fn unary(i: &mut In<'_>) -> ModalResult<Spanned> {
    alt((
        (sym("-"), |i: &mut In<'_>| operand(i, unary))
            .with_span()
            .map(|((_, inner), span)| Spanned {
                node: Ast::Neg(Box::new(inner)),
                span,
            }),
        postfix,
    ))
    .parse_next(i)
}

enum Suffix {
    Index(i64),
    Member(String),
}

fn suffix(i: &mut In<'_>) -> ModalResult<(Suffix, Range<usize>)> {
    alt((
        preceded(
            sym("["),
            cut_err(terminated(
                terminated(
                    (opt('-'), take_while(1.., |c: char| c.is_ascii_digit()))
                        .take()
                        .try_map(str::parse::<i64>),
                    ws,
                ),
                sym("]"),
            ))
            .context(expected("an integer lookback and `]`")),
        )
        .map(Suffix::Index),
        preceded(
            sym("."),
            cut_err(terminated(word, ws)).context(expected("a field name")),
        )
        .map(Suffix::Member),
    ))
    .with_span()
    .parse_next(i)
}

fn postfix(i: &mut In<'_>) -> ModalResult<Spanned> {
    let first = primary(i)?;
    let rest: Vec<(Suffix, Range<usize>)> = repeat(0.., suffix).parse_next(i)?;
    Ok(rest.into_iter().fold(first, |target, (s, span)| {
        let span = target.span.start..span.end;
        let node = match s {
            Suffix::Index(index) => Ast::Index {
                target: Box::new(target),
                index,
            },
            Suffix::Member(name) => Ast::Member {
                target: Box::new(target),
                name,
            },
        };
        Spanned { node, span }
    }))
}

fn number(i: &mut In<'_>) -> ModalResult<f64> {
    terminated(
        (
            take_while(1.., |c: char| c.is_ascii_digit()),
            opt(('.', take_while(0.., |c: char| c.is_ascii_digit()))),
            opt((
                one_of(['e', 'E']),
                opt(one_of(['+', '-'])),
                cut_err(take_while(1.., |c: char| c.is_ascii_digit()))
                    .context(expected("exponent digits")),
            )),
        )
            .take()
            .try_map(str::parse::<f64>)
            .verify(|x: &f64| x.is_finite()),
        ws,
    )
    .parse_next(i)
}

fn string(i: &mut In<'_>) -> ModalResult<String> {
    let quoted = |q: char| {
        move |i: &mut In<'_>| {
            preceded(
                q,
                cut_err(terminated(take_till(0.., move |c: char| c == q), q))
                    .context(expected("a closing quote")),
            )
            .map(str::to_string)
            .parse_next(i)
        }
    };
    terminated(alt((quoted('"'), quoted('\''))), ws).parse_next(i)
}

fn name_or_call(i: &mut In<'_>) -> ModalResult<Ast> {
    let start = i.checkpoint();
    let name = word.parse_next(i)?;
    if KEYWORDS.contains(&name.as_str()) && name != "true" && name != "false" {
        use winnow::stream::Stream;
        i.reset(&start);
        return Err(ErrMode::Backtrack(ContextError::new()));
    }
    ws.parse_next(i)?;
    match name.as_str() {
        "true" => return Ok(Ast::Bool(true)),
        "false" => return Ok(Ast::Bool(false)),
        _ => {}
    }
    let args: Option<Vec<Spanned>> = opt(preceded(
        sym("("),
        cut_err(terminated(separated(0.., expr, sym(",")), sym(")")))
            .context(expected("arguments separated by `,` and a closing `)`")),
    ))
    .parse_next(i)?;
    Ok(match args {
        Some(args) => Ast::Call { name, args },
        None => Ast::Ident(name),
    })
}

fn primary(i: &mut In<'_>) -> ModalResult<Spanned> {
    alt((
        number.map(Ast::Num),
        string.map(Ast::Str),
        name_or_call,
        delimited(
            sym("("),
            cut_err(expr),
            cut_err(sym(")")).context(expected("`)`")),
        )
        .map(|e| e.node),
    ))
    .with_span()
    .map(|(node, span)| Spanned { node, span })
    .parse_next(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(e: &Spanned) -> String {
        match &e.node {
            Ast::Num(x) => format!("{x}"),
            Ast::Str(s) => format!("{s:?}"),
            Ast::Bool(b) => format!("{b}"),
            Ast::Ident(n) => n.clone(),
            Ast::Call { name, args } => format!(
                "{name}({})",
                args.iter().map(show).collect::<Vec<_>>().join(", ")
            ),
            Ast::Index { target, index } => format!("{}[{index}]", show(target)),
            Ast::Member { target, name } => format!("{}.{name}", show(target)),
            Ast::Not(x) => format!("(not {})", show(x)),
            Ast::Neg(x) => format!("(-{})", show(x)),
            Ast::Binary { op, left, right } => {
                format!("({} {} {})", show(left), op.text(), show(right))
            }
        }
    }

    fn ok(text: &str) -> String {
        show(&parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}")))
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(
            ok("ema(close, fast) crosses_above ema(close, slow)"),
            "(ema(close, fast) crosses_above ema(close, slow))"
        );
        assert_eq!(ok("a or b and not c"), "(a or (b and (not c)))");
        assert_eq!(ok("1 + 2 * 3 - 4 / 2"), "((1 + (2 * 3)) - (4 / 2))");
        assert_eq!(ok("-close[1] >= -2.5e1"), "((-close[1]) >= (-25))");
        assert_eq!(
            ok(
                "signal(REGIME_PREDICTION).value == \"trend\" and signal(REGIME_PREDICTION).confidence > 0.6"
            ),
            "((signal(REGIME_PREDICTION).value == \"trend\") and (signal(REGIME_PREDICTION).confidence > 0.6))"
        );
        assert_eq!(ok("  (a)  "), "a");
        assert_eq!(ok("android or order"), "(android or order)");
        assert_eq!(ok("true and false"), "(true and false)");
    }

    #[test]
    fn errors_point_at_the_column() {
        let e = parse("ema(close, 10) > ").unwrap_err();
        assert_eq!(e.column, 18, "{e:?}");
        assert!(e.message.contains("an operand"), "{e:?}");
        let e = parse("ema(close, 10").unwrap_err();
        assert_eq!(e.column, 14, "{e:?}");
        assert!(e.message.contains(")"), "{e:?}");
        let e = parse("close > 1 1").unwrap_err();
        assert_eq!(e.column, 11, "{e:?}");
        assert!(e.message.contains("end of the rule"), "{e:?}");
        let e = parse("close[x]").unwrap_err();
        assert_eq!(e.column, 7, "{e:?}");
        let e = parse("'open").unwrap_err();
        assert!(e.message.contains("closing quote"), "{e:?}");
        let e = parse("close > and").unwrap_err();
        assert_eq!(e.column, 9, "{e:?}");
        assert!(parse(&"(".repeat(100)).is_err());
        assert!(parse(&"x".repeat(5000)).is_err());
    }
}
