//! The dtype rules of operators, shared by the body lowering and the const evaluator:
//! which dtype the operands of `+`, `<`, `&&`, .. take, and the diagnostics when they
//! cannot agree (no implicit promotion; untyped literals adapt to the other operand).

use super::types::{dtype_name, suggested_common_dtype, LiteralError};
use crate::diagnostics::Diagnostic;
use crate::ir::{BinaryOp, CmpOp, ConstValue, DType};
use crate::syntax::ast::{BinOp, Span};

/// What the operator rules need to know about an operand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OperandDType {
    /// A value with a dtype (a variable, a typed const, an IR value).
    Typed(DType),
    /// An untyped literal (`2`, `1.5`, `inf`): it takes the other operand's dtype.
    Literal(ConstValue),
}

/// How an AST binary operator lowers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinKind {
    Arith(BinaryOp),
    Cmp(CmpOp),
    Logic(BinaryOp),
}

pub fn bin_kind(op: BinOp) -> BinKind {
    match op {
        BinOp::Add => BinKind::Arith(BinaryOp::Add),
        BinOp::Sub => BinKind::Arith(BinaryOp::Sub),
        BinOp::Mul => BinKind::Arith(BinaryOp::Mul),
        BinOp::Div => BinKind::Arith(BinaryOp::Div),
        BinOp::Rem => BinKind::Arith(BinaryOp::Rem),
        BinOp::Eq => BinKind::Cmp(CmpOp::Eq),
        BinOp::Ne => BinKind::Cmp(CmpOp::Ne),
        BinOp::Lt => BinKind::Cmp(CmpOp::Lt),
        BinOp::Le => BinKind::Cmp(CmpOp::Le),
        BinOp::Gt => BinKind::Cmp(CmpOp::Gt),
        BinOp::Ge => BinKind::Cmp(CmpOp::Ge),
        BinOp::And => BinKind::Logic(BinaryOp::And),
        BinOp::Or => BinKind::Logic(BinaryOp::Or),
    }
}

fn describe(d: OperandDType) -> String {
    match d {
        OperandDType::Typed(d) => format!("this is `{}`", dtype_name(d)),
        OperandDType::Literal(ConstValue::Float(_)) => "this is a float literal".into(),
        OperandDType::Literal(ConstValue::Int(_)) => "this is an integer literal".into(),
        OperandDType::Literal(ConstValue::Bool(_)) => "this is `bool`".into(),
        OperandDType::Literal(ConstValue::DType(_)) => "this is a dtype".into(),
    }
}

fn is_bool(d: OperandDType) -> bool {
    matches!(
        d,
        OperandDType::Typed(DType::I1) | OperandDType::Literal(ConstValue::Bool(_))
    )
}

/// A one-sided operand for the element-wise operand rules of builtins (`max(a, b)`, `where`).
pub struct Side {
    pub dtype: OperandDType,
    pub span: Span,
}

/// Decides the dtype the operands of `op` take. `Ok(None)`: both are untyped numeric literals
/// (folded in literal arithmetic). Bool literals count as typed `bool`.
pub fn binary_operand_dtype(op: BinOp, lhs: Side, rhs: Side) -> Result<Option<DType>, Diagnostic> {
    let sym = op.symbol();
    if let BinKind::Logic(_) = bin_kind(op) {
        for side in [&lhs, &rhs] {
            if !is_bool(side.dtype) {
                return Err(Diagnostic::error(
                    "tilec::bool_op_on_non_bool",
                    format!("`{sym}` needs bool operands"),
                    side.span,
                    format!("{}, not `bool`", describe(side.dtype)),
                )
                .with_help("compare to get a bool, e.g. `x != 0`"));
            }
        }
        return Ok(Some(DType::I1));
    }
    let common = common_dtype(sym, &lhs, &rhs)?;
    if common == Some(DType::I1) {
        let ordering = matches!(bin_kind(op), BinKind::Cmp(CmpOp::Eq | CmpOp::Ne));
        if !ordering {
            let what = if op.is_comparison() {
                "ordering comparison"
            } else {
                "arithmetic"
            };
            return Err(Diagnostic::error(
                "tilec::arith_on_bool",
                format!("cannot apply `{sym}` to bool operands"),
                lhs.span.to(rhs.span),
                format!("{what} on bools"),
            )
            .with_help("cast to a number first, e.g. `b as i32`"));
        }
    }
    Ok(common)
}

