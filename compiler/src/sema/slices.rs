//! Slices of tensor parameters and the two builtins that take them, `load` and `store`:
//! resolving the tensor, one entry per dim (index, `start ..+ LEN`, `..`), the tile shape of
//! the slice, the fill value, and the checks on what is stored (`&mut`, dtype, shape).

use super::builder::Lowerer;
use super::env::{Global, Operand};
use super::ops::literal_diag;
use super::types::{adapt_literal, dtype_name, is_power_of_two, type_text};
use crate::diagnostics::Diagnostic;
use crate::ir::{ConstValue, DType, InstData, SliceDim as IrSliceDim, Type, Value};
use crate::syntax::ast::{Expr, ExprKind, SliceDim, Span};

impl Lowerer<'_> {
    /// Lowers a slice: (tensor index, IR dims, tile shape).
    fn slice(&mut self, e: &Expr, builtin: &str) -> Option<(usize, Vec<IrSliceDim>, Vec<u32>)> {
        let ExprKind::Slice { base, dims } = &e.kind else {
            let op = self.lower_expr(e);
            if op != Operand::Error {
                self.error(
                    Diagnostic::error(
                        "tilec::expected_slice",
                        format!("`{builtin}` needs a slice of a tensor parameter"),
                        e.span,
                        "not a slice",
                    )
                    .with_help(format!(
                        "write a slice such as `{builtin}(x[i, start ..+ BLOCK])`"
                    )),
                );
            }
            return None;
        };
        let tensor = match self.env.lookup(&base.name) {
            Some(id) => match self.env.var(id).value {
                Operand::Tensor(i) => Some(i),
                Operand::Error => return None,
                _ => None,
            },
            None => match self.env.globals.get(&base.name).map(|g| g.global.clone()) {
                Some(Global::Tensor { index, .. }) => Some(index),
                Some(Global::Error) => return None,
                Some(_) => None,
                None => {
                    let d = self.unknown_name_diag(base);
                    self.error(d);
                    return None;
                }
            },
        };
        let Some(ti) = tensor else {
            self.error(
                Diagnostic::error(
                    "tilec::slice_of_non_tensor",
                    format!("`{}` is not a tensor parameter", base.name),
                    base.span,
                    "only tensor parameters can be sliced",
                )
                .with_help("slices read global memory: slice a `&dtype[..]` parameter"),
            );
            return None;
        };
        let tty = self.tensors[ti].ty.clone();
        let tspan = self.tensors[ti].span;
        if dims.len() != tty.dims.len() {
            let shown = type_text(&Type::Tensor(tty.clone()), &self.k.symbols);
            self.error(
                Diagnostic::error(
                    "tilec::slice_rank_mismatch",
                    format!(
                        "`{}` has {} dims but the slice has {} entries",
                        base.name,
                        tty.dims.len(),
                        dims.len()
                    ),
                    e.span,
                    format!("{} entries", dims.len()),
                )
                .with_label(tspan, format!("declared as `{shown}` here"))
                .with_help(
                    "write one entry per dim: an index `i`, a range `start ..+ LEN`, or `..` for the whole dim",
                ),
            );
            return None;
        }
        let mut out = Vec::new();
        let mut shape = Vec::new();
        let mut ok = true;
        for (i, d) in dims.iter().enumerate() {
            match d {
                SliceDim::Index(x) => {
                    let op = self.lower_expr(x);
                    match self.slice_index(op, x.span, "a slice index") {
                        Some(v) => out.push(IrSliceDim::Index(v)),
                        None => ok = false,
                    }
                }
                SliceDim::Range { start, len, .. } => {
                    let op = self.lower_expr(start);
                    let s = self.slice_index(op, start.span, "the start of a slice range");
                    let n = self.slice_len(len);
                    match (s, n) {
                        (Some(s), Some(n)) => {
                            out.push(IrSliceDim::Range { start: s, len: n });
                            shape.push(n as i64);
                        }
                        _ => ok = false,
                    }
                }
                SliceDim::Full(span) => match tty.dims.get(i) {
                    Some(crate::ir::Dim::Const(n)) if is_power_of_two(*n as i64) => {
                        let z = self.const_value(ConstValue::Int(0), DType::I32);
                        out.push(IrSliceDim::Range { start: z, len: *n });
                        shape.push(*n as i64);
                    }
                    Some(crate::ir::Dim::Const(n)) => {
                        self.error(
                            Diagnostic::error(
                                "tilec::not_a_power_of_two",
                                format!("`..` takes all {n} elements of dim {i}, which is not a power of two"),
                                *span,
                                format!("{n} elements"),
                            )
                            .with_label(tspan, "declared here")
                            .with_help("slice a power-of-two window instead: `start ..+ LEN`"),
                        );
                        ok = false;
                    }
                    _ => {
                        let sym = match tty.dims.get(i) {
                            Some(crate::ir::Dim::Sym(s)) => {
                                self.k.symbols.get(*s as usize).cloned().unwrap_or_default()
                            }
                            _ => String::new(),
                        };
                        self.error(
                            Diagnostic::error(
                                "tilec::const_expected",
                                format!("`..` needs a dim of const size, but dim {i} of `{}` is the runtime size `{sym}`", base.name),
                                *span,
                                format!("`{sym}` is known only at run time"),
                            )
                            .with_label(tspan, "declared here")
                            .with_help("slice a const-length window: `start ..+ BLOCK`"),
                        );
                        ok = false;
                    }
                },
            }
        }
        if !ok {
            return None;
        }
        let shape = if shape.is_empty() {
            Vec::new()
        } else {
            self.check_shape(&shape, e.span)?
        };
        Some((ti, out, shape))
    }

    /// A slice index or range start: an `i32` scalar (literals adapt), or an `i64` one for
    /// tensors too large for 32-bit offsets.
    fn slice_index(&mut self, op: Operand, span: Span, what: &str) -> Option<Value> {
        match op {
            Operand::Value(v) if *self.ty(v) == Type::Scalar(DType::I64) => Some(v),
            Operand::Const(c, DType::I64) => Some(self.const_value(c, DType::I64)),
            _ => self.scalar_i32(op, span, what),
        }
    }

    /// The `LEN` of `start ..+ LEN`: a positive const power of two.
    fn slice_len(&mut self, len: &Expr) -> Option<u32> {
        let op = self.lower_expr(len);
        let n = match op {
            Operand::Const(ConstValue::Int(i), _) | Operand::Literal(ConstValue::Int(i)) => i,
            Operand::Error => return None,
            _ => {
                self.error(
                    Diagnostic::error(
                        "tilec::const_expected",
                        "the length of a slice range must be a const",
                        len.span,
                        "not a compile-time integer",
                    )
                    .with_help("tile shapes are static: use a const parameter such as `BLOCK_N`, and mask with `load`'s bounds checks"),
                );
                return None;
            }
        };
        if !is_power_of_two(n) || n > (1 << 20) {
            self.error(
                Diagnostic::error(
                    "tilec::not_a_power_of_two",
                    format!("slice length {n} is not a power of two"),
                    len.span,
                    "tile extents are powers of two",
                )
                .with_help(if n > 0 {
                    let lower = 1i64 << (63 - n.leading_zeros());
                    format!("use a power of two such as {lower} or {}; `load` and `store` mask what lies past the tensor's end", lower.saturating_mul(2))
                } else {
                    "use a positive power of two".to_string()
                }),
            );
            return None;
        }
        Some(n as u32)
    }

    pub(super) fn load(
        &mut self,
        slice: Option<&Expr>,
        fill: Option<&Expr>,
        _span: Span,
    ) -> Operand {
        let s = slice.and_then(|e| self.slice(e, "load"));
        let Some((ti, dims, shape)) = s else {
            if let Some(f) = fill {
                self.lower_expr(f);
            }
            return Operand::Error;
        };
        let dtype = self.tensors[ti].ty.dtype;
        let fill_value = match fill {
            None => match dtype {
                DType::I1 => ConstValue::Bool(false),
                d if d.is_float() => ConstValue::Float(0.0),
                _ => ConstValue::Int(0),
            },
            Some(f) => {
                let op = self.lower_expr(f);
                match op {
                    Operand::Literal(l) => match adapt_literal(l, dtype) {
                        Ok(c) => c,
                        Err(e) => {
                            self.error(literal_diag(e, l, dtype, f.span));
                            return Operand::Error;
                        }
                    },
                    Operand::Const(c, d) if d == dtype => c,
                    Operand::Const(_, d) => {
                        self.error(
                            Diagnostic::error(
                                "tilec::dtype_mismatch",
                                format!(
                                    "the fill value is `{}` but the tensor holds `{}`",
                                    dtype_name(d),
                                    dtype_name(dtype)
                                ),
                                f.span,
                                format!("this is `{}`", dtype_name(d)),
                            )
                            .with_help(format!("cast it with `as {}`", dtype_name(dtype))),
                        );
                        return Operand::Error;
                    }
                    Operand::Error => return Operand::Error,
                    _ => {
                        self.error(
                            Diagnostic::error(
                                "tilec::const_expected",
                                "the fill value of `load` must be a const",
                                f.span,
                                "not a compile-time value",
                            )
                            .with_help(
                                "use a literal such as `0.0` or `-inf`, or a const parameter",
                            ),
                        );
                        return Operand::Error;
                    }
                }
            }
        };
        let tensor = self.tensors[ti].value;
        let ty = if shape.is_empty() {
            Type::Scalar(dtype)
        } else {
            Type::tile(dtype, shape)
        };
        Operand::Value(self.emit(
            InstData::Load {
                tensor,
                dims,
                fill: fill_value,
            },
            ty,
        ))
    }

    pub(super) fn store(
        &mut self,
        slice: Option<&Expr>,
        value: Option<&Expr>,
        _span: Span,
    ) -> Operand {
        let s = slice.and_then(|e| self.slice(e, "store"));
        let val = value.map(|e| (self.lower_expr(e), e.span));
        let Some((ti, dims, shape)) = s else {
            return Operand::Unit;
        };
        let t = &self.tensors[ti];
        if !t.ty.mutable {
            let base_span = match slice.map(|e| &e.kind) {
                Some(ExprKind::Slice { base, .. }) => base.span,
                _ => slice.map_or(_span, |e| e.span),
            };
            let shown = type_text(&Type::Tensor(t.ty.clone()), &self.k.symbols);
            let name = t.name.clone();
            let pspan = t.span;
            self.error(
                Diagnostic::error(
                    "tilec::store_to_readonly",
                    format!("cannot store to `{name}`, a read-only tensor"),
                    base_span,
                    "stored to here",
                )
                .with_label(pspan, format!("declared read-only as `{shown}`"))
                .with_help(format!(
                    "declare it `&mut`: `{name}: {}`",
                    shown.replacen('&', "&mut ", 1)
                )),
            );
            return Operand::Unit;
        }
        let (tensor, dtype) = (t.value, t.ty.dtype);
        let Some((op, vspan)) = val else {
            return Operand::Unit;
        };
        let want = if shape.is_empty() {
            Type::Scalar(dtype)
        } else {
            Type::tile(dtype, shape)
        };
        let slice_span = slice.map_or(vspan, |e| e.span);
        let v = self.conform_to(op, vspan, &want, |lw, got| {
            lw.mismatch_diag(&want, got, vspan, slice_span, "the slice")
        });
        if let Operand::Value(value) = v {
            self.emit_no_result(InstData::Store {
                tensor,
                dims,
                value,
            });
        }
        Operand::Unit
    }
}
