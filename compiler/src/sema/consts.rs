//! Compile-time constants: folding arithmetic on const values, evaluating the const
//! expressions of a kernel's header (const defaults, tensor dims, tile annotations, tune
//! values), and choosing each const's value from `-D` overrides, defaults and the tune section.
//!
//! Folding follows the runtime semantics of the interpreter: typed integer arithmetic wraps,
//! typed float arithmetic computes in f32 and rounds to the dtype. Untyped literal arithmetic
//! is exact (i64, checked; f64) because its result still adapts to a dtype later.

use super::dtypes::{dtype_const_as_number_diag, unknown_dtype_diag};
use super::ops::{bin_kind, binary_operand_dtype, literal_diag, BinKind, OperandDType, Side};
use super::types::{adapt_literal, dtype_name, int_range, round_float};
use crate::diagnostics::Diagnostic;
use crate::ir::{BinaryOp, CmpOp, ConstValue, DType};
use crate::syntax::ast::{DTypeName, Expr, ExprKind, Ident, Span, UnOp};

/// A compile-time scalar: typed, or an untyped numeric literal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CVal {
    Typed(ConstValue, DType),
    Literal(ConstValue),
}

impl CVal {
    pub fn value(self) -> ConstValue {
        match self {
            CVal::Typed(v, _) | CVal::Literal(v) => v,
        }
    }
    pub fn operand_dtype(self) -> OperandDType {
        match self {
            CVal::Typed(_, d) => OperandDType::Typed(d),
            CVal::Literal(ConstValue::Bool(_)) => OperandDType::Typed(DType::I1),
            CVal::Literal(v) => OperandDType::Literal(v),
        }
    }
    /// The value as an integer, if it is one (typed int or integer literal).
    pub fn as_int(self) -> Option<i64> {
        match self {
            CVal::Typed(ConstValue::Int(i), _) | CVal::Literal(ConstValue::Int(i)) => Some(i),
            _ => None,
        }
    }
}

/// Why folding failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FoldError {
    DivByZero,
    /// Untyped literal arithmetic left the i64 range.
    Overflow,
}

/// Wraps an integer result to `dtype`.
fn wrap(i: i64, dtype: Option<DType>) -> i64 {
    match dtype {
        Some(DType::I32) => i as i32 as i64,
        _ => i,
    }
}

/// Folds `-x` / `!x`. `dtype` is `None` for an untyped literal.
pub fn fold_unary(op: UnOp, v: ConstValue, dtype: Option<DType>) -> Result<ConstValue, FoldError> {
    Ok(match (op, v) {
        (UnOp::Neg, ConstValue::Int(i)) => match dtype {
            None => ConstValue::Int(i.checked_neg().ok_or(FoldError::Overflow)?),
            d => ConstValue::Int(wrap(i.wrapping_neg(), d)),
        },
        (UnOp::Neg, ConstValue::Float(x)) => ConstValue::Float(-x),
        (UnOp::Not, ConstValue::Bool(b)) => ConstValue::Bool(!b),
        // The callers check operand dtypes first; anything else folds to itself.
        (_, v) => v,
    })
}

/// Folds an arithmetic, min/max or logic op on two values of `dtype` (`None`: literals).
pub fn fold_arith(
    op: BinaryOp,
    a: ConstValue,
    b: ConstValue,
    dtype: Option<DType>,
) -> Result<ConstValue, FoldError> {
    use ConstValue::*;
    Ok(match (a, b) {
        (Int(x), Int(y)) => {
            let lit = dtype.is_none();
            let checked = |r: Option<i64>, wrapped: i64| -> Result<i64, FoldError> {
                if lit {
                    r.ok_or(FoldError::Overflow)
                } else {
                    Ok(wrap(wrapped, dtype))
                }
            };
            Int(match op {
                BinaryOp::Add => checked(x.checked_add(y), x.wrapping_add(y))?,
                BinaryOp::Sub => checked(x.checked_sub(y), x.wrapping_sub(y))?,
                BinaryOp::Mul => checked(x.checked_mul(y), x.wrapping_mul(y))?,
                BinaryOp::Div | BinaryOp::Rem if y == 0 => return Err(FoldError::DivByZero),
                BinaryOp::Div => checked(x.checked_div(y), x.wrapping_div(y))?,
                BinaryOp::Rem => checked(x.checked_rem(y), x.wrapping_rem(y))?,
                BinaryOp::Min => x.min(y),
                BinaryOp::Max => x.max(y),
                BinaryOp::And | BinaryOp::Or => x,
            })
        }
        (Bool(x), Bool(y)) => Bool(match op {
            BinaryOp::And => x && y,
            BinaryOp::Or => x || y,
            _ => x,
        }),
        (a, b) => {
            let (x, y) = (a.as_f64(), b.as_f64());
            let r = match dtype {
                // Typed floats compute in f32 and round once to the dtype.
                Some(d) => {
                    let (x, y) = (x as f32, y as f32);
                    let r = match op {
                        BinaryOp::Add => x + y,
                        BinaryOp::Sub => x - y,
                        BinaryOp::Mul => x * y,
                        BinaryOp::Div => x / y,
                        BinaryOp::Rem => x % y,
                        BinaryOp::Min => x.min(y),
                        BinaryOp::Max => x.max(y),
                        BinaryOp::And | BinaryOp::Or => x,
                    };
                    round_float(r as f64, d)
                }
                None => match op {
                    BinaryOp::Add => x + y,
                    BinaryOp::Sub => x - y,
                    BinaryOp::Mul => x * y,
                    BinaryOp::Div => x / y,
                    BinaryOp::Rem => x % y,
                    BinaryOp::Min => x.min(y),
                    BinaryOp::Max => x.max(y),
                    BinaryOp::And | BinaryOp::Or => x,
                },
            };
            Float(r)
        }
    })
}

