//! Types of tile IR values: scalars, tiles and tensors.
//!
//! A *scalar* is one value held uniformly by every thread of a program. A *tile* is a
//! statically shaped block of elements distributed over the program's threads; its optional
//! [`Layout`] says which thread holds which element (filled in by the layout pass, absent
//! before it). A *tensor* is a kernel parameter naming global memory; it is only read by
//! `load`, written by `store`, and queried by `dim`.

use super::layout::Layout;
use std::fmt;

/// Element types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// Booleans, the result of comparisons.
    I1,
    I32,
    I64,
    F16,
    BF16,
    F32,
}

impl DType {
    pub const ALL: [DType; 6] = [
        DType::I1,
        DType::I32,
        DType::I64,
        DType::F16,
        DType::BF16,
        DType::F32,
    ];

    /// The name used in source and in IR text (`i1` is written `bool` in source).
    pub fn name(self) -> &'static str {
        match self {
            DType::I1 => "i1",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::F32 => "f32",
        }
    }

    pub fn from_name(name: &str) -> Option<DType> {
        Some(match name {
            "i1" | "bool" => DType::I1,
            "i32" => DType::I32,
            "i64" => DType::I64,
            "f16" => DType::F16,
            "bf16" => DType::BF16,
            "f32" => DType::F32,
            _ => return None,
        })
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32)
    }

    pub fn is_int(self) -> bool {
        matches!(self, DType::I32 | DType::I64)
    }

    pub fn is_bool(self) -> bool {
        self == DType::I1
    }

    /// Size of one element in global memory, in bytes (booleans are stored as bytes).
    pub fn size_bytes(self) -> u32 {
        match self {
            DType::I1 => 1,
            DType::F16 | DType::BF16 => 2,
            DType::I32 | DType::F32 => 4,
            DType::I64 => 8,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A statically shaped tile. Shapes are at most rank 2 today except where the verifier says
/// otherwise; every extent is a power of two (so layouts divide evenly among threads).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TileType {
    pub dtype: DType,
    pub shape: Vec<u32>,
    pub layout: Option<Layout>,
}

impl TileType {
    pub fn new(dtype: DType, shape: Vec<u32>) -> Self {
        TileType {
            dtype,
            shape,
            layout: None,
        }
    }
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
    pub fn num_elements(&self) -> u64 {
        self.shape.iter().map(|&d| d as u64).product()
    }
    /// The same tile type without its layout: what the verifier compares for shape rules.
    pub fn without_layout(&self) -> TileType {
        TileType::new(self.dtype, self.shape.clone())
    }
}

/// One dimension of a tensor parameter: known at compile time, or a runtime shape symbol.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    Const(u32),
    /// Index into [`crate::ir::Kernel::symbols`].
    Sym(u32),
}

/// A global-memory tensor parameter. Its innermost dimension is contiguous (stride 1); the
/// other strides are runtime arguments that the code generator adds to the signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorType {
    pub dtype: DType,
    pub dims: Vec<Dim>,
    /// `&mut`: only mutable tensors may be stored to.
    pub mutable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Scalar(DType),
    Tile(TileType),
    Tensor(TensorType),
}

impl Type {
    pub fn tile(dtype: DType, shape: Vec<u32>) -> Type {
        Type::Tile(TileType::new(dtype, shape))
    }

    /// The element type of a scalar or tile; the element type of a tensor.
    pub fn dtype(&self) -> DType {
        match self {
            Type::Scalar(d) => *d,
            Type::Tile(t) => t.dtype,
            Type::Tensor(t) => t.dtype,
        }
    }

    /// The tile shape, or `None` for scalars and tensors.
    pub fn shape(&self) -> Option<&[u32]> {
        match self {
            Type::Tile(t) => Some(&t.shape),
            _ => None,
        }
    }

    pub fn as_tile(&self) -> Option<&TileType> {
        match self {
            Type::Tile(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_tensor(&self) -> Option<&TensorType> {
        match self {
            Type::Tensor(t) => Some(t),
            _ => None,
        }
    }

    pub fn is_scalar(&self) -> bool {
        matches!(self, Type::Scalar(_))
    }

    /// The same type with `dtype` as its element type (shape and layout kept).
    pub fn with_dtype(&self, dtype: DType) -> Type {
        match self {
            Type::Scalar(_) => Type::Scalar(dtype),
            Type::Tile(t) => Type::Tile(TileType { dtype, ..t.clone() }),
            Type::Tensor(t) => Type::Tensor(TensorType { dtype, ..t.clone() }),
        }
    }
}

/// A compile-time constant. Floats are kept as f64 and rounded to the value's dtype when
/// used; integers as i64.
///
/// `DType` is the value of a dtype const (`const DTYPE: dtype = f16`): it appears only in
/// [`crate::ir::Kernel::consts`] (and in overrides and tune values), never as the value of a
/// `const` instruction or a `load` fill; the verifier rejects it there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConstValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    DType(DType),
}

impl ConstValue {
    /// The value as a number; a dtype has none and gives 0 (callers only ask numeric consts).
    pub fn as_f64(self) -> f64 {
        match self {
            ConstValue::Int(i) => i as f64,
            ConstValue::Float(f) => f,
            ConstValue::Bool(b) => b as i64 as f64,
            ConstValue::DType(_) => 0.0,
        }
    }
    /// The value as an integer; a dtype has none and gives 0 (callers only ask numeric consts).
    pub fn as_i64(self) -> i64 {
        match self {
            ConstValue::Int(i) => i,
            ConstValue::Float(f) => f as i64,
            ConstValue::Bool(b) => b as i64,
            ConstValue::DType(_) => 0,
        }
    }
    /// The dtype a dtype const holds; `None` for numbers and bools.
    pub fn as_dtype(self) -> Option<DType> {
        match self {
            ConstValue::DType(d) => Some(d),
            _ => None,
        }
    }
}

impl fmt::Display for ConstValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConstValue::Int(i) => write!(f, "{i}"),
            ConstValue::Bool(b) => write!(f, "{b}"),
            ConstValue::Float(x) if x == f64::INFINITY => f.write_str("inf"),
            ConstValue::Float(x) if x == f64::NEG_INFINITY => f.write_str("-inf"),
            ConstValue::Float(x) if x.is_nan() => f.write_str("nan"),
            // `{:?}` prints the shortest text that reads back to the same f64, always with
            // a `.` or exponent, so the IR text round-trips exactly.
            ConstValue::Float(x) => write!(f, "{x:?}"),
            ConstValue::DType(d) => f.write_str(d.name()),
        }
    }
}
