//! Syntax diagnostics: checks on the token stream before parsing (delimiters, nesting
//! limits), and the translation of lalrpop's parse errors into rustc-style [`Diagnostic`]s.
//!
//! After a syntax error inside a block the parser skips to the next `;` and goes on, so one
//! run can report several independent mistakes. A recovery that skipped an unbalanced
//! bracket would leave the parser out of step with the program, so reporting stops after
//! it: one precise error beats a cascade of guesses. Recognised mistakes: a missing `;`, `=` for
//! `==` in a condition, chained comparisons, `..` or Python's `:` in slices, keywords used as
//! names.

use crate::diagnostics::Diagnostic;
use crate::syntax::ast::Span;
use crate::syntax::builder::GrammarError;
use crate::syntax::lexer::{Spanned, Token};
use lalrpop_util::{ErrorRecovery, ParseError};

/// Deepest nesting of `( [ {` accepted. Together with [`MAX_OPERATORS_PER_SEGMENT`] this bounds
/// the depth of the AST, so later recursive passes (and dropping the tree) cannot overflow the
/// stack on adversarial input.
const MAX_NESTING: usize = 32;
/// Most operator tokens between two delimiters or separators (`( ) [ ] { } , ;`).
const MAX_OPERATORS_PER_SEGMENT: usize = 128;

