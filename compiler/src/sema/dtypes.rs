//! Dtype names: resolving a name written where a dtype is expected (a dtype keyword, or a
//! dtype const such as `DTYPE` in `const DTYPE: dtype = f16`), and the diagnostics for names
//! that are not dtypes and for dtype consts used as numbers.
//!
//! A dtype const is a kernel-level name (`Global::DTypeConst`); a `let` variable never names
//! a dtype, so only kernel-level names are consulted here.

use super::env::{did_you_mean, Global, GlobalEntry};
use super::types::{dtype_name, source_dtype, SOURCE_DTYPES};
use crate::diagnostics::Diagnostic;
use crate::ir::DType;
use crate::syntax::ast::{DTypeName, Span};
use std::collections::HashMap;

/// The type word of a dtype const: `const DTYPE: dtype = f16`.
pub const DTYPE_KEYWORD: &str = "dtype";

/// Resolves a dtype name against the dtype keywords and the kernel-level names in `globals`.
/// `Err(None)`: the name is a parameter whose declaration failed (already reported).
pub fn resolve_dtype(
    globals: &HashMap<String, GlobalEntry>,
    name: &DTypeName,
) -> Result<DType, Option<Diagnostic>> {
    if let Some(d) = source_dtype(&name.name) {
        return Ok(d);
    }
    let Some(entry) = globals.get(&name.name) else {
        return Err(Some(unknown_dtype_diag(name, &dtype_const_names(globals))));
    };
    let what = match &entry.global {
        Global::DTypeConst { value } => return Ok(*value),
        Global::Error => return Err(None),
        Global::Const { dtype, .. } => {
            return Err(Some(number_const_as_dtype_diag(
                &name.name, *dtype, name.span, entry.span,
            )))
        }
        Global::Tensor { .. } => "a tensor",
        Global::Scalar { .. } => "a runtime scalar",
        Global::Symbol { .. } => "a shape symbol",
    };
    Err(Some(
        Diagnostic::error(
            "tilec::expected_dtype",
            format!("`{}` is {what}, not a dtype", name.name),
            name.span,
            "expected a dtype",
        )
        .with_label(entry.span, "declared here")
        .with_help(dtypes_help(&dtype_const_names(globals))),
    ))
}

/// The names of the dtype consts among `globals`, sorted.
fn dtype_const_names(globals: &HashMap<String, GlobalEntry>) -> Vec<&str> {
    let mut names: Vec<&str> = globals
        .iter()
        .filter(|(_, g)| matches!(g.global, Global::DTypeConst { .. }))
        .map(|(n, _)| n.as_str())
        .collect();
    names.sort_unstable();
    names
}

fn dtypes_help(consts: &[&str]) -> String {
    let mut help = format!("the dtypes are {}", SOURCE_DTYPES.join(", "));
    if !consts.is_empty() {
        help.push_str(&format!(", and the dtype consts {}", consts.join(", ")));
    }
    help
}

/// The diagnostic for a name in a dtype position that is neither a dtype nor a known name;
/// `dtype_consts` are the dtype consts in scope, for suggestions.
pub fn unknown_dtype_diag(name: &DTypeName, dtype_consts: &[&str]) -> Diagnostic {
    let d = Diagnostic::error(
        "tilec::unknown_dtype",
        format!("unknown dtype `{}`", name.name),
        name.span,
        "not a dtype",
    );
    let candidates = SOURCE_DTYPES
        .iter()
        .copied()
        .chain(dtype_consts.iter().copied());
    match did_you_mean(&name.name, candidates) {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None => d.with_help(dtypes_help(dtype_consts)),
    }
}

/// A number or bool const (`const BLOCK: i32`) written where a dtype is expected.
pub fn number_const_as_dtype_diag(name: &str, dtype: DType, span: Span, decl: Span) -> Diagnostic {
    Diagnostic::error(
        "tilec::expected_dtype",
        format!(
            "`{name}` is a const of type `{}`, not a dtype",
            dtype_name(dtype)
        ),
        span,
        "expected a dtype",
    )
    .with_label(decl, "declared here")
    .with_help(format!(
        "to choose a dtype with a const, declare it `const {name}: dtype = f16`"
    ))
}

/// A dtype const (`const DTYPE: dtype = f16`) used where a number is expected.
pub fn dtype_const_as_number_diag(name: &str, value: DType, span: Span, decl: Span) -> Diagnostic {
    Diagnostic::error(
        "tilec::dtype_as_value",
        format!(
            "the dtype const `{name}` (= {}) used as a value",
            dtype_name(value)
        ),
        span,
        "a dtype, not a number",
    )
    .with_label(decl, "declared as a dtype here")
    .with_help(format!(
        "a dtype const names an element type: `x as {name}`, `zeros([..], {name})`, `&{name}[..]`"
    ))
}
