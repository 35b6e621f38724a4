//! A kernel's header: its parameters (tensors with their dims and shape symbols, runtime
//! scalars, consts), the value each const takes (a `-D` override, else its default), and the
//! `tune` section. A dtype const (`const DTYPE: dtype = f16`) takes a dtype as its value.

use super::builder::{Lowerer, SymbolInfo, TensorParam};
use super::consts::{conform, conform_override, eval_header_const, CVal, HeaderName};
use super::dtypes::{resolve_dtype, DTYPE_KEYWORD};
use super::env::{did_you_mean, Global, GlobalEntry};
use super::types::{dtype_name, is_power_of_two, source_dtype, SOURCE_DTYPES};
use super::{ConstOverrides, ConstParam, ConstType, TuneAxis};
use crate::diagnostics::Diagnostic;
use crate::ir::{ConstValue, DType, Dim, TensorType, Type};
use crate::syntax::ast::{DTypeName, Expr, ExprKind, Ident, Param, ParamKind, Span};

/// What the header contributes to [`super::LoweredKernel`].
pub struct Header {
    pub const_params: Vec<ConstParam>,
    pub tune: Vec<TuneAxis>,
}

/// The launch options a `tune` section may name besides consts.
pub const LAUNCH_OPTIONS: [&str; 2] = ["num_warps", "num_stages"];

pub fn unknown_override_diag(name: &str, span: Span, consts: &[&str]) -> Diagnostic {
    let d = Diagnostic::error(
        "tilec::unknown_override",
        format!("`-D {name}=..` names no const parameter"),
        span,
        "this kernel has no const of that name",
    );
    match did_you_mean(name, consts.iter().copied()) {
        Some(s) => d.with_help(format!("did you mean `-D {s}=..`?")),
        None if consts.is_empty() => d.with_help("this kernel declares no const parameters"),
        None => d.with_help(format!("the consts are: {}", consts.join(", "))),
    }
}

/// Resolves a dtype written in a parameter (a dtype keyword or a dtype const declared
/// before), reporting names that are not dtypes.
fn param_dtype(lw: &mut Lowerer, name: &DTypeName) -> Option<DType> {
    match resolve_dtype(&lw.env.globals, name) {
        Ok(d) => Some(d),
        Err(diag) => {
            if let Some(diag) = diag {
                lw.error(diag);
            }
            None
        }
    }
}

/// The declared type of a const parameter: `dtype`, or a scalar dtype.
fn const_type(lw: &mut Lowerer, ty: &DTypeName) -> Option<ConstType> {
    if ty.name == DTYPE_KEYWORD {
        return Some(ConstType::DType);
    }
    let dtype = param_dtype(lw, ty)?;
    if matches!(dtype, DType::F16 | DType::BF16) {
        lw.error(
            Diagnostic::error(
                "tilec::bad_const_type",
                format!("a const parameter cannot be `{}`", dtype_name(dtype)),
                ty.span,
                "not allowed for consts",
            )
            .with_help("const parameters are `i32`, `i64`, `bool`, `f32` or `dtype`"),
        );
    }
    Some(ConstType::Scalar(dtype))
}

/// The default of a dtype const: a dtype keyword or a dtype const declared before.
fn dtype_default(lw: &Lowerer, e: &Expr) -> Result<ConstValue, Option<Diagnostic>> {
    let name = match &e.kind {
        ExprKind::DType(name) => name.clone(),
        ExprKind::Name(id) => DTypeName {
            name: id.name.clone(),
            span: id.span,
        },
        _ => return Err(Some(not_a_dtype_value(e.span))),
    };
    resolve_dtype(&lw.env.globals, &name).map(ConstValue::DType)
}

/// A tune candidate of a dtype const: a dtype keyword.
fn dtype_candidate(e: &Expr) -> Result<ConstValue, Diagnostic> {
    match &e.kind {
        ExprKind::DType(name) => source_dtype(&name.name)
            .map(ConstValue::DType)
            .ok_or_else(|| not_a_dtype_value(e.span)),
        _ => Err(not_a_dtype_value(e.span)),
    }
}

fn not_a_dtype_value(span: Span) -> Diagnostic {
    Diagnostic::error(
        "tilec::expected_dtype",
        "the value of a dtype const must be a dtype",
        span,
        "not a dtype",
    )
    .with_help(format!("write one of {}", SOURCE_DTYPES.join(", ")))
}

/// The value of `-D NAME=VALUE` for a const of type `ty`, or `None` when it does not fit.
fn conform_override_to(v: ConstValue, ty: ConstType) -> Option<ConstValue> {
    match ty {
        ConstType::Scalar(d) => conform_override(v, d),
        ConstType::DType => v.as_dtype().map(ConstValue::DType),
    }
}