/// Checks that delimiters are balanced and that nesting stays within the limits. Reports the
/// first problem only: after a delimiter mismatch every later error would be noise.
pub fn check_token_structure(tokens: &[Spanned<'_>], source_len: usize) -> Option<Diagnostic> {
    let mut open: Vec<(usize, &Token<'_>, usize)> = Vec::new();
    let mut operators_in_segment = 0;
    for (start, token, end) in tokens {
        let span = Span::new(*start, *end);
        match token {
            Token::LParen | Token::LBracket | Token::LBrace => {
                operators_in_segment = 0;
                open.push((*start, token, *end));
                if open.len() > MAX_NESTING {
                    return Some(
                        Diagnostic::error(
                            "tilec::nesting_too_deep",
                            "brackets are nested too deeply",
                            span,
                            format!("more than {MAX_NESTING} levels deep"),
                        )
                        .with_help("split the expression with `let` bindings"),
                    );
                }
            }
            Token::RParen | Token::RBracket | Token::RBrace => {
                operators_in_segment = 0;
                let closer = token.text();
                match open.pop() {
                    None => {
                        return Some(Diagnostic::error(
                            "tilec::unexpected_closing_delimiter",
                            format!("unexpected closing delimiter `{closer}`"),
                            span,
                            "no matching opening delimiter",
                        ))
                    }
                    Some((os, opener, oe)) if closing_of(opener) != *token => {
                        return Some(
                            Diagnostic::error(
                                "tilec::mismatched_delimiter",
                                format!("mismatched closing delimiter `{closer}`"),
                                span,
                                format!("expected `{}`", closing_of(opener).text()),
                            )
                            .with_label(Span::new(os, oe), "unclosed delimiter"),
                        )
                    }
                    Some(_) => {}
                }
            }
            Token::Comma | Token::Semi => operators_in_segment = 0,
            t if is_operator(t) => {
                operators_in_segment += 1;
                if operators_in_segment > MAX_OPERATORS_PER_SEGMENT {
                    return Some(
                        Diagnostic::error(
                            "tilec::expression_too_long",
                            "expression has too many operators",
                            span,
                            format!("more than {MAX_OPERATORS_PER_SEGMENT} operators in a row"),
                        )
                        .with_help("split the expression with `let` bindings"),
                    );
                }
            }
            _ => {}
        }
    }
    let (os, opener, oe) = open.pop()?;
    Some(
        Diagnostic::error(
            "tilec::unclosed_delimiter",
            "this file contains an unclosed delimiter",
            end_of_file_span(tokens, source_len),
            format!("expected `{}` at the end", closing_of(opener).text()),
        )
        .with_label(Span::new(os, oe), "unclosed delimiter"),
    )
}

/// Where to point for "end of file": just after the last token, so the label sits on a line
/// the renderer shows (a zero-width span at the very end of the text would not be drawn).
fn end_of_file_span(tokens: &[Spanned<'_>], source_len: usize) -> Span {
    match tokens.last() {
        Some((start, _, end)) if *end == source_len => Span::new(*start, *end),
        Some((_, _, end)) => Span::new(*end, *end),
        None => Span::new(0, 0),
    }
}

fn closing_of(opener: &Token<'_>) -> Token<'static> {
    match opener {
        Token::LParen => Token::RParen,
        Token::LBracket => Token::RBracket,
        _ => Token::RBrace,
    }
}

fn is_operator(token: &Token<'_>) -> bool {
    matches!(
        token,
        Token::Plus
            | Token::Minus
            | Token::Star
            | Token::Slash
            | Token::Percent
            | Token::EqEq
            | Token::NotEq
            | Token::Lt
            | Token::Le
            | Token::Gt
            | Token::Ge
            | Token::AndAnd
            | Token::OrOr
            | Token::Bang
            | Token::As
            | Token::If
            | Token::Else
    )
}

fn is_comparison(token: &Token<'_>) -> bool {
    matches!(
        token,
        Token::EqEq | Token::NotEq | Token::Lt | Token::Le | Token::Gt | Token::Ge
    )
}

fn is_keyword(token: &Token<'_>) -> bool {
    matches!(
        token,
        Token::Kernel
            | Token::Const
            | Token::Let
            | Token::Mut
            | Token::For
            | Token::In
            | Token::Range
            | Token::If
            | Token::Else
            | Token::Grid
            | Token::Tune
            | Token::True
            | Token::False
            | Token::As
            | Token::DType(_)
    )
}

/// The terminals lalrpop says it expected, without its quotes: `;`, `identifier`, ...
struct Expected(Vec<String>);

impl Expected {
    fn new(raw: &[String]) -> Self {
        Expected(
            raw.iter()
                .map(|s| s.trim_matches('"').to_string())
                .collect(),
        )
    }
    fn has(&self, terminal: &str) -> bool {
        self.0.iter().any(|s| s == terminal)
    }
    /// A readable summary: expression starters collapse to "expression", binary operators to
    /// "operator", so the list stays short.
    fn describe(&self) -> String {
        const EXPR_START: &[&str] = &[
            "identifier",
            "integer",
            "float",
            "dtype",
            "true",
            "false",
            "(",
            "[",
            "-",
            "!",
            "if",
            "{",
        ];
        const BINARY: &[&str] = &[
            "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "as",
        ];
        let expression = self.has("identifier") && self.has("integer");
        let operator = self.has("+") && self.has("*");
        let mut items: Vec<String> = Vec::new();
        if expression {
            items.push("expression".into());
        }
        for t in &self.0 {
            let t = t.as_str();
            if (expression && EXPR_START.contains(&t)) || (operator && BINARY.contains(&t)) {
                continue;
            }
            items.push(match t {
                "identifier" | "integer" | "float" => t.to_string(),
                "dtype" => "dtype (`f32`, `f16`, ...)".to_string(),
                _ => format!("`{t}`"),
            });
        }
        if operator {
            items.push("operator".into());
        }
        match items.len() {
            0 => "nothing".into(),
            1 => items.remove(0),
            2 => format!("{} or {}", items[0], items[1]),
            _ => {
                let last = items.pop().unwrap_or_default();
                format!("one of {}, or {last}", items.join(", "))
            }
        }
    }
}

/// Turns the parser's error into a diagnostic, recognising common mistakes.
pub fn syntax_error(
    error: GrammarError<'_>,
    tokens: &[Spanned<'_>],
    source_len: usize,
) -> Diagnostic {
    match error {
        ParseError::User { error } => error,
        ParseError::UnrecognizedEof { expected, .. } => {
            let expected = Expected::new(&expected);
            Diagnostic::error(
                "tilec::unexpected_eof",
                format!("expected {}, found end of file", expected.describe()),
                end_of_file_span(tokens, source_len),
                "the file ends here",
            )
        }
        ParseError::UnrecognizedToken {
            token: (start, token, end),
            expected,
        } => unexpected_token(
            Span::new(start, end),
            &token,
            &Expected::new(&expected),
            tokens,
        ),
        ParseError::ExtraToken {
            token: (start, token, end),
        } => Diagnostic::error(
            "tilec::syntax_error",
            format!("expected `kernel`, found {token}"),
            Span::new(start, end),
            format!("unexpected {token}"),
        ),
        ParseError::InvalidToken { location } => Diagnostic::error(
            "tilec::syntax_error",
            "invalid token",
            Span::new(location, location),
            "invalid token",
        ),
    }
}

fn unexpected_token(
    span: Span,
    token: &Token<'_>,
    expected: &Expected,
    tokens: &[Spanned<'_>],
) -> Diagnostic {
    let index = tokens.iter().position(|(s, _, _)| *s == span.start);
    let previous = index.and_then(|i| i.checked_sub(1)).map(|i| &tokens[i]);
    let generic = |code: &'static str| {
        Diagnostic::error(
            code,
            format!("expected {}, found {token}", expected.describe()),
            span,
            format!("unexpected {token}"),
        )
    };

    // `a < b < c`: after a complete comparison, another comparison operator.
    if is_comparison(token) && expected.has("&&") && !expected.has(token.text()) {
        return Diagnostic::error(
            "tilec::chained_comparison",
            "comparison operators cannot be chained",
            span,
            "second comparison here",
        )
        .with_help("combine two comparisons with `&&`, e.g. `a < b && b < c`");
    }
    // `if x = 1 {`
    if *token == Token::Assign && expected.has("==") && in_if_condition(tokens, index) {
        return generic("tilec::syntax_error")
            .with_help("to compare two values use `==`; `=` only assigns in a statement");
    }
    // `t[a:b]`, `t[:, 0]`
    if *token == Token::Colon && expected.has("..+") {
        return generic("tilec::syntax_error").with_help(
            "slices are written `start ..+ LEN` (LEN elements from start), not `start:end`",
        );
    }
    if *token == Token::Colon && expected.has("..") {
        return generic("tilec::syntax_error")
            .with_help("a whole dimension is written `..`, not `:`");
    }
    // `t[a .. b]`
    if *token == Token::DotDot && expected.has("..+") {
        return generic("tilec::syntax_error").with_help(
            "a slice range is written `start ..+ LEN` (LEN elements from start); `..` alone \
             is the whole dimension",
        );
    }
    if matches!(previous, Some((_, Token::DotDot, _))) && expected.has("]") {
        return generic("tilec::syntax_error").with_help(
            "`..` stands alone for the whole dimension; for LEN elements from start write \
             `start ..+ LEN`",
        );
    }
    // `let range = ..`
    if expected.has("identifier") && !expected.has("integer") && is_keyword(token) {
        return generic("tilec::syntax_error")
            .with_help(format!("{token} is a keyword and cannot be used as a name"));
    }
    // A missing `;`: point just after the previous token.
    if expected.has(";") {
        if let Some((_, _, prev_end)) = previous {
            let at = Span::new(*prev_end, *prev_end);
            return Diagnostic::error(
                "tilec::missing_semicolon",
                format!("expected `;`, found {token}"),
                at,
                "expected `;` here",
            )
            .with_label(span, format!("unexpected {token}"))
            .with_help("statements end with `;`");
        }
    }
    generic("tilec::syntax_error")
}

/// Whether the token at `index` lies between an `if` and the `{` of its block.
fn in_if_condition(tokens: &[Spanned<'_>], index: Option<usize>) -> bool {
    let Some(index) = index else { return false };
    for (_, token, _) in tokens[..index].iter().rev() {
        match token {
            Token::If => return true,
            Token::LBrace | Token::RBrace | Token::Semi => return false,
            _ => {}
        }
    }
    false
}

/// Diagnostics for the errors the parser recovered from, each with whether its recovery
/// skipped a balanced run of tokens. Reporting stops after the first unbalanced recovery.
pub fn recovered_errors(
    recovered: Vec<ErrorRecovery<usize, Token<'_>, Diagnostic>>,
    tokens: &[Spanned<'_>],
    source_len: usize,
) -> Vec<(Diagnostic, bool)> {
    let mut out = Vec::new();
    for r in recovered {
        let balanced = recovery_is_balanced(&r, tokens);
        out.push((syntax_error(r.error, tokens, source_len), balanced));
        if !balanced {
            break;
        }
    }
    out
}

/// Whether the statement the parser gave up on, from its start to the `;` it skipped to,
/// has balanced brackets. If not, the parser's idea of nesting is now wrong.
fn recovery_is_balanced(
    recovery: &ErrorRecovery<usize, Token<'_>, Diagnostic>,
    tokens: &[Spanned<'_>],
) -> bool {
    let ParseError::UnrecognizedToken {
        token: (error_start, _, _),
        ..
    } = &recovery.error
    else {
        return false;
    };
    let index_of = |start: usize| tokens.iter().position(|(s, _, _)| *s == start);
    let Some(error_index) = index_of(*error_start) else {
        return false;
    };
    let last_dropped = recovery
        .dropped_tokens
        .last()
        .and_then(|(s, _, _)| index_of(*s))
        .unwrap_or(error_index);
    let end = last_dropped.max(error_index);
    let mut start = error_index;
    while start > 0
        && !matches!(
            tokens[start - 1].1,
            Token::Semi | Token::LBrace | Token::RBrace
        )
    {
        start -= 1;
    }
    is_balanced(tokens[start..=end].iter().map(|(_, t, _)| t))
}

/// Whether every recovery so far skipped balanced brackets, so later errors are trustworthy.
pub fn recovery_was_clean(diagnostics: &[(Diagnostic, bool)]) -> bool {
    diagnostics.iter().all(|(_, balanced)| *balanced)
}

fn is_balanced<'a, 'src: 'a>(tokens: impl Iterator<Item = &'a Token<'src>>) -> bool {
    let mut depth: i64 = 0;
    for t in tokens {
        match t {
            Token::LParen | Token::LBracket | Token::LBrace => depth += 1,
            Token::RParen | Token::RBracket | Token::RBrace => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}
