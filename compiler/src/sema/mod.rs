//! Semantic analysis and lowering: AST to tile IR.
//!
//! Resolves names, evaluates const expressions with the chosen const values, checks dtypes,
//! tile shapes, broadcasting and `dot` rules, and emits tile IR for one kernel. Errors are
//! collected as diagnostics, several per run where the analysis can go on.

use crate::diagnostics::Diagnostic;
use crate::ir::{ConstValue, DType, Kernel};
use crate::syntax::ast;

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
    pub dtype: DType,
    pub default: Option<ConstValue>,
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
pub fn lower_kernel(
    module: &ast::Module,
    name: Option<&str>,
    overrides: &ConstOverrides,
) -> Result<LoweredKernel, Vec<Diagnostic>> {
    let _ = (module, name, overrides);
    unimplemented!("sema: owned by the semantic-analysis work")
}

/// Lowers every kernel of `module`, collecting all diagnostics (what `tilec check` reports).
pub fn check_module(module: &ast::Module, overrides: &ConstOverrides) -> Vec<Diagnostic> {
    let _ = (module, overrides);
    unimplemented!("sema: owned by the semantic-analysis work")
}
