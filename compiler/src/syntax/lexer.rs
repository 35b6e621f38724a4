//! The lexer: source text to tokens with byte spans, built with logos.
//!
//! It implements exactly the lexical rules of the language reference (docs/language.md):
//! `//` and non-nested `/* */` comments, identifiers, keywords and dtype names, decimal and
//! `0x` integer literals with `_` separators (fitting in i64), float literals that need digits
//! after the `.` or an exponent, and the punctuation set (where `..+` is one token).
//!
//! Lexical errors become [`Diagnostic`]s; [`tokenize`] collects all of them in one pass so the
//! user sees every bad character at once. `inf` and `nan` are plain identifiers here.

use crate::diagnostics::Diagnostic;
use crate::syntax::ast::Span;
use logos::{FilterResult, Logos};
use std::fmt;

/// Why logos rejected a piece of input; turned into a diagnostic by [`tokenize`].
#[derive(Clone, Debug, Default, PartialEq)]
pub enum LexError {
    #[default]
    UnknownCharacter,
    UnterminatedComment,
    IntTooLarge,
    MalformedExponent,
    FloatTooLarge,
    HexWithoutDigits,
}

/// A token. Keywords and dtype names are their own variants; the parser (grammar.lalrpop)
/// names each terminal by the text the user writes, so its "expected" lists read naturally.
#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(error = LexError)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip(r"//[^\n]*", allow_greedy = true))]
pub enum Token<'src> {
    #[token("/*", block_comment)]
    BlockComment,

    #[regex("[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice())]
    Ident(&'src str),
    #[regex("[0-9][0-9_]*", |lex| parse_int(lex.slice(), 10))]
    #[regex("0[xX][0-9a-fA-F_]*", |lex| parse_int(&lex.slice()[2..], 16))]
    Int(i64),
    #[regex(r"[0-9][0-9_]*\.[0-9][0-9_]*", |lex| parse_float(lex.slice()))]
    #[regex(r"[0-9][0-9_]*(\.[0-9][0-9_]*)?[eE][+-]?[0-9][0-9_]*", |lex| parse_float(lex.slice()))]
    Float(f64),
    /// `1e`, `1.5e+`: an exponent without digits (always an error).
    #[regex(r"[0-9][0-9_]*(\.[0-9][0-9_]*)?[eE][+-]?", malformed_exponent)]
    MalformedExponent,

    #[token("kernel")]
    Kernel,
    #[token("const")]
    Const,
    #[token("let")]
    Let,
    #[token("mut")]
    Mut,
    #[token("for")]
    For,
    #[token("in")]
    In,
    #[token("range")]
    Range,
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("grid")]
    Grid,
    #[token("tune")]
    Tune,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("as")]
    As,
    /// A dtype name: `f16 bf16 f32 i32 i64 bool`.
    #[token("f16", |lex| lex.slice())]
    #[token("bf16", |lex| lex.slice())]
    #[token("f32", |lex| lex.slice())]
    #[token("i32", |lex| lex.slice())]
    #[token("i64", |lex| lex.slice())]
    #[token("bool", |lex| lex.slice())]
    DType(&'src str),

    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token(";")]
    Semi,
    #[token("=")]
    Assign,
    #[token("+=")]
    PlusAssign,
    #[token("-=")]
    MinusAssign,
    #[token("*=")]
    StarAssign,
    #[token("/=")]
    SlashAssign,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
    #[token("!")]
    Bang,
    #[token("&")]
    Amp,
    #[token("..")]
    DotDot,
    #[token("..+")]
    DotDotPlus,
    #[token("->")]
    Arrow,
}

/// Skips a `/* .. */` comment (not nested); at end of file without `*/` it is an error.
fn block_comment<'src>(lex: &mut logos::Lexer<'src, Token<'src>>) -> FilterResult<(), LexError> {
    let rest = lex.remainder();
    match rest.find("*/") {
        Some(end) => {
            lex.bump(end + 2);
            FilterResult::Skip
        }
        None => {
            // Swallow the rest, so the comment's text is not lexed as code.
            lex.bump(rest.len());
            FilterResult::Error(LexError::UnterminatedComment)
        }
    }
}

