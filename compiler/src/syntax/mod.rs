//! Syntax: source text to [`ast::Module`].
//!
//! * `lexer`: tokens, with logos.
//! * `grammar.lalrpop`: the grammar, compiled by lalrpop at build time.
//! * [`ast`]: the tree, with spans.

pub mod ast;

use crate::diagnostics::Diagnostic;

/// Parses a whole source file. Lexical and syntax errors come back as diagnostics (as many as
/// the parser can recover from); this never panics, whatever the input.
pub fn parse(source: &str) -> Result<ast::Module, Vec<Diagnostic>> {
    let _ = source;
    unimplemented!("parser: owned by the syntax work")
}
