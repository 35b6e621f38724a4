//! Syntax: source text to [`ast::Module`].
//!
//! * [`lexer`]: tokens, with logos; lexical errors.
//! * `grammar.lalrpop`: the grammar, compiled by lalrpop at build time; its actions use
//!   `builder` for AST construction and desugaring.
//! * `errors`: delimiter checks and the translation of parse errors into diagnostics.
//! * [`ast`]: the tree, with spans.

pub mod ast;
mod builder;
mod errors;
pub mod lexer;

#[cfg(test)]
mod tests;

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused)]
    grammar,
    "/syntax/grammar.rs"
);

use crate::diagnostics::Diagnostic;

/// Parses a whole source file. Lexical and syntax errors come back as diagnostics (as many as
/// the parser can recover from); this never panics, whatever the input.
pub fn parse(source: &str) -> Result<ast::Module, Vec<Diagnostic>> {
    let tokens = lexer::tokenize(source)?;
    if let Some(diagnostic) = errors::check_token_structure(&tokens, source.len()) {
        return Err(vec![diagnostic]);
    }
    let mut recovered = Vec::new();
    let result = grammar::ModuleParser::new().parse(&mut recovered, tokens.iter().cloned().map(Ok));
    let mut diagnostics = errors::recovered_errors(recovered, &tokens, source.len());
    let reliable = diagnostics.is_empty() || errors::recovery_was_clean(&diagnostics);
    match result {
        Ok(module) if diagnostics.is_empty() => Ok(module),
        Ok(_) => Err(diagnostics.into_iter().map(|(d, _)| d).collect()),
        Err(error) => {
            if reliable {
                diagnostics.push((errors::syntax_error(error, &tokens, source.len()), true));
            }
            Err(diagnostics.into_iter().map(|(d, _)| d).collect())
        }
    }
}
