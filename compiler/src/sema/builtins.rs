//! The builtin functions: the table of their names and parameters, argument binding
//! (positional and named), and each builtin's checks and lowering (`load` and `store`, which
//! take slices, live in `slices`). Shapes are const lists (`[BLOCK_M, HEAD_DIM]`), axes consts.

use super::builder::Lowerer;
use super::consts::{cast_const, cast_literal, fold_arith, fold_cdiv, fold_diag};
use super::dtypes::number_const_as_dtype_diag;
use super::env::{did_you_mean, Global, GlobalEntry, Operand};
use super::ops::{common_dtype, literal_diag, OperandDType, Side};
use super::types::{adapt_literal, dtype_name, type_text};
use crate::diagnostics::Diagnostic;
use crate::ir::{BinaryOp, ConstValue, DType, InstData, ReduceOp, TileType, Type, UnaryOp, Value};
use crate::syntax::ast::{Arg, Expr, ExprKind, Ident, Span};

/// A builtin's signature: parameter names in positional order; the first `required` must be
/// given.
struct Builtin {
    name: &'static str,
    params: &'static [&'static str],
    required: usize,
}

const fn b(name: &'static str, params: &'static [&'static str], required: usize) -> Builtin {
    Builtin {
        name,
        params,
        required,
    }
}

const BUILTINS: &[Builtin] = &[
    b("program_id", &["axis"], 1),
    b("num_programs", &["axis"], 1),
    b("load", &["slice", "fill"], 1),
    b("store", &["slice", "value"], 2),
    b("zeros", &["shape", "dtype"], 2),
    b("full", &["shape", "value", "dtype"], 3),
    b("arange", &["n"], 1),
    b("iota", &["shape", "axis"], 2),
    b("dot", &["a", "b", "acc"], 2),
    b("transpose", &["x"], 1),
    b("where", &["cond", "a", "b"], 3),
    b("cast", &["x", "dtype"], 2),
    b("exp", &["x"], 1),
    b("exp2", &["x"], 1),
    b("log", &["x"], 1),
    b("log2", &["x"], 1),
    b("sqrt", &["x"], 1),
    b("rsqrt", &["x"], 1),
    b("abs", &["x"], 1),
    b("max", &["a", "b", "axis"], 1),
    b("min", &["a", "b", "axis"], 1),
    b("sum", &["x", "axis"], 1),
    b("expand_dims", &["x", "axis"], 2),
    b("cdiv", &["a", "b"], 2),
];

pub fn is_builtin(name: &str) -> bool {
    BUILTINS.iter().any(|b| b.name == name)
}

fn signature(b: &Builtin) -> String {
    let ps: Vec<String> = b
        .params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i < b.required {
                p.to_string()
            } else {
                format!("{p}?")
            }
        })
        .collect();
    format!("{}({})", b.name, ps.join(", "))
}

/// The arguments of a call bound to a builtin's parameters.
struct Bound<'e> {
    args: Vec<Option<&'e Arg>>,
}

impl<'e> Bound<'e> {
    fn get(&self, i: usize) -> Option<&'e Expr> {
        self.args.get(i).copied().flatten().map(|a| &a.value)
    }
}

fn axes_text(n: usize) -> String {
    if n == 1 {
        "1 axis".into()
    } else {
        format!("{n} axes")
    }
}

fn valid_axes_text(limit: usize) -> String {
    match limit {
        0 => "there is no valid axis".into(),
        1 => "the only valid axis is 0".into(),
        n => format!("valid axes are 0 to {}", n - 1),
    }
}

fn count_text(n: usize) -> String {
    if n == 1 {
        "1 argument".into()
    } else {
        format!("{n} arguments")
    }
}