fn malformed_exponent<'src>(_: &mut logos::Lexer<'src, Token<'src>>) -> Result<(), LexError> {
    Err(LexError::MalformedExponent)
}

fn parse_int(digits: &str, radix: u32) -> Result<i64, LexError> {
    let cleaned: String = digits.chars().filter(|&c| c != '_').collect();
    if cleaned.is_empty() {
        return Err(LexError::HexWithoutDigits);
    }
    i64::from_str_radix(&cleaned, radix).map_err(|_| LexError::IntTooLarge)
}

fn parse_float(text: &str) -> Result<f64, LexError> {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    match cleaned.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(LexError::FloatTooLarge),
    }
}

impl fmt::Display for Token<'_> {
    /// The token as the user would write it, for "found `let`" in diagnostics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Token::Ident(s) => return write!(f, "identifier `{s}`"),
            Token::Int(v) => return write!(f, "integer `{v}`"),
            Token::Float(v) => return write!(f, "float `{v:?}`"),
            Token::DType(s) => return write!(f, "`{s}`"),
            other => other.text(),
        };
        write!(f, "`{text}`")
    }
}

impl Token<'_> {
    /// The fixed spelling of a keyword or punctuation token ("" for tokens with a payload).
    pub fn text(&self) -> &'static str {
        match self {
            Token::BlockComment => "/*",
            Token::Ident(_) | Token::Int(_) | Token::Float(_) | Token::DType(_) => "",
            Token::MalformedExponent => "",
            Token::Kernel => "kernel",
            Token::Const => "const",
            Token::Let => "let",
            Token::Mut => "mut",
            Token::For => "for",
            Token::In => "in",
            Token::Range => "range",
            Token::If => "if",
            Token::Else => "else",
            Token::Grid => "grid",
            Token::Tune => "tune",
            Token::True => "true",
            Token::False => "false",
            Token::As => "as",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::LBrace => "{",
            Token::RBrace => "}",
            Token::Comma => ",",
            Token::Colon => ":",
            Token::Semi => ";",
            Token::Assign => "=",
            Token::PlusAssign => "+=",
            Token::MinusAssign => "-=",
            Token::StarAssign => "*=",
            Token::SlashAssign => "/=",
            Token::Plus => "+",
            Token::Minus => "-",
            Token::Star => "*",
            Token::Slash => "/",
            Token::Percent => "%",
            Token::EqEq => "==",
            Token::NotEq => "!=",
            Token::Lt => "<",
            Token::Le => "<=",
            Token::Gt => ">",
            Token::Ge => ">=",
            Token::AndAnd => "&&",
            Token::OrOr => "||",
            Token::Bang => "!",
            Token::Amp => "&",
            Token::DotDot => "..",
            Token::DotDotPlus => "..+",
            Token::Arrow => "->",
        }
    }
}

/// A token with its byte span, in the (start, token, end) form lalrpop consumes.
pub type Spanned<'src> = (usize, Token<'src>, usize);

/// Splits `source` into tokens. Returns every lexical error found, in source order, if any.
pub fn tokenize(source: &str) -> Result<Vec<Spanned<'_>>, Vec<Diagnostic>> {
    let mut lexer = Token::lexer(source);
    let mut tokens = Vec::new();
    let mut errors = Vec::new();
    while let Some(result) = lexer.next() {
        let range = lexer.span();
        match result {
            Ok(Token::Int(value)) => {
                // `1.` or `1.x`: a float needs digits after the dot. (`1..` and `1..+` are
                // ranges, and `1.5` was lexed as a float already.)
                let rest = &source.as_bytes()[range.end..];
                if rest.first() == Some(&b'.') && rest.get(1) != Some(&b'.') {
                    let span = Span::new(range.start, range.end + 1);
                    let digits = &source[range.start..range.end];
                    errors.push(
                        Diagnostic::error(
                            "tilec::malformed_float",
                            "malformed float literal",
                            span,
                            "a float literal needs digits after the `.`",
                        )
                        .with_help(format!("write `{digits}.0`")),
                    );
                    lexer.bump(1);
                    continue;
                }
                tokens.push((range.start, Token::Int(value), range.end));
            }
            Ok(token) => tokens.push((range.start, token, range.end)),
            Err(kind) => {
                let mut span = Span::new(range.start, range.end);
                if let Some(end) = quoted_text_end(source, range.start) {
                    // `"text"` or `'c'`: one error for the whole would-be literal.
                    lexer.bump(end - range.end);
                    span.end = end;
                } else if kind == LexError::UnknownCharacter {
                    // Cover the whole character (logos may stop inside a multi-byte one).
                    let ch = source.get(range.start..).and_then(|s| s.chars().next());
                    if let Some(ch) = ch {
                        let end = range.start + ch.len_utf8();
                        if end > range.end {
                            lexer.bump(end - range.end);
                        }
                        span.end = end;
                    }
                }
                errors.push(lex_error_diagnostic(source, kind, span));
            }
        }
    }
    if errors.is_empty() {
        Ok(tokens)
    } else {
        Err(errors)
    }
}

