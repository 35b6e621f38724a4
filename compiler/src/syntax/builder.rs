//! Helpers for the grammar's actions: build AST nodes with spans and do the parser's
//! desugarings (`as` casts, `range(end)`, `else if`, block tails).
//!
//! They live here rather than inline in grammar.lalrpop so they are ordinary, checked Rust.

use crate::diagnostics::Diagnostic;
use crate::syntax::ast::*;
use crate::syntax::lexer::Token;
use lalrpop_util::ParseError;

/// A parse error as the generated parser reports it.
pub type GrammarError<'src> = ParseError<usize, Token<'src>, Diagnostic>;

/// One entry of a block, before the block decides what its tail (value) is.
// Short-lived (one per statement while parsing), so the size difference does not matter.
#[allow(clippy::large_enum_variant)]
pub enum BlockItem {
    Stmt(Stmt),
    /// An `if` or `{ }` written as a statement, without `;`.
    BlockLike(Expr),
    /// A stray `;`.
    Empty,
}

/// Assembles a block. Like Rust, a block-like expression at the very end of a block (without
/// `;`) is the block's value, if it has one (see [`has_value`]); otherwise it stays a
/// statement.
pub fn finish_block(items: Vec<BlockItem>, tail: Option<Expr>, span: Span) -> BlockExpr {
    let mut stmts = Vec::with_capacity(items.len());
    let mut tail = tail.map(Box::new);
    let last_is_block_like = matches!(items.last(), Some(BlockItem::BlockLike(_)));
    let count = items.len();
    for (i, item) in items.into_iter().enumerate() {
        match item {
            BlockItem::Stmt(s) => stmts.push(s),
            BlockItem::Empty => {}
            BlockItem::BlockLike(expr) => {
                let is_last = last_is_block_like && i + 1 == count;
                if is_last && tail.is_none() && has_value(&expr) {
                    tail = Some(Box::new(expr));
                } else {
                    stmts.push(Stmt::Expr {
                        span: expr.span,
                        expr,
                    });
                }
            }
        }
    }
    BlockExpr { stmts, tail, span }
}

/// Whether a block-like expression produces a value: a block with a tail, or an `if` with an
/// `else` where some branch has one. (`if c { store(..); } else { .. }` is a statement.)
fn has_value(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::If {
            then_block,
            else_block: Some(else_block),
            ..
        } => then_block.tail.is_some() || else_block.tail.is_some(),
        ExprKind::If { .. } => false,
        ExprKind::Block(block) => block.tail.is_some(),
        _ => true,
    }
}

/// `else if c { .. }` becomes `else { if c { .. } }`; the inner `if` is the block's value
/// when it has an `else`, and a statement otherwise.
pub fn else_if_block(nested_if: Expr) -> BlockExpr {
    let span = nested_if.span;
    finish_block(vec![BlockItem::BlockLike(nested_if)], None, span)
}

pub fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr {
        span: lhs.span.to(rhs.span),
        kind: ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
    }
}

pub fn unary(op: UnOp, start: usize, operand: Expr) -> Expr {
    Expr {
        span: Span::new(start, operand.span.end),
        kind: ExprKind::Unary {
            op,
            operand: Box::new(operand),
        },
    }
}

/// `x as T` is `cast(x, T)`; the callee's span is that of the `as T` part.
pub fn cast(value: Expr, dtype: DTypeName) -> Expr {
    let span = value.span.to(dtype.span);
    let as_span = Span::new(value.span.end, dtype.span.end);
    let dtype_expr = Expr {
        span: dtype.span,
        kind: ExprKind::DType(dtype),
    };
    let value_arg = Arg {
        name: None,
        span: value.span,
        value,
    };
    let dtype_arg = Arg {
        name: None,
        span: dtype_expr.span,
        value: dtype_expr,
    };
    Expr {
        span,
        kind: ExprKind::Call {
            callee: Ident {
                name: "cast".to_string(),
                span: as_span,
            },
            args: vec![value_arg, dtype_arg],
        },
    }
}

/// The arguments of `range(..)` in a `for`: `(end)`, `(start, end)` or `(start, end, step)`.
/// `range(end)` gets the start `0`, spanning the `range(` text before `end`.
pub fn range_args<'src>(
    args: Vec<Expr>,
    range_span: Span,
) -> Result<(Expr, Expr, Option<Expr>), GrammarError<'src>> {
    let mut args = args.into_iter();
    match (args.next(), args.next(), args.next(), args.next()) {
        (Some(end), None, None, None) => {
            let start = Expr {
                kind: ExprKind::Int(0),
                span: Span::new(range_span.start, end.span.start),
            };
            Ok((start, end, None))
        }
        (Some(start), Some(end), step, None) => Ok((start, end, step)),
        (first, ..) => {
            let message = if first.is_none() {
                "`range` needs an end"
            } else {
                "`range` takes at most 3 arguments"
            };
            Err(ParseError::User {
                error: Diagnostic::error(
                    "tilec::range_arguments",
                    message,
                    range_span,
                    "expected `range(end)`, `range(start, end)` or `range(start, end, step)`",
                ),
            })
        }
    }
}

/// The only named type with parameters is `tile<DTYPE, [SHAPE]>`.
pub fn check_tile_keyword<'src>(name: &Ident) -> Result<(), GrammarError<'src>> {
    if name.name == "tile" {
        return Ok(());
    }
    Err(ParseError::User {
        error: Diagnostic::error(
            "tilec::unknown_type",
            format!("unknown type `{}`", name.name),
            name.span,
            "not a type",
        )
        .with_help("types are dtypes (`f32`) or tiles (`tile<f32, [M, N]>`)"),
    })
}
