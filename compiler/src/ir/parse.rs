//! The IR text reader: the inverse of `crate::ir::print`, whose module doc describes the text
//! form.
//!
//! A small lexer and a recursive-descent parser; the kernel is built through the builder
//! methods of [`Kernel`]. The reader checks syntax and names only: a value must be defined
//! (earlier in the text, anywhere in the kernel) before it is used, and each name is defined
//! once per kernel. Everything else (types, scoping, terminators) is left to
//! `crate::ir::verify`, so that broken IR can be written down to test the verifier.
//!
//! Limits: `//` comments run to the end of the line; a `yield`'s operands must start on the
//! `yield` line (the next line may begin the next instruction's results); blocks, layouts and
//! grid expressions nest at most [`MAX_DEPTH`] deep. The reader never panics: any input gives
//! a kernel or an [`IrParseError`].

use super::entities::{Block, Inst, Value};
use super::instructions::{BinaryOp, CmpOp, InstData, ReduceOp, SliceDim, UnaryOp, ValueList};
use super::kernel::{GridExpr, GridOp, Kernel};
use super::layout::{BlockedLayout, Layout, MmaLayout, SharedLayout};
use super::types::{ConstValue, DType, Dim, TensorType, TileType, Type};
use std::collections::HashMap;

/// How deeply blocks, layouts and parenthesized grid expressions may nest; keeps hostile
/// input from overflowing the stack.
pub const MAX_DEPTH: usize = 100;

/// An error in IR text, with the byte offset where it was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct IrParseError {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Reads a text holding exactly one kernel.
pub fn parse_kernel(text: &str) -> Result<Kernel, IrParseError> {
    let mut parser = Parser::new(text)?;
    let Some(kernel) = parser.kernel()? else {
        return Err(parser.error("expected `kernel`, found the end of the text"));
    };
    if !parser.at_end() {
        return Err(parser.error("expected the end of the text after the kernel"));
    }
    Ok(kernel)
}

/// Reads a text holding any number of kernels.
pub fn parse_module(text: &str) -> Result<Vec<Kernel>, IrParseError> {
    let mut parser = Parser::new(text)?;
    let mut kernels = Vec::new();
    while let Some(kernel) = parser.kernel()? {
        kernels.push(kernel);
    }
    Ok(kernels)
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// `[A-Za-z_][A-Za-z0-9_]*`: opcodes, keywords, dtypes, symbols.
    Ident(String),
    /// `%name` or `%12`, without the `%`.
    Value(String),
    /// `@name`, without the `@`.
    Global(String),
    /// An unsigned number; `is_float` when it has a `.` or an exponent.
    Number {
        text: String,
        is_float: bool,
    },
    /// One of `( ) [ ] { } < > , : = & * + - / #`.
    Punct(char),
    Arrow,
    /// `..+`
    RangePlus,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Value(s) => format!("`%{s}`"),
            Tok::Global(s) => format!("`@{s}`"),
            Tok::Number { text, .. } => format!("`{text}`"),
            Tok::Punct(c) => format!("`{c}`"),
            Tok::Arrow => "`->`".to_string(),
            Tok::RangePlus => "`..+`".to_string(),
            Tok::Eof => "the end of the text".to_string(),
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    offset: usize,
    line: usize,
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Line and column (both from 1; the column counts characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

fn error_at(text: &str, offset: usize, message: impl Into<String>) -> IrParseError {
    let (line, column) = line_column(text, offset);
    IrParseError {
        offset,
        line,
        column,
        message: message.into(),
    }
}

fn lex(text: &str) -> Result<Vec<Token>, IrParseError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c == b'\n' {
            line += 1;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let tok = if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && is_name_char(bytes[i]) {
                i += 1;
            }
            Tok::Ident(text[start..i].to_string())
        } else if c.is_ascii_digit() {
            lex_number(bytes, &mut i);
            let is_float = text[start..i].contains(['.', 'e', 'E']);
            Tok::Number {
                text: text[start..i].to_string(),
                is_float,
            }
        } else if c == b'%' || c == b'@' {
            i += 1;
            // Dot-separated segments; a dot counts only when a name character follows, so
            // `%a..+ 4` still lexes as `%a` `..+` `4`.
            while i < bytes.len()
                && (is_name_char(bytes[i])
                    || (bytes[i] == b'.' && bytes.get(i + 1).is_some_and(|&b| is_name_char(b))))
            {
                i += 1;
            }
            let name = text[start + 1..i].to_string();
            if name.is_empty() {
                return Err(error_at(
                    text,
                    start,
                    format!("expected a name after `{}`", c as char),
                ));
            }
            if c == b'%' {
                let numeric = name.bytes().all(|b| b.is_ascii_digit());
                if !numeric && name.starts_with(|ch: char| ch.is_ascii_digit()) {
                    return Err(error_at(
                        text,
                        start,
                        format!(
                            "`%{name}`: a value name is a number or starts with a letter or `_`"
                        ),
                    ));
                }
                Tok::Value(name)
            } else {
                Tok::Global(name)
            }
        } else if c == b'-' && bytes.get(i + 1) == Some(&b'>') {
            i += 2;
            Tok::Arrow
        } else if c == b'.' && bytes.get(i + 1) == Some(&b'.') && bytes.get(i + 2) == Some(&b'+') {
            i += 3;
            Tok::RangePlus
        } else if b"()[]{}<>,:=&*+-/#".contains(&c) {
            i += 1;
            Tok::Punct(c as char)
        } else {
            let ch = text
                .get(start..)
                .and_then(|s| s.chars().next())
                .unwrap_or('?');
            return Err(error_at(
                text,
                start,
                format!("unexpected character `{ch}`"),
            ));
        };
        tokens.push(Token {
            tok,
            offset: start,
            line,
        });
    }
    tokens.push(Token {
        tok: Tok::Eof,
        offset: text.len(),
        line,
    });
    Ok(tokens)
}

