//! The instruction set of the tile IR.
//!
//! Every instruction is one [`InstData`] variant. Operands are SSA [`Value`]s; results are
//! recorded in the function's data-flow tables (`Function::inst_results`), with their types.
//!
//! Element-wise instructions (`Unary`, `Binary`, `Cmp`, `Select`, `Cast`) work on scalars and on
//! tiles alike, but their operands always have *identical* shapes: lowering inserts `Splat`
//! and `Broadcast` for mixed shapes, so no later stage has to know the broadcasting rules.
//!
//! Control flow is structured: `For` and `If` own child blocks that end in `Yield`; the
//! kernel's top block ends in `Return`. There are no branches and no unstructured CFG, which
//! keeps the software pipeliner and the interpreter simple.

use super::entities::{Block, Value};
use super::types::ConstValue;
use smallvec::SmallVec;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    /// Logical not of booleans.
    Not,
    Abs,
    Exp,
    Exp2,
    Log,
    Log2,
    Sqrt,
    Rsqrt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// Float division, or integer division truncating toward zero.
    Div,
    /// Remainder with the sign of the dividend (as in C and Rust).
    Rem,
    Min,
    Max,
    /// Logical and/or of booleans.
    And,
    Or,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    Sum,
    Max,
    Min,
}

/// One dimension of a `load`/`store` slice of a tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum SliceDim {
    /// A scalar index; the dimension does not appear in the tile.
    Index(Value),
    /// `len` consecutive indices from the scalar `start`; the dimension appears in the tile.
    Range { start: Value, len: u32 },
}

impl SliceDim {
    pub fn value(&self) -> Value {
        match *self {
            SliceDim::Index(v) => v,
            SliceDim::Range { start, .. } => start,
        }
    }
}

pub type ValueList = SmallVec<[Value; 4]>;

#[derive(Clone, Debug, PartialEq)]
pub enum InstData {
    /// A scalar constant of the result's dtype.
    Const {
        value: ConstValue,
    },
    /// This program's index along grid axis `axis` (0, 1 or 2): an i32 scalar.
    ProgramId {
        axis: u8,
    },
    /// The grid's extent along `axis`: an i32 scalar.
    NumPrograms {
        axis: u8,
    },
    /// The runtime extent of dimension `dim` of a tensor parameter: an i32 scalar.
    Dim {
        tensor: Value,
        dim: u8,
    },
    Unary {
        op: UnaryOp,
        arg: Value,
    },
    Binary {
        op: BinaryOp,
        args: [Value; 2],
    },
    /// Comparison; the result has the operands' shape with dtype `i1`.
    Cmp {
        op: CmpOp,
        args: [Value; 2],
    },
    /// `cond ? a : b`, element-wise; `cond` is `i1` of the same shape.
    Select {
        args: [Value; 3],
    },
    /// Conversion to the result's dtype (float rounding is round-to-nearest-even; float to
    /// int truncates toward zero).
    Cast {
        arg: Value,
    },
    /// A scalar copied into every element of a tile of the result's type.
    Splat {
        arg: Value,
    },
    /// A tile whose size-1 dimensions are stretched to the result's (equal-rank) shape.
    Broadcast {
        arg: Value,
    },
    /// Inserts a size-1 dimension at `axis`.
    ExpandDims {
        arg: Value,
        axis: u8,
    },
    /// An i32 tile whose element at index `(i0, i1, ..)` is `i_axis`.
    Iota {
        axis: u8,
    },
    /// Reduces `axis` away.
    Reduce {
        op: ReduceOp,
        arg: Value,
        axis: u8,
    },
    /// `a @ b + acc`: a is `[M, K]`, b is `[K, N]` (f16 or bf16, the same dtype), acc and the
    /// result are `[M, N]` f32. Products are exact and sums accumulate in at least f32.
    Dot {
        args: [Value; 3],
    },
    /// Swaps the two dimensions of a rank-2 tile.
    Transpose {
        arg: Value,
    },
    /// Reads a tile-shaped slice of a tensor. Elements whose index lies outside the tensor's
    /// bounds (in any dimension) are not read and take the value `fill`.
    Load {
        tensor: Value,
        dims: Vec<SliceDim>,
        fill: ConstValue,
    },
    /// Writes a tile into a slice of a mutable tensor; out-of-bounds elements are skipped.
    Store {
        tensor: Value,
        dims: Vec<SliceDim>,
        value: Value,
    },
    /// Moves a tile to the result's layout (the same shape and dtype); inserted by the layout
    /// pass, a no-op in the interpreter.
    ConvertLayout {
        arg: Value,
    },
    /// `for iv in lower..upper step step` with loop-carried values. The body block's
    /// parameters are `[iv, carried..]`; it ends in `Yield` of the next carried values. The
    /// results are the carried values after the last iteration (`init` if it runs zero times).
    /// `step` is a positive i32 scalar.
    For {
        lower: Value,
        upper: Value,
        step: Value,
        init: ValueList,
        body: Block,
    },
    /// Runs `then_block` if the scalar `cond` is true, else `else_block`; both take no
    /// parameters and end in `Yield` of values of the result types.
    If {
        cond: Value,
        then_block: Block,
        else_block: Block,
    },
    /// Ends a `For` body or an `If` branch, passing values to the parent instruction.
    Yield {
        args: ValueList,
    },
    /// Ends the kernel.
    Return,
}