/// An override value as the user wrote it (`bool`, not the IR's `i1`).
fn override_text(v: ConstValue) -> String {
    match v {
        ConstValue::DType(d) => dtype_name(d).to_string(),
        other => other.to_string(),
    }
}

/// How header const expressions see names: consts known so far, other parameters and shape
/// symbols as runtime values.
fn header_lookup<'p>(lw: &'p Lowerer, params: &'p [Param]) -> impl Fn(&Ident) -> HeaderName + 'p {
    move |id: &Ident| match lw.env.globals.get(&id.name) {
        Some(GlobalEntry {
            global: Global::Const { value, dtype },
            ..
        }) => HeaderName::Const(*value, *dtype),
        Some(GlobalEntry {
            global: Global::DTypeConst { value },
            span,
        }) => HeaderName::DType(*value, *span),
        Some(GlobalEntry {
            global: Global::Symbol { .. },
            span,
        }) => HeaderName::Runtime {
            what: "a shape symbol".into(),
            def: *span,
        },
        _ => match params.iter().find(|p| p.name.name == id.name) {
            Some(p) => HeaderName::Runtime {
                what: match p.kind {
                    ParamKind::Const { .. } => "a const declared later".into(),
                    _ => "a runtime parameter".into(),
                },
                def: p.name.span,
            },
            None => HeaderName::Unknown,
        },
    }
}

