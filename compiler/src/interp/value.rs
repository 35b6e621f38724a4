//! Runtime values of the interpreter: tiles (scalars are rank-0 tiles) and tensor handles.
//!
//! Elements live in one flat, row-major `Vec` per tile, in one of three storage classes:
//!
//! * `f16`, `bf16` and `f32` elements are kept as `f32`. An `f16`/`bf16` element is always
//!   exactly representable in its dtype (every operation rounds its result, see
//!   [`super::math::round_float`]), so `f32` storage loses nothing and the arithmetic code is
//!   shared by the three float dtypes.
//! * `i32` and `i64` elements are kept as `i64`; an `i32` element always lies in the `i32` range
//!   (operations wrap their results, see [`super::math::wrap_int`]).
//! * `i1` elements are `bool`.

use super::InterpError;
use crate::ir::DType;
use std::rc::Rc;

/// The elements of a tile, by storage class (see the module doc).
#[derive(Clone, Debug, PartialEq)]
pub enum Elems {
    Bool(Vec<bool>),
    Int(Vec<i64>),
    Float(Vec<f32>),
}

impl Elems {
    pub fn len(&self) -> usize {
        match self {
            Elems::Bool(v) => v.len(),
            Elems::Int(v) => v.len(),
            Elems::Float(v) => v.len(),
        }
    }

    /// Builds a new `Elems` of the same storage class by picking `self[index[i]]` for each `i`.
    pub fn gather(&self, index: &[usize]) -> Elems {
        match self {
            Elems::Bool(v) => Elems::Bool(index.iter().map(|&i| v[i]).collect()),
            Elems::Int(v) => Elems::Int(index.iter().map(|&i| v[i]).collect()),
            Elems::Float(v) => Elems::Float(index.iter().map(|&i| v[i]).collect()),
        }
    }

    /// `n` copies of element `i`.
    pub fn repeat(&self, i: usize, n: usize) -> Elems {
        match self {
            Elems::Bool(v) => Elems::Bool(vec![v[i]; n]),
            Elems::Int(v) => Elems::Int(vec![v[i]; n]),
            Elems::Float(v) => Elems::Float(vec![v[i]; n]),
        }
    }
}

/// A tile (or, with an empty `shape`, a scalar) with its dtype.
#[derive(Clone, Debug, PartialEq)]
pub struct Tile {
    pub dtype: DType,
    /// Extents, outermost first; empty for a scalar.
    pub shape: Vec<u32>,
    pub elems: Elems,
}

impl Tile {
    /// A tile whose element count is checked against `shape`. The storage class must match
    /// `dtype` (callers build `elems` from the dtype, so this is an internal invariant).
    pub fn new(dtype: DType, shape: Vec<u32>, elems: Elems) -> Tile {
        debug_assert_eq!(
            elems.len() as u64,
            shape.iter().map(|&d| d as u64).product::<u64>(),
            "tile element count does not match its shape"
        );
        debug_assert!(
            matches!(
                (&elems, dtype),
                (Elems::Bool(_), DType::I1)
                    | (Elems::Int(_), DType::I32 | DType::I64)
                    | (Elems::Float(_), DType::F16 | DType::BF16 | DType::F32)
            ),
            "storage class does not match dtype {dtype}"
        );
        Tile {
            dtype,
            shape,
            elems,
        }
    }

    pub fn scalar_int(dtype: DType, value: i64) -> Tile {
        Tile::new(dtype, Vec::new(), Elems::Int(vec![value]))
    }

    pub fn len(&self) -> usize {
        self.elems.len()
    }

    /// The value of an integer scalar (or of a one-element integer tile).
    pub fn as_int_scalar(&self, what: &str) -> Result<i64, InterpError> {
        match &self.elems {
            Elems::Int(v) if v.len() == 1 => Ok(v[0]),
            _ => Err(InterpError::Runtime(format!(
                "{what} must be an integer scalar, got {}",
                self.describe()
            ))),
        }
    }

    /// The value of a boolean scalar.
    pub fn as_bool_scalar(&self, what: &str) -> Result<bool, InterpError> {
        match &self.elems {
            Elems::Bool(v) if v.len() == 1 => Ok(v[0]),
            _ => Err(InterpError::Runtime(format!(
                "{what} must be a bool scalar, got {}",
                self.describe()
            ))),
        }
    }

    /// The type as IR text writes it, for error messages.
    pub fn describe(&self) -> String {
        if self.shape.is_empty() {
            self.dtype.to_string()
        } else {
            let dims: Vec<String> = self.shape.iter().map(u32::to_string).collect();
            format!("tile<{}, [{}]>", self.dtype, dims.join(", "))
        }
    }
}

/// What an SSA value holds while a program runs.
#[derive(Clone, Debug)]
pub enum RtValue {
    /// A tile or scalar; shared because `convert_layout`, `expand_dims` and loop-carried
    /// values often pass a tile on unchanged.
    Tile(Rc<Tile>),
    /// A tensor parameter: the index of its argument in the `args` of `interp::run`.
    Tensor(usize),
}