impl InstData {
    /// The instruction's mnemonic in IR text.
    pub fn opcode(&self) -> &'static str {
        match self {
            InstData::Const { .. } => "const",
            InstData::ProgramId { .. } => "program_id",
            InstData::NumPrograms { .. } => "num_programs",
            InstData::Dim { .. } => "dim",
            InstData::Unary { op, .. } => op.name(),
            InstData::Binary { op, .. } => op.name(),
            InstData::Cmp { op, .. } => op.name(),
            InstData::Select { .. } => "select",
            InstData::Cast { .. } => "cast",
            InstData::Splat { .. } => "splat",
            InstData::Broadcast { .. } => "broadcast",
            InstData::ExpandDims { .. } => "expand_dims",
            InstData::Iota { .. } => "iota",
            InstData::Reduce { op, .. } => op.name(),
            InstData::Dot { .. } => "dot",
            InstData::Transpose { .. } => "transpose",
            InstData::Load { .. } => "load",
            InstData::Store { .. } => "store",
            InstData::ConvertLayout { .. } => "convert_layout",
            InstData::For { .. } => "for",
            InstData::If { .. } => "if",
            InstData::Yield { .. } => "yield",
            InstData::Return => "return",
        }
    }

    /// The SSA values this instruction reads, in order (child blocks excluded).
    pub fn args(&self) -> SmallVec<[Value; 4]> {
        let mut out = SmallVec::new();
        match self {
            InstData::Const { .. }
            | InstData::ProgramId { .. }
            | InstData::NumPrograms { .. }
            | InstData::Iota { .. }
            | InstData::Return => {}
            InstData::Dim { tensor, .. } => out.push(*tensor),
            InstData::Unary { arg, .. }
            | InstData::Cast { arg }
            | InstData::Splat { arg }
            | InstData::Broadcast { arg }
            | InstData::ExpandDims { arg, .. }
            | InstData::Reduce { arg, .. }
            | InstData::Transpose { arg }
            | InstData::ConvertLayout { arg } => out.push(*arg),
            InstData::Binary { args, .. } | InstData::Cmp { args, .. } => {
                out.extend_from_slice(args)
            }
            InstData::Select { args } | InstData::Dot { args } => out.extend_from_slice(args),
            InstData::Load { tensor, dims, .. } => {
                out.push(*tensor);
                out.extend(dims.iter().map(SliceDim::value));
            }
            InstData::Store {
                tensor,
                dims,
                value,
            } => {
                out.push(*tensor);
                out.extend(dims.iter().map(SliceDim::value));
                out.push(*value);
            }
            InstData::For {
                lower,
                upper,
                step,
                init,
                ..
            } => {
                out.extend_from_slice(&[*lower, *upper, *step]);
                out.extend_from_slice(init);
            }
            InstData::If { cond, .. } => out.push(*cond),
            InstData::Yield { args } => out.extend_from_slice(args),
        }
        out
    }

    /// Rewrites every value this instruction reads through `f` (child blocks excluded).
    pub fn map_args(&mut self, mut f: impl FnMut(Value) -> Value) {
        match self {
            InstData::Const { .. }
            | InstData::ProgramId { .. }
            | InstData::NumPrograms { .. }
            | InstData::Iota { .. }
            | InstData::Return => {}
            InstData::Dim { tensor, .. } => *tensor = f(*tensor),
            InstData::Unary { arg, .. }
            | InstData::Cast { arg }
            | InstData::Splat { arg }
            | InstData::Broadcast { arg }
            | InstData::ExpandDims { arg, .. }
            | InstData::Reduce { arg, .. }
            | InstData::Transpose { arg }
            | InstData::ConvertLayout { arg } => *arg = f(*arg),
            InstData::Binary { args, .. } | InstData::Cmp { args, .. } => {
                args.iter_mut().for_each(|a| *a = f(*a))
            }
            InstData::Select { args } | InstData::Dot { args } => {
                args.iter_mut().for_each(|a| *a = f(*a))
            }
            InstData::Load { tensor, dims, .. } => {
                *tensor = f(*tensor);
                map_slice_dims(dims, &mut f);
            }
            InstData::Store {
                tensor,
                dims,
                value,
            } => {
                *tensor = f(*tensor);
                map_slice_dims(dims, &mut f);
                *value = f(*value);
            }
            InstData::For {
                lower,
                upper,
                step,
                init,
                ..
            } => {
                *lower = f(*lower);
                *upper = f(*upper);
                *step = f(*step);
                init.iter_mut().for_each(|a| *a = f(*a));
            }
            InstData::If { cond, .. } => *cond = f(*cond),
            InstData::Yield { args } => args.iter_mut().for_each(|a| *a = f(*a)),
        }
    }

    /// The child blocks this instruction owns, in execution order of appearance.
    pub fn child_blocks(&self) -> SmallVec<[Block; 2]> {
        match self {
            InstData::For { body, .. } => smallvec::smallvec![*body],
            InstData::If {
                then_block,
                else_block,
                ..
            } => smallvec::smallvec![*then_block, *else_block],
            _ => SmallVec::new(),
        }
    }

    /// Whether this instruction ends a block (`yield` or `return`).
    pub fn is_terminator(&self) -> bool {
        matches!(self, InstData::Yield { .. } | InstData::Return)
    }

    /// Whether the instruction has an effect beyond its results (so it is never dead code).
    pub fn has_side_effects(&self) -> bool {
        matches!(
            self,
            InstData::Store { .. }
                | InstData::Yield { .. }
                | InstData::Return
                | InstData::For { .. }
                | InstData::If { .. }
        )
    }
}