pub fn lower_header(lw: &mut Lowerer, overrides: &ConstOverrides, strict: bool) -> Header {
    let ast = lw.ast;
    let params: Vec<&Param> = unique_params(lw, &ast.params);
    let all_params = ast.params.as_slice();

    // Tune candidates are plain literals (they cannot depend on the consts they choose).
    let tune_values: Vec<Vec<Result<CVal, Diagnostic>>> = ast
        .tune
        .iter()
        .flat_map(|t| &t.entries)
        .map(|e| {
            e.values
                .iter()
                .map(|v| eval_header_const(v, &|_| HeaderName::Unknown))
                .collect()
        })
        .collect();

    // Consts, in source order (a default may use the consts declared before it).
    let mut const_params = Vec::new();
    let mut tune_axes = Vec::new();
    for p in &params {
        let ParamKind::Const { ty, default } = &p.kind else {
            continue;
        };
        let dtype = const_type(lw, ty);
        let default_value = match (default, dtype) {
            (Some(e), Some(ConstType::Scalar(d))) => {
                let r = eval_header_const(e, &header_lookup(lw, all_params))
                    .and_then(|v| conform(v, d, e.span));
                match r {
                    Ok(v) => Some(v),
                    Err(diag) => {
                        lw.error(diag);
                        None
                    }
                }
            }
            (Some(e), Some(ConstType::DType)) => match dtype_default(lw, e) {
                Ok(v) => Some(v),
                Err(diag) => {
                    if let Some(diag) = diag {
                        lw.error(diag);
                    }
                    None
                }
            },
            _ => None,
        };
        let over = overrides
            .values
            .iter()
            .rev()
            .find(|(n, _)| *n == p.name.name)
            .map(|(_, v)| *v);
        let over_value = match (over, dtype) {
            (Some(v), Some(d)) => match conform_override_to(v, d) {
                Some(c) => Some(c),
                None => {
                    let ty_text = match d {
                        ConstType::Scalar(d) => dtype_name(d),
                        ConstType::DType => DTYPE_KEYWORD,
                    };
                    let help = match d {
                        ConstType::Scalar(d) => format!("pass a `{}` value", dtype_name(d)),
                        ConstType::DType => {
                            format!("pass a dtype name: {}", SOURCE_DTYPES.join(", "))
                        }
                    };
                    lw.error(
                        Diagnostic::error(
                            "tilec::bad_override",
                            format!(
                                "`-D {}={}` does not fit the const's type `{ty_text}`",
                                p.name.name,
                                override_text(v),
                            ),
                            p.span,
                            format!("declared as `{ty_text}` here"),
                        )
                        .with_help(help),
                    );
                    None
                }
            },
            _ => None,
        };
        let chosen = over_value.or(default_value);
        let failed_before = over.is_some() || default.is_some();
        if chosen.is_none() && !failed_before && dtype.is_some() {
            lw.error(
                Diagnostic::error(
                    "tilec::missing_const_value",
                    format!("the const `{}` has no value", p.name.name),
                    p.span,
                    "no default here",
                )
                .with_help(format!(
                    "give it a default (`const {}: {} = ..`) or pass `-D {}=VALUE`",
                    p.name.name, ty.name, p.name.name
                )),
            );
        }
        let global = match (chosen, dtype) {
            (Some(ConstValue::DType(value)), Some(ConstType::DType)) => {
                lw.k.consts
                    .push((p.name.name.clone(), ConstValue::DType(value)));
                Global::DTypeConst { value }
            }
            (Some(value), Some(ConstType::Scalar(dtype))) => {
                lw.k.consts.push((p.name.name.clone(), value));
                Global::Const { value, dtype }
            }
            _ => Global::Error,
        };
        lw.env.globals.insert(
            p.name.name.clone(),
            GlobalEntry {
                global,
                span: p.name.span,
            },
        );
        if let Some(dtype) = dtype {
            const_params.push(ConstParam {
                name: p.name.name.clone(),
                dtype,
                default: default_value,
            });
        }
    }

    if strict {
        let consts: Vec<&str> = const_params.iter().map(|c| c.name.as_str()).collect();
        for (name, _) in &overrides.values {
            // The autotuner may pass its launch options along with the consts.
            if !consts.contains(&name.as_str()) && !LAUNCH_OPTIONS.contains(&name.as_str()) {
                lw.error(unknown_override_diag(name, ast.name.span, &consts));
            }
        }
    }

    // Tensors and runtime scalars, in source order.
    for p in &params {
        match &p.kind {
            ParamKind::Const { .. } => {}
            ParamKind::Scalar { ty } => {
                let d = param_dtype(lw, ty);
                let value =
                    lw.k.add_param(p.name.name.clone(), Type::Scalar(d.unwrap_or(DType::I32)));
                let global = if d.is_some() {
                    Global::Scalar { value }
                } else {
                    Global::Error
                };
                lw.env.globals.insert(
                    p.name.name.clone(),
                    GlobalEntry {
                        global,
                        span: p.name.span,
                    },
                );
            }
            ParamKind::Tensor {
                mutable,
                dtype,
                dims,
            } => lower_tensor_param(lw, p, *mutable, dtype, dims, all_params),
        }
    }

    // The tune section.
    if let Some(tune) = &ast.tune {
        let mut seen: Vec<&Ident> = Vec::new();
        for (entry, values) in tune.entries.iter().zip(tune_values) {
            if let Some(first) = seen.iter().find(|s| s.name == entry.name.name) {
                lw.error(
                    Diagnostic::error(
                        "tilec::duplicate_name",
                        format!("`{}` is tuned twice", entry.name.name),
                        entry.name.span,
                        "tuned again here",
                    )
                    .with_label(first.span, "first tuned here")
                    .with_help("merge the candidate lists"),
                );
                continue;
            }
            seen.push(&entry.name);
            let name = entry.name.name.as_str();
            let const_dtype = const_params
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.dtype);
            if const_dtype.is_none() && !LAUNCH_OPTIONS.contains(&name) {
                let known_const = params
                    .iter()
                    .any(|p| p.name.name == name && matches!(p.kind, ParamKind::Const { .. }));
                if known_const {
                    continue; // its dtype was bad: already reported
                }
                let candidates: Vec<&str> = const_params
                    .iter()
                    .map(|c| c.name.as_str())
                    .chain(LAUNCH_OPTIONS)
                    .collect();
                let mut d = Diagnostic::error(
                    "tilec::tune_unknown_name",
                    format!("`tune` names `{name}`, which is neither a const nor a launch option"),
                    entry.name.span,
                    "unknown tuning knob",
                );
                d = match did_you_mean(name, candidates.iter().copied()) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!(
                        "tune const parameters or `num_warps` / `num_stages`; here: {}",
                        candidates.join(", ")
                    )),
                };
                lw.error(d);
                continue;
            }
            if entry.values.is_empty() {
                lw.error(
                    Diagnostic::error(
                        "tilec::tune_empty",
                        format!("`{name}` has no candidate values"),
                        entry.span,
                        "empty list",
                    )
                    .with_help(format!("list the values to try, e.g. `{name}: [64, 128]`")),
                );
                continue;
            }
            let mut out = Vec::new();
            for (expr, v) in entry.values.iter().zip(values) {
                let r = match const_dtype {
                    Some(ConstType::DType) => dtype_candidate(expr),
                    Some(ConstType::Scalar(d)) => v.and_then(|v| conform(v, d, expr.span)),
                    None => v.and_then(|v| launch_option_value(name, v, expr.span)),
                };
                match r {
                    Ok(c) => out.push(c),
                    Err(d) => lw.error(d),
                }
            }
            tune_axes.push(TuneAxis {
                name: name.to_string(),
                values: out,
            });
        }
    }

    Header {
        const_params,
        tune: tune_axes,
    }
}

