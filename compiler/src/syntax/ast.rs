//! The abstract syntax tree of a `.tile` program.
//!
//! The parser builds it; semantic analysis (`crate::sema`) reads it and lowers it to tile IR.
//! Every node that a diagnostic may point at carries a [`Span`] (byte offsets into the source).
//! The AST is purely syntactic: names are not resolved, types and shapes are not checked, and
//! const expressions are not evaluated here.

use std::fmt;

/// A half-open byte range `start..end` in the source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        (s.start, s.end - s.start).into()
    }
}

/// A name together with where it was written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A whole source file: one or more kernels.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    pub kernels: Vec<Kernel>,
}

/// `kernel name(params) grid [..] { body } tune { .. }`
#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    pub name: Ident,
    pub params: Vec<Param>,
    /// The launch grid: one expression per grid axis (1 to 3 of them).
    pub grid: Vec<Expr>,
    /// Span of the whole `grid [..]` clause.
    pub grid_span: Span,
    pub body: BlockExpr,
    pub tune: Option<TuneSection>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub kind: ParamKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ParamKind {
    /// `q: &f16[B, H, S, HEAD_DIM]` (read-only) or `out: &mut f16[..]` (written by `store`).
    Tensor {
        mutable: bool,
        dtype: DTypeName,
        /// Each dimension is an expression over shape symbols and consts; a bare unknown
        /// identifier (such as `S`) introduces a runtime shape symbol.
        dims: Vec<Expr>,
    },
    /// `scale: f32` – a runtime scalar argument.
    Scalar { ty: DTypeName },
    /// `const BLOCK_M: i32 = 128` – a compile-time constant, overridable with `-D NAME=VALUE`.
    Const {
        ty: DTypeName,
        default: Option<Expr>,
    },
}

/// A dtype as written: a dtype keyword (`f16`), or an identifier that sema resolves, such as
/// a dtype const (`DTYPE` in `const DTYPE: dtype = f16`) or the word `dtype` in that
/// declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DTypeName {
    pub name: String,
    pub span: Span,
}

/// `tune { BLOCK_M: [64, 128], BLOCK_N: [32, 64], num_warps: [4, 8], num_stages: [2, 3] }`
#[derive(Clone, Debug, PartialEq)]
pub struct TuneSection {
    pub entries: Vec<TuneEntry>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TuneEntry {
    /// A const parameter's name, or one of the launch options `num_warps` and `num_stages`.
    pub name: Ident,
    pub values: Vec<Expr>,
    pub span: Span,
}

/// `{ stmt; stmt; expr? }`
#[derive(Clone, Debug, PartialEq)]
pub struct BlockExpr {
    pub stmts: Vec<Stmt>,
    /// The trailing expression without `;`, which is the block's value.
    pub tail: Option<Box<Expr>>,
    pub span: Span,
}

// A kernel has tens of statements, so the size of the largest variant (`For`, holding three
// expressions and a block) costs nothing worth an extra indirection in every consumer.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// `let [mut] name [: type] = value;`
    Let {
        mutable: bool,
        name: Ident,
        ty: Option<TypeExpr>,
        value: Expr,
        span: Span,
    },
    /// `name = value;` or `name op= value;` (`op` is `Some` for compound assignment).
    Assign {
        target: Ident,
        op: Option<BinOp>,
        value: Expr,
        span: Span,
    },
    /// `for i in range(start, end[, step]) { .. }`
    For {
        var: Ident,
        start: Expr,
        end: Expr,
        step: Option<Expr>,
        body: BlockExpr,
        span: Span,
    },
    /// An expression used as a statement: `store(..);`, `if c { .. }`.
    Expr { expr: Expr, span: Span },
}

impl Stmt {
    pub fn span(&self) -> Span {
        match self {
            Stmt::Let { span, .. }
            | Stmt::Assign { span, .. }
            | Stmt::For { span, .. }
            | Stmt::Expr { span, .. } => *span,
        }
    }
}

/// A type annotation: `f32` or `tile<f32, [BLOCK_M, HEAD_DIM]>`.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExpr {
    Scalar(DTypeName),
    Tile {
        dtype: DTypeName,
        shape: Vec<Expr>,
        span: Span,
    },
}

impl TypeExpr {
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Scalar(d) => d.span,
            TypeExpr::Tile { span, .. } => *span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An integer literal; the value fits in an i64 (the lexer rejects larger ones).
    Int(i64),
    /// A float literal, or `inf` (negated by unary minus for `-inf`).
    Float(f64),
    Bool(bool),
    Name(Ident),
    Unary {
        op: UnOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `f(args)`: builtins (`load`, `dot`, `exp2`, ..) are ordinary calls; sema resolves them.
    Call {
        callee: Ident,
        args: Vec<Arg>,
    },
    /// `t[index, start ..+ len, ..]`: a tile-shaped slice of a tensor, used by `load` and `store`.
    Slice {
        base: Ident,
        dims: Vec<SliceDim>,
    },
    /// `if cond { .. } else { .. }`; the `else` is optional when the value is unused.
    If {
        cond: Box<Expr>,
        then_block: BlockExpr,
        else_block: Option<BlockExpr>,
    },
    Block(BlockExpr),
    /// `[a, b, c]`: a list of const expressions, used for shapes (`zeros([BLOCK_M, HEAD_DIM])`).
    List(Vec<Expr>),
    /// A dtype used as a value argument: `cast(x, f16)`, `zeros([M], f32)`; also the target
    /// of `x as T` (where `T` may be a dtype const's name). A dtype const written as an
    /// argument (`zeros([M], DTYPE)`) is an ordinary `Name`.
    DType(DTypeName),
}

/// A call argument, optionally named: `load(x, fill: -inf)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SliceDim {
    /// A scalar index: this dimension is dropped from the tile.
    Index(Expr),
    /// `start ..+ len`: `len` consecutive elements from `start`; `len` must be a const.
    Range { start: Expr, len: Expr, span: Span },
    /// `..`: the whole dimension, whose size must be a const.
    Full(Span),
}

impl SliceDim {
    pub fn span(&self) -> Span {
        match self {
            SliceDim::Index(e) => e.span,
            SliceDim::Range { span, .. } | SliceDim::Full(span) => *span,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}
