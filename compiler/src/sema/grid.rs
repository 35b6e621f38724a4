//! The launch grid: each `grid [..]` expression becomes a [`GridExpr`] over the runtime shape
//! symbols, with consts folded in, so the host can size the launch from tensor shapes alone.
//! Runtime scalars and per-program values are refused: the grid is computed before launch.

use super::builder::Lowerer;
use super::consts::{fold_binary_op, CVal};
use super::dtypes::dtype_const_as_number_diag;
use super::env::Global;
use crate::diagnostics::Diagnostic;
use crate::ir::{ConstValue, GridExpr, GridOp};
use crate::syntax::ast::{BinOp, Expr, ExprKind, Span};

/// A grid sub-expression: a compile-time value, or an expression of shape symbols.
enum GVal {
    Const(CVal),
    Expr(GridExpr),
}

pub fn lower_grid(lw: &mut Lowerer) {
    let ast = lw.ast;
    lw.grid_rank = ast.grid.len();
    if ast.grid.is_empty() || ast.grid.len() > 3 {
        lw.error(
            Diagnostic::error(
                "tilec::bad_grid",
                format!("the grid has {} axes; it needs 1 to 3", ast.grid.len()),
                ast.grid_span,
                "here",
            )
            .with_help("write e.g. `grid [cdiv(S, BLOCK_M), B * H]`"),
        );
        lw.grid_rank = ast.grid.len().clamp(1, 3);
    }
    for e in &ast.grid {
        match eval(lw, e, 0) {
            Ok(g) => match to_expr(g, e.span) {
                Ok(g) => lw.k.grid.push(g),
                Err(d) => lw.error(d),
            },
            Err(Some(d)) => lw.error(d),
            Err(None) => {}
        }
    }
}

fn to_expr(g: GVal, span: Span) -> Result<GridExpr, Diagnostic> {
    match g {
        GVal::Expr(e) => Ok(e),
        GVal::Const(c) => match c.as_int() {
            Some(i) => Ok(GridExpr::Const(i)),
            None => Err(not_int(span)),
        },
    }
}

fn not_int(span: Span) -> Diagnostic {
    Diagnostic::error(
        "tilec::dtype_mismatch",
        "grid extents are integers",
        span,
        "not an integer",
    )
}

fn runtime(span: Span, what: &str, def: Option<Span>) -> Diagnostic {
    let mut d = Diagnostic::error(
        "tilec::grid_uses_runtime_value",
        "the grid cannot use runtime values",
        span,
        format!("{what}, not known before launch"),
    )
    .with_help("the grid may use shape symbols, consts and integer literals");
    if let Some(def) = def {
        d = d.with_label(def, "declared here");
    }
    d
}