impl Lowerer<'_> {
    fn bind_args<'e>(&mut self, b: &Builtin, args: &'e [Arg], span: Span) -> Option<Bound<'e>> {
        let mut slots: Vec<Option<&Arg>> = vec![None; b.params.len()];
        let mut next = 0;
        let mut ok = true;
        for a in args {
            match &a.name {
                None => {
                    if next >= b.params.len() {
                        let takes = match b.params.len() - b.required {
                            0 => count_text(b.required),
                            1 => format!("{} or {}", b.required, count_text(b.params.len())),
                            _ => format!("{} to {}", b.required, count_text(b.params.len())),
                        };
                        self.error(
                            Diagnostic::error(
                                "tilec::wrong_arg_count",
                                format!("`{}` takes {takes} but {} were given", b.name, args.len()),
                                a.span,
                                "unexpected argument",
                            )
                            .with_help(format!("the signature is `{}`", signature(b))),
                        );
                        return None;
                    }
                    slots[next] = Some(a);
                    next += 1;
                }
                Some(n) => match b.params.iter().position(|p| *p == n.name) {
                    Some(i) if slots[i].is_some() => {
                        self.error(
                            Diagnostic::error(
                                "tilec::duplicate_arg",
                                format!("`{}` is given twice", n.name),
                                a.span,
                                "given again here",
                            )
                            .with_help(format!("the signature is `{}`", signature(b))),
                        );
                        ok = false;
                    }
                    Some(i) => slots[i] = Some(a),
                    None => {
                        let mut d = Diagnostic::error(
                            "tilec::unknown_named_arg",
                            format!("`{}` has no parameter named `{}`", b.name, n.name),
                            n.span,
                            "unknown parameter",
                        );
                        d = match did_you_mean(&n.name, b.params.iter().copied()) {
                            Some(s) => d.with_help(format!("did you mean `{s} = ..`?")),
                            None => d.with_help(format!("the signature is `{}`", signature(b))),
                        };
                        self.error(d);
                        ok = false;
                    }
                },
            }
        }
        let missing: Vec<&str> = (0..b.required)
            .filter(|&i| slots[i].is_none())
            .map(|i| b.params[i])
            .collect();
        if !missing.is_empty() && ok {
            self.error(
                Diagnostic::error(
                    "tilec::wrong_arg_count",
                    format!(
                        "`{}` is missing {}: `{}`",
                        b.name,
                        if missing.len() == 1 {
                            "an argument"
                        } else {
                            "arguments"
                        },
                        missing.join("`, `")
                    ),
                    span,
                    format!("{} given", count_text(args.len())),
                )
                .with_help(format!("the signature is `{}`", signature(b))),
            );
            return None;
        }
        ok.then_some(Bound { args: slots })
    }

    pub fn lower_call(&mut self, callee: &Ident, args: &[Arg], span: Span) -> Operand {
        let Some(b) = BUILTINS.iter().find(|b| b.name == callee.name) else {
            self.unknown_builtin(callee);
            // Still check the arguments, for their own errors.
            for a in args {
                if !matches!(a.value.kind, ExprKind::Slice { .. }) {
                    self.lower_expr(&a.value);
                }
            }
            return Operand::Error;
        };
        let Some(bound) = self.bind_args(b, args, span) else {
            return Operand::Error;
        };
        let arg = |i: usize| bound.get(i);
        match b.name {
            "program_id" | "num_programs" => self.grid_query(b.name, arg(0), span),
            "load" => self.load(arg(0), arg(1), span),
            "store" => self.store(arg(0), arg(1), span),
            "zeros" => self.fill_tile(arg(0), None, arg(1), span),
            "full" => self.fill_tile(arg(0), arg(1), arg(2), span),
            "arange" => self.arange(arg(0), span),
            "iota" => self.iota(arg(0), arg(1), span),
            "dot" => self.dot(arg(0), arg(1), arg(2), span),
            "transpose" => self.transpose(arg(0), span),
            "where" => self.select(arg(0), arg(1), arg(2), span),
            "cast" => self.cast(arg(0), arg(1), span),
            "exp" | "exp2" | "log" | "log2" | "sqrt" | "rsqrt" | "abs" => {
                self.math(b.name, arg(0), span)
            }
            "max" | "min" | "sum" => {
                let (x, other, axis) = if b.name == "sum" {
                    (arg(0), None, arg(1))
                } else {
                    (arg(0), arg(1), arg(2))
                };
                match (other, axis) {
                    (Some(y), None) => self.elementwise_minmax(b.name, x, y, span),
                    (Some(_), Some(ax)) => {
                        self.error(
                            Diagnostic::error(
                                "tilec::wrong_arg_count",
                                format!(
                                    "`{}` takes two tiles or one tile and an axis, not both",
                                    b.name
                                ),
                                ax.span,
                                "remove this `axis`",
                            )
                            .with_help(format!(
                                "`{0}(a, b)` is element-wise; `{0}(x, axis = k)` reduces",
                                b.name
                            )),
                        );
                        Operand::Error
                    }
                    (None, ax) => self.reduce(b.name, x, ax, span),
                }
            }
            "expand_dims" => self.expand_dims(arg(0), arg(1), span),
            "cdiv" => self.cdiv(arg(0), arg(1), span),
            _ => Operand::Error,
        }
    }

    fn unknown_builtin(&mut self, callee: &Ident) {
        let is_var =
            self.env.lookup(&callee.name).is_some() || self.env.globals.contains_key(&callee.name);
        if is_var {
            self.error(
                Diagnostic::error(
                    "tilec::unknown_builtin",
                    format!("`{}` is not a function", callee.name),
                    callee.span,
                    "a value, not a function",
                )
                .with_help("only builtins can be called; there are no user functions"),
            );
            return;
        }
        let names = self.env.all_names();
        let cands = BUILTINS
            .iter()
            .map(|b| b.name)
            .chain(names.iter().map(String::as_str));
        let mut d = Diagnostic::error(
            "tilec::unknown_builtin",
            format!("cannot find function `{}`", callee.name),
            callee.span,
            "not a builtin",
        );
        d = match did_you_mean(&callee.name, cands) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help("see the list of builtins in the language reference"),
        };
        self.error(d);
    }

    /// The value of an argument that must be an IR value (a literal gets `want`).
    fn arg_value(&mut self, e: Option<&Expr>, want: Option<DType>) -> Option<(Value, Span)> {
        let e = e?;
        let op = self.lower_expr(e);
        let v = self.value_of(op, e.span, want)?;
        Some((v, e.span))
    }

    /// An axis argument: a const integer in `0..limit`.
    fn axis_arg(&mut self, e: &Expr, limit: usize, what: &str) -> Option<u8> {
        let n = self.const_int(e, "an axis")?;
        if n < 0 || n as u64 >= limit as u64 {
            let valid = valid_axes_text(limit);
            self.error(
                Diagnostic::error(
                    "tilec::bad_axis",
                    format!("axis {n} is out of range for {what}"),
                    e.span,
                    valid.clone(),
                )
                .with_help(format!("use an axis below {limit}")),
            );
            return None;
        }
        Some(n as u8)
    }

    fn grid_query(&mut self, name: &str, axis: Option<&Expr>, _span: Span) -> Operand {
        let Some(e) = axis else {
            return Operand::Error;
        };
        let rank = self.grid_rank;
        let n = match self.const_int(e, "an axis") {
            Some(n) => n,
            None => return Operand::Error,
        };
        if n < 0 || n as u64 >= rank as u64 {
            let grid_span = self.ast.grid_span;
            self.error(
                Diagnostic::error(
                    "tilec::bad_axis",
                    format!("`{name}({n})`: the grid has {}", axes_text(rank)),
                    e.span,
                    valid_axes_text(rank),
                )
                .with_label(grid_span, format!("the grid has {}", axes_text(rank)))
                .with_help("add an axis to the grid, or use a smaller axis"),
            );
            return Operand::Error;
        }
        let axis = n as u8;
        let data = if name == "program_id" {
            InstData::ProgramId { axis }
        } else {
            InstData::NumPrograms { axis }
        };
        Operand::Value(self.emit(data, Type::Scalar(DType::I32)))
    }

    // ----- tile constructors -----

    /// A shape argument: a const list.
    fn shape_arg(&mut self, e: &Expr) -> Option<Vec<u32>> {
        match &e.kind {
            ExprKind::List(items) => self.const_shape_items(items, e.span),
            _ => {
                let op = self.lower_expr(e);
                if op != Operand::Error {
                    self.error(
                        Diagnostic::error(
                            "tilec::expected_shape",
                            "expected a shape",
                            e.span,
                            "not a list",
                        )
                        .with_help("write the shape as a list of consts, e.g. `[BLOCK_M, 64]`"),
                    );
                }
                None
            }
        }
    }

    /// A dtype argument: a dtype keyword or a dtype const.
    fn dtype_arg(&mut self, e: &Expr) -> Option<DType> {
        match self.lower_expr(e) {
            Operand::DType(d, _) => Some(d),
            Operand::Error => None,
            Operand::Const(..) if self.const_param_named(e).is_some() => {
                if let Some((id, dtype, decl)) = self.const_param_named(e) {
                    self.error(number_const_as_dtype_diag(&id.name, dtype, id.span, decl));
                }
                None
            }
            _ => {
                self.error(
                    Diagnostic::error(
                        "tilec::expected_dtype",
                        "expected a dtype",
                        e.span,
                        "not a dtype",
                    )
                    .with_help("write one of bool, i32, i64, f16, bf16, f32"),
                );
                None
            }
        }
    }

    /// The number const parameter that `e` names (not shadowed by a `let`), with its dtype and
    /// declaration.
    fn const_param_named<'e>(&self, e: &'e Expr) -> Option<(&'e Ident, DType, Span)> {
        let ExprKind::Name(id) = &e.kind else {
            return None;
        };
        if self.env.lookup(&id.name).is_some() {
            return None;
        }
        match self.env.globals.get(&id.name) {
            Some(GlobalEntry {
                global: Global::Const { dtype, .. },
                span,
            }) => Some((id, *dtype, *span)),
            _ => None,
        }
    }

    /// `zeros(shape, dtype)` (`value` is `None`) and `full(shape, value, dtype)`.
    fn fill_tile(
        &mut self,
        shape: Option<&Expr>,
        value: Option<&Expr>,
        dtype: Option<&Expr>,
        _span: Span,
    ) -> Operand {
        let shape = shape.and_then(|e| self.shape_arg(e));
        let val = value.map(|e| (self.lower_expr(e), e.span));
        let dtype = dtype.and_then(|e| self.dtype_arg(e));
        let (Some(shape), Some(dtype)) = (shape, dtype) else {
            return Operand::Error;
        };
        let scalar = match val {
            None => {
                let zero = match dtype {
                    DType::I1 => ConstValue::Bool(false),
                    d if d.is_float() => ConstValue::Float(0.0),
                    _ => ConstValue::Int(0),
                };
                self.const_value(zero, dtype)
            }
            Some((op, vs)) => {
                let want = Type::Scalar(dtype);
                match self.conform_to(op, vs, &want, |lw, got| {
                    let mut d = lw.mismatch_diag(&want, got, vs, vs, "the dtype argument");
                    d.labels.truncate(1);
                    if !got.is_scalar() {
                        d = d.with_help("`full` takes a scalar value; to convert a tile use `as`");
                    }
                    d
                }) {
                    Operand::Value(v) => v,
                    _ => return Operand::Error,
                }
            }
        };
        let ty = Type::tile(dtype, shape);
        Operand::Value(self.emit(InstData::Splat { arg: scalar }, ty))
    }

    fn arange(&mut self, n: Option<&Expr>, span: Span) -> Operand {
        let Some(e) = n else {
            return Operand::Error;
        };
        let Some(n) = self.const_int(e, "the length of `arange`") else {
            return Operand::Error;
        };
        let Some(shape) = self.check_shape(&[n], span) else {
            return Operand::Error;
        };
        Operand::Value(self.emit(InstData::Iota { axis: 0 }, Type::tile(DType::I32, shape)))
    }

    fn iota(&mut self, shape: Option<&Expr>, axis: Option<&Expr>, _span: Span) -> Operand {
        let shape = shape.and_then(|e| self.shape_arg(e));
        let (Some(shape), Some(ax)) = (shape, axis) else {
            if let Some(a) = axis {
                self.lower_expr(a);
            }
            return Operand::Error;
        };
        let what = format!("a tile of rank {}", shape.len());
        let Some(axis) = self.axis_arg(ax, shape.len(), &what) else {
            return Operand::Error;
        };
        Operand::Value(self.emit(InstData::Iota { axis }, Type::tile(DType::I32, shape)))
    }

    // ----- dot, transpose -----

    fn dot(
        &mut self,
        a: Option<&Expr>,
        b: Option<&Expr>,
        acc: Option<&Expr>,
        span: Span,
    ) -> Operand {
        let a = self.arg_value(a, None);
        let b = self.arg_value(b, None);
        let acc_op = acc.map(|e| (self.lower_expr(e), e.span));
        let (Some((a, sa)), Some((b, sb))) = (a, b) else {
            return Operand::Error;
        };
        let (ta, tb) = (self.ty(a).clone(), self.ty(b).clone());
        let (txa, txb) = (
            type_text(&ta, &self.k.symbols),
            type_text(&tb, &self.k.symbols),
        );
        // Shapes: a [M, K], b [K, N].
        let (m, ka, kb, n) = match (ta.shape(), tb.shape()) {
            (Some(&[m, ka]), Some(&[kb, n])) => (m, ka, kb, n),
            _ => {
                let (bad, bad_span, txt) = if ta.shape().map(<[u32]>::len) != Some(2) {
                    ("a", sa, &txa)
                } else {
                    ("b", sb, &txb)
                };
                self.error(
                    Diagnostic::error(
                        "tilec::dot_shape",
                        format!("`dot` needs rank-2 tiles, but `{bad}` is `{txt}`"),
                        bad_span,
                        "not a rank-2 tile",
                    )
                    .with_help("`dot(a, b)` multiplies a [M, K] tile by a [K, N] tile; use `expand_dims` to make a matrix"),
                );
                return Operand::Error;
            }
        };
        if ka != kb {
            self.error(
                Diagnostic::error(
                    "tilec::dot_shape",
                    format!("`dot` inner dims differ: `a` is [M={m}, K={ka}] but `b` is [K={kb}, N={n}]"),
                    sb,
                    format!("K = {kb} here"),
                )
                .with_label(sa, format!("K = {ka} here"))
                .with_help(if ka == n {
                    "did you mean to transpose `b`? `dot(a, transpose(b))`".to_string()
                } else {
                    "the columns of `a` must equal the rows of `b`".to_string()
                }),
            );
            return Operand::Error;
        }
        let (da, db) = (ta.dtype(), tb.dtype());
        let ok_dtype = |d: DType| matches!(d, DType::F16 | DType::BF16);
        if da != db || !ok_dtype(da) {
            let (bad_span, bad) = if !ok_dtype(da) { (sa, da) } else { (sb, db) };
            let help = if ok_dtype(da) && ok_dtype(db) {
                format!("cast one operand: `b as {}`", dtype_name(da))
            } else {
                "convert the operands with `as f16` (or `as bf16`); the result is f32".to_string()
            };
            self.error(
                Diagnostic::error(
                    "tilec::dot_dtype",
                    format!(
                        "`dot` takes two f16 or two bf16 tiles, not `{}` and `{}`",
                        dtype_name(da),
                        dtype_name(db)
                    ),
                    bad_span,
                    format!("this is `{}`", dtype_name(bad)),
                )
                .with_help(help),
            );
            return Operand::Error;
        }
        let mut bad = Vec::new();
        if m % 16 != 0 {
            bad.push(format!("M = {m} is not a multiple of 16"));
        }
        if n % 8 != 0 {
            bad.push(format!("N = {n} is not a multiple of 8"));
        }
        if ka % 16 != 0 {
            bad.push(format!("K = {ka} is not a multiple of 16"));
        }
        if !bad.is_empty() {
            self.error(
                Diagnostic::error(
                    "tilec::dot_tile_size",
                    format!("`dot` of [{m}, {ka}] by [{kb}, {n}] does not fit the tensor cores"),
                    span,
                    bad.join("; "),
                )
                .with_help("`dot` needs M a multiple of 16, N of 8 and K of 16: use larger blocks"),
            );
            return Operand::Error;
        }
        let Some(shape) = self.check_shape(&[m as i64, n as i64], span) else {
            return Operand::Error;
        };
        let out_ty = Type::tile(DType::F32, shape);
        let acc_v = match acc_op {
            None => {
                let z = self.const_value(ConstValue::Float(0.0), DType::F32);
                self.reshape_to(z, out_ty.shape())
            }
            Some((op, s)) => {
                match self.conform_to(op, s, &out_ty, |lw, got| {
                    lw.mismatch_diag(&out_ty, got, s, span, "`dot`'s result")
                }) {
                    Operand::Value(v) => v,
                    _ => return Operand::Error,
                }
            }
        };
        Operand::Value(self.emit(
            InstData::Dot {
                args: [a, b, acc_v],
            },
            out_ty,
        ))
    }

    /// A tile argument: reports scalars.
    fn tile_arg(&mut self, e: Option<&Expr>, builtin: &str) -> Option<(Value, Span, TileType)> {
        let (v, s) = self.arg_value(e, None)?;
        match self.ty(v).clone() {
            Type::Tile(t) => Some((v, s, t)),
            other => {
                let shown = type_text(&other, &self.k.symbols);
                let help = match builtin {
                    "sum" | "max" | "min" => {
                        "a scalar needs no reduction: use it directly".to_string()
                    }
                    _ => format!("`{builtin}` works on tiles; make one with `full([N], x, dtype)`"),
                };
                self.error(
                    Diagnostic::error(
                        "tilec::expected_tile",
                        format!("`{builtin}` needs a tile, not a scalar"),
                        s,
                        format!("this is `{shown}`"),
                    )
                    .with_help(help),
                );
                None
            }
        }
    }

    fn transpose(&mut self, x: Option<&Expr>, _span: Span) -> Operand {
        let Some((v, s, t)) = self.tile_arg(x, "transpose") else {
            return Operand::Error;
        };
        let [r, c] = t.shape[..] else {
            self.error(
                Diagnostic::error(
                    "tilec::rank_mismatch",
                    "`transpose` needs a rank-2 tile",
                    s,
                    format!("this has rank {}", t.shape.len()),
                )
                .with_help("make it rank 2 first with `expand_dims(x, axis)`"),
            );
            return Operand::Error;
        };
        Operand::Value(self.emit(
            InstData::Transpose { arg: v },
            Type::tile(t.dtype, vec![c, r]),
        ))
    }

    // ----- element-wise builtins -----

    fn select(
        &mut self,
        c: Option<&Expr>,
        a: Option<&Expr>,
        b: Option<&Expr>,
        _span: Span,
    ) -> Operand {
        let (Some(ce), Some(ae), Some(be)) = (c, a, b) else {
            return Operand::Error;
        };
        let cop = self.lower_expr(ce);
        let aop = self.lower_expr(ae);
        let bop = self.lower_expr(be);
        let (Some(cd), Some(ad), Some(bd)) = (
            self.operand_dtype(cop, ce.span),
            self.operand_dtype(aop, ae.span),
            self.operand_dtype(bop, be.span),
        ) else {
            return Operand::Error;
        };
        if cd != OperandDType::Typed(DType::I1) {
            self.error(
                Diagnostic::error(
                    "tilec::dtype_mismatch",
                    "the condition of `where` must be bool",
                    ce.span,
                    "not a bool",
                )
                .with_help("compare to get a bool, e.g. `x > 0`"),
            );
            return Operand::Error;
        }
        let d = match common_dtype(
            "where",
            &Side {
                dtype: ad,
                span: ae.span,
            },
            &Side {
                dtype: bd,
                span: be.span,
            },
        ) {
            Ok(d) => d,
            Err(d) => {
                self.error(d);
                return Operand::Error;
            }
        };
        // Both literals: the float one decides.
        let d = d.or(match (aop, bop) {
            (Operand::Literal(ConstValue::Float(_)), _)
            | (_, Operand::Literal(ConstValue::Float(_))) => Some(DType::F32),
            _ => Some(DType::I32),
        });
        let cv = self.value_of(cop, ce.span, None);
        let av = self.value_of(aop, ae.span, d);
        let bv = self.value_of(bop, be.span, d);
        let (Some(cv), Some(av), Some(bv)) = (cv, av, bv) else {
            return Operand::Error;
        };
        let Some(shape) =
            self.broadcast_shape(&[(cv, ce.span), (av, ae.span), (bv, be.span)], "where")
        else {
            return Operand::Error;
        };
        let cv = self.reshape_to(cv, shape.as_deref());
        let av = self.reshape_to(av, shape.as_deref());
        let bv = self.reshape_to(bv, shape.as_deref());
        let ty = self.ty(av).clone();
        Operand::Value(self.emit(InstData::Select { args: [cv, av, bv] }, ty))
    }

    fn cast(&mut self, x: Option<&Expr>, dtype: Option<&Expr>, _span: Span) -> Operand {
        let op = x.map(|e| (self.lower_expr(e), e.span));
        let to = dtype.and_then(|e| self.dtype_arg(e));
        let (Some((op, s)), Some(to)) = (op, to) else {
            return Operand::Error;
        };
        match op {
            Operand::Literal(l) => match cast_literal(l, to, s) {
                Ok(c) => Operand::Const(c.value(), to),
                Err(d) => {
                    self.error(d);
                    Operand::Error
                }
            },
            Operand::Const(c, _) => Operand::Const(cast_const(c, to), to),
            other => {
                let Some(v) = self.value_of(other, s, None) else {
                    return Operand::Error;
                };
                let ty = self.ty(v).clone();
                if ty.dtype() == to {
                    return Operand::Value(v);
                }
                Operand::Value(self.emit(InstData::Cast { arg: v }, ty.with_dtype(to)))
            }
        }
    }

    fn math(&mut self, name: &str, x: Option<&Expr>, _span: Span) -> Operand {
        let Some(e) = x else {
            return Operand::Error;
        };
        let op = self.lower_expr(e);
        let dtype = match op {
            Operand::Literal(ConstValue::Int(_) | ConstValue::Float(_)) => Some(DType::F32),
            _ => None,
        };
        let Some(v) = self.value_of(op, e.span, dtype) else {
            return Operand::Error;
        };
        let ty = self.ty(v).clone();
        if !ty.dtype().is_float() {
            let shown = type_text(&ty, &self.k.symbols);
            self.error(
                Diagnostic::error(
                    "tilec::float_on_int",
                    format!(
                        "`{name}` needs a float operand, not `{}`",
                        dtype_name(ty.dtype())
                    ),
                    e.span,
                    format!("this is `{shown}`"),
                )
                .with_help(format!("cast with `as f32`: `{name}(x as f32)`")),
            );
            return Operand::Error;
        }
        let op = UnaryOp::from_name(name).unwrap_or(UnaryOp::Abs);
        Operand::Value(self.emit(InstData::Unary { op, arg: v }, ty))
    }

    fn elementwise_minmax(
        &mut self,
        name: &str,
        a: Option<&Expr>,
        b: &Expr,
        span: Span,
    ) -> Operand {
        let Some(a) = a else {
            return Operand::Error;
        };
        let (aop, bop) = (self.lower_expr(a), self.lower_expr(b));
        let (Some(ad), Some(bd)) = (
            self.operand_dtype(aop, a.span),
            self.operand_dtype(bop, b.span),
        ) else {
            return Operand::Error;
        };
        let d = match common_dtype(
            name,
            &Side {
                dtype: ad,
                span: a.span,
            },
            &Side {
                dtype: bd,
                span: b.span,
            },
        ) {
            Ok(d) => d,
            Err(d) => {
                self.error(d);
                return Operand::Error;
            }
        };
        if d == Some(DType::I1) {
            self.error(Diagnostic::error(
                "tilec::arith_on_bool",
                format!("`{name}` of bools"),
                span,
                "bool operands",
            ));
            return Operand::Error;
        }
        let bop_ir = if name == "max" {
            BinaryOp::Max
        } else {
            BinaryOp::Min
        };
        // Fold consts.
        let cv = |op: Operand| match op {
            Operand::Const(c, _) | Operand::Literal(c) => Some(c),
            _ => None,
        };
        if let (Some(x), Some(y)) = (cv(aop), cv(bop)) {
            let adapt = |lw: &mut Self, c: ConstValue, s: Span| match d {
                Some(d) => adapt_literal(c, d)
                    .map_err(|e| lw.error(literal_diag(e, c, d, s)))
                    .ok(),
                None => Some(c),
            };
            let (Some(x), Some(y)) = (adapt(self, x, a.span), adapt(self, y, b.span)) else {
                return Operand::Error;
            };
            return match fold_arith(bop_ir, x, y, d) {
                Ok(r) => match d {
                    Some(d) => Operand::Const(r, d),
                    None => Operand::Literal(r),
                },
                Err(e) => {
                    self.error(fold_diag(e, span));
                    Operand::Error
                }
            };
        }
        let (Some(av), Some(bv)) = (self.value_of(aop, a.span, d), self.value_of(bop, b.span, d))
        else {
            return Operand::Error;
        };
        let Some((av, bv)) = self.broadcast_pair(av, a.span, bv, b.span, name) else {
            return Operand::Error;
        };
        let ty = self.ty(av).clone();
        Operand::Value(self.emit(
            InstData::Binary {
                op: bop_ir,
                args: [av, bv],
            },
            ty,
        ))
    }

    fn reduce(&mut self, name: &str, x: Option<&Expr>, axis: Option<&Expr>, span: Span) -> Operand {
        let Some((v, s, t)) = self.tile_arg(x, name) else {
            if let Some(a) = axis {
                self.lower_expr(a);
            }
            return Operand::Error;
        };
        let axis = match axis {
            Some(a) => {
                let what = format!("a tile of rank {}", t.shape.len());
                match self.axis_arg(a, t.shape.len(), &what) {
                    Some(ax) => ax,
                    None => return Operand::Error,
                }
            }
            None if t.shape.len() == 1 => 0,
            None => {
                self.error(
                    Diagnostic::error(
                        "tilec::bad_axis",
                        format!("`{name}` of a rank-{} tile needs an axis", t.shape.len()),
                        span,
                        "which axis to reduce?",
                    )
                    .with_help(format!("write `{name}(x, axis = 1)` to reduce each row, `axis = 0` for each column")),
                );
                return Operand::Error;
            }
        };
        if t.dtype == DType::I1 {
            self.error(
                Diagnostic::error(
                    "tilec::arith_on_bool",
                    format!("`{name}` of a bool tile"),
                    s,
                    "this is bool",
                )
                .with_help("cast it first: `x as i32`"),
            );
            return Operand::Error;
        }
        let op = match name {
            "sum" => ReduceOp::Sum,
            "max" => ReduceOp::Max,
            _ => ReduceOp::Min,
        };
        let mut shape = t.shape.clone();
        shape.remove(axis as usize);
        let ty = if shape.is_empty() {
            Type::Scalar(t.dtype)
        } else {
            Type::tile(t.dtype, shape)
        };
        Operand::Value(self.emit(InstData::Reduce { op, arg: v, axis }, ty))
    }

    fn expand_dims(&mut self, x: Option<&Expr>, axis: Option<&Expr>, span: Span) -> Operand {
        let Some((v, _s)) = self.arg_value(x, None) else {
            if let Some(a) = axis {
                self.lower_expr(a);
            }
            return Operand::Error;
        };
        let Some(ax) = axis else {
            return Operand::Error;
        };
        let ty = self.ty(v).clone();
        let shape = ty.shape().map(<[u32]>::to_vec).unwrap_or_default();
        let what = format!("inserting a dim into rank {}", shape.len());
        let Some(axis) = self.axis_arg(ax, shape.len() + 1, &what) else {
            return Operand::Error;
        };
        let mut ext: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        ext.insert(axis as usize, 1);
        let Some(new_shape) = self.check_shape(&ext, span) else {
            return Operand::Error;
        };
        let out = Type::tile(ty.dtype(), new_shape);
        if ty.is_scalar() {
            return Operand::Value(self.emit(InstData::Splat { arg: v }, out));
        }
        Operand::Value(self.emit(InstData::ExpandDims { arg: v, axis }, out))
    }

    fn cdiv(&mut self, a: Option<&Expr>, b: Option<&Expr>, span: Span) -> Operand {
        let (Some(a), Some(b)) = (a, b) else {
            return Operand::Error;
        };
        let (aop, bop) = (self.lower_expr(a), self.lower_expr(b));
        let (Some(ad), Some(bd)) = (
            self.operand_dtype(aop, a.span),
            self.operand_dtype(bop, b.span),
        ) else {
            return Operand::Error;
        };
        let sides = (
            Side {
                dtype: ad,
                span: a.span,
            },
            Side {
                dtype: bd,
                span: b.span,
            },
        );
        let d = match common_dtype("cdiv", &sides.0, &sides.1) {
            Ok(d) => d,
            Err(d) => {
                self.error(d);
                return Operand::Error;
            }
        };
        let is_int = match d {
            Some(d) => d.is_int(),
            None => matches!(
                (aop, bop),
                (
                    Operand::Literal(ConstValue::Int(_)),
                    Operand::Literal(ConstValue::Int(_))
                )
            ),
        };
        if !is_int {
            self.error(
                Diagnostic::error(
                    "tilec::dtype_mismatch",
                    "`cdiv` needs integer operands",
                    span,
                    "not integers",
                )
                .with_help("cast with `as i32`"),
            );
            return Operand::Error;
        }
        let cint = |op: Operand| match op {
            Operand::Const(ConstValue::Int(i), _) | Operand::Literal(ConstValue::Int(i)) => Some(i),
            _ => None,
        };
        if let (Some(x), Some(y)) = (cint(aop), cint(bop)) {
            if let Some(d) = d {
                for (c, s) in [(x, a.span), (y, b.span)] {
                    if let Err(e) = adapt_literal(ConstValue::Int(c), d) {
                        self.error(literal_diag(e, ConstValue::Int(c), d, s));
                        return Operand::Error;
                    }
                }
            }
            return match fold_cdiv(x, y, d) {
                Ok(r) => match d {
                    Some(d) => Operand::Const(ConstValue::Int(r), d),
                    None => Operand::Literal(ConstValue::Int(r)),
                },
                Err(e) => {
                    self.error(fold_diag(e, span));
                    Operand::Error
                }
            };
        }
        let (Some(av), Some(bv)) = (self.value_of(aop, a.span, d), self.value_of(bop, b.span, d))
        else {
            return Operand::Error;
        };
        let Some((av, bv)) = self.broadcast_pair(av, a.span, bv, b.span, "cdiv") else {
            return Operand::Error;
        };
        let ty = self.ty(av).clone();
        let dt = ty.dtype();
        let one = self.const_value(ConstValue::Int(1), dt);
        let one = self.reshape_to(one, ty.shape());
        let bm1 = self.emit(
            InstData::Binary {
                op: BinaryOp::Sub,
                args: [bv, one],
            },
            ty.clone(),
        );
        let sum = self.emit(
            InstData::Binary {
                op: BinaryOp::Add,
                args: [av, bm1],
            },
            ty.clone(),
        );
        Operand::Value(self.emit(
            InstData::Binary {
                op: BinaryOp::Div,
                args: [sum, bv],
            },
            ty,
        ))
    }
}