/// Advances `i` over `digits [. digits] [(e|E) [+|-] digits]`.
fn lex_number(bytes: &[u8], i: &mut usize) {
    let digits = |i: &mut usize| {
        while *i < bytes.len() && bytes[*i].is_ascii_digit() {
            *i += 1;
        }
    };
    digits(i);
    if bytes.get(*i) == Some(&b'.') && bytes.get(*i + 1).is_some_and(u8::is_ascii_digit) {
        *i += 1;
        digits(i);
    }
    if matches!(bytes.get(*i), Some(b'e' | b'E')) {
        let mut j = *i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            *i = j;
            digits(i);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parser

type PResult<T> = Result<T, IrParseError>;

/// A value name as written, with where it was written.
struct NameRef {
    name: String,
    offset: usize,
}

struct Parser<'t> {
    text: &'t str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Per kernel: printed value names to values.
    values: HashMap<String, Value>,
}

impl<'t> Parser<'t> {
    fn new(text: &'t str) -> PResult<Self> {
        Ok(Parser {
            text,
            tokens: lex(text)?,
            pos: 0,
            depth: 0,
            values: HashMap::new(),
        })
    }

    // --- token helpers ---

    fn peek(&self) -> &Tok {
        // `lex` always ends the list with `Eof`, and `bump` never moves past it.
        self.tokens
            .get(self.pos)
            .map_or(&Tok::Eof, |token| &token.tok)
    }

    fn offset(&self) -> usize {
        self.tokens
            .get(self.pos)
            .map_or(self.text.len(), |token| token.offset)
    }

    fn line(&self) -> usize {
        self.tokens.get(self.pos).map_or(0, |token| token.line)
    }

    fn at_end(&self) -> bool {
        *self.peek() == Tok::Eof
    }

    fn bump(&mut self) -> Tok {
        let tok = self.peek().clone();
        if tok != Tok::Eof {
            self.pos += 1;
        }
        tok
    }

    fn error(&self, message: impl Into<String>) -> IrParseError {
        error_at(self.text, self.offset(), message)
    }

    fn unexpected(&self, expected: &str) -> IrParseError {
        self.error(format!(
            "expected {expected}, found {}",
            self.peek().describe()
        ))
    }

    fn is_punct(&self, c: char) -> bool {
        *self.peek() == Tok::Punct(c)
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.is_punct(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, c: char) -> PResult<()> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{c}`")))
        }
    }

    fn is_keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s == word)
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        if self.is_keyword(word) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect_keyword(&mut self, word: &str) -> PResult<()> {
        if self.eat_keyword(word) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{word}`")))
        }
    }

    fn ident(&mut self, what: &str) -> PResult<String> {
        match self.peek().clone() {
            Tok::Ident(s) => {
                self.bump();
                Ok(s)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn value_name(&mut self) -> PResult<NameRef> {
        let offset = self.offset();
        match self.peek().clone() {
            Tok::Value(name) => {
                self.bump();
                Ok(NameRef { name, offset })
            }
            _ => Err(self.unexpected("a value (`%name`)")),
        }
    }

    /// An unsigned integer that fits `T`.
    fn integer<T: TryFrom<u64>>(&mut self, what: &str) -> PResult<T> {
        let offset = self.offset();
        match self.peek().clone() {
            Tok::Number {
                text,
                is_float: false,
            } => {
                self.bump();
                text.parse::<u64>()
                    .ok()
                    .and_then(|n| T::try_from(n).ok())
                    .ok_or_else(|| {
                        error_at(
                            self.text,
                            offset,
                            format!("{what} `{text}` is out of range"),
                        )
                    })
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// `[ ITEM, ... ]` with `item` reading one item.
    fn bracket_list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        self.expect_punct('[')?;
        let mut items = Vec::new();
        if self.eat_punct(']') {
            return Ok(items);
        }
        loop {
            items.push(item(self)?);
            if self.eat_punct(']') {
                return Ok(items);
            }
            self.expect_punct(',')?;
        }
    }

    // --- values ---

    /// A use of a value defined earlier in the kernel.
    fn use_value(&mut self) -> PResult<Value> {
        let name = self.value_name()?;
        self.values.get(&name.name).copied().ok_or_else(|| {
            error_at(
                self.text,
                name.offset,
                format!("use of undefined value `%{}`", name.name),
            )
        })
    }

    /// Gives `value` the written name (numbers stay unnamed) and makes it usable.
    fn define(&mut self, kernel: &mut Kernel, value: Value, name: &NameRef) -> PResult<()> {
        if self.values.contains_key(&name.name) {
            return Err(error_at(
                self.text,
                name.offset,
                format!("value `%{}` is defined twice", name.name),
            ));
        }
        let is_number = name.name.bytes().all(|b| b.is_ascii_digit());
        kernel.values[value].name = if is_number {
            None
        } else {
            Some(name.name.clone())
        };
        self.values.insert(name.name.clone(), value);
        Ok(())
    }

    // --- kernel header ---

    /// One kernel, or `None` at the end of the text.
    fn kernel(&mut self) -> PResult<Option<Kernel>> {
        if self.at_end() {
            return Ok(None);
        }
        self.values.clear();
        self.expect_keyword("kernel")?;
        let Tok::Global(name) = self.peek().clone() else {
            return Err(self.unexpected("the kernel name (`@name`)"));
        };
        self.bump();
        let mut kernel = Kernel::new(name);

        // Tensor dims name shape symbols, which are listed after the parameters: read the
        // parameters with their symbol names aside and resolve them below.
        let mut pending_symbols: Vec<NameRef> = Vec::new();
        let mut params: Vec<(NameRef, Type)> = Vec::new();
        self.expect_punct('(')?;
        if !self.eat_punct(')') {
            loop {
                let param = self.value_name()?;
                self.expect_punct(':')?;
                let ty = self.ty(&mut SymbolMode::Collect(&mut pending_symbols))?;
                params.push((param, ty));
                if self.eat_punct(')') {
                    break;
                }
                self.expect_punct(',')?;
            }
        }

        if self.eat_keyword("symbols") {
            kernel.symbols = self.bracket_list(|p| p.ident("a symbol name"))?;
        }
        for (param, mut ty) in params {
            if let Type::Tensor(tensor) = &mut ty {
                for dim in &mut tensor.dims {
                    if let Dim::Sym(pending) = dim {
                        let symbol = &pending_symbols[*pending as usize];
                        let index = kernel
                            .symbols
                            .iter()
                            .position(|s| *s == symbol.name)
                            .ok_or_else(|| {
                                error_at(
                                    self.text,
                                    symbol.offset,
                                    format!(
                                        "shape symbol `{}` is not listed in `symbols [...]`",
                                        symbol.name
                                    ),
                                )
                            })?;
                        *dim = Dim::Sym(index as u32);
                    }
                }
            }
            if param.name.bytes().all(|b| b.is_ascii_digit()) {
                return Err(error_at(
                    self.text,
                    param.offset,
                    "a kernel parameter needs a name, not a number",
                ));
            }
            let value = kernel.add_param(param.name.clone(), ty);
            self.define(&mut kernel, value, &param)?;
        }

        if self.eat_keyword("consts") {
            kernel.consts = self.bracket_list(|p| {
                let name = p.ident("a const name")?;
                p.expect_punct('=')?;
                Ok((name, p.header_const_value()?))
            })?;
        }
        if self.eat_keyword("grid") {
            let symbols = kernel.symbols.clone();
            kernel.grid = self.bracket_list(|p| p.grid_expr(&symbols))?;
        }

        self.expect_punct('{')?;
        let entry = kernel.entry;
        self.block_body(&mut kernel, entry)?;
        Ok(Some(kernel))
    }

    // --- grid expressions ---

    fn grid_expr(&mut self, symbols: &[String]) -> PResult<GridExpr> {
        self.enter()?;
        let mut lhs = self.grid_term(symbols)?;
        loop {
            let op = if self.eat_punct('+') {
                GridOp::Add
            } else if self.eat_punct('-') {
                GridOp::Sub
            } else {
                break;
            };
            let rhs = self.grid_term(symbols)?;
            lhs = GridExpr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        self.leave();
        Ok(lhs)
    }

    fn grid_term(&mut self, symbols: &[String]) -> PResult<GridExpr> {
        let mut lhs = self.grid_atom(symbols)?;
        loop {
            let op = if self.eat_punct('*') {
                GridOp::Mul
            } else if self.eat_punct('/') {
                GridOp::Div
            } else {
                break;
            };
            let rhs = self.grid_atom(symbols)?;
            lhs = GridExpr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn grid_atom(&mut self, symbols: &[String]) -> PResult<GridExpr> {
        let offset = self.offset();
        match self.peek().clone() {
            Tok::Punct('(') => {
                self.bump();
                let inner = self.grid_expr(symbols)?;
                self.expect_punct(')')?;
                Ok(inner)
            }
            Tok::Punct('-') | Tok::Number { .. } => match self.const_value()? {
                ConstValue::Int(c) => Ok(GridExpr::Const(c)),
                _ => Err(error_at(
                    self.text,
                    offset,
                    "grid expressions use integers only",
                )),
            },
            Tok::Ident(name) => {
                self.bump();
                let op = match name.as_str() {
                    "cdiv" => Some(GridOp::CeilDiv),
                    "min" => Some(GridOp::Min),
                    "max" => Some(GridOp::Max),
                    _ => None,
                };
                match op {
                    Some(op) if self.is_punct('(') => {
                        self.bump();
                        let a = self.grid_expr(symbols)?;
                        self.expect_punct(',')?;
                        let b = self.grid_expr(symbols)?;
                        self.expect_punct(')')?;
                        Ok(GridExpr::Binary(op, Box::new(a), Box::new(b)))
                    }
                    _ => {
                        let index = symbols.iter().position(|s| *s == name).ok_or_else(|| {
                            error_at(
                                self.text,
                                offset,
                                format!("`{name}` is not a shape symbol of this kernel"),
                            )
                        })?;
                        Ok(GridExpr::Sym(index as u32))
                    }
                }
            }
            _ => Err(self.unexpected("a grid expression")),
        }
    }

    // --- constants and types ---

    /// A value in the `consts [..]` header: a constant, or the dtype of a dtype const.
    fn header_const_value(&mut self) -> PResult<ConstValue> {
        if let Tok::Ident(word) = self.peek() {
            if let Some(d) = DType::from_name(word) {
                self.bump();
                return Ok(ConstValue::DType(d));
            }
        }
        self.const_value()
    }

    /// `[-] (INT | FLOAT | inf | nan) | true | false`.
    fn const_value(&mut self) -> PResult<ConstValue> {
        let offset = self.offset();
        if self.eat_keyword("true") {
            return Ok(ConstValue::Bool(true));
        }
        if self.eat_keyword("false") {
            return Ok(ConstValue::Bool(false));
        }
        let negative = self.eat_punct('-');
        let sign = if negative { "-" } else { "" };
        match self.peek().clone() {
            Tok::Ident(word) if word == "inf" || word == "nan" => {
                self.bump();
                let magnitude = if word == "inf" {
                    f64::INFINITY
                } else {
                    f64::NAN
                };
                Ok(ConstValue::Float(if negative {
                    -magnitude
                } else {
                    magnitude
                }))
            }
            Tok::Number { text, is_float } => {
                self.bump();
                let full = format!("{sign}{text}");
                if is_float {
                    full.parse::<f64>().map(ConstValue::Float).map_err(|_| {
                        error_at(self.text, offset, format!("bad float literal `{full}`"))
                    })
                } else {
                    full.parse::<i64>().map(ConstValue::Int).map_err(|_| {
                        error_at(
                            self.text,
                            offset,
                            format!("integer `{full}` does not fit in i64"),
                        )
                    })
                }
            }
            _ => Err(self.unexpected("a constant (a number, `inf`, `nan`, `true` or `false`)")),
        }
    }

    fn dtype(&mut self) -> PResult<DType> {
        let offset = self.offset();
        let name = self.ident("a dtype")?;
        DType::from_name(&name)
            .ok_or_else(|| error_at(self.text, offset, format!("unknown dtype `{name}`")))
    }

    /// `DTYPE`, `tile<DTYPE, [EXTENTS] [, LAYOUT]>` or `&[mut] DTYPE[DIMS]`.
    fn ty(&mut self, symbols: &mut SymbolMode<'_>) -> PResult<Type> {
        if self.eat_punct('&') {
            let mutable = self.eat_keyword("mut");
            let dtype = self.dtype()?;
            let dims = self.bracket_list(|p| {
                let offset = p.offset();
                match p.peek().clone() {
                    Tok::Number { .. } => Ok(Dim::Const(p.integer("a tensor dim")?)),
                    Tok::Ident(name) => {
                        p.bump();
                        symbols.resolve(p, NameRef { name, offset }).map(Dim::Sym)
                    }
                    _ => Err(p.unexpected("a tensor dim (an integer or a shape symbol)")),
                }
            })?;
            return Ok(Type::Tensor(TensorType {
                dtype,
                dims,
                mutable,
            }));
        }
        if self.eat_keyword("tile") {
            self.expect_punct('<')?;
            let dtype = self.dtype()?;
            self.expect_punct(',')?;
            let shape = self.bracket_list(|p| p.integer("a tile extent"))?;
            let layout = if self.eat_punct(',') {
                Some(self.layout()?)
            } else {
                None
            };
            self.expect_punct('>')?;
            return Ok(Type::Tile(TileType {
                dtype,
                shape,
                layout,
            }));
        }
        if matches!(self.peek(), Tok::Ident(_)) {
            return Ok(Type::Scalar(self.dtype()?));
        }
        Err(self.unexpected("a type"))
    }

    /// A type in an instruction, where shape symbols are already known.
    fn body_type(&mut self, kernel: &Kernel) -> PResult<Type> {
        self.ty(&mut SymbolMode::Known(&kernel.symbols))
    }

    /// `(T, ...)`.
    fn type_list(&mut self, kernel: &Kernel) -> PResult<Vec<Type>> {
        self.expect_punct('(')?;
        let mut types = Vec::new();
        if self.eat_punct(')') {
            return Ok(types);
        }
        loop {
            types.push(self.body_type(kernel)?);
            if self.eat_punct(')') {
                return Ok(types);
            }
            self.expect_punct(',')?;
        }
    }

    /// `NAME = ` before a layout field.
    fn field(&mut self, name: &str) -> PResult<()> {
        self.expect_keyword(name)?;
        self.expect_punct('=')
    }

    fn u32_list(&mut self) -> PResult<Vec<u32>> {
        self.bracket_list(|p| p.integer("an integer"))
    }

    fn layout(&mut self) -> PResult<Layout> {
        self.enter()?;
        self.expect_punct('#')?;
        let offset = self.offset();
        let kind = self.ident("a layout kind")?;
        self.expect_punct('<')?;
        let layout = match kind.as_str() {
            "blocked" => {
                self.field("spt")?;
                let size_per_thread = self.u32_list()?;
                self.expect_punct(',')?;
                self.field("tpw")?;
                let threads_per_warp = self.u32_list()?;
                self.expect_punct(',')?;
                self.field("wpc")?;
                let warps_per_cta = self.u32_list()?;
                self.expect_punct(',')?;
                self.field("order")?;
                let order = self.u32_list()?;
                Layout::Blocked(BlockedLayout {
                    size_per_thread,
                    threads_per_warp,
                    warps_per_cta,
                    order,
                })
            }
            "slice" => {
                self.field("dim")?;
                let dim = self.integer("a dim")?;
                self.expect_punct(',')?;
                let parent = Box::new(self.layout()?);
                Layout::Slice { dim, parent }
            }
            "mma" => {
                let offset = self.offset();
                let version_text = self.ident("a version (`v2`)")?;
                let version = version_text
                    .strip_prefix('v')
                    .and_then(|digits| digits.parse::<u8>().ok())
                    .ok_or_else(|| {
                        error_at(
                            self.text,
                            offset,
                            format!("expected an mma version like `v2`, found `{version_text}`"),
                        )
                    })?;
                self.expect_punct(',')?;
                self.field("wpc")?;
                let warps_per_cta = self.u32_list()?;
                Layout::Mma(MmaLayout {
                    version,
                    warps_per_cta,
                })
            }
            "dot_op" => {
                let op_idx = self.integer("an operand index")?;
                self.expect_punct(',')?;
                let parent = Box::new(self.layout()?);
                self.expect_punct(',')?;
                self.field("kw")?;
                let k_width = self.integer("a k width")?;
                Layout::DotOperand {
                    op_idx,
                    parent,
                    k_width,
                }
            }
            "shared" => {
                self.field("vec")?;
                let vec = self.integer("an integer")?;
                self.expect_punct(',')?;
                self.field("per_phase")?;
                let per_phase = self.integer("an integer")?;
                self.expect_punct(',')?;
                self.field("max_phase")?;
                let max_phase = self.integer("an integer")?;
                self.expect_punct(',')?;
                self.field("order")?;
                let order = self.u32_list()?;
                Layout::Shared(SharedLayout {
                    vec,
                    per_phase,
                    max_phase,
                    order,
                })
            }
            _ => {
                return Err(error_at(
                    self.text,
                    offset,
                    format!(
                        "unknown layout `#{kind}` (expected blocked, slice, mma, dot_op or shared)"
                    ),
                ))
            }
        };
        self.expect_punct('>')?;
        self.leave();
        Ok(layout)
    }

    // --- blocks and instructions ---

    /// Instructions up to and including the closing `}` (the `{` is already read).
    fn block_body(&mut self, kernel: &mut Kernel, block: Block) -> PResult<()> {
        self.enter()?;
        while !self.eat_punct('}') {
            if self.at_end() {
                return Err(self.unexpected("`}`"));
            }
            self.instruction(kernel, block)?;
        }
        self.leave();
        Ok(())
    }

    /// `{ INSTRUCTIONS }` into a new block.
    fn child_block(&mut self, kernel: &mut Kernel, block: Block) -> PResult<()> {
        self.expect_punct('{')?;
        self.block_body(kernel, block)
    }

    fn instruction(&mut self, kernel: &mut Kernel, block: Block) -> PResult<()> {
        let mut results = Vec::new();
        if matches!(self.peek(), Tok::Value(_)) {
            loop {
                results.push(self.value_name()?);
                if !self.eat_punct(',') {
                    break;
                }
            }
            self.expect_punct('=')?;
        }
        let opcode_offset = self.offset();
        let opcode = self.ident("an instruction")?;
        let data = match opcode.as_str() {
            "for" => return self.for_inst(kernel, block, results),
            "if" => return self.if_inst(kernel, block, results),
            "const" => InstData::Const {
                value: self.const_value()?,
            },
            "program_id" => InstData::ProgramId {
                axis: self.integer("an axis")?,
            },
            "num_programs" => InstData::NumPrograms {
                axis: self.integer("an axis")?,
            },
            "dim" => {
                let tensor = self.use_value()?;
                self.expect_punct(',')?;
                InstData::Dim {
                    tensor,
                    dim: self.integer("a dim index")?,
                }
            }
            "select" => InstData::Select {
                args: self.value_array()?,
            },
            "dot" => InstData::Dot {
                args: self.value_array()?,
            },
            "cast" => InstData::Cast {
                arg: self.use_value()?,
            },
            "splat" => InstData::Splat {
                arg: self.use_value()?,
            },
            "broadcast" => InstData::Broadcast {
                arg: self.use_value()?,
            },
            "transpose" => InstData::Transpose {
                arg: self.use_value()?,
            },
            "convert_layout" => InstData::ConvertLayout {
                arg: self.use_value()?,
            },
            "expand_dims" => {
                let arg = self.use_value()?;
                let axis = self.axis_clause()?;
                InstData::ExpandDims { arg, axis }
            }
            "iota" => {
                self.expect_keyword("axis")?;
                InstData::Iota {
                    axis: self.integer("an axis")?,
                }
            }
            "load" => {
                let tensor = self.use_value()?;
                let dims = self.slice()?;
                self.expect_keyword("fill")?;
                let fill = self.const_value()?;
                InstData::Load { tensor, dims, fill }
            }
            "store" => {
                let tensor = self.use_value()?;
                let dims = self.slice()?;
                self.expect_punct(',')?;
                let value = self.use_value()?;
                InstData::Store {
                    tensor,
                    dims,
                    value,
                }
            }
            "yield" => {
                let mut args = ValueList::new();
                // Operands start on the `yield` line; a `%` on a later line begins the next
                // instruction.
                let yield_line = self.tokens.get(self.pos.saturating_sub(1)).map(|t| t.line);
                if matches!(self.peek(), Tok::Value(_)) && Some(self.line()) == yield_line {
                    loop {
                        args.push(self.use_value()?);
                        if !self.eat_punct(',') {
                            break;
                        }
                    }
                }
                InstData::Yield { args }
            }
            "return" => InstData::Return,
            name => {
                if let Some(op) = UnaryOp::from_name(name) {
                    InstData::Unary {
                        op,
                        arg: self.use_value()?,
                    }
                } else if let Some(op) = BinaryOp::from_name(name) {
                    InstData::Binary {
                        op,
                        args: self.value_array()?,
                    }
                } else if let Some(op) = CmpOp::from_name(name) {
                    InstData::Cmp {
                        op,
                        args: self.value_array()?,
                    }
                } else if let Some(op) = ReduceOp::from_name(name) {
                    let arg = self.use_value()?;
                    let axis = self.axis_clause()?;
                    InstData::Reduce { op, arg, axis }
                } else {
                    return Err(error_at(
                        self.text,
                        opcode_offset,
                        format!("unknown instruction `{name}`"),
                    ));
                }
            }
        };

        let types = if self.eat_punct(':') {
            if results.is_empty() {
                return Err(self.error("a `:` type follows only instructions with results"));
            }
            if self.is_punct('(') {
                self.type_list(kernel)?
            } else {
                vec![self.body_type(kernel)?]
            }
        } else {
            Vec::new()
        };
        if types.len() != results.len() {
            return Err(error_at(
                self.text,
                opcode_offset,
                format!(
                    "`{opcode}` has {} result name(s) but {} result type(s); write `: TYPE` or `: (T1, T2)`",
                    results.len(),
                    types.len()
                ),
            ));
        }
        let inst = kernel.append_inst(block, data, &types);
        self.define_results(kernel, inst, &results)
    }

    fn define_results(
        &mut self,
        kernel: &mut Kernel,
        inst: Inst,
        names: &[NameRef],
    ) -> PResult<()> {
        let values: Vec<Value> = kernel.inst_results(inst).to_vec();
        for (value, name) in values.into_iter().zip(names) {
            self.define(kernel, value, name)?;
        }
        Ok(())
    }

    /// `, axis N`.
    fn axis_clause(&mut self) -> PResult<u8> {
        self.expect_punct(',')?;
        self.expect_keyword("axis")?;
        self.integer("an axis")
    }

    /// `%a, %b` or `%a, %b, %c`: exactly `N` operands.
    fn value_array<const N: usize>(&mut self) -> PResult<[Value; N]> {
        let mut values = [Value::from_u32(0); N];
        for (i, slot) in values.iter_mut().enumerate() {
            if i > 0 {
                self.expect_punct(',')?;
            }
            *slot = self.use_value()?;
        }
        Ok(values)
    }

    /// `[%i, %j ..+ 64, ...]`.
    fn slice(&mut self) -> PResult<Vec<SliceDim>> {
        self.bracket_list(|p| {
            let start = p.use_value()?;
            if *p.peek() == Tok::RangePlus {
                p.bump();
                Ok(SliceDim::Range {
                    start,
                    len: p.integer("a slice length")?,
                })
            } else {
                Ok(SliceDim::Index(start))
            }
        })
    }

    /// `-> (T, ...)` if present.
    fn arrow_types(&mut self, kernel: &Kernel) -> PResult<Vec<Type>> {
        if *self.peek() == Tok::Arrow {
            self.bump();
            self.type_list(kernel)
        } else {
            Ok(Vec::new())
        }
    }

    fn check_result_count(&self, results: &[NameRef], types: &[Type], what: &str) -> PResult<()> {
        if results.len() != types.len() {
            return Err(self.error(format!(
                "{} result name(s) but {} type(s) in the `-> (...)` of this `{what}`",
                results.len(),
                types.len()
            )));
        }
        Ok(())
    }

    /// `for %iv = %lo to %hi step %st [iter(%p = %init, ...)] [-> (T, ...)] { ... }`
    fn for_inst(
        &mut self,
        kernel: &mut Kernel,
        block: Block,
        results: Vec<NameRef>,
    ) -> PResult<()> {
        let iv = self.value_name()?;
        self.expect_punct('=')?;
        let lower = self.use_value()?;
        self.expect_keyword("to")?;
        let upper = self.use_value()?;
        self.expect_keyword("step")?;
        let step = self.use_value()?;
        let mut carried = Vec::new();
        let mut init = ValueList::new();
        if self.eat_keyword("iter") {
            self.expect_punct('(')?;
            loop {
                carried.push(self.value_name()?);
                self.expect_punct('=')?;
                init.push(self.use_value()?);
                if self.eat_punct(')') {
                    break;
                }
                self.expect_punct(',')?;
            }
        }
        let types = self.arrow_types(kernel)?;
        self.check_result_count(&results, &types, "for")?;
        if carried.len() != types.len() {
            return Err(self.error(format!(
                "{} carried value(s) in `iter(...)` but {} result type(s)",
                carried.len(),
                types.len()
            )));
        }

        let body = kernel.create_block();
        let iv_value = kernel.append_block_param(body, Type::Scalar(DType::I32), None);
        self.define(kernel, iv_value, &iv)?;
        for (name, ty) in carried.iter().zip(&types) {
            let param = kernel.append_block_param(body, ty.clone(), None);
            self.define(kernel, param, name)?;
        }
        self.child_block(kernel, body)?;
        let data = InstData::For {
            lower,
            upper,
            step,
            init,
            body,
        };
        let inst = kernel.append_inst(block, data, &types);
        self.define_results(kernel, inst, &results)
    }

    /// `if %cond [-> (T, ...)] { ... } else { ... }`
    fn if_inst(&mut self, kernel: &mut Kernel, block: Block, results: Vec<NameRef>) -> PResult<()> {
        let cond = self.use_value()?;
        let types = self.arrow_types(kernel)?;
        self.check_result_count(&results, &types, "if")?;
        let then_block = kernel.create_block();
        self.child_block(kernel, then_block)?;
        self.expect_keyword("else")?;
        let else_block = kernel.create_block();
        self.child_block(kernel, else_block)?;
        let data = InstData::If {
            cond,
            then_block,
            else_block,
        };
        let inst = kernel.append_inst(block, data, &types);
        self.define_results(kernel, inst, &results)
    }
}

/// How a type reader treats the shape symbols in tensor dims.
enum SymbolMode<'a> {
    /// In the kernel signature, before `symbols [...]`: collect the names; `Dim::Sym(i)`
    /// then indexes this list until the caller resolves it.
    Collect(&'a mut Vec<NameRef>),
    /// In the body: the kernel's symbols.
    Known(&'a [String]),
}

impl SymbolMode<'_> {
    fn resolve(&mut self, parser: &Parser<'_>, name: NameRef) -> PResult<u32> {
        match self {
            SymbolMode::Collect(pending) => {
                pending.push(name);
                Ok(pending.len() as u32 - 1)
            }
            SymbolMode::Known(symbols) => symbols
                .iter()
                .position(|s| *s == name.name)
                .map(|i| i as u32)
                .ok_or_else(|| {
                    error_at(
                        parser.text,
                        name.offset,
                        format!("`{}` is not a shape symbol of this kernel", name.name),
                    )
                }),
        }
    }
}