/// `Err(None)`: an error already reported (a parameter whose declaration failed).
fn eval(lw: &Lowerer, e: &Expr, depth: usize) -> Result<GVal, Option<Diagnostic>> {
    if depth > 64 {
        return Err(Some(Diagnostic::error(
            "tilec::too_deeply_nested",
            "expression nested too deeply",
            e.span,
            "here",
        )));
    }
    match &e.kind {
        ExprKind::Int(i) => Ok(GVal::Const(CVal::Literal(ConstValue::Int(*i)))),
        ExprKind::Float(_) => Err(Some(not_int(e.span))),
        ExprKind::Name(id) => match lw.env.globals.get(&id.name) {
            Some(g) => match &g.global {
                Global::Const { value, dtype } => Ok(GVal::Const(CVal::Typed(*value, *dtype))),
                Global::DTypeConst { value } => Err(Some(dtype_const_as_number_diag(
                    &id.name, *value, id.span, g.span,
                ))),
                Global::Symbol { index } => Ok(GVal::Expr(GridExpr::Sym(*index as u32))),
                Global::Scalar { .. } => Err(Some(runtime(
                    id.span,
                    &format!("`{}` is a runtime scalar", id.name),
                    Some(g.span),
                ))),
                Global::Tensor { .. } => Err(Some(runtime(
                    id.span,
                    &format!("`{}` is a tensor", id.name),
                    Some(g.span),
                ))),
                Global::Error => Err(None),
            },
            None => Err(Some(
                Diagnostic::error(
                    "tilec::unknown_name",
                    format!("cannot find `{}` in this scope", id.name),
                    id.span,
                    "not found",
                )
                .with_help("the grid may use shape symbols (tensor dims), consts and literals"),
            )),
        },
        ExprKind::Binary { op, lhs, rhs } => {
            let (a, b) = (eval(lw, lhs, depth + 1)?, eval(lw, rhs, depth + 1)?);
            let gop = match op {
                BinOp::Add => GridOp::Add,
                BinOp::Sub => GridOp::Sub,
                BinOp::Mul => GridOp::Mul,
                BinOp::Div => GridOp::Div,
                BinOp::Rem => GridOp::Div, // rewritten below as a - a / b * b
                _ => {
                    return Err(Some(
                        Diagnostic::error(
                            "tilec::bad_grid",
                            format!("`{}` cannot be used in a grid expression", op.symbol()),
                            e.span,
                            "not allowed here",
                        )
                        .with_help("use `+ - * / %`, `cdiv`, `min` and `max`"),
                    ))
                }
            };
            combine(a, lhs.span, b, rhs.span, e.span, *op, gop)
        }
        ExprKind::Call { callee, args } => {
            let f = callee.name.as_str();
            let gop = match f {
                "cdiv" => GridOp::CeilDiv,
                "min" => GridOp::Min,
                "max" => GridOp::Max,
                "program_id" | "num_programs" | "load" => {
                    return Err(Some(runtime(
                        e.span,
                        &format!("`{f}` is computed while the kernel runs"),
                        None,
                    )))
                }
                _ => {
                    return Err(Some(
                        Diagnostic::error(
                            "tilec::bad_grid",
                            format!("`{f}` cannot be used in a grid expression"),
                            callee.span,
                            "not allowed here",
                        )
                        .with_help("use `+ - * / %`, `cdiv`, `min` and `max`"),
                    ))
                }
            };
            if args.len() != 2 || args.iter().any(|a| a.name.is_some()) {
                return Err(Some(Diagnostic::error(
                    "tilec::wrong_arg_count",
                    format!("`{f}` takes 2 arguments"),
                    e.span,
                    format!("{} given", args.len()),
                )));
            }
            let (a, b) = (
                eval(lw, &args[0].value, depth + 1)?,
                eval(lw, &args[1].value, depth + 1)?,
            );
            let (sa, sb) = (args[0].value.span, args[1].value.span);
            if let (GVal::Const(x), GVal::Const(y)) = (&a, &b) {
                let (Some(x), Some(y)) = (x.as_int(), y.as_int()) else {
                    return Err(Some(not_int(e.span)));
                };
                let folded = GridExpr::Binary(
                    gop,
                    Box::new(GridExpr::Const(x)),
                    Box::new(GridExpr::Const(y)),
                )
                .eval(&[]);
                return match folded {
                    Some(v) => Ok(GVal::Const(CVal::Literal(ConstValue::Int(v)))),
                    None => Err(Some(super::consts::fold_diag(
                        super::consts::FoldError::DivByZero,
                        e.span,
                    ))),
                };
            }
            let (a, b) = (to_expr(a, sa).map_err(Some)?, to_expr(b, sb).map_err(Some)?);
            Ok(GVal::Expr(GridExpr::Binary(gop, Box::new(a), Box::new(b))))
        }
        ExprKind::Block(b) if b.stmts.is_empty() && b.tail.is_some() => match &b.tail {
            Some(t) => eval(lw, t, depth + 1),
            None => Err(None),
        },
        _ => Err(Some(
            Diagnostic::error(
                "tilec::bad_grid",
                "this cannot be used in a grid expression",
                e.span,
                "not allowed here",
            )
            .with_help("the grid may use shape symbols, consts and integer literals"),
        )),
    }
}

fn combine(
    a: GVal,
    sa: Span,
    b: GVal,
    sb: Span,
    span: Span,
    op: BinOp,
    gop: GridOp,
) -> Result<GVal, Option<Diagnostic>> {
    if let (GVal::Const(x), GVal::Const(y)) = (&a, &b) {
        return fold_binary_op(op, *x, sa, *y, sb, span)
            .map(GVal::Const)
            .map_err(Some);
    }
    let (a, b) = (to_expr(a, sa).map_err(Some)?, to_expr(b, sb).map_err(Some)?);
    if op == BinOp::Rem {
        let q = GridExpr::Binary(GridOp::Div, Box::new(a.clone()), Box::new(b.clone()));
        let qb = GridExpr::Binary(GridOp::Mul, Box::new(q), Box::new(b));
        return Ok(GVal::Expr(GridExpr::Binary(
            GridOp::Sub,
            Box::new(a),
            Box::new(qb),
        )));
    }
    Ok(GVal::Expr(GridExpr::Binary(gop, Box::new(a), Box::new(b))))
}
