//! Lowering of statements and expressions: `let`, assignment, name resolution, operators with
//! literal adaptation, const folding and explicit broadcasting, type annotations and const
//! arguments. `for` and `if` are in `control`.
//!
//! Every function reports its errors and returns [`Operand::Error`] (or leaves a variable
//! unchanged), so lowering goes on and later independent errors are reported too.

use super::builder::Lowerer;
use super::consts::{fold_binary_op, fold_diag, fold_unary, CVal};
use super::env::{did_you_mean, Global, Operand, Var};
use super::ops::{bin_kind, binary_operand_dtype, literal_diag, BinKind, Side};
use super::types::{
    adapt_literal, broadcast_shapes, default_literal_dtype, dtype_name, type_text, BroadcastError,
};
use crate::diagnostics::Diagnostic;
use crate::ir::{ConstValue, DType, InstData, TileType, Type, UnaryOp, Value};
use crate::syntax::ast::{
    BinOp, BlockExpr, DTypeName, Expr, ExprKind, Ident, Span, Stmt, TypeExpr, UnOp,
};

/// Deepest expression and block nesting lowered before giving up with a diagnostic (the
/// parser already bounds nesting far below this; the guard keeps sema safe on any AST).
pub(super) const MAX_DEPTH: usize = 200;

impl Lowerer<'_> {
    // ----- blocks and statements -----

    /// Lowers a block's statements and tail in a new scope; returns the tail's operand
    /// (`Unit` without a tail).
    /// `want_value`: whether the block's value is used (else its tail is a statement).
    pub fn lower_block(&mut self, b: &BlockExpr, want_value: bool) -> Operand {
        // Nested loops recurse through here without passing `lower_expr_ctx`: count them too.
        if self.depth > MAX_DEPTH {
            self.error(Diagnostic::error(
                "tilec::too_deeply_nested",
                "blocks nested too deeply",
                b.span,
                "here",
            ));
            return Operand::Error;
        }
        self.depth += 1;
        self.env.push_scope();
        let v = self.lower_block_stmts(b, want_value);
        self.env.pop_scope();
        self.depth -= 1;
        v
    }

    /// Lowers a block's statements and tail in the current scope.
    pub fn lower_block_stmts(&mut self, b: &BlockExpr, want_value: bool) -> Operand {
        for s in &b.stmts {
            self.lower_stmt(s);
        }
        match &b.tail {
            Some(t) => self.lower_expr_ctx(t, want_value),
            None => Operand::Unit,
        }
    }

    fn lower_stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Let {
                mutable,
                name,
                ty,
                value,
                ..
            } => self.lower_let(*mutable, name, ty.as_ref(), value),
            Stmt::Assign {
                target,
                op,
                value,
                span,
            } => self.lower_assign(target, *op, value, *span),
            Stmt::For {
                var,
                start,
                end,
                step,
                body,
                ..
            } => self.lower_for(var, start, end, step.as_ref(), body),
            Stmt::Expr { expr, .. } => {
                self.lower_expr_ctx(expr, false);
            }
        }
    }

    fn lower_let(&mut self, mutable: bool, name: &Ident, ty: Option<&TypeExpr>, value: &Expr) {
        let mut op = self.lower_expr(value);
        if let Some(ty) = ty {
            op = match self.resolve_type(ty) {
                Some(want) => self.conform_to(op, value.span, &want, |lw, got| {
                    lw.mismatch_diag(&want, got, value.span, ty.span(), "the annotation")
                }),
                None => Operand::Error,
            };
        }
        let op = match op {
            Operand::Unit | Operand::DType(..) => {
                self.not_a_value(op, value.span);
                Operand::Error
            }
            Operand::Tensor(_) if mutable => {
                self.not_a_value(op, value.span);
                Operand::Error
            }
            // A mutable variable is always an IR value: it may be loop-carried or assigned.
            Operand::Const(c, d) if mutable => {
                let v = self.fresh_const(c, d);
                self.k.set_name(v, name.name.clone());
                Operand::Value(v)
            }
            Operand::Literal(lit) if mutable => {
                let d = default_literal_dtype(lit);
                match adapt_literal(lit, d) {
                    Ok(c) => {
                        let v = self.fresh_const(c, d);
                        self.k.set_name(v, name.name.clone());
                        Operand::Value(v)
                    }
                    Err(e) => {
                        self.error(literal_diag(e, lit, d, value.span));
                        Operand::Error
                    }
                }
            }
            other => other,
        };
        let op = match op {
            // A mutable variable gets its own named `const`, not a shared one.
            Operand::Value(v) if mutable && self.k.values[v].name.is_none() => {
                match self.const_of(v) {
                    Some(c) => {
                        let dtype = self.ty(v).dtype();
                        let fresh = self.fresh_const(c, dtype);
                        self.k.set_name(fresh, name.name.clone());
                        Operand::Value(fresh)
                    }
                    None => op,
                }
            }
            _ => op,
        };
        if let Operand::Value(v) = op {
            self.name_value(v, &name.name);
        }
        self.env.declare(Var {
            name: name.name.clone(),
            mutable,
            value: op,
            decl: name.span,
        });
    }

    fn lower_assign(&mut self, target: &Ident, op: Option<BinOp>, value: &Expr, span: Span) {
        let rhs = self.lower_expr(value);
        let Some(id) = self.env.lookup(&target.name) else {
            let d = match self.env.globals.get(&target.name) {
                Some(g) => Diagnostic::error(
                    "tilec::assign_to_immutable",
                    format!("cannot assign to the parameter `{}`", target.name),
                    target.span,
                    "parameters cannot be assigned",
                )
                .with_label(g.span, "declared as a parameter here")
                .with_help(format!(
                    "copy it into a variable first: `let mut {0}_v = {0};`",
                    target.name
                )),
                None => self.unknown_name_diag(target),
            };
            self.error(d);
            return;
        };
        let var = self.env.var(id).clone();
        if !var.mutable {
            self.error(
                Diagnostic::error(
                    "tilec::assign_to_immutable",
                    format!(
                        "cannot assign twice to immutable variable `{}`",
                        target.name
                    ),
                    target.span,
                    "cannot assign twice to an immutable variable",
                )
                .with_label(var.decl, "first assigned here")
                .with_help(format!(
                    "consider making it mutable: `let mut {}`",
                    target.name
                )),
            );
            return;
        }
        let Operand::Value(current) = var.value else {
            return; // the variable's declaration had an error
        };
        let new = match op {
            Some(op) => self.binary(op, var.value, target.span, rhs, value.span, span),
            None => rhs,
        };
        let want = self.ty(current).clone();
        let new = self.conform_to(new, value.span, &want, |lw, got| {
            let msg = format!(
                "`{}` is `{}` but the new value is `{}`",
                target.name,
                type_text(&want, &lw.k.symbols),
                type_text(got, &lw.k.symbols)
            );
            let mut d = Diagnostic::error(
                "tilec::assign_type_change",
                format!("assignment changes the type of `{}`", target.name),
                if op.is_some() { span } else { value.span },
                format!("this is `{}`", type_text(got, &lw.k.symbols)),
            )
            .with_label(
                var.decl,
                format!("declared here as `{}`", type_text(&want, &lw.k.symbols)),
            )
            .with_note(msg);
            d = if got.dtype() != want.dtype() {
                d.with_help(format!(
                    "a variable keeps its type: cast the value with `as {}`",
                    dtype_name(want.dtype())
                ))
            } else {
                d.with_help("a variable keeps its type: reduce or reshape the value, or bind a new variable with `let`")
            };
            d
        });
        match new {
            Operand::Value(v) => {
                self.name_value(v, &target.name);
                self.env.set(id, Operand::Value(v));
            }
            // The variable's value is now unknown: later uses stay silent.
            _ => self.env.set(id, Operand::Error),
        }
    }

    /// An i32 scalar value (literals adapt), or a diagnostic naming `what` needs it.
    pub fn scalar_i32(&mut self, op: Operand, span: Span, what: &str) -> Option<Value> {
        let v = self.value_of(op, span, Some(DType::I32))?;
        let ty = self.ty(v).clone();
        if ty == Type::Scalar(DType::I32) {
            return Some(v);
        }
        let (code, help) = if ty.is_scalar() {
            ("tilec::dtype_mismatch", "cast it with `as i32`".to_string())
        } else {
            (
                "tilec::not_a_scalar",
                "reduce the tile to a scalar first, e.g. with `max(x)`".to_string(),
            )
        };
        self.error(
            Diagnostic::error(
                code,
                format!("{what} must be an `i32` scalar"),
                span,
                format!("this is `{}`", type_text(&ty, &self.k.symbols)),
            )
            .with_help(help),
        );
        None
    }

    // ----- expressions -----

    /// Lowers an expression whose value is used.
    pub fn lower_expr(&mut self, e: &Expr) -> Operand {
        self.lower_expr_ctx(e, true)
    }

    fn lower_expr_ctx(&mut self, e: &Expr, want_value: bool) -> Operand {
        if self.depth > MAX_DEPTH {
            self.error(Diagnostic::error(
                "tilec::too_deeply_nested",
                "expression nested too deeply",
                e.span,
                "here",
            ));
            return Operand::Error;
        }
        self.depth += 1;
        let r = self.lower_expr_inner(e, want_value);
        self.depth -= 1;
        r
    }

    fn lower_expr_inner(&mut self, e: &Expr, want_value: bool) -> Operand {
        match &e.kind {
            ExprKind::Int(i) => Operand::Literal(ConstValue::Int(*i)),
            ExprKind::Float(x) => Operand::Literal(ConstValue::Float(*x)),
            ExprKind::Bool(b) => Operand::Const(ConstValue::Bool(*b), DType::I1),
            ExprKind::Name(id) => self.lower_name(id),
            ExprKind::Unary { op, operand } => {
                let v = self.lower_expr(operand);
                self.unary(*op, v, operand.span, e.span)
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.lower_expr(lhs);
                let r = self.lower_expr(rhs);
                self.binary(*op, l, lhs.span, r, rhs.span, e.span)
            }
            ExprKind::Call { callee, args } => self.lower_call(callee, args, e.span),
            ExprKind::Slice { base, .. } => {
                self.error(
                    Diagnostic::error(
                        "tilec::slice_outside_load",
                        "a slice is not a value",
                        e.span,
                        "a slice names memory",
                    )
                    .with_help(format!(
                        "read it with `load({}[..])` or write it with `store({}[..], value)`",
                        base.name, base.name
                    )),
                );
                Operand::Error
            }
            ExprKind::If {
                cond,
                then_block,
                else_block,
            } => self.lower_if(cond, then_block, else_block.as_ref(), e.span, want_value),
            ExprKind::Block(b) => self.lower_block(b, want_value),
            ExprKind::List(_) => {
                self.error(
                    Diagnostic::error(
                        "tilec::list_as_value",
                        "a list is not a value",
                        e.span,
                        "lists are shapes",
                    )
                    .with_help("lists are the shape arguments of `zeros`, `full` and `iota`"),
                );
                Operand::Error
            }
            // A dtype keyword, or a name after `as` (`x as DTYPE`).
            ExprKind::DType(d) => match self.resolve_dtype(d) {
                Some(dt) => Operand::DType(dt, None),
                None => Operand::Error,
            },
        }
    }

    pub fn unknown_name_diag(&self, id: &Ident) -> Diagnostic {
        let names = self.env.all_names();
        let mut cands: Vec<&str> = names.iter().map(String::as_str).collect();
        cands.extend(["inf", "nan"]);
        let d = Diagnostic::error(
            "tilec::unknown_name",
            format!("cannot find `{}` in this scope", id.name),
            id.span,
            "not found in this scope",
        );
        if let Some(s) = did_you_mean(&id.name, cands) {
            return d.with_help(format!("did you mean `{s}`?"));
        }
        if super::builtins::is_builtin(&id.name) {
            return d.with_help(format!("`{}` is a function: call it with `(..)`", id.name));
        }
        d
    }

    fn lower_name(&mut self, id: &Ident) -> Operand {
        if let Some(vid) = self.env.lookup(&id.name) {
            return self.env.var(vid).value;
        }
        if let Some(g) = self.env.globals.get(&id.name) {
            return match g.global {
                Global::Tensor { index, .. } => Operand::Tensor(index),
                Global::Scalar { value } => Operand::Value(value),
                Global::Const { value, dtype } => Operand::Const(value, dtype),
                Global::DTypeConst { value } => Operand::DType(value, Some(g.span)),
                Global::Symbol { index } => Operand::Value(self.symbol_value(index)),
                Global::Error => Operand::Error,
            };
        }
        match id.name.as_str() {
            "inf" => Operand::Literal(ConstValue::Float(f64::INFINITY)),
            "nan" => Operand::Literal(ConstValue::Float(f64::NAN)),
            _ => {
                let d = self.unknown_name_diag(id);
                self.error(d);
                Operand::Error
            }
        }
    }

    fn unary(&mut self, op: UnOp, v: Operand, vspan: Span, span: Span) -> Operand {
        let Some(dt) = self.operand_dtype(v, vspan) else {
            return Operand::Error;
        };
        let is_bool = dt == super::ops::OperandDType::Typed(DType::I1);
        match (op, is_bool) {
            (UnOp::Neg, true) => {
                self.error(
                    Diagnostic::error(
                        "tilec::arith_on_bool",
                        "cannot negate a bool",
                        vspan,
                        "this is `bool`",
                    )
                    .with_help("use `!` for logical not"),
                );
                return Operand::Error;
            }
            (UnOp::Not, false) => {
                self.error(
                    Diagnostic::error(
                        "tilec::bool_op_on_non_bool",
                        "`!` needs a bool operand",
                        vspan,
                        "not a bool",
                    )
                    .with_help("compare to get a bool, e.g. `x == 0`; use `-` to negate a number"),
                );
                return Operand::Error;
            }
            _ => {}
        }
        match v {
            Operand::Literal(l) => match fold_unary(op, l, None) {
                Ok(r) => Operand::Literal(r),
                Err(e) => {
                    self.error(fold_diag(e, span));
                    Operand::Error
                }
            },
            Operand::Const(c, d) => match fold_unary(op, c, Some(d)) {
                Ok(r) => Operand::Const(r, d),
                Err(e) => {
                    self.error(fold_diag(e, span));
                    Operand::Error
                }
            },
            Operand::Value(x) => {
                let ty = self.ty(x).clone();
                let uop = match op {
                    UnOp::Neg => UnaryOp::Neg,
                    UnOp::Not => UnaryOp::Not,
                };
                Operand::Value(self.emit(InstData::Unary { op: uop, arg: x }, ty))
            }
            _ => Operand::Error,
        }
    }

    fn cval(op: Operand) -> Option<CVal> {
        match op {
            Operand::Const(c, d) => Some(CVal::Typed(c, d)),
            Operand::Literal(l) => Some(CVal::Literal(l)),
            _ => None,
        }
    }

    fn from_cval(c: CVal) -> Operand {
        match c {
            CVal::Typed(v, d) => Operand::Const(v, d),
            CVal::Literal(l) => Operand::Literal(l),
        }
    }

    /// A binary operator: dtype rules, const folding, then broadcast and emit.
    pub fn binary(
        &mut self,
        op: BinOp,
        l: Operand,
        ls: Span,
        r: Operand,
        rs: Span,
        span: Span,
    ) -> Operand {
        let (Some(ld), Some(rd)) = (self.operand_dtype(l, ls), self.operand_dtype(r, rs)) else {
            return Operand::Error;
        };
        let dtype = match binary_operand_dtype(
            op,
            Side {
                dtype: ld,
                span: ls,
            },
            Side {
                dtype: rd,
                span: rs,
            },
        ) {
            Ok(d) => d,
            Err(d) => {
                self.error(d);
                return Operand::Error;
            }
        };
        if let (Some(a), Some(b)) = (Self::cval(l), Self::cval(r)) {
            return match fold_binary_op(op, a, ls, b, rs, span) {
                Ok(c) => Self::from_cval(c),
                Err(d) => {
                    self.error(d);
                    Operand::Error
                }
            };
        }
        let (Some(a), Some(b)) = (self.value_of(l, ls, dtype), self.value_of(r, rs, dtype)) else {
            return Operand::Error;
        };
        let Some((a, b)) = self.broadcast_pair(a, ls, b, rs, op.symbol()) else {
            return Operand::Error;
        };
        let ty = self.ty(a).clone();
        Operand::Value(match bin_kind(op) {
            BinKind::Arith(o) | BinKind::Logic(o) => self.emit(
                InstData::Binary {
                    op: o,
                    args: [a, b],
                },
                ty,
            ),
            BinKind::Cmp(c) => {
                let t = ty.with_dtype(DType::I1);
                self.emit(
                    InstData::Cmp {
                        op: c,
                        args: [a, b],
                    },
                    t,
                )
            }
        })
    }

    /// Brings two values of one dtype to their common shape (splat, broadcast), or reports
    /// `rank_mismatch` / `shape_mismatch` / `tile_too_large` for `what`.
    pub fn broadcast_pair(
        &mut self,
        a: Value,
        sa: Span,
        b: Value,
        sb: Span,
        what: &str,
    ) -> Option<(Value, Value)> {
        let shape = self.broadcast_shape(&[(a, sa), (b, sb)], what)?;
        let a = self.reshape_to(a, shape.as_deref());
        let b = self.reshape_to(b, shape.as_deref());
        Some((a, b))
    }

    /// The common shape of several values (`None`: all scalars), with diagnostics.
    pub fn broadcast_shape(
        &mut self,
        vals: &[(Value, Span)],
        what: &str,
    ) -> Option<Option<Vec<u32>>> {
        let mut shape: Option<Vec<u32>> = None;
        let mut from: Option<(Value, Span)> = None;
        for &(v, s) in vals {
            let vs = self.shape_of(v);
            match broadcast_shapes(shape.as_deref(), vs.as_deref()) {
                Ok(sh) => {
                    if vs.is_some() && from.is_none() {
                        from = Some((v, s));
                    }
                    shape = sh;
                }
                Err(e) => {
                    let (pv, ps) = from.unwrap_or((v, s));
                    let d = self.broadcast_diag(e, pv, ps, v, s, what);
                    self.error(d);
                    return None;
                }
            }
        }
        if let Some(sh) = &shape {
            let ext: Vec<i64> = sh.iter().map(|&x| x as i64).collect();
            let span = vals.first().map(|v| v.1).unwrap_or_default();
            let span = vals.iter().fold(span, |acc, v| acc.to(v.1));
            self.check_shape(&ext, span)?;
        }
        Some(shape)
    }

    fn broadcast_diag(
        &self,
        e: BroadcastError,
        a: Value,
        sa: Span,
        b: Value,
        sb: Span,
        what: &str,
    ) -> Diagnostic {
        let ta = type_text(self.ty(a), &self.k.symbols);
        let tb = type_text(self.ty(b), &self.k.symbols);
        match e {
            BroadcastError::Rank(ra, rb) => {
                let (small, big) = if ra < rb {
                    (self.shape_of(a), self.shape_of(b))
                } else {
                    (self.shape_of(b), self.shape_of(a))
                };
                let help = match (small.as_deref(), big.as_deref()) {
                    (Some([n]), Some([r, c])) if n == r && n != c => format!(
                        "make the ranks equal: `expand_dims(x, 1)` turns `[{n}]` into `[{n}, 1]`, which broadcasts along dim 1"
                    ),
                    (Some([n]), Some([r, c])) if n == c && n != r => format!(
                        "make the ranks equal: `expand_dims(x, 0)` turns `[{n}]` into `[1, {n}]`, which broadcasts along dim 0"
                    ),
                    (Some([n]), Some([r, c])) if n == r && n == c => format!(
                        "make the ranks equal by adding a size-1 dim to the rank-1 operand: `expand_dims(x, 1)` makes it `[{n}, 1]` (one value per row), `expand_dims(x, 0)` makes it `[1, {n}]` (one value per column)"
                    ),
                    _ => "make the ranks equal with `expand_dims(x, axis)`, which inserts a size-1 dim at `axis`".to_string(),
                };
                Diagnostic::error(
                    "tilec::rank_mismatch",
                    format!("cannot combine tiles of rank {ra} and rank {rb} in `{what}`"),
                    sb,
                    format!("this is `{tb}`"),
                )
                .with_label(sa, format!("this is `{ta}`"))
                .with_help(help)
                .with_note("tiles of different ranks never broadcast implicitly, so that a square tile cannot be stretched along the wrong dim")
            }
            BroadcastError::Dim { dim, a: x, b: y } => Diagnostic::error(
                "tilec::shape_mismatch",
                format!("mismatched tile shapes in `{what}`: `{ta}` and `{tb}`"),
                sb,
                format!("this is `{tb}`"),
            )
            .with_label(sa, format!("this is `{ta}`"))
            .with_help(format!(
                "dim {dim} is {x} on one side and {y} on the other; dims must be equal or 1"
            )),
        }
    }

    /// Converts an operand to exactly `want` (a scalar or tile type): literals adapt and
    /// splat, typed scalars of the right dtype splat, anything else must already match.
    /// `mismatch` builds the diagnostic from the operand's actual type.
    pub fn conform_to(
        &mut self,
        op: Operand,
        span: Span,
        want: &Type,
        mismatch: impl FnOnce(&Self, &Type) -> Diagnostic,
    ) -> Operand {
        let dtype = want.dtype();
        let v = match op {
            Operand::Literal(l) => match adapt_literal(l, dtype) {
                Ok(c) => self.const_value(c, dtype),
                Err(e) => {
                    self.error(literal_diag(e, l, dtype, span));
                    return Operand::Error;
                }
            },
            Operand::Error => return Operand::Error,
            other => match self.value_of(other, span, Some(dtype)) {
                Some(v) => v,
                None => return Operand::Error,
            },
        };
        let got = self.ty(v).clone();
        if got.dtype() != dtype || (got.shape().is_some() && got.shape() != want.shape()) {
            let d = mismatch(self, &got);
            self.error(d);
            return Operand::Error;
        }
        Operand::Value(self.reshape_to(v, want.shape()))
    }

    /// The `dtype_mismatch`/`shape_mismatch` diagnostic for a value of type `got` where
    /// `want` (declared at `want_span` by `what`) is required.
    pub fn mismatch_diag(
        &self,
        want: &Type,
        got: &Type,
        span: Span,
        want_span: Span,
        what: &str,
    ) -> Diagnostic {
        let (tw, tg) = (
            type_text(want, &self.k.symbols),
            type_text(got, &self.k.symbols),
        );
        let code = if want.dtype() != got.dtype() {
            "tilec::dtype_mismatch"
        } else {
            "tilec::shape_mismatch"
        };
        let d = Diagnostic::error(
            code,
            format!("expected `{tw}`, found `{tg}`"),
            span,
            format!("this is `{tg}`"),
        )
        .with_label(want_span, format!("{what} requires `{tw}`"));
        if want.dtype() != got.dtype() {
            d.with_help(format!("cast it with `as {}`", dtype_name(want.dtype())))
        } else {
            d
        }
    }

    /// Resolves a dtype name (a keyword or a dtype const), reporting names that are not dtypes.
    pub fn resolve_dtype(&mut self, name: &DTypeName) -> Option<DType> {
        match super::dtypes::resolve_dtype(&self.env.globals, name) {
            Ok(d) => Some(d),
            Err(diag) => {
                if let Some(diag) = diag {
                    self.error(diag);
                }
                None
            }
        }
    }

    /// Resolves a type annotation.
    fn resolve_type(&mut self, t: &TypeExpr) -> Option<Type> {
        match t {
            TypeExpr::Scalar(d) => self.resolve_dtype(d).map(Type::Scalar),
            TypeExpr::Tile { dtype, shape, span } => {
                let dt = self.resolve_dtype(dtype);
                let shape = self.const_shape_items(shape, *span)?;
                Some(Type::Tile(TileType::new(dt?, shape)))
            }
        }
    }

    /// A shape from const list items, checked against the tile limits.
    pub fn const_shape_items(&mut self, items: &[Expr], span: Span) -> Option<Vec<u32>> {
        let mut ext = Vec::new();
        let mut ok = true;
        for it in items {
            match self.const_int(it, "a tile extent") {
                Some(n) => ext.push(n),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        self.check_shape(&ext, span)
    }

    /// A const integer (typed int const or integer literal), or `const_expected`.
    pub fn const_int(&mut self, e: &Expr, what: &str) -> Option<i64> {
        let op = self.lower_expr(e);
        match op {
            Operand::Const(ConstValue::Int(i), _) | Operand::Literal(ConstValue::Int(i)) => Some(i),
            Operand::Error => None,
            Operand::Value(v) => {
                let ty = type_text(self.ty(v), &self.k.symbols);
                self.error(
                    Diagnostic::error(
                        "tilec::const_expected",
                        format!("{what} must be a const"),
                        e.span,
                        format!("this is a runtime `{ty}`"),
                    )
                    .with_help("use literals, const parameters and arithmetic on them"),
                );
                None
            }
            other => {
                if matches!(other, Operand::Const(..) | Operand::Literal(_)) {
                    self.error(Diagnostic::error(
                        "tilec::dtype_mismatch",
                        format!("{what} must be an integer"),
                        e.span,
                        "not an integer",
                    ));
                } else {
                    self.not_a_value(other, e.span);
                }
                None
            }
        }
    }
}
