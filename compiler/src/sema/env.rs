//! Names in a kernel body: the kernel-level names (parameters, consts, shape symbols) and the
//! nested scopes of `let` variables, with their current values.
//!
//! A mutable variable's binding is updated in place by assignment; loops and runtime `if`s
//! save and restore these bindings to build loop-carried values and `if` results.

use crate::ir::{ConstValue, DType, Value};
use crate::syntax::ast::Span;
use std::collections::HashMap;

/// What an expression evaluates to during lowering.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Operand {
    /// An IR value (a scalar or a tile).
    Value(Value),
    /// A typed compile-time scalar: a const parameter or a folded const expression.
    Const(ConstValue, DType),
    /// An untyped numeric literal, which adapts to the dtype its context needs.
    Literal(ConstValue),
    /// A tensor parameter (index into `Lowerer::tensors`); usable only in slices.
    Tensor(usize),
    /// A dtype written as a value: `cast(x, f16)`, or a dtype const (`cast(x, DTYPE)`), then
    /// with the span of the const's declaration (for diagnostics).
    DType(DType, Option<Span>),
    /// The result of something that has no value (`store(..)`, an `if` statement).
    Unit,
    /// The result of an expression that had an error (already reported): everything built on
    /// it is an error too, silently, so one mistake gives one diagnostic.
    Error,
}

/// A kernel-level name.
#[derive(Clone, Debug)]
pub enum Global {
    /// Tensor parameter number `index` (index into `Lowerer::tensors`).
    Tensor {
        index: usize,
        value: Value,
    },
    /// A runtime scalar parameter.
    Scalar {
        value: Value,
    },
    Const {
        value: ConstValue,
        dtype: DType,
    },
    /// A dtype const (`const DTYPE: dtype = f16`) with its chosen dtype.
    DTypeConst {
        value: DType,
    },
    /// Shape symbol number `index` (into `Kernel::symbols`).
    Symbol {
        index: usize,
    },
    /// A parameter whose declaration had an error (already reported).
    Error,
}

/// A kernel-level name with the span that declared it.
#[derive(Clone, Debug)]
pub struct GlobalEntry {
    pub global: Global,
    pub span: Span,
}

/// A `let` variable.
#[derive(Clone, Debug)]
pub struct Var {
    pub name: String,
    pub mutable: bool,
    pub value: Operand,
    /// The `let` statement's name, for "declared here" labels.
    pub decl: Span,
}

/// Identifies a variable for in-place update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VarId {
    scope: usize,
    index: usize,
}

#[derive(Default)]
pub struct Env {
    pub globals: HashMap<String, GlobalEntry>,
    scopes: Vec<Vec<Var>>,
}

impl Env {
    pub fn push_scope(&mut self) {
        self.scopes.push(Vec::new());
    }

    pub fn pop_scope(&mut self) {
        self.scopes.pop();
    }

    /// Declares a variable in the innermost scope (shadowing any earlier one of that name).
    pub fn declare(&mut self, var: Var) {
        if self.scopes.is_empty() {
            self.push_scope();
        }
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(var);
        }
    }

    /// The innermost variable called `name`.
    pub fn lookup(&self, name: &str) -> Option<VarId> {
        for (scope, vars) in self.scopes.iter().enumerate().rev() {
            if let Some(index) = vars.iter().rposition(|v| v.name == name) {
                return Some(VarId { scope, index });
            }
        }
        None
    }

    pub fn var(&self, id: VarId) -> &Var {
        &self.scopes[id.scope][id.index]
    }

    pub fn set(&mut self, id: VarId, value: Operand) {
        self.scopes[id.scope][id.index].value = value;
    }

    /// Every name a user could have meant: variables in scope and kernel-level names.
    pub fn all_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .scopes
            .iter()
            .flatten()
            .map(|v| v.name.clone())
            .collect();
        names.extend(self.globals.keys().cloned());
        names.sort();
        names.dedup();
        names
    }
}

/// The Levenshtein distance between two names.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate to `name`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, c.len().abs_diff(name.len())))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("exp3", "exp2"), 1);
        assert_eq!(did_you_mean("exp3", ["exp", "exp2", "log"]), Some("exp2"));
        assert_eq!(did_you_mean("lod", ["load", "store"]), Some("load"));
        assert_eq!(did_you_mean("zzzz", ["load", "store"]), None);
    }
}