/// Folds a comparison.
pub fn fold_cmp(op: CmpOp, a: ConstValue, b: ConstValue) -> ConstValue {
    use std::cmp::Ordering;
    let ord = match (a, b) {
        (ConstValue::Int(x), ConstValue::Int(y)) => Some(x.cmp(&y)),
        (ConstValue::Bool(x), ConstValue::Bool(y)) => Some(x.cmp(&y)),
        (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
    };
    ConstValue::Bool(match op {
        CmpOp::Eq => ord == Some(Ordering::Equal),
        CmpOp::Ne => ord != Some(Ordering::Equal),
        CmpOp::Lt => ord == Some(Ordering::Less),
        CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => ord == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
    })
}

/// Folds `cdiv(a, b) = (a + b - 1) / b` on integers, with the same wrapping as the IR.
pub fn fold_cdiv(a: i64, b: i64, dtype: Option<DType>) -> Result<i64, FoldError> {
    let a = ConstValue::Int(a);
    let bm1 = fold_arith(BinaryOp::Sub, ConstValue::Int(b), ConstValue::Int(1), dtype)?;
    let sum = fold_arith(BinaryOp::Add, a, bm1, dtype)?;
    Ok(fold_arith(BinaryOp::Div, sum, ConstValue::Int(b), dtype)?.as_i64())
}

/// Converts a typed const to `to` with the language's cast semantics. (Dtype consts are
/// never operands: sema keeps them as `Operand::DType`; one would come back unchanged.)
pub fn cast_const(v: ConstValue, to: DType) -> ConstValue {
    match (v, to) {
        (ConstValue::DType(_), _) => v,
        (v, DType::I1) => ConstValue::Bool(match v {
            ConstValue::Bool(b) => b,
            ConstValue::Int(i) => i != 0,
            ConstValue::Float(x) => x != 0.0,
            ConstValue::DType(_) => false,
        }),
        (ConstValue::Float(x), DType::I32 | DType::I64) => {
            let (lo, hi) = int_range(to);
            // Truncate toward zero, saturate, NaN -> 0 (Rust's `as` does exactly this).
            let t = if x.is_nan() { 0 } else { x as i64 };
            ConstValue::Int(t.clamp(lo, hi))
        }
        (v, DType::I32) => ConstValue::Int(v.as_i64() as i32 as i64),
        (v, DType::I64) => ConstValue::Int(v.as_i64()),
        (v, float) => ConstValue::Float(round_float(v.as_f64(), float)),
    }
}

/// The diagnostic for a failed fold at `span`.
pub fn fold_diag(err: FoldError, span: Span) -> Diagnostic {
    match err {
        FoldError::DivByZero => Diagnostic::error(
            "tilec::const_div_by_zero",
            "division by zero in a const expression",
            span,
            "the divisor is zero here",
        )
        .with_help("check the const values this kernel was specialized with"),
        FoldError::Overflow => Diagnostic::error(
            "tilec::literal_out_of_range",
            "integer literal arithmetic overflows i64",
            span,
            "overflows",
        ),
    }
}

/// Folds a binary operator on two consts, with the operator dtype rules.
pub fn fold_binary_op(
    op: crate::syntax::ast::BinOp,
    lhs: CVal,
    lhs_span: Span,
    rhs: CVal,
    rhs_span: Span,
    span: Span,
) -> Result<CVal, Diagnostic> {
    let dtype = binary_operand_dtype(
        op,
        Side {
            dtype: lhs.operand_dtype(),
            span: lhs_span,
        },
        Side {
            dtype: rhs.operand_dtype(),
            span: rhs_span,
        },
    )?;
    let (a, b) = match dtype {
        Some(d) => (
            to_dtype(lhs, d, lhs_span)?.value(),
            to_dtype(rhs, d, rhs_span)?.value(),
        ),
        None => (lhs.value(), rhs.value()),
    };
    match bin_kind(op) {
        BinKind::Cmp(c) => Ok(CVal::Typed(fold_cmp(c, a, b), DType::I1)),
        BinKind::Arith(o) | BinKind::Logic(o) => {
            let r = fold_arith(o, a, b, dtype).map_err(|e| fold_diag(e, span))?;
            Ok(match dtype {
                Some(d) => CVal::Typed(r, d),
                None => CVal::Literal(r),
            })
        }
    }
}

/// Gives a const the dtype `d`: a literal adapts (range-checked), a typed const must already
/// have it (callers have checked with the operator rules).
pub fn to_dtype(v: CVal, d: DType, span: Span) -> Result<CVal, Diagnostic> {
    match v {
        CVal::Typed(..) => Ok(v),
        CVal::Literal(lit) => adapt_literal(lit, d)
            .map(|x| CVal::Typed(x, d))
            .map_err(|e| literal_diag(e, lit, d, span)),
    }
}

/// What a name means in a header const expression.
pub enum HeaderName {
    Const(ConstValue, DType),
    /// A dtype const, with its declaration: a dtype, never a number.
    DType(DType, Span),
    /// A name that exists but is not a compile-time value (a shape symbol, a parameter).
    Runtime {
        what: String,
        def: Span,
    },
    Unknown,
}

/// Evaluates a const expression of the kernel header: literals, consts, `+ - * / %`,
/// comparisons, `&& || ! -`, `cast`/`as`, `min`, `max`, `cdiv`, `inf`, `nan`.
pub fn eval_header_const(
    expr: &Expr,
    lookup: &dyn Fn(&Ident) -> HeaderName,
) -> Result<CVal, Diagnostic> {
    eval_depth(expr, lookup, 0)
}

const MAX_DEPTH: usize = 128;

fn not_const(span: Span, what: &str) -> Diagnostic {
    Diagnostic::error(
        "tilec::const_expected",
        "expected a const expression",
        span,
        format!("{what} is not a compile-time value"),
    )
    .with_help("use literals and const parameters here")
}

fn eval_depth(
    expr: &Expr,
    lookup: &dyn Fn(&Ident) -> HeaderName,
    depth: usize,
) -> Result<CVal, Diagnostic> {
    if depth > MAX_DEPTH {
        return Err(Diagnostic::error(
            "tilec::too_deeply_nested",
            "expression nested too deeply",
            expr.span,
            "here",
        ));
    }
    let eval = |e: &Expr| eval_depth(e, lookup, depth + 1);
    match &expr.kind {
        ExprKind::Int(i) => Ok(CVal::Literal(ConstValue::Int(*i))),
        ExprKind::Float(x) => Ok(CVal::Literal(ConstValue::Float(*x))),
        ExprKind::Bool(b) => Ok(CVal::Typed(ConstValue::Bool(*b), DType::I1)),
        ExprKind::Name(id) => match lookup(id) {
            HeaderName::Const(v, d) => Ok(CVal::Typed(v, d)),
            HeaderName::DType(d, decl) => {
                Err(dtype_const_as_number_diag(&id.name, d, id.span, decl))
            }
            HeaderName::Runtime { what, def } => Err(Diagnostic::error(
                "tilec::const_expected",
                format!("`{}` is not a compile-time value", id.name),
                id.span,
                format!("{what}, known only at run time"),
            )
            .with_label(def, "declared here")
            .with_help("only literals and const parameters may appear here")),
            HeaderName::Unknown => match id.name.as_str() {
                "inf" => Ok(CVal::Literal(ConstValue::Float(f64::INFINITY))),
                "nan" => Ok(CVal::Literal(ConstValue::Float(f64::NAN))),
                _ => Err(Diagnostic::error(
                    "tilec::unknown_name",
                    format!("cannot find `{}` in this scope", id.name),
                    id.span,
                    "not found",
                )
                .with_help("consts must be declared before the expressions that use them")),
            },
        },
        ExprKind::Unary { op, operand } => {
            let v = eval(operand)?;
            let ok = match (op, v.operand_dtype()) {
                (UnOp::Not, OperandDType::Typed(DType::I1)) => true,
                (UnOp::Not, _) => false,
                (UnOp::Neg, OperandDType::Typed(DType::I1)) => false,
                (UnOp::Neg, _) => true,
            };
            if !ok {
                let (code, msg) = match op {
                    UnOp::Not => ("tilec::bool_op_on_non_bool", "`!` needs a bool operand"),
                    UnOp::Neg => ("tilec::arith_on_bool", "cannot negate a bool"),
                };
                return Err(Diagnostic::error(code, msg, operand.span, "here"));
            }
            let dtype = match v {
                CVal::Typed(_, d) => Some(d),
                CVal::Literal(_) => None,
            };
            let r = fold_unary(*op, v.value(), dtype).map_err(|e| fold_diag(e, expr.span))?;
            Ok(match v {
                CVal::Typed(_, d) => CVal::Typed(r, d),
                CVal::Literal(_) => CVal::Literal(r),
            })
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let (a, b) = (eval(lhs)?, eval(rhs)?);
            fold_binary_op(*op, a, lhs.span, b, rhs.span, expr.span)
        }
        ExprKind::Block(b) if b.stmts.is_empty() => match &b.tail {
            Some(t) => eval(t),
            None => Err(not_const(expr.span, "an empty block")),
        },
        ExprKind::Call { callee, args } => {
            let positional = |i: usize| args.get(i).filter(|a| a.name.is_none());
            match (callee.name.as_str(), args.len()) {
                ("cast", 2) => {
                    let (Some(x), Some(t)) = (positional(0), positional(1)) else {
                        return Err(not_const(expr.span, "this call"));
                    };
                    let to = header_dtype(&t.value, lookup)?;
                    Ok(match eval(&x.value)? {
                        CVal::Typed(v, _) => CVal::Typed(cast_const(v, to), to),
                        CVal::Literal(lit) => cast_literal(lit, to, x.value.span)?,
                    })
                }
                (f @ ("min" | "max" | "cdiv"), 2) => {
                    let (Some(a), Some(b)) = (positional(0), positional(1)) else {
                        return Err(not_const(expr.span, "this call"));
                    };
                    let (va, vb) = (eval(&a.value)?, eval(&b.value)?);
                    let sides = (
                        Side {
                            dtype: va.operand_dtype(),
                            span: a.value.span,
                        },
                        Side {
                            dtype: vb.operand_dtype(),
                            span: b.value.span,
                        },
                    );
                    let d = super::ops::common_dtype(f, &sides.0, &sides.1)?;
                    let (x, y) = match d {
                        Some(d) => (
                            to_dtype(va, d, a.value.span)?.value(),
                            to_dtype(vb, d, b.value.span)?.value(),
                        ),
                        None => (va.value(), vb.value()),
                    };
                    let wrapv = |v: ConstValue| match d {
                        Some(d) => CVal::Typed(v, d),
                        None => CVal::Literal(v),
                    };
                    match f {
                        "cdiv" => match (x, y) {
                            (ConstValue::Int(x), ConstValue::Int(y)) => fold_cdiv(x, y, d)
                                .map(|r| wrapv(ConstValue::Int(r)))
                                .map_err(|e| fold_diag(e, expr.span)),
                            _ => Err(Diagnostic::error(
                                "tilec::dtype_mismatch",
                                "`cdiv` needs integer operands",
                                expr.span,
                                "not integers",
                            )),
                        },
                        _ => {
                            let op = if f == "min" {
                                BinaryOp::Min
                            } else {
                                BinaryOp::Max
                            };
                            fold_arith(op, x, y, d)
                                .map(wrapv)
                                .map_err(|e| fold_diag(e, expr.span))
                        }
                    }
                }
                _ => Err(not_const(expr.span, "this call")),
            }
        }
        _ => Err(not_const(expr.span, "this expression")),
    }
}

/// The dtype argument of a `cast` in a header const expression: a dtype keyword or a dtype
/// const declared earlier.
fn header_dtype(e: &Expr, lookup: &dyn Fn(&Ident) -> HeaderName) -> Result<DType, Diagnostic> {
    let name = match &e.kind {
        ExprKind::DType(n) => n.clone(),
        ExprKind::Name(id) => DTypeName {
            name: id.name.clone(),
            span: id.span,
        },
        _ => return Err(not_const(e.span, "this")),
    };
    if let Some(d) = super::types::source_dtype(&name.name) {
        return Ok(d);
    }
    let id = Ident {
        name: name.name.clone(),
        span: name.span,
    };
    match lookup(&id) {
        HeaderName::DType(d, _) => Ok(d),
        HeaderName::Unknown => Err(unknown_dtype_diag(&name, &[])),
        HeaderName::Const(..) | HeaderName::Runtime { .. } => Err(Diagnostic::error(
            "tilec::expected_dtype",
            format!("`{}` is not a dtype", name.name),
            name.span,
            "expected a dtype",
        )
        .with_help("write a dtype (`f16`) or a dtype const declared before")),
    }
}

/// `lit as dtype`: an untyped literal becomes a typed const; a float literal cast to an int
/// truncates toward zero, and any value that does not fit is an error (not a silent wrap).
pub fn cast_literal(lit: ConstValue, to: DType, span: Span) -> Result<CVal, Diagnostic> {
    let v = match (lit, to) {
        (ConstValue::Float(x), DType::I32 | DType::I64) => {
            let (lo, hi) = int_range(to);
            let t = x.trunc();
            if x.is_nan() || t < lo as f64 || t > hi as f64 {
                return Err(literal_diag(
                    super::types::LiteralError::OutOfRange,
                    lit,
                    to,
                    span,
                ));
            }
            ConstValue::Int(t as i64)
        }
        (ConstValue::Bool(_), _) | (_, DType::I1) => cast_const(lit, to),
        _ => adapt_literal(lit, to).map_err(|e| literal_diag(e, lit, to, span))?,
    };
    Ok(CVal::Typed(v, to))
}

/// Converts a const to the declared dtype of a const parameter (or a tune value for it):
/// literals adapt; typed values must have exactly that dtype.
pub fn conform(v: CVal, d: DType, span: Span) -> Result<ConstValue, Diagnostic> {
    match v {
        CVal::Typed(x, t) if t == d => Ok(x),
        CVal::Typed(_, t) => Err(Diagnostic::error(
            "tilec::dtype_mismatch",
            format!("expected `{}`, found `{}`", dtype_name(d), dtype_name(t)),
            span,
            format!("this is `{}`", dtype_name(t)),
        )
        .with_help(format!("cast it with `as {}`", dtype_name(d)))),
        CVal::Literal(lit) => adapt_literal(lit, d).map_err(|e| literal_diag(e, lit, d, span)),
    }
}

/// Converts a `-D NAME=VALUE` override to a const's dtype: ints for int dtypes (range
/// checked), bools for bool, ints or floats for f32. `None` when it does not fit.
pub fn conform_override(v: ConstValue, d: DType) -> Option<ConstValue> {
    match (v, d) {
        (ConstValue::Bool(_), DType::I1) => Some(v),
        (ConstValue::Bool(_) | ConstValue::DType(_), _) | (_, DType::I1) => None,
        (lit, d) => adapt_literal(lit, d).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_int_arithmetic_wraps_literal_arithmetic_is_checked() {
        let max = ConstValue::Int(i32::MAX as i64);
        let one = ConstValue::Int(1);
        assert_eq!(
            fold_arith(BinaryOp::Add, max, one, Some(DType::I32)),
            Ok(ConstValue::Int(i32::MIN as i64))
        );
        assert_eq!(
            fold_arith(
                BinaryOp::Mul,
                ConstValue::Int(i64::MAX),
                ConstValue::Int(2),
                None
            ),
            Err(FoldError::Overflow)
        );
        assert_eq!(
            fold_arith(BinaryOp::Rem, one, ConstValue::Int(0), Some(DType::I32)),
            Err(FoldError::DivByZero)
        );
        assert_eq!(fold_cdiv(129, 64, Some(DType::I32)), Ok(3));
    }

    #[test]
    fn casts_follow_the_language_semantics() {
        assert_eq!(
            cast_const(ConstValue::Float(3e9), DType::I32),
            ConstValue::Int(i32::MAX as i64)
        );
        assert_eq!(
            cast_const(ConstValue::Float(f64::NAN), DType::I64),
            ConstValue::Int(0)
        );
        assert_eq!(
            cast_const(ConstValue::Float(-2.7), DType::I32),
            ConstValue::Int(-2)
        );
        assert_eq!(
            cast_const(ConstValue::Int(2), DType::I1),
            ConstValue::Bool(true)
        );
        assert!(cast_literal(ConstValue::Float(3e9), DType::I32, Span::default()).is_err());
        // f16 arithmetic computes in f32 and rounds once.
        assert_eq!(
            fold_arith(
                BinaryOp::Add,
                ConstValue::Float(2048.0),
                ConstValue::Float(1.0),
                Some(DType::F16)
            ),
            Ok(ConstValue::Float(2048.0))
        );
    }
}
