//! Semantic analysis and lowering: AST to tile IR.
//!
//! Resolves names, evaluates const expressions with the chosen const values, checks dtypes,
//! tile shapes, broadcasting and `dot` rules, and emits tile IR for one kernel. Errors are
//! collected as diagnostics, several per run where the analysis can go on.
//!
//! * [`types`]: dtype/shape rules, literal adaptation; [`ops`]: operator dtype rules.
//! * [`consts`]: const folding and header const expressions; `header`: parameters, const
//!   values (overrides, defaults, tune), the tune section; `grid`: the launch grid.
//! * [`env`]: names and scopes; `builder`: the lowering state and IR emission helpers.
//! * `lower`: statements and expressions; `control`: `for` and `if`; `builtins`: the
//!   builtin functions; `slices`: tensor slices, `load` and `store`.

pub mod consts;
pub mod dtypes;
pub mod env;
pub mod ops;
pub mod types;

mod builder;
mod builtins;
mod control;
mod grid;
mod header;
mod lower;
mod slices;

use crate::diagnostics::Diagnostic;
use crate::ir::{ConstValue, DType, InstData, Kernel};
use crate::syntax::ast::{self, Span};
use builder::Lowerer;

/// Values for const parameters given on the command line (`-D NAME=VALUE`) or by the
/// autotuner, overriding the defaults in the source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConstOverrides {
    pub values: Vec<(String, ConstValue)>,
}

/// A const parameter as declared.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstParam {
    pub name: String,
    /// The declared type: a scalar dtype (`const BLOCK: i32`) or `dtype` (`const DTYPE: dtype`).
    pub dtype: ConstType,
    pub default: Option<ConstValue>,
}

/// The type of a const parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstType {
    /// A number or bool of this dtype; its values are `ConstValue::Int`, `Float` or `Bool`.
    Scalar(DType),
    /// A dtype const; its values are `ConstValue::DType`.
    DType,
}

impl std::fmt::Display for ConstType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConstType::Scalar(d) => write!(f, "{d}"),
            ConstType::DType => f.write_str(dtypes::DTYPE_KEYWORD),
        }
    }
}

/// One axis of the tuning space, from the kernel's `tune` section.
#[derive(Clone, Debug, PartialEq)]
pub struct TuneAxis {
    /// A const parameter name, or `num_warps` / `num_stages`.
    pub name: String,
    pub values: Vec<ConstValue>,
}

/// The result of lowering one kernel with one choice of consts.
#[derive(Clone, Debug)]
pub struct LoweredKernel {
    pub ir: Kernel,
    pub const_params: Vec<ConstParam>,
    pub tune: Vec<TuneAxis>,
}

/// Lowers kernel `name` (or the only kernel when `None`) of `module` with `overrides`.
/// An override naming no const of the kernel is an error.
pub fn lower_kernel(
    module: &ast::Module,
    name: Option<&str>,
    overrides: &ConstOverrides,
) -> Result<LoweredKernel, Vec<Diagnostic>> {
    let kernel = find_kernel(module, name).map_err(|d| vec![d])?;
    lower_one(kernel, overrides, true)
}