/// If a quote starts at `start` and is closed on the same line, the end of the quoted text.
fn quoted_text_end(source: &str, start: usize) -> Option<usize> {
    let quote = *source.as_bytes().get(start)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let rest = &source.as_bytes()[start + 1..];
    let len = rest
        .iter()
        .take_while(|&&b| b != b'\n')
        .position(|&b| b == quote)?;
    Some(start + 1 + len + 1)
}

fn lex_error_diagnostic(source: &str, kind: LexError, span: Span) -> Diagnostic {
    let text = source.get(span.start..span.end).unwrap_or("");
    match kind {
        LexError::UnknownCharacter => {
            let ch = text.chars().next().unwrap_or('\u{FFFD}');
            if ch == '"' || ch == '\'' {
                let what = if text.len() > 1 {
                    "string literal"
                } else {
                    "quote"
                };
                return Diagnostic::error(
                    "tilec::unknown_character",
                    format!("unexpected {what}"),
                    span,
                    format!("unexpected {what}"),
                )
                .with_help("strings and characters are not part of the language");
            }
            let shown = if ch.is_control() || ch.is_whitespace() {
                format!("{:?}", ch)
            } else {
                format!("`{ch}`")
            };
            let next = source.as_bytes().get(span.end).copied();
            let help = match ch {
                '#' => Some("comments start with `//`".into()),
                '.' if next.is_some_and(|b| b.is_ascii_digit()) => {
                    Some("a float literal needs a digit before the `.`: write `0.` in front".into())
                }
                '.' => Some("`.` is not an operator; slices use `..` or `start ..+ len`".into()),
                '|' => Some("logical or is `||`".into()),
                '^' => Some("there is no xor or power operator".into()),
                '~' => Some("logical not is `!` (there are no bitwise operators)".into()),
                _ if !ch.is_ascii() => {
                    Some("only ASCII is allowed outside of comments".to_string())
                }
                _ => None,
            };
            let diag = Diagnostic::error(
                "tilec::unknown_character",
                format!("unknown character {shown}"),
                span,
                "not a valid token",
            );
            match help {
                Some(h) => diag.with_help(h),
                None => diag,
            }
        }
        LexError::UnterminatedComment => Diagnostic::error(
            "tilec::unterminated_comment",
            "unterminated block comment",
            Span::new(span.start, span.start + 2),
            "this comment is never closed",
        )
        .with_help("close it with `*/` (block comments do not nest)"),
        LexError::IntTooLarge => Diagnostic::error(
            "tilec::int_literal_too_large",
            "integer literal is too large",
            span,
            "does not fit in i64",
        )
        .with_note(format!("the largest integer literal is {}", i64::MAX)),
        LexError::MalformedExponent => Diagnostic::error(
            "tilec::malformed_float",
            "malformed float literal",
            span,
            "the exponent has no digits",
        )
        .with_help("write the exponent's digits, e.g. `1e-3`"),
        LexError::HexWithoutDigits => Diagnostic::error(
            "tilec::malformed_int",
            "hexadecimal literal has no digits",
            span,
            "expected hexadecimal digits after `0x`",
        )
        .with_help("write e.g. `0x1F`"),
        LexError::FloatTooLarge => Diagnostic::error(
            "tilec::float_literal_too_large",
            "float literal is too large",
            span,
            "does not fit in f64",
        )
        .with_help("use `inf` for infinity"),
    }
}