/// The dtype two operands share, by the no-promotion rule. `Ok(None)` when both are numeric
/// literals. `what` names the operation in messages.
pub fn common_dtype(what: &str, lhs: &Side, rhs: &Side) -> Result<Option<DType>, Diagnostic> {
    use OperandDType::*;
    let lit_bool = |l: ConstValue| matches!(l, ConstValue::Bool(_));
    let as_typed = |d: OperandDType| match d {
        Literal(ConstValue::Bool(_)) => Typed(DType::I1),
        other => other,
    };
    let (l, r) = (as_typed(lhs.dtype), as_typed(rhs.dtype));
    match (l, r) {
        (Typed(a), Typed(b)) if a == b => Ok(Some(a)),
        (Typed(a), Typed(b)) => {
            let target = suggested_common_dtype(a, b);
            let narrow = if target == a { b } else { a };
            Err(Diagnostic::error(
                "tilec::dtype_mismatch",
                format!(
                    "mismatched dtypes in `{what}`: `{}` and `{}`",
                    dtype_name(a),
                    dtype_name(b)
                ),
                rhs.span,
                format!("this is `{}`", dtype_name(b)),
            )
            .with_label(lhs.span, format!("this is `{}`", dtype_name(a)))
            .with_help(format!(
                "there is no implicit conversion: cast the `{}` operand with `as {}`",
                dtype_name(narrow),
                dtype_name(target)
            )))
        }
        (Typed(d), Literal(lit)) | (Literal(lit), Typed(d)) => {
            let lit_span = if matches!(l, Literal(_)) {
                lhs.span
            } else {
                rhs.span
            };
            let other_span = if lit_span == lhs.span {
                rhs.span
            } else {
                lhs.span
            };
            match (lit, d) {
                (ConstValue::Float(_), DType::I32 | DType::I64) => Err(Diagnostic::error(
                    "tilec::dtype_mismatch",
                    format!("float literal used with an `{}` operand", dtype_name(d)),
                    lit_span,
                    "this is a float literal",
                )
                .with_label(other_span, format!("this is `{}`", dtype_name(d)))
                .with_help(format!(
                    "write an integer literal, or cast the other operand with `as f32` \
                     (`{what}` does not convert implicitly)"
                ))),
                (_, DType::I1) => Err(Diagnostic::error(
                    "tilec::dtype_mismatch",
                    format!("number used with a `bool` operand in `{what}`"),
                    lit_span,
                    "this is a number",
                )
                .with_label(other_span, "this is `bool`")
                .with_help("use `true` or `false`, or cast the bool with `as i32`")),
                _ => Ok(Some(d)),
            }
        }
        (Literal(a), Literal(b)) if !lit_bool(a) && !lit_bool(b) => Ok(None),
        _ => Ok(None),
    }
}

/// The diagnostic for a literal that does not fit the dtype it must take.
pub fn literal_diag(err: LiteralError, lit: ConstValue, dtype: DType, span: Span) -> Diagnostic {
    let name = dtype_name(dtype);
    match err {
        LiteralError::OutOfRange => {
            let help = match dtype {
                DType::I32 => "use an `i64` value: `... as i64`".to_string(),
                DType::F16 => "the largest finite f16 is 65504; use `f32`".to_string(),
                DType::BF16 => "use `f32`".to_string(),
                _ => format!("the value must fit in `{name}`"),
            };
            Diagnostic::error(
                "tilec::literal_out_of_range",
                format!("literal `{lit}` does not fit in `{name}`"),
                span,
                format!("out of range for `{name}`"),
            )
            .with_help(help)
        }
        LiteralError::FloatForInt => Diagnostic::error(
            "tilec::dtype_mismatch",
            format!("float literal where `{name}` is expected"),
            span,
            format!("expected `{name}`"),
        )
        .with_help("write an integer literal"),
        LiteralError::NumberForBool => Diagnostic::error(
            "tilec::dtype_mismatch",
            format!("`{lit}` where `{name}` is expected"),
            span,
            format!("expected `{name}`"),
        ),
    }
}
