//! Lowering of statements and expressions: `let`, assignment, `for` with loop-carried values,
//! `if` (const ones folded, runtime ones as structured IR `if` with results), operators with
//! literal adaptation, const folding and explicit broadcasting, and name resolution.
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
use crate::ir::{ConstValue, DType, InstData, TileType, Type, UnaryOp, Value, ValueList};
use crate::syntax::ast::{BinOp, BlockExpr, Expr, ExprKind, Ident, Span, Stmt, TypeExpr, UnOp};

/// Deepest expression nesting lowered before giving up with a diagnostic.
const MAX_DEPTH: usize = 200;

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
            Operand::Unit | Operand::DType(_) => {
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

    /// The mutable variables (with IR values) that statements in `blocks` may assign, in order
    /// of first assignment: the loop-carried values of a `for`, the results of an `if`.
    fn assigned_vars(&self, blocks: &[&BlockExpr]) -> Vec<(super::env::VarId, Value, String)> {
        let mut names = Vec::new();
        for b in blocks {
            collect_assigned_block(b, &mut names, 0);
        }
        let mut out: Vec<(super::env::VarId, Value, String)> = Vec::new();
        for n in names {
            let Some(id) = self.env.lookup(&n) else {
                continue;
            };
            let var = self.env.var(id);
            if let (true, Operand::Value(v)) = (var.mutable, var.value) {
                if !out.iter().any(|(i, _, _)| *i == id) {
                    out.push((id, v, n));
                }
            }
        }
        out
    }

    fn lower_for(
        &mut self,
        var: &Ident,
        start: &Expr,
        end: &Expr,
        step: Option<&Expr>,
        body: &BlockExpr,
    ) {
        let lower = self.loop_bound(start, "start");
        let upper = self.loop_bound(end, "end");
        let step_v = match step {
            Some(s) => {
                let op = self.lower_expr(s);
                let c = match op {
                    Operand::Const(c, _) | Operand::Literal(c) => Some(c),
                    _ => None,
                };
                if let Some(ConstValue::Int(n)) = c {
                    if n <= 0 {
                        self.error(
                            Diagnostic::error(
                                "tilec::negative_step",
                                format!("the step of a `range` must be positive, this one is {n}"),
                                s.span,
                                "not positive",
                            )
                            .with_help("count with a positive step; loops run upwards only"),
                        );
                        None
                    } else {
                        self.loop_bound_op(op, s.span, "step")
                    }
                } else {
                    self.loop_bound_op(op, s.span, "step")
                }
            }
            None => Some(self.const_value(ConstValue::Int(1), DType::I32)),
        };
        let carried = self.assigned_vars(&[body]);
        let block = self.k.create_block();
        let iv = self
            .k
            .append_block_param(block, Type::Scalar(DType::I32), Some(var.name.clone()));
        let mut params = Vec::new();
        for (id, init, name) in &carried {
            let ty = self.ty(*init).clone();
            let p = self.k.append_block_param(block, ty, Some(name.clone()));
            params.push(p);
            self.env.set(*id, Operand::Value(p));
        }
        self.in_block(block, |lw| {
            lw.env.push_scope();
            lw.env.declare(Var {
                name: var.name.clone(),
                mutable: false,
                value: Operand::Value(iv),
                decl: var.span,
            });
            lw.lower_block(body, false);
            lw.env.pop_scope();
            let yields: ValueList = carried
                .iter()
                .zip(&params)
                .map(|((id, _, _), p)| match lw.env.var(*id).value {
                    Operand::Value(v) => v,
                    _ => *p,
                })
                .collect();
            lw.emit_no_result(InstData::Yield { args: yields });
        });
        let (Some(lower), Some(upper), Some(step)) = (lower, upper, step_v) else {
            for (id, init, _) in &carried {
                self.env.set(*id, Operand::Value(*init));
            }
            return;
        };
        let types: Vec<Type> = carried
            .iter()
            .map(|(_, v, _)| self.ty(*v).clone())
            .collect();
        let data = InstData::For {
            lower,
            upper,
            step,
            init: carried.iter().map(|(_, v, _)| *v).collect(),
            body: block,
        };
        let inst = self.k.append_inst(self.cur(), data, &types);
        let results: Vec<Value> = self.k.inst_results(inst).to_vec();
        for ((id, _, name), r) in carried.iter().zip(results) {
            self.k.set_name(r, name.clone());
            self.env.set(*id, Operand::Value(r));
        }
    }

    fn loop_bound(&mut self, e: &Expr, what: &str) -> Option<Value> {
        let op = self.lower_expr(e);
        self.loop_bound_op(op, e.span, what)
    }

    fn loop_bound_op(&mut self, op: Operand, span: Span, what: &str) -> Option<Value> {
        self.scalar_i32(op, span, &format!("the {what} of a `range`"))
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
            ExprKind::DType(d) => match super::types::source_dtype(&d.name) {
                Some(dt) => Operand::DType(dt),
                None => {
                    self.error(super::unknown_dtype_diag(d));
                    Operand::Error
                }
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

    /// Resolves a type annotation.
    fn resolve_type(&mut self, t: &TypeExpr) -> Option<Type> {
        match t {
            TypeExpr::Scalar(d) => match super::types::source_dtype(&d.name) {
                Some(dt) => Some(Type::Scalar(dt)),
                None => {
                    self.error(super::unknown_dtype_diag(d));
                    None
                }
            },
            TypeExpr::Tile { dtype, shape, span } => {
                let dt = super::types::source_dtype(&dtype.name);
                if dt.is_none() {
                    self.error(super::unknown_dtype_diag(dtype));
                }
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

    // ----- if -----

    fn lower_if(
        &mut self,
        cond: &Expr,
        then_b: &BlockExpr,
        else_b: Option<&BlockExpr>,
        span: Span,
        want_value: bool,
    ) -> Operand {
        let c = self.lower_expr(cond);
        if want_value && else_b.is_none() {
            self.error(
                Diagnostic::error(
                    "tilec::if_without_else_value",
                    "an `if` without `else` has no value",
                    span,
                    "this `if` is used as a value",
                )
                .with_help(
                    "add an `else { .. }` branch giving the value when the condition is false",
                ),
            );
        }
        // A const condition: only the taken branch exists (like `#[cfg]`).
        let const_cond = match c {
            Operand::Const(ConstValue::Bool(b), _) | Operand::Literal(ConstValue::Bool(b)) => {
                Some(b)
            }
            _ => None,
        };
        if let Some(b) = const_cond {
            let taken = if b { Some(then_b) } else { else_b };
            return match taken {
                Some(block) => {
                    let v = self.lower_block(block, want_value);
                    if want_value && else_b.is_none() {
                        Operand::Error
                    } else {
                        v
                    }
                }
                None => Operand::Unit,
            };
        }
        let cond_v = self.condition(c, cond.span);
        let assigned = self.assigned_vars(&[then_b].into_iter().chain(else_b).collect::<Vec<_>>());
        let snapshot: Vec<Value> = assigned.iter().map(|(_, v, _)| *v).collect();

        let branch = |lw: &mut Self, b: Option<&BlockExpr>| {
            let block = lw.k.create_block();
            let tail = lw.in_block(block, |lw| match b {
                Some(b) => lw.lower_block(b, want_value),
                None => Operand::Unit,
            });
            let vals: Vec<Value> = assigned
                .iter()
                .map(|(id, init, _)| match lw.env.var(*id).value {
                    Operand::Value(v) => v,
                    _ => *init,
                })
                .collect();
            for ((id, _, _), v) in assigned.iter().zip(&snapshot) {
                lw.env.set(*id, Operand::Value(*v));
            }
            (block, tail, vals)
        };
        let (tb, tt, tvals) = branch(self, Some(then_b));
        let (eb, et, evals) = branch(self, else_b);

        // The if's own value: both tails brought to one type.
        let tail_span = |b: Option<&BlockExpr>| {
            b.map(|b| b.tail.as_ref().map_or(b.span, |t| t.span))
                .unwrap_or(span)
        };
        let (ts, es) = (tail_span(Some(then_b)), tail_span(else_b));
        let mut value: Option<(Value, Value)> = None;
        let mut value_error = false;
        if want_value && else_b.is_some() {
            match self.unify_branches(tb, tt, ts, eb, et, es) {
                Some(pair) => value = Some(pair),
                None => value_error = true,
            }
        }
        let mut types: Vec<Type> = Vec::new();
        let mut t_yield: ValueList = ValueList::new();
        let mut e_yield: ValueList = ValueList::new();
        if let Some((a, b)) = value {
            types.push(self.ty(a).clone());
            t_yield.push(a);
            e_yield.push(b);
        }
        for ((_, init, _), (a, b)) in assigned.iter().zip(tvals.iter().zip(&evals)) {
            types.push(self.ty(*init).clone());
            t_yield.push(*a);
            e_yield.push(*b);
        }
        self.in_block(tb, |lw| {
            lw.emit_no_result(InstData::Yield { args: t_yield })
        });
        self.in_block(eb, |lw| {
            lw.emit_no_result(InstData::Yield { args: e_yield })
        });
        let Some(cond_v) = cond_v else {
            return Operand::Error;
        };
        let data = InstData::If {
            cond: cond_v,
            then_block: tb,
            else_block: eb,
        };
        let inst = self.k.append_inst(self.cur(), data, &types);
        let mut results: Vec<Value> = self.k.inst_results(inst).to_vec();
        let result = if value.is_some() {
            Operand::Value(results.remove(0))
        } else if value_error || (want_value && else_b.is_none()) {
            Operand::Error
        } else {
            Operand::Unit
        };
        for ((id, _, name), r) in assigned.iter().zip(results) {
            self.k.set_name(r, name.clone());
            self.env.set(*id, Operand::Value(r));
        }
        result
    }

    /// A runtime `if` condition: a bool scalar.
    fn condition(&mut self, c: Operand, span: Span) -> Option<Value> {
        if let Operand::Const(..) | Operand::Literal(_) = c {
            self.error(
                Diagnostic::error(
                    "tilec::condition_not_bool",
                    "the condition of an `if` must be a bool",
                    span,
                    "this is a number",
                )
                .with_help("compare it, e.g. `x != 0`"),
            );
            return None;
        }
        let v = self.value_of(c, span, None)?;
        let ty = self.ty(v).clone();
        match ty {
            Type::Scalar(DType::I1) => Some(v),
            Type::Scalar(d) => {
                self.error(
                    Diagnostic::error(
                        "tilec::condition_not_bool",
                        "the condition of an `if` must be a bool",
                        span,
                        format!("this is `{}`", dtype_name(d)),
                    )
                    .with_help("compare it, e.g. `x != 0`"),
                );
                None
            }
            other => {
                self.error(
                    Diagnostic::error(
                        "tilec::non_scalar_condition",
                        "the condition of an `if` must be a scalar",
                        span,
                        format!("this is `{}`", type_text(&other, &self.k.symbols)),
                    )
                    .with_help("every program takes one branch; to choose per element, use `where(cond, a, b)`"),
                );
                None
            }
        }
    }

    /// Brings the two tails of an `if` expression to one type, emitting any `const`/`splat`
    /// into the branch blocks. `None` after a reported error.
    fn unify_branches(
        &mut self,
        tb: crate::ir::Block,
        tt: Operand,
        ts: Span,
        eb: crate::ir::Block,
        et: Operand,
        es: Span,
    ) -> Option<(Value, Value)> {
        if tt == Operand::Error || et == Operand::Error {
            return None;
        }
        let typed = |lw: &Self, op: Operand| match op {
            Operand::Value(v) => Some(lw.ty(v).clone()),
            Operand::Const(_, d) => Some(Type::Scalar(d)),
            _ => None,
        };
        for (op, s) in [(tt, ts), (et, es)] {
            if matches!(op, Operand::Unit | Operand::Tensor(_) | Operand::DType(_)) {
                self.not_a_value(op, s);
                return None;
            }
        }
        let target = match (typed(self, tt), typed(self, et)) {
            (Some(a), Some(b)) if a.without_layout_eq(&b) => a,
            (Some(a), Some(b)) => {
                let (ta, tb2) = (
                    type_text(&a, &self.k.symbols),
                    type_text(&b, &self.k.symbols),
                );
                self.error(
                    Diagnostic::error(
                        "tilec::if_branch_mismatch",
                        format!("`if` branches have different types: `{ta}` and `{tb2}`"),
                        es,
                        format!("this is `{tb2}`"),
                    )
                    .with_label(ts, format!("this is `{ta}`"))
                    .with_help("both branches must give the same dtype and shape; cast or broadcast one of them"),
                );
                return None;
            }
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => {
                // Two literals: the float one decides, else the then-branch's default.
                let pick = |op: Operand| match op {
                    Operand::Literal(l) => default_literal_dtype(l),
                    _ => DType::I32,
                };
                let d = if pick(tt).is_float() || pick(et).is_float() {
                    DType::F32
                } else {
                    pick(tt)
                };
                Type::Scalar(d)
            }
        };
        let mk = |lw: &Self, got: &Type, span: Span| {
            lw.mismatch_diag(&target, got, span, span, "the other branch")
        };
        let a = self.in_block(tb, |lw| {
            lw.conform_to(tt, ts, &target, |lw, g| mk(lw, g, ts))
        });
        let b = self.in_block(eb, |lw| {
            lw.conform_to(et, es, &target, |lw, g| mk(lw, g, es))
        });
        match (a, b) {
            (Operand::Value(a), Operand::Value(b)) => Some((a, b)),
            _ => None,
        }
    }
}

/// Equality of types ignoring tile layouts.
trait TypeEq {
    fn without_layout_eq(&self, other: &Type) -> bool;
}

impl TypeEq for Type {
    fn without_layout_eq(&self, other: &Type) -> bool {
        match (self, other) {
            (Type::Tile(a), Type::Tile(b)) => a.without_layout() == b.without_layout(),
            (a, b) => a == b,
        }
    }
}

/// Collects the names assigned by statements of `b`, its nested blocks and expressions.
fn collect_assigned_block(b: &BlockExpr, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for s in &b.stmts {
        match s {
            Stmt::Assign { target, value, .. } => {
                out.push(target.name.clone());
                collect_assigned_expr(value, out, depth + 1);
            }
            Stmt::Let { value, .. } => collect_assigned_expr(value, out, depth + 1),
            Stmt::For {
                start,
                end,
                step,
                body,
                ..
            } => {
                collect_assigned_expr(start, out, depth + 1);
                collect_assigned_expr(end, out, depth + 1);
                if let Some(s) = step {
                    collect_assigned_expr(s, out, depth + 1);
                }
                collect_assigned_block(body, out, depth + 1);
            }
            Stmt::Expr { expr, .. } => collect_assigned_expr(expr, out, depth + 1),
        }
    }
    if let Some(t) = &b.tail {
        collect_assigned_expr(t, out, depth + 1);
    }
}

fn collect_assigned_expr(e: &Expr, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let d = depth + 1;
    match &e.kind {
        ExprKind::If {
            cond,
            then_block,
            else_block,
        } => {
            collect_assigned_expr(cond, out, d);
            collect_assigned_block(then_block, out, d);
            if let Some(b) = else_block {
                collect_assigned_block(b, out, d);
            }
        }
        ExprKind::Block(b) => collect_assigned_block(b, out, d),
        ExprKind::Unary { operand, .. } => collect_assigned_expr(operand, out, d),
        ExprKind::Binary { lhs, rhs, .. } => {
            collect_assigned_expr(lhs, out, d);
            collect_assigned_expr(rhs, out, d);
        }
        ExprKind::Call { args, .. } => {
            for a in args {
                collect_assigned_expr(&a.value, out, d);
            }
        }
        ExprKind::List(items) => {
            for i in items {
                collect_assigned_expr(i, out, d);
            }
        }
        ExprKind::Slice { dims, .. } => {
            for dim in dims {
                match dim {
                    crate::syntax::ast::SliceDim::Index(x) => collect_assigned_expr(x, out, d),
                    crate::syntax::ast::SliceDim::Range { start, len, .. } => {
                        collect_assigned_expr(start, out, d);
                        collect_assigned_expr(len, out, d);
                    }
                    crate::syntax::ast::SliceDim::Full(_) => {}
                }
            }
        }
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Name(_)
        | ExprKind::DType(_) => {}
    }
}