/// A `num_warps` (a power of two up to 32) or `num_stages` (at least 1) candidate.
fn launch_option_value(name: &str, v: CVal, span: Span) -> Result<ConstValue, Diagnostic> {
    let n = v.as_int();
    let ok = match (name, n) {
        ("num_warps", Some(n)) => is_power_of_two(n) && n <= 32,
        (_, Some(n)) => (1..=16).contains(&n),
        _ => false,
    };
    if ok {
        Ok(ConstValue::Int(n.unwrap_or(1)))
    } else {
        let want = if name == "num_warps" {
            "a power of two from 1 to 32"
        } else {
            "an integer from 1 to 16"
        };
        Err(Diagnostic::error(
            "tilec::bad_tune_value",
            format!("bad `{name}` candidate"),
            span,
            format!("expected {want}"),
        ))
    }
}

/// Parameters with duplicates reported and dropped (the first declaration wins).
fn unique_params<'p>(lw: &mut Lowerer, params: &'p [Param]) -> Vec<&'p Param> {
    let mut out: Vec<&Param> = Vec::new();
    for p in params {
        if let Some(first) = out.iter().find(|q| q.name.name == p.name.name) {
            lw.error(
                Diagnostic::error(
                    "tilec::duplicate_name",
                    format!("the parameter `{}` is declared twice", p.name.name),
                    p.name.span,
                    "declared again here",
                )
                .with_label(first.name.span, "first declared here")
                .with_help("rename one of them"),
            );
        } else {
            out.push(p);
        }
    }
    out
}

fn lower_tensor_param(
    lw: &mut Lowerer,
    p: &Param,
    mutable: bool,
    dtype: &DTypeName,
    dims: &[crate::syntax::ast::Expr],
    all_params: &[Param],
) {
    let d = param_dtype(lw, dtype);
    let mut ok = d.is_some();
    if dims.len() > u8::MAX as usize {
        lw.error(Diagnostic::error(
            "tilec::bad_dim",
            "too many tensor dims",
            p.span,
            format!("{} dims", dims.len()),
        ));
        ok = false;
    }
    let mut ir_dims = Vec::new();
    // Symbols this tensor introduces: (symbol index, dim); read from this tensor.
    let mut new_symbols = Vec::new();
    for (i, e) in dims.iter().enumerate() {
        if let ExprKind::Name(id) = &e.kind {
            let known = lw.env.globals.get(&id.name).map(|g| g.global.clone());
            let is_param = all_params.iter().any(|q| q.name.name == id.name);
            match known {
                Some(Global::Symbol { index }) => {
                    ir_dims.push(Dim::Sym(index as u32));
                    continue;
                }
                None if !is_param => {
                    let index = lw.k.symbols.len();
                    lw.k.symbols.push(id.name.clone());
                    lw.env.globals.insert(
                        id.name.clone(),
                        GlobalEntry {
                            global: Global::Symbol { index },
                            span: id.span,
                        },
                    );
                    new_symbols.push((index, i));
                    ir_dims.push(Dim::Sym(index as u32));
                    continue;
                }
                Some(Global::Error) => {
                    ok = false;
                    ir_dims.push(Dim::Const(1));
                    continue;
                }
                _ => {} // a const, or a runtime parameter: the const evaluator explains
            }
        }
        let r = eval_header_const(e, &header_lookup(lw, all_params));
        match r {
            Ok(v) => match v.as_int() {
                Some(n) if n >= 1 && n <= u32::MAX as i64 => ir_dims.push(Dim::Const(n as u32)),
                _ => {
                    lw.error(
                        Diagnostic::error(
                            "tilec::bad_dim",
                            "a tensor dim must be a positive integer",
                            e.span,
                            format!("this is {}", v.value()),
                        )
                        .with_help("write a const expression, or a name for a runtime size"),
                    );
                    ok = false;
                    ir_dims.push(Dim::Const(1));
                }
            },
            Err(diag) => {
                lw.error(diag);
                ok = false;
                ir_dims.push(Dim::Const(1));
            }
        }
    }
    let ty = TensorType {
        dtype: d.unwrap_or(DType::F32),
        dims: ir_dims,
        mutable,
    };
    let value =
        lw.k.add_param(p.name.name.clone(), Type::Tensor(ty.clone()));
    for (index, dim) in new_symbols {
        // Symbols are pushed in index order, so this keeps `symbols[i]` for symbol `i`.
        debug_assert_eq!(lw.symbols.len(), index);
        lw.symbols.push(SymbolInfo {
            tensor: value,
            dim: dim as u8,
            value: None,
        });
    }
    let index = lw.tensors.len();
    lw.tensors.push(TensorParam {
        name: p.name.name.clone(),
        value,
        ty,
        span: p.span,
    });
    let global = if ok {
        Global::Tensor { index, value }
    } else {
        Global::Error
    };
    lw.env.globals.insert(
        p.name.name.clone(),
        GlobalEntry {
            global,
            span: p.name.span,
        },
    );
}