/// Lowers every kernel of `module` and returns all diagnostics (what `tilec check` prints).
/// An override is an error only if no kernel declares a const of that name.
pub fn check_module(module: &ast::Module, overrides: &ConstOverrides) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for (i, k) in module.kernels.iter().enumerate() {
        if let Some(first) = module.kernels[..i]
            .iter()
            .find(|o| o.name.name == k.name.name)
        {
            diags.push(
                Diagnostic::error(
                    "tilec::duplicate_name",
                    format!("the kernel `{}` is defined twice", k.name.name),
                    k.name.span,
                    "defined again here",
                )
                .with_label(first.name.span, "first defined here")
                .with_help("rename one of them"),
            );
        }
        if let Err(mut d) = lower_one(k, overrides, false) {
            diags.append(&mut d);
        }
    }
    for (name, _) in &overrides.values {
        let declared = module.kernels.iter().any(|k| {
            k.params
                .iter()
                .any(|p| p.name.name == *name && matches!(p.kind, ast::ParamKind::Const { .. }))
        });
        if !declared && !header::LAUNCH_OPTIONS.contains(&name.as_str()) {
            let span = module
                .kernels
                .first()
                .map_or(Span::default(), |k| k.name.span);
            let consts: Vec<&str> = module
                .kernels
                .iter()
                .flat_map(|k| &k.params)
                .filter(|p| matches!(p.kind, ast::ParamKind::Const { .. }))
                .map(|p| p.name.name.as_str())
                .collect();
            diags.push(header::unknown_override_diag(name, span, &consts));
        }
    }
    diags
}

fn find_kernel<'m>(
    module: &'m ast::Module,
    name: Option<&str>,
) -> Result<&'m ast::Kernel, Diagnostic> {
    let names: Vec<&str> = module
        .kernels
        .iter()
        .map(|k| k.name.name.as_str())
        .collect();
    match name {
        Some(n) => module
            .kernels
            .iter()
            .find(|k| k.name.name == n)
            .ok_or_else(|| {
                let mut d = Diagnostic::error(
                    "tilec::unknown_kernel",
                    format!("no kernel named `{n}` in this file"),
                    module
                        .kernels
                        .first()
                        .map_or(Span::default(), |k| k.name.span),
                    "",
                );
                d = match env::did_you_mean(n, names.iter().copied()) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!("the kernels here are: {}", names.join(", "))),
                };
                d
            }),
        None => match module.kernels.as_slice() {
            [k] => Ok(k),
            [] => Err(Diagnostic::error(
                "tilec::unknown_kernel",
                "this file defines no kernel",
                Span::default(),
                "",
            )
            .with_help("define one: `kernel name(..) grid [..] { .. }`")),
            [first, ..] => Err(Diagnostic::error(
                "tilec::unknown_kernel",
                format!(
                    "this file defines {} kernels; choose one",
                    module.kernels.len()
                ),
                first.name.span,
                "",
            )
            .with_help(format!("the kernels here are: {}", names.join(", ")))),
        },
    }
}