fn map_slice_dims(dims: &mut [SliceDim], f: &mut impl FnMut(Value) -> Value) {
    for d in dims {
        match d {
            SliceDim::Index(v) => *v = f(*v),
            SliceDim::Range { start, .. } => *start = f(*start),
        }
    }
}

macro_rules! named_ops {
    ($ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];
            pub fn name(self) -> &'static str {
                match self { $($ty::$variant => $name),* }
            }
            pub fn from_name(name: &str) -> Option<$ty> {
                match name { $($name => Some($ty::$variant),)* _ => None }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named_ops!(UnaryOp {
    Neg => "neg", Not => "not", Abs => "abs", Exp => "exp", Exp2 => "exp2",
    Log => "log", Log2 => "log2", Sqrt => "sqrt", Rsqrt => "rsqrt",
});
named_ops!(BinaryOp {
    Add => "add", Sub => "sub", Mul => "mul", Div => "div", Rem => "rem",
    Min => "min", Max => "max", And => "and", Or => "or",
});
named_ops!(CmpOp {
    Eq => "cmp_eq", Ne => "cmp_ne", Lt => "cmp_lt", Le => "cmp_le", Gt => "cmp_gt", Ge => "cmp_ge",
});
named_ops!(ReduceOp {
    Sum => "reduce_sum", Max => "reduce_max", Min => "reduce_min",
});
