//! Control flow: `for` loops with loop-carried values and `if` (a const condition lowers only
//! the taken branch; a runtime one becomes a structured IR `if` whose results are its value
//! and the variables its branches assign).
//!
//! Which variables a loop carries, or an `if` yields, is decided before lowering the body: the
//! mutable variables in scope that any statement inside assigns (a variable assigned in no
//! iteration is passed through unchanged, which later passes may simplify).

use super::builder::Lowerer;
use super::env::{Operand, Var, VarId};
use super::lower::MAX_DEPTH;
use super::types::{default_literal_dtype, dtype_name, type_text};
use crate::diagnostics::Diagnostic;
use crate::ir::{Block, ConstValue, DType, InstData, Type, Value, ValueList};
use crate::syntax::ast::{BlockExpr, Expr, ExprKind, Ident, SliceDim, Span, Stmt};

impl Lowerer<'_> {
    /// The mutable variables (with IR values) that statements in `blocks` may assign, in order
    /// of first assignment: the loop-carried values of a `for`, the results of an `if`.
    fn assigned_vars(&self, blocks: &[&BlockExpr]) -> Vec<(VarId, Value, String)> {
        let mut names = Vec::new();
        for b in blocks {
            collect_assigned_block(b, &mut names, 0);
        }
        let mut out: Vec<(VarId, Value, String)> = Vec::new();
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

    pub(super) fn lower_for(
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

    // ----- if -----

    pub(super) fn lower_if(
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
        tb: Block,
        tt: Operand,
        ts: Span,
        eb: Block,
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
            if matches!(op, Operand::Unit | Operand::Tensor(_) | Operand::DType(..)) {
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
                    SliceDim::Index(x) => collect_assigned_expr(x, out, d),
                    SliceDim::Range { start, len, .. } => {
                        collect_assigned_expr(start, out, d);
                        collect_assigned_expr(len, out, d);
                    }
                    SliceDim::Full(_) => {}
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