/// Lowers one kernel. `strict_overrides`: report overrides that name none of its consts.
fn lower_one(
    kernel: &ast::Kernel,
    overrides: &ConstOverrides,
    strict_overrides: bool,
) -> Result<LoweredKernel, Vec<Diagnostic>> {
    let mut lw = Lowerer::new(kernel);
    let hdr = header::lower_header(&mut lw, overrides, strict_overrides);
    grid::lower_grid(&mut lw);
    lw.env.push_scope();
    lw.lower_block_stmts(&kernel.body, false);
    lw.env.pop_scope();
    let entry = lw.k.entry;
    lw.k.append_inst(entry, InstData::Return, &[]);
    if lw.diags.is_empty() {
        Ok(LoweredKernel {
            ir: lw.k,
            const_params: hdr.const_params,
            tune: hdr.tune,
        })
    } else {
        let mut diags = lw.diags;
        diags.sort_by_key(|d| d.primary_span().start);
        Err(diags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_KERNELS: &str = "
kernel a(x: &f32[N], out: &mut f32[N], const BLOCK: i32 = 128)
grid [cdiv(N, BLOCK)]
tune { BLOCK: [64, 128], num_warps: [4, 8] }
{
    let i = program_id(0) * BLOCK;
    store(out[i ..+ BLOCK], load(x[i ..+ BLOCK]));
}
kernel b(x: &f32[N], out: &mut f32[N], const WIDTH: i32)
grid [1]
tune { WIDTH: [32, 64] }
{
    store(out[0 ..+ WIDTH], load(x[0 ..+ WIDTH]));
}
";

    fn overrides(values: &[(&str, ConstValue)]) -> ConstOverrides {
        ConstOverrides {
            values: values.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
        }
    }

    fn codes(diags: &[Diagnostic]) -> Vec<&'static str> {
        diags.iter().map(|d| d.code).collect()
    }

    #[test]
    fn overrides_specialize_and_unknown_names_are_errors() {
        let m = crate::syntax::parse(TWO_KERNELS).expect("parses");
        let k = lower_kernel(&m, Some("a"), &overrides(&[("BLOCK", ConstValue::Int(64))]))
            .expect("lowers");
        assert_eq!(
            k.ir.consts,
            vec![("BLOCK".to_string(), ConstValue::Int(64))]
        );
        assert_eq!(k.const_params[0].default, Some(ConstValue::Int(128)));
        assert_eq!(k.tune.len(), 2);
        // The autotuner may pass launch options along.
        let with_warps = overrides(&[("num_warps", ConstValue::Int(8))]);
        assert!(lower_kernel(&m, Some("a"), &with_warps).is_ok());
        let err = lower_kernel(&m, Some("a"), &overrides(&[("WIDTH", ConstValue::Int(8))]))
            .expect_err("WIDTH is not a const of `a`");
        assert_eq!(codes(&err), ["tilec::unknown_override"]);
    }

    #[test]
    fn check_module_accepts_an_override_that_some_kernel_declares() {
        let m = crate::syntax::parse(TWO_KERNELS).expect("parses");
        let width = ("WIDTH", ConstValue::Int(16));
        assert!(check_module(&m, &overrides(&[width])).is_empty());
        let d = check_module(&m, &overrides(&[width, ("DEPTH", ConstValue::Int(16))]));
        assert_eq!(codes(&d), ["tilec::unknown_override"]);
        let d = check_module(&m, &overrides(&[("WIDTH", ConstValue::Bool(true))]));
        assert_eq!(codes(&d), ["tilec::bad_override"]);
    }

    #[test]
    fn dtype_consts_specialize_tensors_and_take_dtype_overrides() {
        let src = "kernel c(x: &DTYPE[N], out: &mut f32[N], const DTYPE: dtype = f16)
                   grid [1] { store(out[0 ..+ 4], load(x[0 ..+ 4]) as f32); }";
        let m = crate::syntax::parse(src).expect("parses");
        let bf16 = ConstValue::DType(DType::BF16);
        let k = lower_kernel(&m, None, &overrides(&[("DTYPE", bf16)])).expect("lowers");
        assert_eq!(k.ir.const_value("DTYPE"), Some(bf16));
        assert_eq!(k.ir.value_type(k.ir.params[0].value).dtype(), DType::BF16);
        assert_eq!(k.const_params[0].dtype, ConstType::DType);
        assert_eq!(
            k.const_params[0].default,
            Some(ConstValue::DType(DType::F16))
        );
        let err = lower_kernel(&m, None, &overrides(&[("DTYPE", ConstValue::Int(16))]))
            .expect_err("a number is not a dtype");
        assert_eq!(codes(&err), ["tilec::bad_override"]);
    }

    #[test]
    fn a_const_without_default_needs_an_override() {
        let m = crate::syntax::parse(TWO_KERNELS).expect("parses");
        let err = lower_kernel(&m, Some("b"), &ConstOverrides::default()).expect_err("no WIDTH");
        assert_eq!(codes(&err), ["tilec::missing_const_value"]);
        let k = lower_kernel(&m, Some("b"), &overrides(&[("WIDTH", ConstValue::Int(32))]))
            .expect("lowers");
        assert_eq!(k.ir.const_value("WIDTH"), Some(ConstValue::Int(32)));
        let err = lower_kernel(&m, None, &ConstOverrides::default()).expect_err("two kernels");
        assert_eq!(codes(&err), ["tilec::unknown_kernel"]);
    }
}
